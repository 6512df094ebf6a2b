/**
 * Files stay true around an intent's commit on the embedded store: what another request does
 * between complete's check of the staged bytes and its commit. The window is opened
 * deterministically by wrapping the backend's `promote` (the step between the two); a client
 * racing complete with Promise.all hits the same window, only not every time.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../../src/backends/types.js";
import type { BlobFiles } from "../../src/store/blobs.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const sha = (s: string) => createHash("sha256").update(s).digest("base64");

describe("an intent's commit against requests that race it (embedded store)", () => {
  let h: Harness;
  let backend: Backend;
  let promote: Backend["promote"];
  beforeAll(async () => {
    h = await startSignet();
    backend = h.signet.buckets.get("default")!.backend;
    promote = backend.promote.bind(backend);
  });
  afterAll(() => h.close());

  /** Runs `during` once, where complete has checked the staged bytes and not yet promoted them. */
  const beforePromote = (during: () => Promise<unknown>) => {
    backend.promote = async (...args) => {
      backend.promote = promote;
      await during();
      return promote(...args);
    };
  };
  /** Runs `during` once, right after the promote and before the commit's transaction. */
  const afterPromote = (during: () => Promise<unknown>) => {
    backend.promote = async (...args) => {
      backend.promote = promote;
      const moved = await promote(...args);
      await during();
      return moved;
    };
  };

  const intent = async (key: string, extra: Record<string, unknown> = {}) => {
    const res = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key,
      size: 4,
      contentType: "text/plain",
      ...extra,
    });
    expect(res.status).toBe(201);
    return res.body as { file: { id: string }; upload: { url: string } };
  };
  const put = (url: string, body: string) =>
    fetch(url, { method: "PUT", body, headers: { "content-type": "text/plain" } });
  const bytesAt = async (key: string) => {
    const get = await h.admin.presign({ bucket: "default", key, method: "GET" });
    const res = await fetch(get.url);
    return res.status === 200 ? await res.text() : res.status;
  };

  it("a PUT to the staging key after complete's check never commits unchecked bytes", async () => {
    const made = await intent("race/sha.txt");
    expect((await put(made.upload.url, "good")).status).toBe(200);
    // Same length and type (all the URL binds), other bytes: lands after the check.
    beforePromote(async () => expect((await put(made.upload.url, "evil")).status).toBe(200));
    const done = await api(h.url, "POST", `/v1/uploads/${made.file.id}/complete`);
    const served = await bytesAt("race/sha.txt");
    if (done.status === 200) {
      // Committed: the record must describe the bytes it serves.
      expect(done.body.file.sha256).toBe(sha(String(served)));
    } else {
      expect(done.status).toBe(409);
      expect(served).toBe(404);
    }
  });

  it("DELETE /v1/files of the old file while an upsert commits never removes the new file's bytes", async () => {
    const first = await intent("race/upsert.txt");
    await put(first.upload.url, "old1");
    expect((await api(h.url, "POST", `/v1/uploads/${first.file.id}/complete`)).status).toBe(200);
    const second = await intent("race/upsert.txt", { upsert: true });
    await put(second.upload.url, "new2");
    let deleted = 0;
    afterPromote(async () => {
      deleted = (await api(h.url, "DELETE", `/v1/files/${first.file.id}`)).status;
    });
    const done = await api(h.url, "POST", `/v1/uploads/${second.file.id}/complete`);
    const file2 = await api(h.url, "GET", `/v1/files/${second.file.id}`);
    if (file2.body.status === "committed") {
      // A committed file serves its bytes.
      expect(await bytesAt("race/upsert.txt")).toBe("new2");
      const r = await fetch(`${h.url}/r/${second.file.id}`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        redirect: "manual",
      });
      expect(r.status).toBe(302);
    }
    expect([200, 409]).toContain(done.status);
    expect([204, 409]).toContain(deleted);
  });

  it("an abort while an upsert commits never leaves the old committed file with other bytes", async () => {
    const first = await intent("race/abort.txt");
    await put(first.upload.url, "old1");
    expect((await api(h.url, "POST", `/v1/uploads/${first.file.id}/complete`)).status).toBe(200);
    const second = await intent("race/abort.txt", { upsert: true });
    await put(second.upload.url, "new2");
    let aborted = 0;
    afterPromote(async () => {
      aborted = (await api(h.url, "POST", `/v1/uploads/${second.file.id}/abort`)).status;
    });
    const done = await api(h.url, "POST", `/v1/uploads/${second.file.id}/complete`);
    const file1 = (await api(h.url, "GET", `/v1/files/${first.file.id}`)).body;
    const file2 = (await api(h.url, "GET", `/v1/files/${second.file.id}`)).body;
    const served = await bytesAt("race/abort.txt");
    // Exactly one of the two is committed, and the key serves its bytes.
    const committed = [file1, file2].filter((f) => f.status === "committed");
    expect(committed).toHaveLength(1);
    expect(served).toBe(committed[0] === file1 ? "old1" : "new2");
    expect([200, 409]).toContain(done.status);
    expect([200, 409]).toContain(aborted);
  });

  it("the sweeper discarding an intent while it commits never orphans the key's new bytes", async () => {
    const made = await intent("race/sweep.txt");
    await put(made.upload.url, "mine");
    afterPromote(() => h.signet.uploads.sweep(new Date(Date.now() + 10 * 24 * 3600_000)));
    await api(h.url, "POST", `/v1/uploads/${made.file.id}/complete`);
    const file = (await api(h.url, "GET", `/v1/files/${made.file.id}`)).body;
    const served = await bytesAt("race/sweep.txt");
    // Committed with its bytes, or gone with them: never bytes at a key that no file holds.
    if (file.status === "committed") expect(served).toBe("mine");
    else expect(served).toBe(404);
  });
});

describe("a pending file's URLs after it is deleted", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("DELETE /v1/files of a pending file ends its upload URL: nothing can be staged for it again", async () => {
    const made = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "gone/pending.txt",
      size: 4,
      contentType: "text/plain",
    });
    expect(made.status).toBe(201);
    const url = made.body.upload.url as string;
    const put = () =>
      fetch(url, { method: "PUT", body: "late", headers: { "content-type": "text/plain" } });
    expect((await put()).status).toBe(200);
    expect((await api(h.url, "DELETE", `/v1/files/${made.body.file.id}`)).status).toBe(204);
    // The file is deleted and its staged bytes with it; its URL must not stage new ones, which
    // no file would own and no sweep would ever remove.
    expect((await put()).status).toBe(403);
    const staged = await h.signet.db
      .selectFrom("objects")
      .select("key")
      .where("key", "like", ".signet-staging/%")
      .execute();
    expect(staged).toEqual([]);
  });
});

describe("an upsert's commit and a DELETE of the file it replaces, racing freely (bounded)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("a committed file always serves its bytes", async () => {
    const deadline = Date.now() + 8000;
    for (let round = 0; round < 25 && Date.now() < deadline; round++) {
      const key = `free/${round}.txt`;
      const make = async (upsert: boolean, body: string) => {
        const res = await api(h.url, "POST", "/v1/uploads", {
          bucket: "default",
          key,
          size: 4,
          contentType: "text/plain",
          upsert,
        });
        await fetch(res.body.upload.url, {
          method: "PUT",
          body,
          headers: { "content-type": "text/plain" },
        });
        return res.body.file.id as string;
      };
      const first = await make(false, "old1");
      await api(h.url, "POST", `/v1/uploads/${first}/complete`);
      const second = await make(true, "new2");
      // The DELETE a little after the complete, so that it lands inside the commit.
      await Promise.all([
        api(h.url, "POST", `/v1/uploads/${second}/complete`),
        new Promise((r) => setTimeout(r, round % 5)).then(() =>
          api(h.url, "DELETE", `/v1/files/${first}`),
        ),
      ]);
      const file = (await api(h.url, "GET", `/v1/files/${second}`)).body;
      if (file.status === "committed") {
        const r = await fetch(`${h.url}/r/${second}`, {
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
          redirect: "manual",
        });
        expect(r.status, `round ${round}`).toBe(302);
      }
    }
  });
});

describe("a PUT through an intent's URL between its commit and the revocation of its URLs", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("leaves nothing staged once complete answers", async () => {
    const made = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "late/put.txt",
      size: 4,
      contentType: "text/plain",
    });
    const url = made.body.upload.url as string;
    const put = () =>
      fetch(url, { method: "PUT", body: "more", headers: { "content-type": "text/plain" } });
    expect((await put()).status).toBe(200);
    const revocations = h.signet.revocations;
    const revoke = revocations.revokeTokens.bind(revocations);
    revocations.revokeTokens = async (...args) => {
      revocations.revokeTokens = revoke;
      // Committed, URLs not yet revoked: the same URL stages bytes again.
      expect((await put()).status).toBe(200);
      return revoke(...args);
    };
    expect((await api(h.url, "POST", `/v1/uploads/${made.body.file.id}/complete`)).status).toBe(
      200,
    );
    const staged = await h.signet.db
      .selectFrom("objects")
      .select("key")
      .where("key", "like", ".signet-staging/%")
      .execute();
    expect(staged).toEqual([]);
  });

  // The re-upload removed the blob the assembly was about to read: a 500 (ENOENT) before.
  it("a part uploaded again while complete assembles the parts is 409, and complete again works", async () => {
    const made = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "assembly/race.bin",
      size: 8,
      contentType: "application/octet-stream",
      multipart: { partSize: 4 },
    });
    expect(made.status).toBe(201);
    const parts = made.body.upload.parts as { url: string }[];
    const send = (i: number, body: string) => fetch(parts[i]!.url, { method: "PUT", body });
    expect((await send(0, "aaaa")).status).toBe(200);
    expect((await send(1, "bbbb")).status).toBe(200);
    const blobs = (h.signet.multipart as unknown as { store: { blobs: BlobFiles } }).store.blobs;
    const read = blobs.read.bind(blobs);
    blobs.read = async (...args) => {
      blobs.read = read;
      // Part 1 is being read; part 2 is uploaded again (its old blob removed).
      expect((await send(1, "cccc")).status).toBe(200);
      return read(...args);
    };
    const id = made.body.file.id as string;
    const refused = await api(h.url, "POST", `/v1/uploads/${id}/complete`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("conflict");
    const done = await api(h.url, "POST", `/v1/uploads/${id}/complete`);
    expect(done.status).toBe(200);
    const get = await h.admin.presign({
      bucket: "default",
      key: "assembly/race.bin",
      method: "GET",
    });
    expect(await (await fetch(get.url)).text()).toBe("aaaacccc");
  });
});
