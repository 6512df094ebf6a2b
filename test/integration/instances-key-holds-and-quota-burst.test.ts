/**
 * Two instances on one PostgreSQL and one bucket (the fake GCS, shared by both as a cloud
 * bucket would be): a key's hold (KeyGuard.exclusive, a row of `key_commits`) serialises a
 * commit on A with a delete or an abort on B, so a committed file always serves its own bytes;
 * and a burst of issuance split across both instances at once admits exactly the quota.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeGcs, startFakeGcs } from "../helpers/fake-gcs.js";
import { api } from "../helpers/http.js";
import { type Instances, startInstances } from "../helpers/instances.js";
import { withoutPostgres } from "../helpers/pg.js";
import type { Served } from "../helpers/process.js";

const HMAC = { id: "GOOG1EXAMPLEACCESSID", secret: randomBytes(30).toString("base64url") };
const QUOTA = 10;

const SUITE = "key holds and quotas across two instances";
describe.skipIf(withoutPostgres(SUITE))(SUITE, () => {
  let a: Served;
  let b: Served;
  let instances: Instances;
  let fake: FakeGcs;
  let quotaBucket: string;
  let user: string;

  beforeAll(async () => {
    const bucket = `signet-inst-${randomBytes(4).toString("hex")}`;
    fake = await startFakeGcs({ bucket, key: { hmacAccessId: HMAC.id, hmacSecret: HMAC.secret } });
    quotaBucket = `q${randomBytes(4).toString("hex")}`;
    instances = await startInstances(
      {
        buckets: {
          cloud: {
            backend: "gcs",
            bucket,
            endpoint: fake.url,
            hmacAccessId: "${GCS_ID}",
            hmacSecret: "${GCS_SECRET}",
          },
          [quotaBucket]: { backend: "local" },
        },
        quotas: { buckets: { [quotaBucket]: { perMinute: QUOTA } } },
        grants: [{ principal: "role:user", buckets: ["*"], actions: ["read", "write"] }],
      },
      { GCS_ID: HMAC.id, GCS_SECRET: HMAC.secret },
    );
    ({ a, b } = instances);
    user = (await api(a.url, "POST", "/v1/apikeys", { name: "u", role: "user" })).body
      .key as string;
  }, 60_000);

  afterAll(async () => {
    await instances?.close();
    await fake?.close();
  });

  /** An intent at `key` made on A with `body` uploaded through its direct URL. */
  const staged = async (key: string, body: string, upsert = false) => {
    const made = await api(a.url, "POST", "/v1/uploads", {
      bucket: "cloud",
      key,
      size: body.length,
      contentType: "text/plain",
      upsert,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const upload = made.body.upload as { url: string; headers: Record<string, string> };
    const headers = Object.fromEntries(
      Object.entries(upload.headers).filter(([n]) => n !== "content-length"),
    );
    const put = await fetch(upload.url, { method: "PUT", headers, body });
    expect(put.status).toBe(200);
    return made.body.file.id as string;
  };
  const complete = (base: string, id: string) => api(base, "POST", `/v1/uploads/${id}/complete`);
  const fileOn = async (id: string) => (await api(b.url, "GET", `/v1/files/${id}`)).body;
  const bytesAt = async (key: string) => {
    const get = await api(a.url, "POST", "/v1/presign", { bucket: "cloud", key, method: "GET" });
    const res = await fetch(get.body.url as string);
    return res.status === 200 ? await res.text() : res.status;
  };

  it("an upsert's complete on A and a DELETE of the old file on B: the new file keeps its bytes", async () => {
    for (let round = 0; round < 5; round++) {
      const key = `race/delete-${round}.txt`;
      const old = await staged(key, "old");
      expect((await complete(a.url, old)).status).toBe(200);
      const next = await staged(key, "new", true);
      const [done, deleted] = await Promise.all([
        complete(a.url, next),
        api(b.url, "DELETE", `/v1/files/${old}`),
      ]);
      expect([200, 409]).toContain(done.status);
      expect([204, 409]).toContain(deleted.status);
      if (done.status === 409) expect((await complete(a.url, next)).status).toBe(200);
      expect((await fileOn(next)).status).toBe("committed");
      expect(await bytesAt(key), `round ${round}`).toBe("new");
    }
  });

  it("complete on A and abort on B: one wins, and the key serves what the committed file holds", async () => {
    for (let round = 0; round < 5; round++) {
      const key = `race/abort-${round}.txt`;
      const old = await staged(key, "old");
      expect((await complete(a.url, old)).status).toBe(200);
      const next = await staged(key, "new", true);
      const [done, aborted] = await Promise.all([
        complete(a.url, next),
        api(b.url, "POST", `/v1/uploads/${next}/abort`),
      ]);
      const [o, n] = [await fileOn(old), await fileOn(next)];
      expect(
        [o.status, n.status].filter((s) => s === "committed"),
        `round ${round}`,
      ).toHaveLength(1);
      expect(await bytesAt(key), `round ${round}: ${done.status}/${aborted.status}`).toBe(
        n.status === "committed" ? "new" : "old",
      );
    }
  });

  it(`a burst of ${3 * QUOTA} at once, split across both, admits ${QUOTA}`, async () => {
    const answers = await Promise.all(
      Array.from({ length: 3 * QUOTA }, (_, i) =>
        api(
          i % 2 === 0 ? a.url : b.url,
          "POST",
          "/v1/presign",
          { bucket: quotaBucket, key: `burst-${i}`, method: "GET" },
          user,
        ),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(QUOTA);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * QUOTA);
  });
});
