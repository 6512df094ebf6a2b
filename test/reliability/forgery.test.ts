/**
 * Forgery campaign: valid tokens for the embedded store's direct URLs (`/o`, one key and a
 * folder), links (`/l`) and shares (`/s`) are mutated by fast-check (characters replaced,
 * inserted, deleted, cases flipped, payloads re-encoded with a widened claim, payloads and MACs
 * swapped between tokens, a second `t` parameter, paths moved outside the scope). Not one may
 * be accepted.
 *
 * Every mutated token goes through `ObjectService.verify`, the one check every one of those
 * routes calls first; every URL-level mutation (a second `t`, a path outside the scope) and a
 * slice of the token mutations go through the full HTTP stack (Fastify's inject: routing, raw
 * path parsing, verification, scope), and a smaller slice over real HTTP on 127.0.0.1.
 * (Dot segments are left to the paths campaign: inject, like a browser, removes them.)
 */
import { Readable } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { recordFigures } from "./report.js";

/** mutated tokens and URLs sent through the full stack (the issue asks for at least 100,000) */
const MUTATIONS = 100_000;
/** one token mutation in this many also goes through the full stack (inject) */
const FULL_STACK_EVERY = 20;
/** one in this many over real HTTP on 127.0.0.1 instead */
const OVER_HTTP_EVERY = 100;

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ODD = [".", "=", "+", "/", "%", "%2E", "%00", " ", "~", "..", "\u00e9"];

interface Target {
  name: string;
  surface: "direct" | "link";
  /** the URL path (and query) for a token, and optionally a path of its own */
  url: (token: string, path?: string) => string;
  token: string;
  /** paths outside this token's scope */
  outside: string[];
}

type Mutation =
  | { kind: "replace"; at: number; char: string }
  | { kind: "insert"; at: number; char: string }
  | { kind: "delete"; at: number }
  | { kind: "truncate"; at: number }
  | { kind: "case"; at: number }
  | { kind: "claim"; field: string; value: unknown }
  | { kind: "swap" }
  | { kind: "double"; first: boolean }
  | { kind: "path"; index: number };

const charArb = fc.oneof(fc.constantFrom(...B64URL.split("")), fc.constantFrom(...ODD));
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), char: charArb }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), char: charArb }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("case" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("claim" as const),
    field: fc.constantFrom("e", "b", "o", "f", "m", "p", "k", "i", "v", "ip", "n"),
    value: fc.oneof(
      fc.constant(4_102_444_800),
      fc.constant(""),
      fc.constant("other"),
      fc.constant(["GET", "PUT", "DELETE", "LIST"]),
      fc.constant(null),
      fc.constant("forge/"),
      fc.string({ maxLength: 8 }),
      fc.integer(),
    ),
  }),
  fc.record({ kind: fc.constant("swap" as const) }),
  fc.record({ kind: fc.constant("double" as const), first: fc.boolean() }),
  fc.record({ kind: fc.constant("path" as const), index: fc.nat() }),
);

function mutate(
  target: Target,
  others: Target[],
  m: Mutation,
): { url: string; token?: string; mutated: boolean } {
  const t = target.token;
  const at = (n: number) => n % (t.length + 1);
  let token = t;
  switch (m.kind) {
    case "replace":
      token = t.slice(0, at(m.at)) + m.char + t.slice(at(m.at) + 1);
      break;
    case "insert":
      token = t.slice(0, at(m.at)) + m.char + t.slice(at(m.at));
      break;
    case "delete":
      token = t.slice(0, at(m.at)) + t.slice(at(m.at) + 1);
      break;
    case "truncate":
      token = t.slice(0, at(m.at));
      break;
    case "case": {
      const i = at(m.at);
      const c = t[i] ?? "";
      token =
        t.slice(0, i) +
        (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) +
        t.slice(i + 1);
      break;
    }
    case "claim": {
      const [payload, mac] = t.split(".") as [string, string];
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<
        string,
        unknown
      >;
      claims[m.field] = m.value;
      token = `${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${mac}`;
      break;
    }
    case "swap": {
      const other = others.find((o) => o !== target)!;
      token = `${t.split(".")[0]}.${other.token.split(".")[1]}`;
      break;
    }
    case "double": {
      // Only /o reads its token from the query; elsewhere a `t` parameter means nothing.
      if (!target.name.startsWith("/o")) return { url: target.url(t), mutated: false };
      // A second `t`, before or after the valid one: only one spelling may count.
      const bad = `${t.slice(0, -1)}${t.endsWith("A") ? "B" : "A"}`;
      const url = target.url(m.first ? bad : t);
      const sep = url.includes("?") ? "&" : "?";
      return { url: `${url}${sep}t=${encodeURIComponent(m.first ? t : bad)}`, mutated: true };
    }
    case "path":
      return { url: target.url(t, target.outside[m.index % target.outside.length]), mutated: true };
  }
  return { url: target.url(encodeURIComponent(token)), token, mutated: token !== t };
}

describe("forgery: mutated tokens and URLs are never accepted", () => {
  let h: Harness;
  let targets: Target[];
  beforeAll(async () => {
    h = await startSignet();
    for (const key of ["forge/a.txt", "forge/b.txt", "other/c.txt"])
      await h.signet.objects.store.put("default", key, Readable.from([Buffer.from(key)]), {
        contentType: "text/plain",
      });
    const sign = async (body: Record<string, unknown>) =>
      (await api(h.url, "POST", "/v1/presign", { bucket: "default", ...body })).body.url as string;
    const objectUrl = new URL(await sign({ key: "forge/a.txt", method: "GET" }));
    const folderUrl = new URL(await sign({ prefix: "forge", methods: ["GET", "LIST"] }));
    const linkUrl = new URL(await sign({ key: "forge/a.txt", method: "GET", delivery: "link" }));
    const share = await api(h.url, "POST", "/v1/shares", {
      bucket: "default",
      prefix: "forge",
      methods: ["GET", "LIST"],
    });
    expect(share.status).toBe(201);
    const shareToken = /\/s\/([^/]+)\//.exec(share.body.url)![1]!;
    targets = [
      {
        name: "/o (one key)",
        surface: "direct",
        token: objectUrl.searchParams.get("t")!,
        url: (t, path = "forge/a.txt") => `/o/default/${path}?t=${t}`,
        outside: [
          "forge/b.txt",
          "other/c.txt",
          "forge/a.txt/",
          "forge/",
          "forge/A.txt",
          "forge%2Fa.txt",
          "forge%2fa.txt",
          "forge/a.txt%00",
        ],
      },
      {
        name: "/o (folder)",
        surface: "direct",
        token: folderUrl.searchParams.get("t")!,
        url: (t, path = "forge/a.txt") => `/o/default/${path}?t=${t}`,
        outside: ["other/c.txt", "", "forgeX/a.txt", "other/", "forge%2F..%2Fother/c.txt"],
      },
      {
        name: "/l (link)",
        surface: "link",
        token: linkUrl.pathname.split("/l/")[1]!,
        url: (t, path) => (path === undefined ? `/l/${t}` : `/l/${t}/${path}`),
        outside: ["x", "%2e%2e/other/c.txt"],
      },
      {
        name: "/s (share)",
        surface: "link",
        token: shareToken,
        url: (t, path = "a.txt") => `/s/${t}/${path}`,
        outside: ["%2e%2e/other/c.txt", "..%2fother/c.txt", "%2e%2e%2fother%2fc.txt"],
      },
    ];
    // Each unmutated URL is accepted: a campaign against URLs that never worked would prove nothing.
    for (const target of targets) {
      const res = await h.app.inject({ method: "GET", url: target.url(target.token) });
      expect(res.statusCode, target.name).toBeLessThan(400);
    }
  });
  afterAll(() => h.close());

  it(`${MUTATIONS} mutated tokens and URLs: none accepted`, async () => {
    const started = Date.now();
    const perTarget = new Map<string, { sent: number; accepted: number }>();
    const statuses = new Map<string, number>();
    const via = { verify: 0, inject: 0, http: 0 };
    let sent = 0;
    const accepted: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 3 }), mutationArb, async (which, mutation) => {
        const target = targets[which]!;
        const { url, token, mutated } = mutate(target, targets, mutation);
        if (!mutated) return;
        sent++;
        let outcome: string;
        if (token !== undefined && sent % FULL_STACK_EVERY !== 0) {
          via.verify++;
          try {
            h.signet.objects.verify(token, target.surface);
            outcome = "verified";
          } catch (err) {
            outcome = (err as { code?: string }).code ?? "error";
          }
        } else if (sent % OVER_HTTP_EVERY === 0) {
          via.http++;
          outcome = String((await fetch(`${h.url}${url}`, { redirect: "manual" })).status);
        } else {
          via.inject++;
          outcome = String((await h.app.inject({ method: "GET", url })).statusCode);
        }
        statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1);
        const counts = perTarget.get(target.name) ?? { sent: 0, accepted: 0 };
        counts.sent++;
        if (outcome === "verified" || Number(outcome) < 400) {
          counts.accepted++;
          accepted.push(`${outcome} ${url}`);
        }
        perTarget.set(target.name, counts);
      }),
      { numRuns: Math.ceil(MUTATIONS * 1.1), seed: 16 },
    );
    const seconds = (Date.now() - started) / 1000;
    await recordFigures("forgery", "Forgery (embedded store and links)", [
      `- ${sent.toLocaleString("en")} mutated tokens and URLs, ${accepted.length} accepted, in ${seconds.toFixed(1)} s: ${via.verify.toLocaleString("en")} through ObjectService.verify (the check /o, /l and /s make first), ${via.inject.toLocaleString("en")} through the full stack (inject), ${via.http.toLocaleString("en")} over real HTTP.`,
      ...[...perTarget].map(
        ([name, c]) => `- ${name}: ${c.sent.toLocaleString("en")} sent, ${c.accepted} accepted`,
      ),
      `- outcomes: ${[...statuses]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([s, n]) => `${s} × ${n.toLocaleString("en")}`)
        .join(", ")}`,
      `- mutations: characters replaced, inserted, deleted, truncated, case-flipped; a claim changed and re-encoded with the old MAC; payload and MAC from different tokens; a second \`t\` parameter; paths outside the scope (fast-check seed 16).`,
    ]);
    expect(accepted.slice(0, 5)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(MUTATIONS);
  }, 600_000);
});
