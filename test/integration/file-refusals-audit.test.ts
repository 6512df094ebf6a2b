/**
 * The routes that sign a URL for a file id (`/r/{fileId}`, DRS access, Fence
 * download) refused a file the caller may not read with 404 before reaching Issuance, and left
 * no audit record: probing other people's file ids left no trace, unlike every refusal of
 * /v1/presign, /v1/uploads, shares and part plans.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api, commitFile } from "../helpers/http.js";

describe("refusals of the file-id routes are audited", () => {
  let h: Harness;
  let fileId: string;
  let user: string;
  let principal: string;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" } },
        compat: { fenceBucket: "default" },
        grants: [
          { principal: "role:user", buckets: ["default"], prefix: "ok/", actions: ["read"] },
        ],
      },
    });
    fileId = await commitFile(h.url, { key: "secret/a.txt", body: "hello" });
    const made = await api(h.url, "POST", "/v1/apikeys", { name: "user", role: "user" });
    user = made.body.key;
    principal = `key:${made.body.id as string}`;
  });
  afterAll(() => h.close());

  it("each refusal leaves one refused record naming the file", async () => {
    const bearer = { authorization: `Bearer ${user}` };
    const asked = [
      await fetch(`${h.url}/r/${fileId}`, { headers: bearer, redirect: "manual" }),
      await fetch(`${h.url}/ga4gh/drs/v1/objects/${fileId}/access/https`, { headers: bearer }),
      await fetch(`${h.url}/data/download/${fileId}`, { headers: bearer }),
    ];
    expect(asked.map((r) => r.status)).toEqual([404, 404, 404]);
    const refused = (
      await api(
        h.url,
        "GET",
        `/v1/audit?outcome=refused&principal=${encodeURIComponent(principal)}`,
      )
    ).body.items.reverse();
    expect(refused.map((r: { action: string; reason: string }) => [r.action, r.reason])).toEqual([
      ["session", "not_found"],
      ["drs", "not_found"],
      ["fence.download", "not_found"],
    ]);
    for (const r of refused) expect(r.detail).toMatchObject({ file: fileId });
  });
});
