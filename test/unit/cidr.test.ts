import { describe, expect, it } from "vitest";
import { ipMatcher, parseCidr, parseIpList, rangesWithin } from "../../src/core/cidr.js";

describe("CIDR ranges", () => {
  it("parses IPv4 and IPv6 ranges and bare addresses", () => {
    expect(parseIpList("10.0.0.0/8")).toEqual(["10.0.0.0/8"]);
    expect(parseIpList(["192.168.1.7", "2001:db8::/32"])).toEqual([
      "192.168.1.7/32",
      "2001:db8::/32",
    ]);
    expect(parseCidr("::1")).toEqual({ address: "::1", prefix: 128, family: "ipv6" });
  });

  it.each([
    "10.0.0.300/8",
    "10.0.0.0/33",
    "10.0.0.0/-1",
    "10.0.0.0/8/9",
    "::1/129",
    "example.com",
    "",
    "10.0.0.0/ 8",
    "10.0.0.0/8x",
  ])("refuses %j", (text) => {
    expect(() => parseCidr(text)).toThrowError(
      expect.objectContaining({ code: "invalid_request", field: "ip" }),
    );
  });

  it("refuses an empty list", () => {
    expect(() => parseIpList([])).toThrow();
  });

  it("matches addresses, including IPv4-mapped IPv6 from a dual-stack socket", () => {
    const inside = ipMatcher(["10.0.0.0/8", "2001:db8::/32"]);
    expect(inside("10.1.2.3")).toBe(true);
    expect(inside("::ffff:10.1.2.3")).toBe(true);
    expect(inside("11.0.0.1")).toBe(false);
    expect(inside("2001:db8::1")).toBe(true);
    expect(inside("2001:db9::1")).toBe(false);
    expect(inside("not an ip")).toBe(false);
    expect(ipMatcher(["127.0.0.1/32"])("127.0.0.2")).toBe(false);
  });

  it("knows when ranges lie inside others", () => {
    expect(rangesWithin(["10.1.0.0/16"], ["10.0.0.0/8"])).toBe(true);
    expect(rangesWithin(["10.0.0.0/8"], ["10.0.0.0/8"])).toBe(true);
    expect(rangesWithin(["10.0.0.0/7"], ["10.0.0.0/8"])).toBe(false);
    expect(rangesWithin(["11.0.0.0/16"], ["10.0.0.0/8"])).toBe(false);
    expect(rangesWithin(["10.1.0.0/16", "192.168.0.1/32"], ["10.0.0.0/8"])).toBe(false);
    expect(rangesWithin(["2001:db8:1::/48"], ["2001:db8::/32", "10.0.0.0/8"])).toBe(true);
    expect(rangesWithin(["10.0.0.1/32"], ["2001:db8::/32"])).toBe(false);
  });
});
