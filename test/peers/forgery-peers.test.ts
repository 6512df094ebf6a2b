/**
 * Forgery against the real peers' own signature checks: direct GET URLs Signet signs for S3
 * (Swift's s3api) and Azure (Azurite), and HEAD URLs for Swift (tempurl; its downloads are never
 * direct, since a holder could add an unsigned `&inline`), mutated by fast-check — a signature
 * character changed, the expiry moved, the signature dropped, another object's path, another
 * method — and sent to the peer itself. Not one may be accepted. Runs only when the peers are
 * configured, e.g.
 *   SIGNET_SWIFT_URL=http://127.0.0.1:18080 SIGNET_AZURITE_URL=http://127.0.0.1:10000/devstoreaccount1 \
 *     npx vitest run test/peers/forgery-peers.test.ts
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordFigures } from "../reliability/report.js";
import { AZURITE, azurePeer, type Peer, s3Peer, SWIFT, swiftPeer } from "../helpers/cloud-peers.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

/** mutated URLs sent to each peer */
const PER_PEER = 300;

interface PeerCase {
  bucket: string;
  /** the query parameter holding the signature, and its alphabet */
  sig: string;
  alphabet: string;
  /** the query parameter holding the expiry, and a later value for it */
  expiry: string;
  later: (value: string) => string;
  /** the method of the direct URL under attack (GET unless the peer's downloads are links) */
  method?: "HEAD";
}

const HEX = "0123456789abcdef";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const CASES: PeerCase[] = [
  ...(SWIFT
    ? [
        {
          bucket: "s3",
          sig: "X-Amz-Signature",
          alphabet: HEX,
          expiry: "X-Amz-Expires",
          later: (v: string) => String(Number(v) + 3600),
        },
        {
          bucket: "swift",
          sig: "temp_url_sig",
          alphabet: HEX,
          expiry: "temp_url_expires",
          later: (v: string) => String(Number(v) + 3600),
          method: "HEAD" as const,
        },
      ]
    : []),
  ...(AZURITE
    ? [
        {
          bucket: "azure",
          sig: "sig",
          alphabet: B64,
          expiry: "se",
          later: (v: string) =>
            new Date(Date.parse(v) + 86400_000).toISOString().slice(0, 19) + "Z",
        },
      ]
    : []),
];

describe.skipIf(CASES.length === 0)("forgery against the peers' own signature checks", () => {
  let h: Harness;
  const peers: Peer[] = [];
  const urls = new Map<string, { url: string; other: string }>();
  beforeAll(async () => {
    const buckets: Record<string, unknown> = {};
    let env: Record<string, string> = {};
    for (const c of CASES) {
      const peer =
        c.bucket === "s3"
          ? await s3Peer("forge")
          : c.bucket === "swift"
            ? await swiftPeer("forge")
            : await azurePeer("forge");
      peers.push(peer);
      buckets[c.bucket] = peer.config;
      env = { ...env, ...peer.env };
    }
    h = await startSignet({ config: { buckets }, env });
    for (const c of CASES) {
      for (const key of ["forge/a.txt", "forge/b.txt"]) {
        const put = await api(h.url, "POST", "/v1/presign", {
          bucket: c.bucket,
          key,
          method: "PUT",
        });
        expect(put.status).toBe(200);
        const res = await fetch(put.body.url, {
          method: "PUT",
          headers: put.body.headers,
          body: `bytes of ${key}`,
        });
        expect(res.status, `${c.bucket} PUT`).toBeLessThan(300);
      }
      const get = async (key: string) =>
        (
          await api(h.url, "POST", "/v1/presign", {
            bucket: c.bucket,
            key,
            method: c.method ?? "GET",
            delivery: "direct",
          })
        ).body.url as string;
      const url = await get("forge/a.txt");
      expect((await fetch(url, { method: c.method })).status, `${c.bucket} GET`).toBe(200);
      urls.set(c.bucket, { url, other: new URL(await get("forge/b.txt")).pathname });
    }
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    for (const peer of peers) await peer.cleanup().catch(() => undefined);
  });

  it(`${PER_PEER} mutated direct URLs per peer: none accepted`, async () => {
    const lines: string[] = [];
    for (const c of CASES) {
      const { url, other } = urls.get(c.bucket)!;
      const sig = new URL(url).searchParams.get(c.sig)!;
      let sent = 0;
      let accepted = 0;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            // a signature character changed (never the last base64 character, whose low bits may be unused)
            fc.record({
              kind: fc.constant("sig" as const),
              at: fc.nat({ max: sig.length - 3 }),
              char: fc.constantFrom(...c.alphabet.split("")),
            }),
            fc.record({ kind: fc.constant("expiry" as const) }),
            fc.record({ kind: fc.constant("drop" as const) }),
            fc.record({ kind: fc.constant("path" as const) }),
            fc.record({ kind: fc.constantFrom("PUT" as const, "DELETE" as const) }),
          ),
          async (m) => {
            const target = new URL(url);
            let method: string = c.method ?? "GET";
            if (m.kind === "sig") {
              if (sig[m.at] === m.char) return;
              target.searchParams.set(c.sig, sig.slice(0, m.at) + m.char + sig.slice(m.at + 1));
            } else if (m.kind === "expiry")
              target.searchParams.set(c.expiry, c.later(target.searchParams.get(c.expiry)!));
            else if (m.kind === "drop") target.searchParams.delete(c.sig);
            else if (m.kind === "path") target.pathname = other;
            else method = m.kind;
            sent++;
            const res = await fetch(target, {
              method,
              body: method === "PUT" ? "forged" : undefined,
              headers:
                method === "PUT" && c.bucket === "azure" ? { "x-ms-blob-type": "BlockBlob" } : {},
            });
            await res.arrayBuffer();
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status < 300) accepted++;
          },
        ),
        { numRuns: PER_PEER, seed: 16 },
      );
      // and the original still works: the campaign ran against a URL that was valid
      expect((await fetch(url, { method: c.method })).status).toBe(200);
      lines.push(
        `- ${c.bucket}: ${sent} mutated direct ${c.method ?? "GET"} URLs, ${accepted} accepted (${[...statuses].map(([s, n]) => `${s} × ${n}`).join(", ")})`,
      );
      expect(accepted, c.bucket).toBe(0);
    }
    await recordFigures("forgery-peers", "Forgery against the peers (direct URLs)", [
      ...lines,
      "- mutations: a signature character, a later expiry, no signature, another object's path, PUT or DELETE with a GET (Swift: HEAD) URL (fast-check seed 16).",
    ]);
  }, 300_000);
});
