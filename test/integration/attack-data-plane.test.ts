/**
 * The embedded store's data plane against writers that race its readers: a GET sees the old
 * object or the new one whole (its ETag, length and bytes agree), never a mix.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../../src/backends/types.js";
import { type Harness, startSignet } from "../helpers/harness.js";

const etagOfBytes = (b: Buffer) =>
  `"${createHash("sha256").update(b).digest("hex").slice(0, 32)}"`;

describe("a GET racing a PUT at the same key", () => {
  let h: Harness;
  let backend: Backend;
  beforeAll(async () => {
    h = await startSignet();
    backend = h.signet.buckets.get("default")!.backend;
  });
  afterAll(() => h.close());

  const putUrl = async (key: string) =>
    (await h.admin.presign({ bucket: "default", key, method: "PUT", expiresIn: 600 })).url;
  const getUrl = async (key: string) =>
    (await h.admin.presign({ bucket: "default", key, method: "GET", expiresIn: 600 })).url;

  /** Runs `during` once, after the route's lookup of the object and before it opens the bytes. */
  const beforeOpen = (during: () => Promise<unknown>) => {
    const get = backend.get.bind(backend);
    backend.get = async (...args) => {
      backend.get = get;
      await during();
      return get(...args);
    };
  };

  for (const [label, oldBytes, newBytes] of [
    ["small, longer replacement", Buffer.from("old"), Buffer.from("a much longer new body")],
    ["small, shorter replacement", Buffer.from("a much longer old body"), Buffer.from("new")],
    ["large (read from the file)", Buffer.alloc(200_000, 1), Buffer.alloc(300_000, 2)],
  ] as const) {
    it(`headers and body come from one version (${label})`, async () => {
      const key = `mix/${label.replace(/\W+/g, "-")}`;
      const put = await putUrl(key);
      expect((await fetch(put, { method: "PUT", body: oldBytes })).status).toBe(200);
      beforeOpen(async () =>
        expect((await fetch(put, { method: "PUT", body: newBytes })).status).toBe(200),
      );
      // A Range header keeps it off the in-memory fast path (fast-get.ts): the route's answer.
      const res = await fetch(await getUrl(key), { headers: { range: "bytes=0-" } });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status).toBe(206);
      expect(Number(res.headers.get("content-length"))).toBe(body.length);
      expect(res.headers.get("content-range")).toBe(`bytes 0-${body.length - 1}/${body.length}`);
      expect(res.headers.get("etag")).toBe(etagOfBytes(body));
      expect([oldBytes.toString("hex"), newBytes.toString("hex")]).toContain(body.toString("hex"));
    });
  }
});
