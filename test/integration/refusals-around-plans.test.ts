/**
 * Refusals a route makes around an issuance plan (a key a file holds, a part past the end) are
 * audited as the plan's own are; a share that `issued` does not know (made before migration
 * 0009, or its row pruned) is still revoked by DELETE /v1/shares/{id}.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
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
