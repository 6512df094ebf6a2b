/**
 * Issue 14: one way to issue a URL. Every route that answers signed URLs is enumerated; each
 * answered token id is audited and revocable (the URL is refused afterwards), or, where nobody
 * can refuse it, revoking answers 409 `not_revocable`. Each repro of the issue is a case here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_KEY,
  type Harness,
  startSignet,
  UNREACHABLE_S3_ENV,
  unreachableS3,
} from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const BEARER = { authorization: `Bearer ${ADMIN_KEY}` };

/** The token id inside a Signet token (`?t=` of a direct URL, or `/l/{token}`, `/s/{token}/`). */
function tokenIdOf(url: string): string {
  const u = new URL(url);
  const token = u.searchParams.get("t") ?? u.pathname.split("/")[2]!;
  return (JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { i: string }).i;
}

const auditOf = async (h: Harness, tokenId: string) =>
  (await api(h.url, "GET", `/v1/audit?tokenId=${tokenId}`)).body.items as {
    action: string;
    outcome: string;
    reason: string | null;
    principal: string;
    ip: string | null;
    detail: { delivery?: string } | null;
  }[];

const revoke = (h: Harness, body: unknown) => api(h.url, "POST", "/v1/revocations", body);

interface Issued {
  id: string;
  /** one request with the signed URL, as its holder would send it */
  use: () => Promise<Response>;
}

const put = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "PUT",
    body,
    headers: Object.fromEntries(
      Object.entries(headers).filter(([name]) => name !== "content-length"),
    ),
  });

describe("every route that answers signed URLs, on the embedded store", () => {
  let h: Harness;
  let fileId: string;
  let fenceGuid: string;

  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" }, gen3: { backend: "local" } },
        compat: { fenceBucket: "gen3", presignBucket: "default" },
      },
    });
    // A committed file (for /r and DRS) and a committed Fence upload.
    const intent = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      contentType: "application/octet-stream",
      key: "docs/a.txt",
      size: 5,
    });
    const up = intent.body.upload;
    expect((await put(up.url, "hello", up.headers)).status).toBe(200);
    fileId = intent.body.file.id;
    expect((await api(h.url, "POST", `/v1/uploads/${fileId}/complete`, {})).status).toBe(200);
    const fence = await api(h.url, "POST", "/data/upload", { file_name: "r.txt" });
    fenceGuid = fence.body.guid;
    expect((await put(fence.body.url, "fence")).status).toBe(200);
  });
  afterAll(() => h.close());

  const get = (url: string) => () => fetch(url);
  const cases: [string, () => Promise<Issued>][] = [
    [
      "POST /v1/presign",
      async () => {
        const r = await api(h.url, "POST", "/v1/presign", {
          bucket: "default",
          key: "docs/a.txt",
          method: "GET",
        });
        return { id: r.body.id, use: get(r.body.url) };
      },
    ],
    [
      "POST /v1/presign (a link)",
      async () => {
        const r = await api(h.url, "POST", "/v1/presign", {
          bucket: "default",
          key: "docs/a.txt",
          method: "GET",
          delivery: "link",
        });
        return { id: r.body.id, use: get(r.body.url) };
      },
    ],
    [
      "POST /v1/presign/batch",
      async () => {
        const r = await api(h.url, "POST", "/v1/presign/batch", {
          requests: [{ bucket: "default", key: "docs/a.txt", method: "GET" }],
        });
        return { id: r.body.results[0].id, use: get(r.body.results[0].url) };
      },
    ],
    [
      "POST /v1/presign/parts",
      async () => {
        const r = await api(h.url, "POST", "/v1/presign/parts", {
          bucket: "default",
          key: "docs/a.txt",
          partSize: 2,
        });
        const part = r.body.parts[1];
        return { id: part.id, use: () => fetch(part.url, { headers: part.headers }) };
      },
    ],
    [
      "POST /v1/presign with short: true (/u/{id})",
      async () => {
        const r = await api(h.url, "POST", "/v1/presign", {
          bucket: "default",
          key: "docs/a.txt",
          method: "GET",
          short: true,
        });
        expect(r.body.url).toMatch(/\/u\/[A-Za-z0-9_-]{22}$/);
        return { id: r.body.id, use: get(r.body.url) };
      },
    ],
    [
      "POST /v1/uploads (single PUT)",
      async () => {
        const r = await api(h.url, "POST", "/v1/uploads", {
          bucket: "default",
          contentType: "application/octet-stream",
          key: "up/single.txt",
          size: 3,
        });
        const up = r.body.upload;
        return { id: up.id, use: () => put(up.url, "abc", up.headers) };
      },
    ],
    [
      "POST /v1/uploads with short: true (/u/{id})",
      async () => {
        const r = await api(h.url, "POST", "/v1/uploads", {
          bucket: "default",
          contentType: "application/octet-stream",
          key: "up/short.txt",
          size: 3,
          short: true,
        });
        const up = r.body.upload;
        expect(up.url).toMatch(/\/u\/[A-Za-z0-9_-]{22}$/);
        // The 307 keeps the method and the body.
        return { id: up.id, use: () => put(up.url, "abc", up.headers) };
      },
    ],
    [
      "POST /v1/uploads/{id}/parts",
      async () => {
        const r = await api(h.url, "POST", "/v1/uploads", {
          bucket: "default",
          contentType: "application/octet-stream",
          key: "up/parts.bin",
          size: 4,
          multipart: { partSize: 2 },
        });
        const signed = await api(h.url, "POST", `/v1/uploads/${r.body.file.id}/parts`, {
          partNumbers: [2],
        });
        const part = signed.body.parts[0];
        return { id: part.id, use: () => put(part.url, "cd", part.headers) };
      },
    ],
    [
      "POST /v1/uppy/sign (a simple PUT)",
      async () => {
        const r = await api(h.url, "POST", "/v1/uppy/sign", {
          bucket: "default",
          key: "up/uppy.txt",
          method: "PUT",
          contentType: "text/plain",
        });
        return { id: tokenIdOf(r.body.url), use: () => put(r.body.url, "u", r.body.headers) };
      },
    ],
    [
      "POST /v1/uploads (a multipart part)",
      async () => {
        const r = await api(h.url, "POST", "/v1/uploads", {
          bucket: "default",
          contentType: "application/octet-stream",
          key: "up/multi.bin",
          size: 4,
          multipart: { partSize: 2 },
        });
        const part = r.body.upload.parts[0];
        return { id: part.id, use: () => put(part.url, "ab", part.headers) };
      },
    ],
    [
      "POST /v1/shares",
      async () => {
        const r = await api(h.url, "POST", "/v1/shares", {
          bucket: "default",
          prefix: "docs",
          methods: ["GET"],
        });
        return { id: r.body.id, use: get(`${r.body.url}a.txt`) };
      },
    ],
    [
      "GET /r/{fileId}",
      async () => {
        const r = await fetch(`${h.url}/r/${fileId}`, { headers: BEARER, redirect: "manual" });
        const url = r.headers.get("location")!;
        return { id: tokenIdOf(url), use: get(url) };
      },
    ],
    [
      "GET /ga4gh/drs/v1/objects/{id}/access/https",
      async () => {
        const r = await api(h.url, "GET", `/ga4gh/drs/v1/objects/${fileId}/access/https`);
        return { id: tokenIdOf(r.body.url), use: get(r.body.url) };
      },
    ],
    [
      "GET /presign/{key} (AWS presign compat)",
      async () => {
        const r = await api(h.url, "GET", "/presign/docs/a.txt?method=GET");
        return { id: tokenIdOf(r.body.URL), use: get(r.body.URL) };
      },
    ],
    [
      "GET /data/download/{guid} (Fence)",
      async () => {
        const r = await api(h.url, "GET", `/data/download/${fenceGuid}`);
        return { id: tokenIdOf(r.body.url), use: get(r.body.url) };
      },
    ],
    [
      "GET /data/download/{guid}/part (Fence)",
      async () => {
        const r = await api(h.url, "GET", `/data/download/${fenceGuid}/part?start=0&end=1`);
        return {
          id: tokenIdOf(r.body.url),
          use: () => fetch(r.body.url, { headers: r.body.headers }),
        };
      },
    ],
    [
      "POST /data/upload (Fence)",
      async () => {
        const r = await api(h.url, "POST", "/data/upload", { file_name: "x.txt" });
        return { id: tokenIdOf(r.body.url), use: () => put(r.body.url, "x") };
      },
    ],
    [
      "GET /data/upload/{guid} (Fence, a fresh upload URL)",
      async () => {
        const first = await api(h.url, "POST", "/data/upload", { file_name: "y.txt" });
        const r = await api(h.url, "GET", `/data/upload/${first.body.guid}?file_name=y.txt`);
        return { id: tokenIdOf(r.body.url), use: () => put(r.body.url, "y") };
      },
    ],
    [
      "POST /data/multipart/upload (Fence)",
      async () => {
        const init = await api(h.url, "POST", "/data/multipart/init", { file_name: "m.bin" });
        const r = await api(h.url, "POST", "/data/multipart/upload", {
          key: `${init.body.guid}/m.bin`,
          uploadId: init.body.uploadId,
          partNumber: 1,
        });
        return { id: tokenIdOf(r.body.presigned_url), use: () => put(r.body.presigned_url, "p") };
      },
    ],
  ];

  it.each(cases)("%s: audited, revocable, refused once revoked", async (_name, issue) => {
    const issued = await issue();
    expect(issued.id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const before = await issued.use();
    expect(before.status).toBeLessThan(400);
    const rows = await auditOf(h, issued.id);
    expect(rows.some((r) => r.outcome === "allowed" && r.principal === "env:admin")).toBe(true);
    // Each issuance's row (the URL's own, and a redirect link's target issued at its use)
    // names the client's address (the harness's client is local).
    const issuances = rows.filter((r) => r.detail?.delivery !== undefined);
    expect(issuances.length).toBeGreaterThan(0);
    for (const row of issuances) expect(row.ip).toBe("127.0.0.1");

    const revoked = await revoke(h, { tokenId: issued.id });
    expect(revoked.status).toBe(201);
    expect(revoked.body).toMatchObject({ tokenId: issued.id });
    const after = await issued.use();
    expect(after.status).toBe(403);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe("token_revoked");
  });

  it("a redirect link's target is an audited issuance of its own, revoked with the link", async () => {
    const link = await api(h.url, "POST", "/v1/presign", {
      bucket: "default",
      key: "docs/a.txt",
      method: "GET",
      delivery: "link",
    });
    const hop = await fetch(link.body.url, { redirect: "manual" });
    expect(hop.status).toBe(302);
    const target = hop.headers.get("location")!;
    expect(target).toContain("/o/");
    const rows = await auditOf(h, link.body.id);
    const redirect = rows.find((r) => r.action === "link.redirect");
    expect(redirect).toMatchObject({
      outcome: "allowed",
      principal: "env:admin",
      ip: "127.0.0.1",
      detail: { delivery: "direct" },
    });
    const expiresAt = Date.parse((redirect!.detail as { expiresAt: string }).expiresAt);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 61_000);
    expect((await fetch(target)).status).toBe(200);
    // Revoking the link revokes the target it handed out (the embedded store refuses at once).
    expect((await revoke(h, { tokenId: link.body.id })).status).toBe(201);
    const after = await fetch(target);
    expect(after.status).toBe(403);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe("token_revoked");
    expect((await fetch(link.body.url, { redirect: "manual" })).status).toBe(403);
  });

  it("repro: the upload.id of an intent is revocable (was 404)", async () => {
    const r = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      contentType: "application/octet-stream",
      key: "up/repro.txt",
      size: 2,
    });
    expect((await revoke(h, { tokenId: r.body.upload.id })).status).toBe(201);
    expect((await put(r.body.upload.url, "ab", r.body.upload.headers)).status).toBe(403);
  });

  it("revoking a token twice answers its first revocation again (200, the first revokedAt), audited once", async () => {
    const r = await api(h.url, "POST", "/v1/presign", {
      bucket: "default",
      key: "twice/a",
      method: "GET",
    });
    const first = await revoke(h, { tokenId: r.body.id });
    expect(first.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await revoke(h, { tokenId: r.body.id });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ tokenId: r.body.id, revokedAt: first.body.revokedAt });
    const revokes = (await auditOf(h, r.body.id)).filter((a) => a.action === "revoke");
    expect(revokes).toHaveLength(1);
  });

  it("revoking a token twice at once: one 201, the other 200 with the time stored, audited once", async () => {
    for (let round = 0; round < 5; round++) {
      const r = await api(h.url, "POST", "/v1/presign", {
        bucket: "default",
        key: `twice/at-once-${round}`,
        method: "GET",
      });
      const both = await Promise.all([
        revoke(h, { tokenId: r.body.id }),
        revoke(h, { tokenId: r.body.id }),
      ]);
      expect(both.map((b) => b.status).sort(), `round ${round}`).toEqual([200, 201]);
      expect(both[0]!.body.revokedAt).toBe(both[1]!.body.revokedAt);
      const revokes = (await auditOf(h, r.body.id)).filter((a) => a.action === "revoke");
      expect(revokes).toHaveLength(1);
    }
  });

  it("repro: Fence, DRS and /r issuances leave audit rows naming their route", async () => {
    await fetch(`${h.url}/r/${fileId}`, { headers: BEARER, redirect: "manual" });
    await api(h.url, "GET", `/ga4gh/drs/v1/objects/${fileId}/access/https`);
    await api(h.url, "GET", `/data/download/${fenceGuid}`);
    for (const action of ["session", "drs", "fence.download"]) {
      const rows = (await api(h.url, "GET", `/v1/audit?action=${action}`)).body.items;
      expect(rows.length, action).toBeGreaterThan(0);
      expect(rows[0]).toMatchObject({ action, outcome: "allowed", principal: "env:admin" });
      expect(rows[0].tokenId).toMatch(/^[A-Za-z0-9_-]{24}$/);
    }
  });

  it("repro: /data/download/{id} reaches a file committed through /v1/uploads; DRS takes a GUID", async () => {
    const down = await api(h.url, "GET", `/data/download/${fileId}`);
    expect(down.status).toBe(200);
    expect(await (await fetch(down.body.url)).text()).toBe("hello");
    const drs = await api(h.url, "GET", `/ga4gh/drs/v1/objects/${fenceGuid}`);
    expect(drs.status).toBe(200);
    expect(drs.body.size).toBe(5);
    // A caller's own GUID cannot take the form of a file id.
    const taken = await api(h.url, "POST", "/data/multipart/init", {
      file_name: "m.bin",
      guid: fileId,
    });
    expect(taken.status).toBe(400);
  });

  it("repro: refusals on /l and /s are audited with their reason", async () => {
    const link = await api(h.url, "POST", "/v1/presign", {
      bucket: "default",
      key: "docs/a.txt",
      method: "GET",
      delivery: "link",
    });
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "default",
      prefix: "docs",
      methods: ["GET"],
    });
    // A bad token, a token outside its scope, a revoked one.
    const bad = link.body.url.replace(/.$/, (c: string) => (c === "A" ? "B" : "A"));
    expect((await fetch(bad)).status).toBe(403);
    expect((await fetch(`${share.body.url}../secret.txt`)).status).toBeGreaterThanOrEqual(400);
    await revoke(h, { tokenId: share.body.id });
    expect((await fetch(`${share.body.url}a.txt`)).status).toBe(403);
    const refused = (await api(h.url, "GET", "/v1/audit?outcome=refused&action=link.use")).body
      .items as { reason: string; tokenId: string | null; status: number }[];
    const reasons = refused.map((r) => r.reason);
    expect(reasons).toContain("token_invalid");
    expect(refused.find((r) => r.tokenId === share.body.id)).toMatchObject({
      reason: "token_revoked",
      status: 403,
    });
  });

  it("repro: signing-key rotate and retire, API keys, grants and buckets are audited", async () => {
    const rotated = await api(h.url, "POST", "/v1/keys");
    expect(rotated.status).toBe(201);
    const old = (await api(h.url, "GET", "/v1/keys")).body.items.find(
      (k: { status: string }) => k.status !== "active",
    );
    expect((await api(h.url, "POST", `/v1/keys/${old.kid}/retire`)).status).toBe(200);
    const key = await api(h.url, "POST", "/v1/apikeys", { name: "ci", role: "user" });
    await api(h.url, "DELETE", `/v1/apikeys/${key.body.id}`);
    const grant = await api(h.url, "POST", "/v1/grants", {
      principal: "role:user",
      buckets: ["default"],
      prefix: "",
      actions: ["read"],
    });
    await api(h.url, "DELETE", `/v1/grants/${grant.body.id}`);
    await api(h.url, "POST", "/v1/buckets", { name: "extra", config: { backend: "local" } });
    await api(h.url, "DELETE", "/v1/buckets/extra");
    const actions = (await api(h.url, "GET", "/v1/audit?limit=50")).body.items.map(
      (r: { action: string }) => r.action,
    );
    for (const action of [
      "key.rotate",
      "key.retire",
      "apikey.create",
      "apikey.delete",
      "grant.create",
      "grant.delete",
      "bucket.create",
      "bucket.delete",
    ])
      expect(actions, action).toContain(action);
    // The API key's secret is never in the trail.
    const all = JSON.stringify((await api(h.url, "GET", "/v1/audit?limit=1000")).body);
    expect(all).not.toContain(key.body.key);
  });

  it("repro: revocations of an aborted intent are pruned once their tokens expire", async () => {
    const r = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      contentType: "application/octet-stream",
      key: "up/pruned.bin",
      size: 6,
      multipart: { partSize: 2 },
      expiresIn: 60,
    });
    expect((await api(h.url, "POST", `/v1/uploads/${r.body.file.id}/abort`)).status).toBe(200);
    const ids = r.body.upload.parts.map((p: { id: string }) => p.id) as string[];
    const rows = () =>
      h.signet.db.selectFrom("revocations").selectAll().where("value", "in", ids).execute();
    expect((await rows()).length).toBe(3);
    expect((await rows()).every((row) => row.expires_at !== null)).toBe(true);
    // Still there while the tokens live; gone once they have expired.
    await h.signet.revocations.prune();
    expect((await rows()).length).toBe(3);
    await h.signet.revocations.prune(Date.now() + 3_600_000);
    expect(await rows()).toEqual([]);
  });
});

describe("revocation that never lies, on a direct-URL backend (S3)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: {
          s3: unreachableS3("far"),
        },
        compat: { presignBucket: "s3" },
      },
      env: UNREACHABLE_S3_ENV,
    });
  });
  afterAll(() => h.close());

  it("repro: revoking a direct S3 URL answers 409 not_revocable, saying what would have worked", async () => {
    const r = await api(h.url, "POST", "/v1/presign", {
      bucket: "s3",
      key: "a.txt",
      method: "GET",
    });
    expect(r.body.enforcedBy.method).toBe("backend");
    const res = await revoke(h, { tokenId: r.body.id });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("not_revocable");
    expect(res.body.error.message).toContain('"revocable": true');
    expect(res.body.error.message).toContain("rotate");
    // The refusal to revoke is audited too.
    const rows = await auditOf(h, r.body.id);
    expect(rows.find((row) => row.action === "revoke")).toMatchObject({
      outcome: "refused",
      reason: "not_revocable",
    });
  });

  it("every route's direct URLs answer 409; a revocable one is a link Signet refuses", async () => {
    const batch = await api(h.url, "POST", "/v1/presign/batch", {
      requests: [{ bucket: "s3", key: "a.txt", method: "GET" }],
    });
    const compat = await api(h.url, "GET", "/presign/a.txt?method=PUT&contentLength=3");
    const compatId = new URL(compat.body.URL).searchParams.get("X-Amz-Signature");
    expect(compatId).not.toBeNull();
    const ids: string[] = [batch.body.results[0].id];
    // The compat route answers no id: it is found by the issuance record.
    const compatRow = (await api(h.url, "GET", "/v1/audit?action=compat.presign")).body.items[0];
    ids.push(compatRow.tokenId);
    for (const id of ids) expect((await revoke(h, { tokenId: id })).status).toBe(409);

    const revocable = await api(h.url, "POST", "/v1/presign", {
      bucket: "s3",
      key: "a.txt",
      method: "GET",
      revocable: true,
    });
    expect(revocable.body.url).toContain("/l/");
    const before = await fetch(revocable.body.url, { redirect: "manual" });
    expect(before.status).toBe(302);
    // The 60 s S3 target is audited as an issuance under the link's id.
    expect(before.headers.get("location")).toContain("X-Amz-Signature=");
    const redirect = (await auditOf(h, revocable.body.id)).find(
      (r) => r.action === "link.redirect",
    );
    expect(redirect).toMatchObject({ ip: "127.0.0.1", detail: { delivery: "direct" } });
    expect((await revoke(h, { tokenId: revocable.body.id })).status).toBe(201);
    expect((await fetch(revocable.body.url, { redirect: "manual" })).status).toBe(403);
  });

  it("revocation by principal and by folder revokes what can be refused and lists the rest", async () => {
    const link = await api(h.url, "POST", "/v1/presign", {
      bucket: "s3",
      key: "team/a.txt",
      method: "GET",
      delivery: "link",
    });
    const direct = await api(h.url, "POST", "/v1/presign", {
      bucket: "s3",
      key: "team/b.txt",
      method: "GET",
    });
    const outside = await api(h.url, "POST", "/v1/presign", {
      bucket: "s3",
      key: "other/c.txt",
      method: "GET",
      delivery: "link",
    });
    const byFolder = await revoke(h, { bucket: "s3", prefix: "team" });
    expect(byFolder.status).toBe(201);
    expect(byFolder.body).toMatchObject({ bucket: "s3", prefix: "team/", revoked: 1 });
    expect(byFolder.body.notRevocable).toEqual([
      { tokenId: direct.body.id, expiresAt: direct.body.expiresAt },
    ]);
    expect((await fetch(link.body.url, { redirect: "manual" })).status).toBe(403);
    expect((await fetch(outside.body.url, { redirect: "manual" })).status).toBe(302);

    const byPrincipal = await revoke(h, { principal: "env:admin" });
    expect(byPrincipal.status).toBe(201);
    expect(byPrincipal.body.revoked).toBeGreaterThanOrEqual(1);
    expect((await fetch(outside.body.url, { redirect: "manual" })).status).toBe(403);
    // Issued afterwards: not revoked (by principal means what was issued before now).
    const later = await api(h.url, "POST", "/v1/presign", {
      bucket: "s3",
      key: "other/c.txt",
      method: "GET",
      delivery: "link",
    });
    expect((await fetch(later.body.url, { redirect: "manual" })).status).toBe(302);
  });

  it("a token nobody issued, or someone else's, is 404; another principal's tokens are admin-only", async () => {
    expect((await revoke(h, { tokenId: "AAAAAAAAAAAAAAAA" })).status).toBe(404);
    const mine = await api(h.url, "POST", "/v1/presign", {
      bucket: "s3",
      key: "a.txt",
      method: "GET",
      delivery: "link",
    });
    const user = (await api(h.url, "POST", "/v1/apikeys", { name: "u", role: "user" })).body.key;
    const asUser = (body: unknown) => api(h.url, "POST", "/v1/revocations", body, user);
    expect((await asUser({ tokenId: mine.body.id })).status).toBe(404);
    expect((await asUser({ principal: "env:admin" })).status).toBe(403);
    // A folder revocation by a user reaches only that user's own tokens.
    const folder = await asUser({ bucket: "s3", prefix: "" });
    expect(folder.status).toBe(201);
    expect(folder.body.revoked).toBe(0);
    expect((await fetch(mine.body.url, { redirect: "manual" })).status).toBe(302);
    expect((await asUser({ bucket: "s3", prefix: "../x" })).status).toBe(400);
  });
});
