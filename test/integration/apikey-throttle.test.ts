/**
 * an API key's id is public (every token it issues carries `p: "key:<id>"` in its
 * readable payload), so the per-key-id failed-authentication throttle must not let anyone who
 * holds one URL lock the key's rightful holder out. Wrong secrets on that id are still refused
 * (401, then 429); the right secret still works.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("per-key-id throttle vs the key's holder", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: { grants: [{ principal: "role:reader", buckets: ["default"], actions: ["read"] }] },
    });
  });
  afterAll(() => h.close());

  it("wrong secrets sent on a key id learnt from a URL do not lock out the right secret", async () => {
    const { key } = (await api(h.url, "POST", "/v1/apikeys", { name: "victim", role: "reader" }))
      .body as { key: string };
    const presign = (k: string) =>
      api(h.url, "POST", "/v1/presign", { bucket: "default", key: "x", method: "GET" }, k);
    const signed = await presign(key);
    expect(signed.status).toBe(200);
    // The attacker only holds the URL: the payload names the issuing key's id.
    const t = new URL(signed.body.url).searchParams.get("t")!;
    const p = JSON.parse(Buffer.from(t.split(".")[0]!, "base64url").toString()).p as string;
    const id = p.slice("key:".length);
    const forged = `sg_${id}_${"A".repeat(43)}`;
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) seen.push((await presign(forged)).status);
    expect(seen.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(seen.at(-1)).toBe(429); // guessing on that id is still throttled
    // The rightful holder is not locked out.
    expect((await presign(key)).status).toBe(200);
  });
});
