/**
 * Webhook destinations: addresses that reach an internal IPv4 host by another name are
 * internal too. NAT64 (64:ff9b::/96, RFC 6052; on an IPv6-only subnet with DNS64 the gateway
 * reaches the VPC's private IPv4 hosts), 6to4 (2002::/16), Teredo (2001::/32: its server, and
 * its client inverted), IPv4-mapped and IPv4-translated (::ffff:0:0:0/96, RFC 6145) addresses
 * carry an IPv4 address in their bits; a network's own NAT64 prefix (64:ff9b:1::/48, RFC 8215),
 * whose IPv4 address may sit elsewhere, and IPv4-compatible ::/96 are internal whole; benchmarking, reserved, multicast and broadcast IPv4 ranges are never a receiver.
 */
import { describe, expect, it } from "vitest";
import { addressPolicy } from "../../src/service/webhooks.js";

describe("webhook address policy", () => {
  const permitted = addressPolicy([]);

  it.each([
    "127.0.0.1",
    "169.254.169.254",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::10.0.0.5",
    "2002:7f00:1::1",
    "2002:a9fe:a9fe::",
    "64:ff9b:1::a00:5",
    // Local-use NAT64 (RFC 8215) with a /64 prefix: 10.0.0.1 in bits 72-103, not the last 32
    "64:ff9b:1:1:a:0:100:0",
    // IPv4-compatible (deprecated), as new URL() writes [::10.0.0.1]
    "::a00:1",
    "::ffff:10.0.0.1",
    "::ffff:0:a00:1",
    "::ffff:0:7f00:1",
    // Teredo, client 10.0.0.1 (inverted: f5ff:fffe), server public
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",
    // Teredo, server 169.254.169.254, client public (93.184.215.14 inverted)
    "2001:0:a9fe:a9fe::a247:28f1",
    "198.18.0.1",
    "192.0.0.170",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "ff02::1",
  ])("refuses %s", (address) => {
    expect(permitted(address)).toBe(false);
  });

  it.each([
    "93.184.215.14",
    "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    "64:ff9b::5db8:d70e",
    "2002:5db8:d70e::1",
    "::ffff:93.184.215.14",
    "2001:0:4136:e378:8000:63bf:a247:28f1",
  ])("lets %s through", (address) => {
    expect(permitted(address)).toBe(true);
  });

  it("webhookAllow lets an internal one through, by its IPv4 address too", () => {
    expect(addressPolicy(["10.0.0.0/8"])("64:ff9b::10.0.0.5")).toBe(true);
    expect(addressPolicy(["10.0.0.0/8"])("2001:0:4136:e378:8000:63bf:f5ff:fffe")).toBe(true);
  });
});
