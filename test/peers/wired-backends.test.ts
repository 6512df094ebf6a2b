/**
 * The cloud backends wired into the service: a bucket of the config file with `"backend": "s3" |
 * "gcs" | "azure" | "swift"` through /v1/presign, /v1/presign/parts and /v1/shares, with Signet
 * started in-process (test/helpers/harness.ts) and its `${ENV}` references resolved from the env
 * it is given. S3 runs on Swift's s3api and Swift itself (SIGNET_SWIFT_URL), Azure on Azurite
 * (SIGNET_AZURITE_URL), each in a fresh bucket or container:
 *   SIGNET_SWIFT_URL=http://127.0.0.1:18080 \
 *   SIGNET_AZURITE_URL=http://127.0.0.1:10000/devstoreaccount1 \
 *   npx vitest run test/peers/wired-backends.test.ts
 * GCS has no server here: its part checks the config builds and what /v1/presign answers
 * (signing needs no network), and always runs, as do the config checks.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AZURITE, type Peer, SWIFT, azurePeer, s3Peer, swiftPeer } from "../helpers/cloud-peers.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { missing } from "../helpers/skip.js";

interface Case {
  backend: "s3" | "swift" | "azure";
  server: string | undefined;
  setup(): Promise<Peer>;
  /** a GET scope this backend's own signature cannot bind, and what it is called */
  unbindable: { input: Record<string, unknown>; name: string };
  /** the longest direct URL, when the provider has a limit */
  directMax?: number;
  /**
   * what a plain PUT cannot be direct for: Swift lets a HEAD through with a PUT signature, so
   * its backend leaves "methods" unbound and a PUT goes through a link
   */
  putUnbound?: string;
  /**
   * downloads are never direct: Swift binds no response overrides and serves an unsigned
   * `&inline` as asked, so a GET is a link that Signet proxies
   */
  downloadsProxied?: boolean;
}

const RANGE = { input: { range: "bytes=100-1099" }, name: "range" };
const cases: Case[] = [
  {
    backend: "s3",
    server: SWIFT,
    setup: () => s3Peer("wired-s3"),
    unbindable: { input: { ip: "127.0.0.1/32" }, name: "ip" },
    directMax: 7 * 86400,
  },
  {
    backend: "swift",
    server: SWIFT,
    setup: () => swiftPeer("wired-swift"),
    unbindable: RANGE,
    putUnbound: "methods",
    downloadsProxied: true,
  },
  {
    backend: "azure",
    server: AZURITE,
    setup: () => azurePeer("wired-azure"),
    unbindable: RANGE,
    directMax: 7 * 86400,
  },
];
/** Longer than any provider's limit on a direct URL, inside the buckets' own limit. */
const LONG = 8 * 86400;

const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer());
const isLink = (url: string, kind: "l" | "s") => new URL(url).pathname.startsWith(`/${kind}/`);
const everyValue = (enforcedBy: Record<string, string>, value: string) =>
  Object.values(enforcedBy).every((v) => v === value);

for (const c of cases) {
  const title = `a ${c.backend} bucket wired into Signet`;
  const peer =
    c.backend === "azure" ? "SIGNET_AZURITE_URL (Azurite peer)" : "SIGNET_SWIFT_URL (Swift peer)";
  describe.skipIf(missing(title, { [peer]: c.server }))(title, () => {
    const body = randomBytes(300_000);
    const key = "wired/a b+é.bin";
    let peer: Peer;
    let h: Harness;
    const presign = (input: Record<string, unknown>) =>
      api(h.url, "POST", "/v1/presign", { bucket: "cloud", key, ...input });

    beforeAll(async () => {
      peer = await c.setup();
      h = await startSignet({
        config: { buckets: { cloud: { ...peer.config, maxExpiresIn: 30 * 86400 } } },
        env: peer.env,
      });
    });
    afterAll(async () => {
      await h?.close();
      await peer?.cleanup();
    });

    it("uploads through a signed PUT, then downloads the same bytes through a direct GET (a proxying link on swift)", async () => {
      const put = await presign({ method: "PUT" });
      expect(put.status).toBe(200);
      if (c.putUnbound === undefined) {
        expect(isLink(put.body.url, "l")).toBe(false);
        expect(everyValue(put.body.enforcedBy, "backend")).toBe(true);
      } else {
        const direct = await presign({ method: "PUT", delivery: "direct" });
        expect(direct.body.error).toMatchObject({
          code: "constraint_not_enforceable",
          field: c.putUnbound,
        });
        expect(isLink(put.body.url, "l")).toBe(true);
        expect(everyValue(put.body.enforcedBy, "signet")).toBe(true);
      }
      const sent = await fetch(put.body.url, {
        method: "PUT",
        headers: put.body.headers,
        body,
      });
      expect(sent.status).toBeLessThan(300);

      const direct = await presign({ method: "GET", delivery: "direct" });
      const get = c.downloadsProxied ? await presign({ method: "GET" }) : direct;
      expect(get.status).toBe(200);
      if (c.downloadsProxied) {
        expect(direct.body.error).toMatchObject({
          code: "constraint_not_enforceable",
          field: "delivery",
        });
        expect(direct.body.error.message).toMatch(/attachment/);
        expect(isLink(get.body.url, "l")).toBe(true);
        expect(everyValue(get.body.enforcedBy, "signet")).toBe(true);
      } else
        expect(get.body.enforcedBy).toEqual({
          method: "backend",
          key: "backend",
          expiresAt: "backend",
        });
      const res = await fetch(get.body.url, { headers: get.body.headers });
      expect(res.status).toBe(200);
      expect((await bytesOf(res)).equals(body)).toBe(true);
    });

    it("plans parts whose ranges reassemble the object", async () => {
      const plan = await api(h.url, "POST", "/v1/presign/parts", {
        bucket: "cloud",
        key,
        partSize: 128 * 1024,
      });
      expect(plan.status).toBe(200);
      expect(plan.body.size).toBe(body.length);
      expect(plan.body.parts).toHaveLength(3);
      const pieces = await Promise.all(
        plan.body.parts.map(async (part: any) => {
          const res = await fetch(part.url, { headers: part.headers });
          expect(res.status).toBe(206);
          return bytesOf(res);
        }),
      );
      expect(Buffer.concat(pieces).equals(body)).toBe(true);
    });

    it('delivery "link" gives a /l link that redirects to the backend (proxies on swift) and serves the bytes', async () => {
      const link = await presign({ method: "GET", delivery: "link" });
      expect(link.status).toBe(200);
      expect(isLink(link.body.url, "l")).toBe(true);
      expect(everyValue(link.body.enforcedBy, "signet")).toBe(true);
      const hop = await fetch(link.body.url, { redirect: "manual" });
      await hop.arrayBuffer();
      if (c.downloadsProxied) expect(hop.status).toBe(200);
      else {
        expect(hop.status).toBe(302);
        const target = new URL(hop.headers.get("location")!);
        expect(target.origin).not.toBe(new URL(h.url).origin);
      }
      expect((await bytesOf(await fetch(link.body.url))).equals(body)).toBe(true);
    });

    it("lets a link outlive the provider's limit on a direct URL", async () => {
      const direct = await presign({ method: "GET", delivery: "direct", expiresIn: LONG });
      const auto = await presign({ method: "GET", expiresIn: LONG });
      expect(auto.status).toBe(200);
      expect(auto.body.expiresIn).toBe(LONG);
      if (c.downloadsProxied) {
        // Swift sets no limit, but its downloads are links anyway
        expect(direct.body.error).toMatchObject({ field: "delivery" });
        expect(isLink(auto.body.url, "l")).toBe(true);
      } else {
        expect(direct.status).toBe(400);
        expect(direct.body.error).toMatchObject({ code: "expiry_too_long", field: "expiresIn" });
        expect(direct.body.error.message).toContain(String(c.directMax));
        expect(isLink(auto.body.url, "l")).toBe(true);
        // still a redirect: each 302 target lives 60 seconds, well inside the provider's limit
        expect((await fetch(auto.body.url, { redirect: "manual" })).status).toBe(302);
      }
      expect((await bytesOf(await fetch(auto.body.url))).equals(body)).toBe(true);
    });

    it("shares a folder through a link that lists and serves its objects", async () => {
      const share = await api(h.url, "POST", "/v1/shares", {
        bucket: "cloud",
        prefix: "wired",
        methods: ["GET", "LIST"],
      });
      expect(share.status).toBe(201);
      expect(share.body).toMatchObject({ prefix: "wired/", mode: "redirect" });
      const listing = (await (await fetch(share.body.url)).json()) as any;
      expect(listing.items.map((item: any) => item.key)).toEqual([key]);
      const object = `${share.body.url}${encodeURIComponent("a b+é.bin")}`;
      const hop = await fetch(object, { redirect: "manual" });
      await hop.arrayBuffer();
      // a redirect share still proxies what cannot be direct (swift's downloads)
      expect(hop.status).toBe(c.downloadsProxied ? 200 : 302);
      expect((await bytesOf(await fetch(object))).equals(body)).toBe(true);
    });

    it(`refuses ${c.unbindable.name} in a direct URL, and proxies it through a link`, async () => {
      const direct = await presign({ method: "GET", delivery: "direct", ...c.unbindable.input });
      expect(direct.status).toBe(400);
      expect(direct.body.error).toMatchObject({
        code: "constraint_not_enforceable",
        field: c.unbindable.name,
      });

      const auto = await presign({ method: "GET", ...c.unbindable.input });
      expect(auto.status).toBe(200);
      expect(isLink(auto.body.url, "l")).toBe(true);
      expect(everyValue(auto.body.enforcedBy, "signet")).toBe(true);
      expect(auto.body.enforcedBy[c.unbindable.name]).toBe("signet");
      // proxied: Signet answers with the bytes itself, no redirect
      const res = await fetch(auto.body.url, { redirect: "manual", headers: auto.body.headers });
      expect(res.status).toBeLessThan(300);
      const expected = c.unbindable.name === "range" ? body.subarray(100, 1100) : body;
      expect((await bytesOf(res)).equals(expected)).toBe(true);
    });
  });
}

describe("cloud buckets in the config file (no server needed)", () => {
  const gcs = {
    backend: "gcs",
    bucket: "lab-data",
    hmacAccessId: "${GCS_HMAC_ID}",
    hmacSecret: "${GCS_HMAC_SECRET}",
  };
  const env = { GCS_HMAC_ID: "GOOG1EXAMPLEACCESSID", GCS_HMAC_SECRET: "not-a-real-hmac-secret" };
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({ config: { buckets: { lab: gcs } }, env });
  });
  afterAll(() => h?.close());

  it("builds a gcs bucket with its HMAC key from the env, and signs direct V4 URLs", async () => {
    const res = await api(h.url, "POST", "/v1/presign", {
      bucket: "lab",
      key: "runs/1.csv",
      method: "GET",
    });
    expect(res.status).toBe(200);
    const url = new URL(res.body.url);
    expect(url.pathname).toBe("/lab-data/runs/1.csv");
    expect(url.searchParams.get("X-Goog-Credential")).toMatch(/^GOOG1EXAMPLEACCESSID\//);
    expect(res.body.url).not.toContain(env.GCS_HMAC_SECRET);
    expect(everyValue(res.body.enforcedBy, "backend")).toBe(true);
  });

  it("answers a folder scope on gcs with a link", async () => {
    const res = await api(h.url, "POST", "/v1/presign", {
      bucket: "lab",
      prefix: "runs",
      method: "GET",
    });
    expect(res.status).toBe(200);
    expect(isLink(res.body.url, "s")).toBe(true);
    expect(res.body.objectUrlTemplate).toMatch(/\/s\/[^/]+\/\{key\}$/);
    expect(res.body.enforcedBy.folder).toBe("signet");
  });

  it("fails at start-up naming the bad key or the unset variable, never a secret", async () => {
    await expect(
      startSignet({ config: { buckets: { media: { backend: "s3", bucket: "b" } } } }),
    ).rejects.toThrow(/^invalid config: buckets\.media\.region is required/);
    await expect(
      startSignet({ config: { buckets: { media: { backend: "s4" } } } }),
    ).rejects.toThrow(/^invalid config: buckets\.media\.backend must be one of "local", "s3"/);
    await expect(
      startSignet({ config: { buckets: { lab: gcs } }, env: { GCS_HMAC_ID: env.GCS_HMAC_ID } }),
    ).rejects.toThrow(
      "invalid config: buckets.lab.hmacSecret names ${GCS_HMAC_SECRET}, which is not set",
    );
  });

  it("creates only local buckets over HTTP: secrets come from the config file", async () => {
    for (const config of [gcs, { backend: "s3" }]) {
      const res = await api(h.url, "POST", "/v1/buckets", { name: "more", config });
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe("config.backend");
      expect(res.body.error.message).toMatch(/local only.*config file/);
    }
  });
});
