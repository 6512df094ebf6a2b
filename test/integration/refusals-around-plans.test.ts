/**
 * Refusals a route makes around an issuance plan (a key a file holds, a part past the end) are
 * audited as the plan's own are; a share that `issued` does not know (made before migration
 * 0009, or its row pruned) is still revoked by DELETE /v1/shares/{id}.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  startSignet,
  UNREACHABLE_S3_ENV,
  unreachableS3,
} from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("refusals around plans, and shares issued does not know", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  const refusedFor = async (key: string) =>
    (await api(h.url, "GET", `/v1/audit?outcome=refused`)).body.items.filter(
      (r: { key: string | null }) => r.key === key,
    );

  it("DELETE /v1/shares/{id} revokes a live share whose token is not in `issued`", async () => {
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "default",
      prefix: "old",
      methods: ["GET"],
      expiresIn: 3600,
    });
    expect(share.status).toBe(201);
    await h.signet.audit.flush();
    // A share made before `issued` existed (migration 0009), or its row pruned.
    await h.signet.db.deleteFrom("issued").where("token_id", "=", share.body.id).execute();
    expect((await api(h.url, "DELETE", `/v1/shares/${share.body.id}`)).status).toBe(204);
    const listed = (await h.admin.shares.list({ limit: 1000 })).items.find(
      (s) => s.id === share.body.id,
    );
    expect(listed?.revokedAt).not.toBeNull();
    expect((await fetch(`${share.body.url}x.txt`)).status).toBe(403);
  });

  it("audits an intent refused by the key guard (a file holds the key)", async () => {
    const intent = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "held/a.txt",
      size: 4,
      contentType: "text/plain",
    });
    await fetch(intent.body.upload.url, {
      method: "PUT",
      body: "held",
      headers: { "content-type": "text/plain" },
    });
    expect(
      (await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`, {})).status,
    ).toBe(200);
    const again = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "held/a.txt",
      size: 4,
      contentType: "text/plain",
    });
    expect(again.status).toBe(409);
    await h.signet.audit.flush();
    expect(await refusedFor("held/a.txt")).toHaveLength(1);
  });

  it("audits a fresh part request refused for a part past the end", async () => {
    const intent = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "parts/p.bin",
      size: 10,
      multipart: { partSize: 5 },
    });
    expect(intent.status).toBe(201);
    const res = await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/parts`, {
      partNumbers: [1, 3],
    });
    expect(res.status).toBe(400);
    await h.signet.audit.flush();
    expect(await refusedFor("parts/p.bin")).toHaveLength(1);
  });
});

describe("refusals beside issuance: batch entries, part plans, share modes, Fence parts", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: {
          default: { backend: "local" },
          s3: unreachableS3("far"),
        },
        compat: { fenceBucket: "default" },
      },
      env: UNREACHABLE_S3_ENV,
    });
  });
  afterAll(() => h.close());

  const refused = async (action: string) => {
    await h.signet.audit.flush();
    return (await h.admin.audit({ outcome: "refused", action })).items;
  };

  it("audits a batch entry the schema refuses, naming what it can", async () => {
    const batch = await api(h.url, "POST", "/v1/presign/batch", {
      requests: [
        { bucket: "default", key: "entries/a.txt", method: "FETCH" },
        { bucket: "default", key: 5, method: "GET" },
        { bucket: "default", key: "entries/ok.txt", method: "GET" },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results.map((r: { ok: boolean }) => r.ok)).toEqual([false, false, true]);
    const records = (await refused("presign")).filter((r) => r.detail?.batch === true);
    expect(records.map((r) => [r.bucket, r.key, r.method, r.reason]).reverse()).toEqual([
      ["default", "entries/a.txt", "FETCH", "invalid_request"],
      ["default", null, "GET", "invalid_request"],
    ]);
  });

  it("keeps the start of a refused key far too long, not all of it", async () => {
    const key = `long/${"k".repeat(100_000)}`;
    const res = await api(h.url, "POST", "/v1/presign", { bucket: "default", key, method: "GET" });
    expect(res.status).toBe(400);
    const [record] = (await refused("presign")).filter((r) => r.key?.startsWith("long/"));
    expect(record!.key).toBe(`${key.slice(0, 1024)}…`);
  });

  it("fresh part requests asked together are one issuance for the quotas, as the intent's parts", async () => {
    await h.admin.grants.create({
      principal: "role:metered",
      buckets: ["default"],
      actions: ["write"],
      quota: { perMinute: 2 },
    });
    const { key, id: keyId } = await h.admin.apiKeys.create({ name: "m", role: "metered" });
    const intent = await api(
      h.url,
      "POST",
      "/v1/uploads",
      { bucket: "default", key: "metered/p.bin", size: 30, multipart: { partSize: 10 } },
      key,
    );
    expect(intent.status).toBe(201);
    const fresh = (partNumbers: number[]) =>
      api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/parts`, { partNumbers }, key);
    const three = await fresh([1, 2, 3]);
    expect(three.status).toBe(200);
    expect(three.body.parts.map((p: { start: number }) => p.start)).toEqual([0, 10, 20]);
    const spent = await fresh([1]);
    expect(spent.status).toBe(429);
    await h.signet.audit.flush();
    const allowed = await h.admin.audit({ principal: `key:${keyId}`, action: "upload.part" });
    expect(allowed.items.filter((r) => r.outcome === "allowed")).toHaveLength(3);
  });

  it("audits a part plan of a missing object", async () => {
    const plan = await api(h.url, "POST", "/v1/presign/parts", {
      bucket: "default",
      key: "plans/missing.bin",
      parts: 2,
    });
    expect(plan.status).toBe(404);
    expect((await refused("presign.parts")).map((r) => [r.key, r.reason])).toEqual([
      ["plans/missing.bin", "not_found"],
    ]);
  });

  it("audits a share refused a redirect its backend cannot carry", async () => {
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "s3",
      prefix: "p/",
      methods: ["GET"],
      ip: "203.0.113.0/24",
      mode: "redirect",
    });
    expect(share.status).toBe(400);
    expect(share.body.error.code).toBe("constraint_not_enforceable");
    expect((await refused("share.create")).map((r) => [r.bucket, r.key, r.reason])).toEqual([
      ["s3", "p/", "constraint_not_enforceable"],
    ]);
  });

  it("audits a Fence part past the object's end", async () => {
    const up = await api(h.url, "POST", "/data/upload", { file_name: "reads.fastq" });
    expect((await fetch(up.body.url, { method: "PUT", body: "ACGT" })).status).toBe(200);
    const part = await api(h.url, "GET", `/data/download/${up.body.guid}/part?start=0&end=99`);
    expect(part.status).toBe(400);
    const records = await refused("fence.download");
    expect(records.map((r) => [r.key, r.reason])).toEqual([
      [`${up.body.guid}/reads.fastq`, "invalid_request"],
    ]);
  });
});
