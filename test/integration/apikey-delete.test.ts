/**
 * Deleting an API key must revoke what it issued on every path that
 * `POST /v1/revocations { principal }` revokes: provider-revocable direct URLs (Azure stored
 * access policies) are ended at the provider, and the key's shares show as revoked.
 * The Azure bucket points at nothing; its stored-policy calls are stubbed (the peer suite
 * test/peers/azure-revocation.test.ts proves the real ones against Azurite).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectScope } from "../../src/backends/types.js";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const AZ_KEY = Buffer.alloc(32, 7).toString("base64");

describe("deleting an API key revokes what it issued, on every path", () => {
  let h: Harness;
  const revokedAtProvider: string[] = [];
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: {
          default: { backend: "local" },
          az: {
            backend: "azure",
            accountName: "acct",
            container: "ctr",
            endpoint: "http://127.0.0.1:1/acct",
            accountKey: "${AZ_KEY}",
            storedPolicies: { pool: 2 },
          },
        },
        grants: [
          {
            principal: "role:app",
            buckets: ["default", "az"],
            actions: ["read", "write", "share", "list"],
          },
        ],
      },
      env: { AZ_KEY },
    });
    const revocation = h.signet.buckets.get("az")!.backend.revocation as {
      prepare(scope: DirectScope): Promise<DirectScope>;
      revoke(tokenId: string): Promise<void>;
    };
    revocation.prepare = async (scope) =>
      ({ ...scope, storedPolicy: scope.tokenId, revocable: true }) as DirectScope;
    revocation.revoke = async (tokenId) => {
      revokedAtProvider.push(tokenId);
    };
  });
  afterAll(() => h.close());

  const newKey = async () =>
    (await api(h.url, "POST", "/v1/apikeys", { name: "app", role: "app" })).body as {
      key: string;
      id: string;
    };

  it("a provider-revocable direct URL is ended at the provider", async () => {
    const { key, id } = await newKey();
    const signed = await api(
      h.url,
      "POST",
      "/v1/presign",
      { bucket: "az", key: "r.txt", method: "GET", revocable: true, delivery: "direct" },
      key,
    );
    expect(signed.status).toBe(200);
    expect(signed.body.enforcedBy.revocable).toBe("backend");
    expect((await api(h.url, "DELETE", `/v1/apikeys/${id}`)).status).toBe(204);
    expect(revokedAtProvider).toContain(signed.body.id);
  });

  it("a share it made is listed as revoked", async () => {
    const { key, id } = await newKey();
    const share = await api(
      h.url,
      "POST",
      "/v1/shares",
      { bucket: "default", prefix: "team", methods: ["GET"] },
      key,
    );
    expect(share.status).toBe(201);
    expect((await api(h.url, "DELETE", `/v1/apikeys/${id}`)).status).toBe(204);
    expect((await fetch(`${share.body.url}x.txt`)).status).toBe(403);
    const listed = (await api(h.url, "GET", "/v1/shares")).body.items.find(
      (s: { id: string }) => s.id === share.body.id,
    );
    expect(listed.revokedAt).not.toBeNull();
  });
});
