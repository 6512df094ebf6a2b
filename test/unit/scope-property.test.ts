/**
 * Issue 4's property: random scopes against random requests are accepted exactly when the
 * request lies inside the scope. The model below is written from DESIGN.md's rules, not from
 * core/scope.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Keyring, newSecret } from "../../src/core/keyring.js";
import type { Method } from "../../src/core/methods.js";
import { assertInScope, type ScopedRequest } from "../../src/core/scope.js";
import { signToken, type UnsignedClaims, verifyToken } from "../../src/core/token.js";

const ring = new Keyring([
  {
    kid: "k000000000001",
    secret: newSecret(),
    status: "active",
    createdAt: new Date(),
    retiredAt: null,
  },
]);
const none = { isRevoked: () => false };

// Which address lies in which range, written out by hand.
const RANGES = ["10.0.0.0/8", "192.168.1.0/24", "::1/128"] as const;
const ADDRESSES: Record<string, (typeof RANGES)[number][]> = {
  "10.1.2.3": ["10.0.0.0/8"],
  "192.168.1.5": ["192.168.1.0/24"],
  "192.168.2.5": [],
  "::1": ["::1/128"],
  "::ffff:10.9.9.9": ["10.0.0.0/8"],
  "127.0.0.1": [],
};

const segment = fc.constantFrom("p", "p2", "o1", "pp", "q");
const keyArb = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join("/"));
const folderArb = fc.oneof(
  fc.constant(""),
  fc.array(segment, { minLength: 1, maxLength: 2 }).map((s) => `${s.join("/")}/`),
);
const methodArb = fc.constantFrom<Method>("GET", "HEAD", "PUT", "DELETE", "LIST");

const scopeArb = fc.record({
  bucket: fc.constantFrom("a", "b"),
  target: fc.oneof(
    keyArb.map((key) => ({ key })),
    folderArb.map((folder) => ({ folder })),
  ),
  methods: fc.uniqueArray(methodArb, { minLength: 1, maxLength: 3 }),
  ip: fc.option(fc.subarray([...RANGES], { minLength: 1 }), { nil: undefined }),
  range: fc.option(fc.constantFrom<[number, number]>([0, 9], [10, 19]), { nil: undefined }),
  contentLength: fc.option(fc.constantFrom(5, 10), { nil: undefined }),
  contentType: fc.option(fc.constantFrom("image/png", "text/plain"), { nil: undefined }),
});

// A LIST names a folder path; every other method an object key (the data plane makes it so).
const requestArb = fc
  .record({
    bucket: fc.constantFrom("a", "b"),
    method: methodArb,
    key: fc.oneof(keyArb, folderArb),
    ip: fc.constantFrom(...Object.keys(ADDRESSES)),
    range: fc.option(fc.constantFrom("bytes=0-9", "bytes=10-19", "bytes=0-19"), { nil: undefined }),
    contentLength: fc.option(fc.constantFrom(5, 10), { nil: undefined }),
    contentType: fc.option(fc.constantFrom("image/png", "text/plain"), { nil: undefined }),
  })
  .filter((r) => (r.method === "LIST") === (r.key === "" || r.key.endsWith("/")));

type Scope = typeof scopeArb extends fc.Arbitrary<infer T> ? T : never;
type Req = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function inside(scope: Scope, req: Req): boolean {
  if (req.bucket !== scope.bucket) return false;
  const listing = req.method === "LIST";
  if ("key" in scope.target) {
    if (listing || req.key !== scope.target.key) return false;
  } else {
    const folder = scope.target.folder;
    if (
      listing
        ? !req.key.startsWith(folder)
        : !(req.key.startsWith(folder) && req.key.length > folder.length)
    )
      return false;
  }
  if (!scope.methods.includes(req.method)) return false;
  if (scope.ip !== undefined && !scope.ip.some((r) => ADDRESSES[req.ip]!.includes(r))) return false;
  if (
    scope.range !== undefined &&
    req.range !== undefined &&
    req.range !== `bytes=${scope.range[0]}-${scope.range[1]}`
  )
    return false;
  if (req.method === "PUT") {
    if (scope.contentLength !== undefined && req.contentLength !== scope.contentLength)
      return false;
    if (scope.contentType !== undefined && req.contentType !== scope.contentType) return false;
  }
  return true;
}

describe("scope property", () => {
  it("a request is accepted exactly when it lies inside the scope", () => {
    fc.assert(
      fc.property(scopeArb, requestArb, (scope, req) => {
        const claims: UnsignedClaims = {
          p: "key:x",
          m: scope.methods,
          b: scope.bucket,
          e: 2_000_000_000,
        };
        if ("key" in scope.target) claims.o = scope.target.key;
        else claims.f = scope.target.folder;
        if (scope.ip !== undefined) claims.ip = [...scope.ip];
        if (scope.range !== undefined) claims.r = scope.range;
        if (scope.contentLength !== undefined) claims.cl = scope.contentLength;
        if (scope.contentType !== undefined) claims.ct = scope.contentType;
        const verified = verifyToken(ring, signToken(ring, claims).token, none, 1_900_000_000);
        const request: ScopedRequest = {
          method: req.method,
          bucket: req.bucket,
          key: req.key,
          ip: req.ip,
        };
        if (req.range !== undefined) request.range = req.range;
        if (req.method === "PUT") {
          request.contentLength = req.contentLength;
          request.contentType = req.contentType;
        }
        let accepted = true;
        try {
          assertInScope(verified, request);
        } catch (err) {
          expect((err as { code: string }).code).toBe("outside_scope");
          accepted = false;
        }
        expect(accepted).toBe(inside(scope, req));
      }),
      { numRuns: 5000 },
    );
  });
});
