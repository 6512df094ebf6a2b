import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AccessRequest,
  checkGrant,
  type Grant,
  GrantSet,
  isSafeSubject,
} from "../../src/core/grants.js";
import { inFolder, toFolder } from "../../src/core/keys.js";
import type { Principal } from "../../src/core/principal.js";

const alice: Principal = { id: "sub:alice", subject: "alice", roles: ["user"] };
const kyc: Grant = {
  id: "g1",
  principal: "role:user",
  buckets: ["default"],
  prefix: "kyc/${sub}/",
  actions: ["read", "write"],
  maxExpiresIn: 300,
  require: { contentLengthMax: 5_000_000, contentTypes: ["image/*"] },
};
const set = new GrantSet([kyc]);
const ask = (request: Partial<AccessRequest>, who: Principal = alice) =>
  set.authorize(who, { bucket: "default", actions: ["read"], ...request });
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("not refused");
};

describe("grant evaluation", () => {
  it("allows what lies inside the grant, with its maximum expiry", () => {
    expect(ask({ key: "kyc/sub:alice/id.png" })).toMatchObject({
      grantId: "g1",
      maxExpiresIn: 300,
    });
  });

  it("404 when no grant reaches the bucket or the principal", () => {
    expect(refusal(() => ask({ bucket: "other", key: "kyc/sub:alice/x" })).code).toBe("not_found");
    expect(
      refusal(() =>
        ask({ key: "kyc/sub:alice/x" }, { id: "key:1", subject: "1", roles: ["guest"] }),
      ).code,
    ).toBe("not_found");
  });

  it("403 naming the rule for folder, action and expiry", () => {
    expect(refusal(() => ask({ key: "kyc/bob/id.png" }))).toMatchObject({
      code: "forbidden",
      message: expect.stringMatching(/no grant allows read on 'kyc\/bob\/id.png'/),
    });
    expect(refusal(() => ask({ key: "kyc/sub:alice/x", actions: ["delete"] })).message).toMatch(
      /no grant allows delete/,
    );
    expect(refusal(() => ask({ key: "kyc/sub:alice/x", expiresIn: 301 })).message).toMatch(
      /above the grant's maximum of 300/,
    );
  });

  it("applies require to writes: exact length and type inside the bounds", () => {
    const write = (extra: Partial<AccessRequest>) =>
      ask({ key: "kyc/sub:alice/x.png", actions: ["write"], ...extra });
    expect(write({ contentLength: 10, contentType: "image/png" })).toMatchObject({ grantId: "g1" });
    expect(write({ contentLengthRange: [0, 100], contentType: "image/*" })).toMatchObject({
      grantId: "g1",
    });
    expect(
      refusal(() => write({ contentLengthRange: [0, 5_000_001], contentType: "image/png" }))
        .message,
    ).toMatch(/above/);
    expect(refusal(() => write({ contentType: "image/png" })).message).toMatch(
      /requires contentLength/,
    );
    expect(refusal(() => write({ contentLength: 10 })).message).toMatch(/requires contentType/);
    expect(
      refusal(() => write({ contentLength: 5_000_001, contentType: "image/png" })).message,
    ).toMatch(/above the grant's maximum/);
    expect(refusal(() => write({ contentLength: 1, contentType: "text/plain" })).message).toMatch(
      /not one of image\/\*/,
    );
    expect(write({ contentLength: 1, contentType: "IMAGE/PNG" })).toBeTruthy();
    // issue 16: parameters the grant does not allow are refused, and so is a second type
    // smuggled into one (browsers read "image/png;x=,text/html" as HTML).
    for (const smuggled of ["image/png;x=,text/html", "IMAGE/PNG; q=1", "image/png\r\nx: y"])
      expect(refusal(() => write({ contentLength: 1, contentType: smuggled })).code).toBe(
        "forbidden",
      );
  });

  it("applies the grant's ip even when the caller did not ask, and refuses wider ranges", () => {
    const net = new GrantSet([{ ...kyc, require: { ip: ["10.0.0.0/8"] } }]);
    expect(
      net.authorize(alice, { bucket: "default", actions: ["read"], key: "kyc/sub:alice/a" }).ip,
    ).toEqual(["10.0.0.0/8"]);
    expect(
      net.authorize(alice, {
        bucket: "default",
        actions: ["read"],
        key: "kyc/sub:alice/a",
        ip: ["10.1.0.0/16"],
      }).ip,
    ).toEqual(["10.1.0.0/16"]);
    expect(
      refusal(() =>
        net.authorize(alice, {
          bucket: "default",
          actions: ["read"],
          key: "kyc/sub:alice/a",
          ip: ["0.0.0.0/0"],
        }),
      ).message,
    ).toMatch(/ip is wider/);
  });

  it("the first grant that allows everything wins; the refusal comes from the closest one", () => {
    const two = new GrantSet([
      {
        id: "narrow",
        principal: "role:user",
        buckets: ["default"],
        prefix: "a",
        actions: ["read"],
      },
      {
        id: "wide",
        principal: "sub:alice",
        buckets: ["*"],
        prefix: "b",
        actions: ["read", "write"],
        maxExpiresIn: 60,
      },
    ]);
    expect(
      two.authorize(alice, { bucket: "default", actions: ["write"], key: "b/x" }).grantId,
    ).toBe("wide");
    expect(
      refusal(() =>
        two.authorize(alice, { bucket: "default", actions: ["read"], key: "b/x", expiresIn: 61 }),
      ).message,
    ).toMatch(/maximum of 60/);
  });

  it("matches principals by role, key id or subject", () => {
    const byKey = new GrantSet([
      { id: "k", principal: "key:abc", buckets: ["default"], actions: ["read"] },
    ]);
    expect(
      byKey.authorize(
        { id: "key:abc", subject: "abc", roles: [] },
        { bucket: "default", actions: ["read"], key: "any/thing" },
      ).grantId,
    ).toBe("k");
    expect(
      refusal(() =>
        byKey.authorize(
          { id: "sub:abc", subject: "abc", roles: [] },
          { bucket: "default", actions: ["read"], key: "x" },
        ),
      ).code,
    ).toBe("not_found");
  });

  it("never lets an unsafe subject into a ${sub} folder", () => {
    for (const subject of [
      "a/b",
      "..",
      ".",
      "*",
      "a?",
      "[x]",
      "{s}",
      "$x",
      "a%2fb",
      "tab\t",
      "",
      "a\\b",
    ]) {
      expect(isSafeSubject(subject)).toBe(false);
      // Namespaced (`sub:..`), a dot segment or an empty subject is one plain segment.
      if (["..", ".", ""].includes(subject)) continue;
      expect(
        refusal(() =>
          ask({ key: `kyc/sub:${subject}/x` }, { id: `sub:${subject}`, subject, roles: ["user"] }),
        ).code,
      ).toBe("forbidden");
    }
    expect(isSafeSubject("alice@example.com")).toBe(true);
  });

  it("namespaces ${sub} by kind: a JWT whose sub is an API key's id never reaches its folder", () => {
    const viaKey: Principal = {
      id: "key:0123456789abcdef",
      subject: "0123456789abcdef",
      roles: ["user"],
    };
    const viaJwt: Principal = {
      id: "sub:0123456789abcdef",
      subject: "0123456789abcdef",
      roles: ["user"],
    };
    expect(ask({ key: "kyc/key:0123456789abcdef/x" }, viaKey).grantId).toBe("g1");
    expect(refusal(() => ask({ key: "kyc/key:0123456789abcdef/x" }, viaJwt)).code).toBe(
      "forbidden",
    );
    expect(refusal(() => ask({ key: "kyc/0123456789abcdef/x" }, viaKey)).code).toBe("forbidden");
    expect(ask({ key: "kyc/sub:0123456789abcdef/x" }, viaJwt).grantId).toBe("g1");
  });

  it("property: an allowed key always lies in the grant's folder for that subject, siblings never", () => {
    const seg = fc.stringMatching(/^[a-c]{1,3}$/);
    fc.assert(
      fc.property(
        seg,
        seg,
        fc.array(seg, { minLength: 1, maxLength: 3 }),
        (subject, owner, rest) => {
          const who: Principal = { id: `sub:${subject}`, subject, roles: ["user"] };
          const key = `kyc/sub:${owner}/${rest.join("/")}`;
          let allowed = true;
          try {
            set.authorize(who, { bucket: "default", actions: ["read"], key });
          } catch {
            allowed = false;
          }
          expect(allowed).toBe(inFolder(toFolder(`kyc/sub:${subject}`), key));
          expect(allowed).toBe(owner === subject);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("grant validation", () => {
  const base = { principal: "role:user", buckets: ["default"], actions: ["read" as const] };
  it.each([
    [{ ...base, principal: "user" }, "grants.0.principal"],
    [{ ...base, prefix: "kyc/${user}/" }, "grants.0.prefix"],
    [{ ...base, prefix: "/abs" }, "grants.0.prefix"],
    [{ ...base, prefix: "a//b" }, "grants.0.prefix"],
    [{ ...base, prefix: "../x" }, "grants.0.prefix"],
    [{ ...base, require: { contentTypes: ["image"] } }, "grants.0.require.contentTypes"],
    [{ ...base, require: { contentTypes: ["*/png"] } }, "grants.0.require.contentTypes"],
  ])("refuses %j naming %s", (spec, field) => {
    expect(() => checkGrant(spec, "grants.0")).toThrowError(expect.objectContaining({ field }));
  });

  it("accepts the documented shapes", () => {
    expect(() =>
      checkGrant(
        {
          ...base,
          prefix: "users/${sub}/",
          require: { contentTypes: ["image/*", "*/*", "application/pdf"] },
        },
        "g",
      ),
    ).not.toThrow();
  });
});
