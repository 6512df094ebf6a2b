/**
 * Issue 8: revocable direct SAS URLs through an opt-in pool of stored access policies; when the
 * pool is full, revocable URLs go through links instead.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AZURITE, azurePeer, type Peer } from "../helpers/cloud-peers.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { missing } from "../helpers/skip.js";

describe.skipIf(
  missing("Azure stored access policies as revocation", {
    "SIGNET_AZURITE_URL (Azurite peer: scripts/peers/azurite-start.sh)": AZURITE,
  }),
)("Azure stored access policies as revocation", () => {
  let h: Harness;
  let peer: Peer;
  beforeAll(async () => {
    peer = await azurePeer("revoke");
    h = await startSignet({
      config: {
        buckets: {
          default: { backend: "local" },
          az: { ...peer.config, storedPolicies: { pool: 2 } },
        },
      },
      env: peer.env,
    });
    const put = await h.admin.presign({ bucket: "az", key: "r.txt", method: "PUT" });
    expect(
      (await fetch(put.url, { method: "PUT", body: "revocable", headers: put.headers })).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
    await peer?.cleanup();
  });

  it("a revocable direct SAS names a policy; revoking removes it and Azurite refuses the URL", async () => {
    const signed = await api(h.url, "POST", "/v1/presign", {
      bucket: "az",
      key: "r.txt",
      method: "GET",
      revocable: true,
    });
    expect(signed.status).toBe(200);
    expect(signed.body.enforcedBy.revocable).toBe("backend");
    expect(new URL(signed.body.url).searchParams.get("si")).toBe(signed.body.id);
    expect(await (await fetch(signed.body.url)).text()).toBe("revocable");
    expect((await api(h.url, "POST", "/v1/revocations", { tokenId: signed.body.id })).status).toBe(
      201,
    );
    expect((await fetch(signed.body.url)).status).toBe(403);
  });

  it("with the pool full, revocable URLs become links (auto) or are refused (direct)", async () => {
    const first = await api(h.url, "POST", "/v1/presign", {
      bucket: "az",
      key: "r.txt",
      method: "GET",
      revocable: true,
    });
    const second = await api(h.url, "POST", "/v1/presign", {
      bucket: "az",
      key: "r.txt",
      method: "GET",
      revocable: true,
    });
    expect([first.body.enforcedBy.revocable, second.body.enforcedBy.revocable]).toEqual([
      "backend",
      "backend",
    ]);
    const third = await api(h.url, "POST", "/v1/presign", {
      bucket: "az",
      key: "r.txt",
      method: "GET",
      revocable: true,
    });
    expect(third.body.enforcedBy.revocable).toBe("signet");
    expect(third.body.url).toContain("/l/");
    expect(await (await fetch(third.body.url)).text()).toBe("revocable");
    const direct = await api(h.url, "POST", "/v1/presign", {
      bucket: "az",
      key: "r.txt",
      method: "GET",
      revocable: true,
      delivery: "direct",
    });
    expect(direct.status).toBe(400);
    expect(direct.body.error).toMatchObject({
      code: "constraint_not_enforceable",
      field: "revocable",
    });
    // Revoking frees a slot.
    await api(h.url, "POST", "/v1/revocations", { tokenId: first.body.id });
    expect(
      (
        await api(h.url, "POST", "/v1/presign", {
          bucket: "az",
          key: "r.txt",
          method: "GET",
          revocable: true,
        })
      ).body.enforcedBy.revocable,
    ).toBe("backend");
  });
});
