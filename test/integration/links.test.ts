/** Issue 4: links (redirect and proxy), share links, part plans, with the embedded store behind them. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api, raw, statusOf } from "../helpers/http.js";
import { run } from "../helpers/process.js";

describe("links, shares and part plans", () => {
  let h: Harness;
  const body = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 256));
  beforeAll(async () => {
    h = await startSignet({
      config: {
        grants: [
          {
            principal: "role:partner",
            buckets: ["default"],
            prefix: "reports",
            actions: ["read", "list", "share"],
          },
          {
            principal: "role:reader",
            buckets: ["default"],
            prefix: "reports",
            actions: ["read", "list"],
          },
        ],
      },
    });
    for (const [key, content] of [
      ["reports/a.bin", body],
      ["reports/2026/b.txt", "bee"],
      ["secret/c.txt", "no"],
    ] as const)
      await fetch((await h.admin.presign({ bucket: "default", key, method: "PUT" })).url, {
        method: "PUT",
        body: content,
      });
  });
  afterAll(() => h.close());

  const errorOf = async (res: Response) => ((await res.json()) as any).error;

  describe("/l links", () => {
    it("redirect mode: Signet checks, then 302 to a direct URL of at most 60 seconds", async () => {
      const link = await h.admin.presign({
        bucket: "default",
        key: "reports/2026/b.txt",
        method: "GET",
        delivery: "link",
      });
      const res = await fetch(link.url, { redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const target = res.headers.get("location")!;
      expect(target).toContain("/o/default/reports/2026/b.txt?t=");
      const claims = JSON.parse(
        Buffer.from(new URL(target).searchParams.get("t")!.split(".")[0]!, "base64url").toString(),
      );
      expect(claims.e - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(60);
      expect(claims.l).toBeUndefined();
      expect(await (await fetch(link.url)).text()).toBe("bee");
    });

    it("a link token is refused on /o and a direct token on /l", async () => {
      const link = await h.admin.presign({
        bucket: "default",
        key: "reports/2026/b.txt",
        method: "GET",
        delivery: "link",
      });
      const token = link.url.split("/l/")[1]!;
      expect((await fetch(`${h.url}/o/default/reports/2026/b.txt?t=${token}`)).status).toBe(403);
      const direct = await h.admin.presign({
        bucket: "default",
        key: "reports/2026/b.txt",
        method: "GET",
      });
      expect((await fetch(`${h.url}/l/${new URL(direct.url).searchParams.get("t")}`)).status).toBe(
        403,
      );
    });

    it("checks every constraint before redirecting: outside is 403 naming it", async () => {
      const link = await h.admin.presign({
        bucket: "default",
        key: "reports/2026/b.txt",
        method: "GET",
        delivery: "link",
        ip: "10.0.0.0/8",
      });
      const res = await fetch(link.url, { redirect: "manual" });
      expect(res.status).toBe(403);
      expect((await errorOf(res)).message).toMatch(/^ip/);
      expect((await fetch(link.url, { method: "PUT", body: "x" })).status).toBe(403);
    });

    it("revoking the issuing API key refuses its links at once", async () => {
      const { key, id } = await h.admin.apiKeys.create({ name: "r", role: "reader" });
      const link = await api(
        h.url,
        "POST",
        "/v1/presign",
        { bucket: "default", key: "reports/a.bin", method: "GET", delivery: "link" },
        key,
      );
      expect((await fetch(link.body.url)).status).toBe(200);
      await h.admin.apiKeys.revoke(id);
      const res = await fetch(link.body.url, { redirect: "manual" });
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe("token_revoked");
    });

    it("revoking the issuing API key refuses its short URLs at once, as their links", async () => {
      const { key, id } = await h.admin.apiKeys.create({ name: "s", role: "reader" });
      const short = await api(
        h.url,
        "POST",
        "/v1/presign",
        { bucket: "default", key: "reports/a.bin", method: "GET", short: true },
        key,
      );
      expect(short.status).toBe(200);
      // Revoked before the short URL's first use (its issuance record may still be queued).
      await h.admin.apiKeys.revoke(id);
      const res = await fetch(short.body.url, { redirect: "manual" });
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe("token_revoked");
    });
  });

  describe("share links", () => {
    const createShare = (body: unknown, key?: string) =>
      api(h.url, "POST", "/v1/shares", body, key);
    it("lists the folder, serves objects relative to it (also ones added later), refuses outside", async () => {
      const share = await api(h.url, "POST", "/v1/shares", {
        bucket: "default",
        prefix: "reports",
        methods: ["GET", "LIST"],
        expiresIn: 3600,
      });
      expect(share.status).toBe(201);
      expect(share.body).toMatchObject({ bucket: "default", prefix: "reports/", mode: "redirect" });
      const url: string = share.body.url;
      expect(url).toMatch(/\/s\/[^/]+\/$/);
      const listing = (await (await fetch(url)).json()) as any;
      expect(listing.items.map((i: any) => i.key)).toEqual(["reports/a.bin"]);
      expect(listing.prefixes).toEqual(["reports/2026/"]);
      expect(await (await fetch(`${url}2026/b.txt`)).text()).toBe("bee");
      await fetch(
        (await h.admin.presign({ bucket: "default", key: "reports/late.txt", method: "PUT" })).url,
        { method: "PUT", body: "late" },
      );
      expect(await (await fetch(`${url}late.txt`)).text()).toBe("late");
      // fetch resolves the dots itself: the token segment is gone.
      expect([403, 404]).toContain((await fetch(`${url}../secret/c.txt`)).status);
      const path = new URL(url).pathname;
      for (const rest of ["%2e%2e/secret/c.txt", "../secret/c.txt", "a%2Fb", "x%00"]) {
        const answer = await raw(
          h.url,
          `GET ${path}${rest} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        expect(statusOf(answer)).toBe(400);
        expect(answer).not.toContain('"no"');
      }
      expect((await fetch(`${url}late.txt`, { method: "DELETE" })).status).toBe(403);
    });

    it("proxy mode streams the bytes, ranges included", async () => {
      const share = await api(h.url, "POST", "/v1/shares", {
        bucket: "default",
        prefix: "reports",
        methods: ["GET"],
        mode: "proxy",
      });
      const res = await fetch(`${share.body.url}a.bin`, {
        redirect: "manual",
        headers: { range: "bytes=10-19" },
      });
      expect(res.status).toBe(206);
      expect(Buffer.from(await res.arrayBuffer()).equals(body.subarray(10, 20))).toBe(true);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      // Its issuance is audited as a link Signet can revoke.
      await h.signet.audit.flush();
      const audit = await api(
        h.url,
        "GET",
        `/v1/audit?tokenId=${share.body.id}&action=share.create`,
      );
      expect(audit.body.items[0].detail).toMatchObject({
        delivery: "link",
        mode: "p",
        revocable: "signet",
      });
      const metrics = await (await fetch(`${h.url}/metrics`)).text();
      expect(metrics).toMatch(/^signet_link_uses_total\{mode="proxy"\} [1-9]/m);
    });

    it("DELETE /v1/shares/{id} refuses the link at once; the list shows it revoked", async () => {
      const share = await api(h.url, "POST", "/v1/shares", {
        bucket: "default",
        prefix: "reports",
        methods: ["GET"],
      });
      expect((await fetch(`${share.body.url}a.bin`)).status).toBe(200);
      expect((await api(h.url, "DELETE", `/v1/shares/${share.body.id}`)).status).toBe(204);
      const res = await fetch(`${share.body.url}a.bin`);
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe("token_revoked");
      const listed = await api(h.url, "GET", "/v1/shares");
      expect(listed.body.items.find((s: any) => s.id === share.body.id).revokedAt).not.toBeNull();
      expect(JSON.stringify(listed.body)).not.toContain(share.body.url);
    });

    it("a share revoked by any route lists its first revocation time; DELETE revokes as /v1/revocations does", async () => {
      const make = async () =>
        (await createShare({ bucket: "default", prefix: "reports", methods: ["GET"] })).body;
      const listed = async (id: string) =>
        (await h.admin.shares.list({ limit: 1000 })).items.find((s) => s.id === id)!;
      // Revoked through POST /v1/revocations: the list says so, and DELETE keeps that time.
      const one = await make();
      const revoked = await api(h.url, "POST", "/v1/revocations", { tokenId: one.id });
      expect(revoked.status).toBe(201);
      expect((await listed(one.id)).revokedAt).toBe(revoked.body.revokedAt);
      expect((await api(h.url, "DELETE", `/v1/shares/${one.id}`)).status).toBe(204);
      expect((await listed(one.id)).revokedAt).toBe(revoked.body.revokedAt);
      // Deleted first: revoking again answers that time (200), as for any revoked token.
      const two = await make();
      expect((await api(h.url, "DELETE", `/v1/shares/${two.id}`)).status).toBe(204);
      const again = await api(h.url, "POST", "/v1/revocations", { tokenId: two.id });
      expect(again.status).toBe(200);
      expect(again.body.revokedAt).toBe((await listed(two.id)).revokedAt);
      const audited = await h.admin.audit({ tokenId: two.id, action: "revoke" });
      expect(audited.items).toHaveLength(1);
      // Revoked with its folder: listed as revoked too.
      const three = await make();
      const folder = await api(h.url, "POST", "/v1/revocations", {
        bucket: "default",
        prefix: "reports/",
      });
      expect(folder.status).toBe(201);
      expect((await listed(three.id)).revokedAt).toBe(folder.body.revokedAt);
      expect((await fetch(`${three.url}a.bin`)).status).toBe(403);
    });

    it("pages through shares made in the same millisecond, each once", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push(
          (await createShare({ bucket: "default", prefix: `same/${i}/`, methods: ["GET"] })).body
            .id,
        );
      await h.signet.db
        .updateTable("shares")
        .set({ created_at: "2030-01-01T00:00:00.000Z" })
        .where("id", "in", ids)
        .execute();
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await h.admin.shares.list({ limit: 2, cursor });
        seen.push(...page.items.map((s) => s.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect(seen.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
      expect(new Set(seen).size).toBe(seen.length);
    });

    it("needs the share action and each method's action inside one grant", async () => {
      const partner = await h.admin.apiKeys.create({ name: "p", role: "partner" });
      const reader = await h.admin.apiKeys.create({ name: "r", role: "reader" });
      const ok = await api(
        h.url,
        "POST",
        "/v1/shares",
        { bucket: "default", prefix: "reports/2026", methods: ["GET"] },
        partner.key,
      );
      expect(ok.status).toBe(201);
      expect(
        (await createShare({ bucket: "default", prefix: "reports", methods: ["GET"] }, reader.key))
          .status,
      ).toBe(403);
      expect(
        (await createShare({ bucket: "default", prefix: "reports", methods: ["PUT"] }, partner.key))
          .status,
      ).toBe(403);
      expect(
        (await createShare({ bucket: "default", prefix: "secret", methods: ["GET"] }, partner.key))
          .status,
      ).toBe(403);
      // Others' shares are invisible and cannot be deleted.
      expect((await api(h.url, "GET", "/v1/shares", undefined, reader.key)).body.items).toEqual([]);
      expect(
        (await api(h.url, "DELETE", `/v1/shares/${ok.body.id}`, undefined, reader.key)).status,
      ).toBe(404);
    });

    it.each([
      [{ bucket: "default", prefix: "/x", methods: ["GET"] }, "prefix"],
      [{ bucket: "default", prefix: "x", methods: [] }, "methods"],
      [{ bucket: "default", prefix: "x", methods: ["GET"], ip: "nope" }, "ip"],
      [{ bucket: "default", prefix: "x", methods: ["GET"], mode: "teleport" }, "mode"],
    ])("400 for %j", async (input, field) => {
      const res = await api(h.url, "POST", "/v1/shares", input);
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe(field);
    });

    it("the CLI shares a folder and prints the link", async () => {
      const out = await run(
        ["share", "default/reports/", "--expires", "7d", "--ip", "127.0.0.0/8"],
        { SIGNET_URL: h.url, SIGNET_KEY: ADMIN_KEY },
      );
      expect(out.code).toBe(0);
      const share = JSON.parse(out.stdout);
      expect(share.url).toMatch(/\/s\//);
      expect(await (await fetch(`${share.url}2026/b.txt`)).text()).toBe("bee");
    });
  });

  describe("part plans", () => {
    it("splits an object into range-bound GETs whose bytes reassemble it", async () => {
      const plan = await api(h.url, "POST", "/v1/presign/parts", {
        bucket: "default",
        key: "reports/a.bin",
        partSize: 3000,
      });
      expect(plan.status).toBe(200);
      expect(plan.body.size).toBe(body.length);
      expect(plan.body.parts.map((p: any) => [p.partNumber, p.start, p.end])).toEqual([
        [1, 0, 2999],
        [2, 3000, 5999],
        [3, 6000, 8999],
        [4, 9000, 9999],
      ]);
      const pieces = await Promise.all(
        plan.body.parts.map(async (p: any) => {
          expect(p.headers).toEqual({ range: `bytes=${p.start}-${p.end}` });
          const res = await fetch(p.url, { headers: p.headers });
          expect(res.status).toBe(206);
          return Buffer.from(await res.arrayBuffer());
        }),
      );
      expect(Buffer.concat(pieces).equals(body)).toBe(true);
      const wrong = await fetch(plan.body.parts[0].url, { headers: { range: "bytes=0-9999" } });
      expect(wrong.status).toBe(403);
    });

    it("takes a part count, and refuses what does not exist or is malformed", async () => {
      const plan = await api(h.url, "POST", "/v1/presign/parts", {
        bucket: "default",
        key: "reports/a.bin",
        parts: 3,
      });
      expect(plan.body.parts).toHaveLength(3);
      expect(
        (
          await api(h.url, "POST", "/v1/presign/parts", {
            bucket: "default",
            key: "nope",
            parts: 3,
          })
        ).status,
      ).toBe(404);
      expect(
        (await api(h.url, "POST", "/v1/presign/parts", { bucket: "default", key: "reports/a.bin" }))
          .status,
      ).toBe(400);
      const many = await api(h.url, "POST", "/v1/presign/parts", {
        bucket: "default",
        key: "reports/a.bin",
        partSize: 1,
      });
      expect(many.body.parts).toHaveLength(10_000);
      await fetch(
        (await h.admin.presign({ bucket: "default", key: "reports/big.bin", method: "PUT" })).url,
        { method: "PUT", body: Buffer.alloc(10_001) },
      );
      const tooMany = await api(h.url, "POST", "/v1/presign/parts", {
        bucket: "default",
        key: "reports/big.bin",
        partSize: 1,
      });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.error.field).toBe("partSize");
    });
  });
});
