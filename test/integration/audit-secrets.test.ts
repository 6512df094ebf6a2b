/**
 * An issuance record's detail held the scope's constraints as given,
 * so a required header carrying a secret (an SSE-C customer key, which S3 needs sent and signed
 * with every request to an object encrypted with it; GCS and Azure have the same) was written to
 * the audit trail in full and answered by /v1/audit.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const CUSTOMER_KEY = Buffer.alloc(32, 7).toString("base64");

describe("issuance records hold no secret of the scope", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({ config: { buckets: { default: { backend: "local" } } } });
  });
  afterAll(() => h.close());

  it("a required header's secret value stays out of the audit trail", async () => {
    const headers = {
      "x-amz-server-side-encryption-customer-algorithm": "AES256",
      "x-amz-server-side-encryption-customer-key": CUSTOMER_KEY,
      "x-goog-encryption-key": CUSTOMER_KEY,
      "x-ms-encryption-key": CUSTOMER_KEY,
    };
    const signed = await api(h.url, "POST", "/v1/presign", {
      bucket: "default",
      key: "enc/a.bin",
      method: "GET",
      headers,
    });
    expect(signed.status).toBe(200);
    const records = await api(h.url, "GET", `/v1/audit?tokenId=${signed.body.id as string}`);
    expect(records.body.items.length).toBeGreaterThan(0);
    const text = JSON.stringify(records.body);
    expect(text).not.toContain(CUSTOMER_KEY);
    // what is not secret is still recorded: which headers were required
    expect(text).toContain("x-amz-server-side-encryption-customer-key");
    expect(text).toContain("AES256");
  });
});
