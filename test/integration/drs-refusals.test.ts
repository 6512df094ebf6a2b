/**
 * DRS answers its refusals in its own shape (`{ msg, status_code }`), but with everything the
 * API's other refusals carry: `Retry-After` on 429 (a quota, failed-auth throttling), the
 * error code in the request log and in `signet_refusals_total`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api, commitFile } from "../helpers/http.js";

describe("DRS refusals", () => {
  let h: Harness;
  let fileId: string;
  let key: string;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        grants: [{ principal: "role:reader", buckets: ["default"], prefix: "", actions: ["read"] }],
        quotas: { principal: { perMinute: 2 } },
      },
    });
    fileId = await commitFile(h.url, { key: "drs/a.txt", body: "abc" });
    key = (await api(h.url, "POST", "/v1/apikeys", { name: "r", role: "reader" })).body.key;
  });
  afterAll(() => h.close());

  it("a quota's 429 carries Retry-After, in DRS's shape", async () => {
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await fetch(`${h.url}/ga4gh/drs/v1/objects/${fileId}/access/https`, {
        headers: { authorization: `Bearer ${key}` },
      });
      if (last.status === 429) break;
    }
    expect(last!.status).toBe(429);
    expect(await last!.json()).toMatchObject({ status_code: 429 });
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("a refusal is counted by its code in signet_refusals_total", async () => {
    const count = async () => {
      const text = await (await fetch(`${h.url}/metrics`)).text();
      const line = text
        .split("\n")
        .find((l) => l.startsWith("signet_refusals_total") && l.includes('"not_found"'));
      return line === undefined ? 0 : Number(line.split(" ").pop());
    };
    const before = await count();
    const res = await fetch(`${h.url}/ga4gh/drs/v1/objects/f_AAAAAAAAAAAAAAAAAAAAAA`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ msg: expect.any(String), status_code: 404 });
    expect(await count()).toBe(before + 1);
  });
});
