/**
 * Client IP ranges: one CIDR or a list, IPv4 or IPv6, matched with node:net's BlockList.
 * A bare address is a /32 or /128. IPv4-mapped IPv6 addresses (::ffff:10.0.0.1, as a
 * dual-stack socket reports IPv4 peers) are matched as the IPv4 address they carry.
 */
import { BlockList, isIP } from "node:net";
import { SignetError } from "./errors.js";

export interface Cidr {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

export function parseCidr(text: string, field = "ip"): Cidr {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (
    version === 0 ||
    extra !== undefined ||
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  )
    throw new SignetError(
      "invalid_request",
      `'${text}' is not an IPv4 or IPv6 address or CIDR range`,
      field,
    );
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

/** "10.0.0.0/8" or ["10.0.0.0/8", "2001:db8::/32"] → normalised CIDR strings. */
export function parseIpList(value: string | string[], field = "ip"): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0)
    throw new SignetError("invalid_request", "ip must name at least one range", field);
  return list.map((text) => formatCidr(parseCidr(text, field)));
}

export function unmapIpv4(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match ? match[1]! : address;
}

/** A matcher for a list of normalised CIDR strings. */
export function ipMatcher(ranges: string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const range of ranges) {
    const { address, prefix, family } = parseCidr(range);
    list.addSubnet(address, prefix, family);
  }
  return (address) => {
    const plain = unmapIpv4(address);
    const version = isIP(plain);
    return version !== 0 && list.check(plain, version === 4 ? "ipv4" : "ipv6");
  };
}

/**
 * Whether every range of `inner` lies inside some range of `outer`. A range lies inside a
 * wider one of its family exactly when the wider one holds any of its addresses.
 */
export function rangesWithin(inner: string[], outer: string[]): boolean {
  const wide = outer.map((range) => ({ cidr: parseCidr(range), holds: ipMatcher([range]) }));
  return inner.every((range) => {
    const cidr = parseCidr(range);
    return wide.some(
      (o) => o.cidr.family === cidr.family && o.cidr.prefix <= cidr.prefix && o.holds(cidr.address),
    );
  });
}
