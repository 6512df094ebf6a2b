/**
 * Issue 13 on the embedded store: the shared upload-intent suite with its "files stay true"
 * repros (test/helpers/upload-intents.ts), plus what only the embedded store shows (its staged
 * blob, its listing, its data plane's folder URLs).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { uploadIntentTests } from "../helpers/upload-intents.js";

uploadIntentTests(
  "upload intents on an embedded-store bucket",
  {},
  {
    async setup() {
      return { config: { backend: "local" }, env: {}, cleanup: async () => undefined };
    },
    binds: { contentLength: "backend", contentType: "backend", checksumSha256: "backend" },
    putVia: "embedded",
    multipart: { size: 25_000, partSize: 10_000 },
    partEtag: (_part, res) => res.headers.get("etag") ?? "",
    form: "fields",
    pinsVersion: true,
  },
);

describe("files stay true on the embedded store's data plane", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local", maxObjectSize: 1024 } },
        // Nothing listens there: the events stay in the outbox, where the test reads them.
        webhooks: [{ url: "http://127.0.0.1:9/hook", secret: "${S}", events: ["file.superseded"] }],
        webhookAllow: ["127.0.0.1/32"],
      },
      env: { S: "a-secret-for-the-hook" },
    });
  });
  afterAll(() => h.close());

  it("a multipart intent above maxObjectSize is 413 at create, as a direct PUT is", async () => {
    const res = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "big.bin",
      size: 5000,
      contentType: "application/octet-stream",
      multipart: { partSize: 1000 },
    });
    expect(res.status).toBe(413);
    const put = await h.admin.presign({ bucket: "default", key: "big2.bin", method: "PUT" });
    expect((await fetch(put.url, { method: "PUT", body: Buffer.alloc(2000) })).status).toBe(413);
  });

  it("a folder PUT URL cannot store a key ending in / and cannot reach a file's key", async () => {
    const folder = await h.admin.presign({
      bucket: "default",
      prefix: "f",
      methods: ["PUT", "GET"],
    });
    const template = folder.objectUrlTemplate!;
    const slash = await fetch(template.replace("{key}", "f/sub/"), { method: "PUT", body: "x" });
    expect(slash.status).toBe(400);
    expect(await h.signet.objects.store.head("default", "f/sub/")).toBeUndefined();

    const intent = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "f/held.txt",
      size: 4,
      contentType: "text/plain",
    });
    // Pending holds the key too.
    const over = await fetch(template.replace("{key}", "f/held.txt"), {
      method: "PUT",
      body: "evil",
    });
    expect(over.status).toBe(409);
    await fetch(intent.body.upload.url, {
      method: "PUT",
      body: "good",
      headers: { "content-type": "text/plain" },
    });
    expect((await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`)).status).toBe(
      200,
    );
    const again = await fetch(template.replace("{key}", "f/held.txt"), {
      method: "PUT",
      body: "evil",
    });
    expect(again.status).toBe(409);
    // A share of the folder (a link) refuses the same.
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "default",
      prefix: "f",
      methods: ["PUT", "DELETE"],
    });
    expect(share.status).toBe(201);
    const url = `${share.body.url.replace(/\/$/, "")}/held.txt`;
    expect((await fetch(url, { method: "PUT", body: "evil" })).status).toBe(409);
    expect((await fetch(url, { method: "DELETE" })).status).toBe(409);
    const get = await h.admin.presign({ bucket: "default", key: "f/held.txt", method: "GET" });
    expect(await (await fetch(get.url)).text()).toBe("good");
    // A staging key is out of a folder URL's reach, even the whole bucket's.
    const all = await h.admin.presign({ bucket: "default", prefix: "", methods: ["PUT", "LIST"] });
    const staged = await fetch(all.objectUrlTemplate!.replace("{key}", ".signet-staging/f_x"), {
      method: "PUT",
      body: "x",
    });
    expect(staged.status).toBe(403);
  });

  it("a folder listing pages through any key, and never shows staging keys", async () => {
    for (const key of ["d/\u{10FFFF}z", "d/a", "d/e/x", "d/\u{10FFFF}/y"]) {
      const put = await h.admin.presign({ bucket: "default", key, method: "PUT" });
      expect((await fetch(put.url, { method: "PUT", body: "1" })).status).toBe(200);
    }
    const pending = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "pending.txt",
      size: 1,
      contentType: "text/plain",
    });
    await fetch(pending.body.upload.url, {
      method: "PUT",
      body: "1",
      headers: { "content-type": "text/plain" },
    });
    const list = await h.admin.presign({ bucket: "default", prefix: "", methods: ["LIST"] });
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const url = new URL(list.url);
      url.searchParams.set("limit", "1");
      if (cursor !== null) url.searchParams.set("cursor", cursor);
      const page = (await (await fetch(url)).json()) as any;
      seen.push(...page.items.map((x: any) => x.key), ...page.prefixes);
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.some((k) => k.startsWith(".signet-staging"))).toBe(false);
    const d = await h.admin.presign({ bucket: "default", prefix: "d", methods: ["LIST"] });
    const inD: string[] = [];
    cursor = null;
    for (let i = 0; i < 20; i++) {
      const url = new URL(d.url);
      url.searchParams.set("limit", "1");
      if (cursor !== null) url.searchParams.set("cursor", cursor);
      const page = (await (await fetch(url)).json()) as any;
      inD.push(...page.items.map((x: any) => x.key), ...page.prefixes);
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    expect(inD.sort()).toEqual(["d/\u{10FFFF}/", "d/\u{10FFFF}z", "d/a", "d/e/"].sort());
  });

  it("/r pins the committed blob: bytes swapped after the redirect answer 409 file_changed", async () => {
    const intent = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "pin/x.txt",
      size: 4,
      contentType: "text/plain",
    });
    await fetch(intent.body.upload.url, {
      method: "PUT",
      body: "good",
      headers: { "content-type": "text/plain" },
    });
    expect((await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`)).status).toBe(
      200,
    );
    const r = await fetch(`${h.url}/r/${intent.body.file.id}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      redirect: "manual",
    });
    expect(r.status).toBe(302);
    const location = r.headers.get("location")!;
    expect(await (await fetch(location)).text()).toBe("good");
    // Bytes swapped behind Signet's back after the redirect: the pinned URL refuses them.
    await h.signet.objects.store.put("default", "pin/x.txt", Readable.from([Buffer.from("evil")]), {
      contentType: "text/plain",
    });
    const after = await fetch(location);
    expect(after.status).toBe(409);
    expect(((await after.json()) as any).error.code).toBe("file_changed");
  });

  it("an upsert's commit supersedes the old file and writes file.superseded in the outbox", async () => {
    const put = async (bytes: string, upsert: boolean) => {
      const intent = await api(h.url, "POST", "/v1/uploads", {
        bucket: "default",
        key: "hook/x.txt",
        size: bytes.length,
        contentType: "text/plain",
        upsert,
      });
      expect(intent.status).toBe(201);
      await fetch(intent.body.upload.url, {
        method: "PUT",
        body: bytes,
        headers: { "content-type": "text/plain" },
      });
      return api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`);
    };
    const first = await put("one", false);
    const second = await put("two!", true);
    expect(second.status).toBe(200);
    const events = await h.signet.db.selectFrom("webhook_outbox").select("body").execute();
    const superseded = events
      .map((e) => JSON.parse(e.body) as { type: string; data: { id: string; status: string } })
      .filter((e) => e.type === "file.superseded");
    expect(superseded).toHaveLength(1);
    expect(JSON.stringify(superseded[0])).toContain(first.body.file.id);
    expect(JSON.stringify(superseded[0])).toContain('"superseded"');
  });

  it("a raw DELETE (/o or a link) waits for no commit: while one holds the key it is 409, then it deletes", async () => {
    const key = "held/d.bin";
    const put = await h.admin.presign({ bucket: "default", key, method: "PUT" });
    expect((await fetch(put.url, { method: "PUT", body: "x" })).status).toBe(200);
    const direct = await h.admin.presign({ bucket: "default", key, method: "DELETE" });
    const link = await h.admin.presign({
      bucket: "default",
      key,
      method: "DELETE",
      delivery: "link",
    });
    // An intent's commit in progress at the key (KeyGuard.exclusive), held open.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let committing!: () => void;
    const started = new Promise<void>((resolve) => (committing = resolve));
    const commit = h.signet.keyGuard.exclusive("default", key, "intent-in-commit", async () => {
      committing();
      await held;
    });
    await started;
    for (const url of [direct.url, link.url]) {
      const refused = await fetch(url, { method: "DELETE" });
      expect(refused.status, url).toBe(409);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("conflict");
    }
    release();
    await commit;
    expect((await fetch(link.url, { method: "DELETE" })).status).toBe(204);
    const get = await h.admin.presign({ bucket: "default", key, method: "GET" });
    expect((await fetch(get.url)).status).toBe(404);
  });

  it("raw DELETEs at one key at once do not refuse each other (a DELETE is not a commit)", async () => {
    const statuses = new Set<number>();
    for (let round = 0; round < 10; round++) {
      const key = `twice/del-${round}.bin`;
      const put = await h.admin.presign({ bucket: "default", key, method: "PUT" });
      expect((await fetch(put.url, { method: "PUT", body: "x" })).status).toBe(200);
      const del = await h.admin.presign({ bucket: "default", key, method: "DELETE" });
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => fetch(del.url, { method: "DELETE" })),
      );
      for (const a of answers) statuses.add(a.status);
    }
    expect([...statuses]).toEqual([204]);
  });

  it("a URL stops working when its bucket is deleted and one of the same name is made", async () => {
    const make = () =>
      api(h.url, "POST", "/v1/buckets", { name: "again", config: { backend: "local" } });
    expect((await make()).status).toBe(201);
    const put = await h.admin.presign({ bucket: "again", key: "k.txt", method: "PUT" });
    const link = await h.admin.presign({
      bucket: "again",
      key: "k.txt",
      method: "PUT",
      delivery: "link",
    });
    expect((await api(h.url, "DELETE", "/v1/buckets/again")).status).toBe(204);
    expect((await make()).status).toBe(201);
    expect((await fetch(put.url, { method: "PUT", body: "x" })).status).toBe(404);
    expect((await fetch(link.url, { method: "PUT", body: "x" })).status).toBe(404);
    const fresh = await h.admin.presign({ bucket: "again", key: "k.txt", method: "PUT" });
    expect((await fetch(fresh.url, { method: "PUT", body: "x" })).status).toBe(200);
  });
});

describe("GET /v1/files pages through every readable file", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        grants: [
          { principal: "role:user", buckets: ["default"], prefix: "mine", actions: ["read"] },
        ],
      },
    });
  });
  afterAll(() => h.close());

  it("past 10,000 rows the caller cannot read, the cursor goes on to the end", async () => {
    const row = (id: string, key: string) => ({
      id,
      bucket: "default",
      key,
      size: 1,
      sha256: null,
      content_type: "text/plain",
      owner: "key:x",
      status: "committed" as const,
      etag: '"x"',
      upload: null,
      created_at: new Date().toISOString(),
      expires_at: new Date().toISOString(),
      committed_at: new Date().toISOString(),
      deleted_at: null,
      changed_at: null,
    });
    const others = Array.from({ length: 10_050 }, (_, i) =>
      row(`f_a${String(i).padStart(21, "0")}`, `other/${i}`),
    );
    for (let i = 0; i < others.length; i += 500)
      await h.signet.db
        .insertInto("files")
        .values(others.slice(i, i + 500))
        .execute();
    await h.signet.db
      .insertInto("files")
      .values(row(`f_z${"0".repeat(21)}`, "mine/x"))
      .execute();
    const { key: reader } = await h.admin.apiKeys.create({ name: "r", role: "user" });
    const found: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const res = await api(
        h.url,
        "GET",
        `/v1/files?limit=100${cursor === null ? "" : `&cursor=${cursor}`}`,
        undefined,
        reader,
      );
      expect(res.status).toBe(200);
      found.push(...res.body.items.map((f: any) => f.key));
      cursor = res.body.nextCursor;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    expect(found).toEqual(["mine/x"]);
  });
});
