/**
 * The `"*"` bucket quota (every bucket not named) was looked up with
 * `bucket in buckets` and `buckets[bucket]`, which see Object.prototype: a bucket named
 * `constructor` (a valid bucket name) found the prototype's function as its quota, which has no
 * perMinute or perDay, so its URLs were never counted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("bucket quotas cannot be escaped by a bucket's name", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" }, constructor: { backend: "local" } },
        quotas: { buckets: { "*": { perMinute: 2 } } },
      },
    });
  });
  afterAll(() => h.close());

  it("the '*' quota counts a bucket named constructor like any other", async () => {
    for (const bucket of ["default", "constructor"]) {
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push(
          (await api(h.url, "POST", "/v1/presign", { bucket, key: `k${i}`, method: "GET" })).status,
        );
      expect(statuses, bucket).toEqual([200, 200, 429]);
    }
  });
});
