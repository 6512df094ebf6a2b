/**
 * An API key deleted on A: what it made on B (a share, a link, a short URL, a plain URL) is
 * refused on B within the documented second, and B lists the share as revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api } from "../helpers/http.js";
import { type Instances, startInstances, within } from "../helpers/instances.js";
import { withoutPostgres } from "../helpers/pg.js";
import type { Served } from "../helpers/process.js";

const SUITE = "an API key deleted on another instance";
describe.skipIf(withoutPostgres(SUITE))(SUITE, () => {
  let a: Served;
  let b: Served;
  let instances: Instances;

  beforeAll(async () => {
    instances = await startInstances({
      buckets: { default: { backend: "local" } },
      grants: [{ principal: "role:user", buckets: ["*"], actions: ["read", "write", "share"] }],
    });
    ({ a, b } = instances);
  }, 60_000);

  afterAll(() => instances?.close());

  it("ends its share, link, short URL and URL on B within a second", async () => {
    const own = await api(a.url, "POST", "/v1/apikeys", { name: "leaving", role: "user" });
    const key = own.body.key as string;
    const share = await api(
      b.url,
      "POST",
      "/v1/shares",
      { bucket: "default", prefix: "s/", methods: ["GET"] },
      key,
    );
    expect(share.status, JSON.stringify(share.body)).toBe(201);
    const link = await api(
      b.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "s/l.txt", method: "GET", delivery: "link" },
      key,
    );
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    const short = await api(
      b.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "s/u.txt", method: "GET", short: true },
      key,
    );
    const plain = await api(
      b.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "s/p.txt", method: "GET" },
      key,
    );
    expect((await api(a.url, "DELETE", `/v1/apikeys/${own.body.id as string}`)).status).toBe(204);
    const urls = {
      share: `${share.body.url as string}p.txt`,
      link: link.body.url as string,
      short: short.body.url as string,
      plain: plain.body.url as string,
    };
    for (const [what, url] of Object.entries(urls)) {
      const refused = await within(1000, async () => {
        const res = await fetch(url, { redirect: "manual" });
        await res.arrayBuffer();
        return res.status === 403;
      });
      expect(refused, `${what}: ${url}`).toBe(true);
    }
    const listed = await api(b.url, "GET", "/v1/shares");
    const mine = (listed.body.items as { id: string; revokedAt: string | null }[]).find(
      (s) => s.id === share.body.id,
    );
    expect(mine?.revokedAt).not.toBeNull();
    // Still refused to the key itself, on B too.
    const again = await api(
      b.url,
      "POST",
      "/v1/presign",
      { bucket: "default", key: "s/x.txt", method: "GET" },
      key,
    );
    expect(again.status).toBe(401);
  });
});
