/**
 * Issue 10's KYC flow end to end: the app creates an intent, the user uploads, complete commits,
 * a webhook receiver on 127.0.0.1 gets the signed event once, the user downloads through
 * /r/{id}, another user gets 404; a receiver that is down for a while still gets the event after
 * it comes back, and after a Signet restart.
 */
import { verifyWebhook } from "../../src/client/index.js";
import { createServer, type Server } from "node:http";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api, commitFile } from "../helpers/http.js";

const SECRET = "whsec-test-0123456789abcdef0123456789";

interface Received {
  id: string;
  type: string;
  data: { file: { id: string; status: string } };
}

/** A webhook receiver that verifies Signet-Signature with the SDK and can be switched off. */
async function startReceiver(port = 0) {
  const events: Received[] = [];
  let up = true;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (!up) {
        res.statusCode = 503;
        return res.end();
      }
      try {
        const body = Buffer.concat(chunks);
        events.push(verifyWebhook<Received>(body, req.headers["signet-signature"], SECRET));
        res.statusCode = 204;
      } catch {
        res.statusCode = 400;
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
    events,
    setUp: (value: boolean) => (up = value),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const until = async (check: () => boolean, seconds = 15) => {
  for (let i = 0; i < seconds * 10 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
  expect(check()).toBe(true);
};

describe("the KYC flow with webhooks and the session redirect", () => {
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let config: unknown;
  let dataDir: string;
  beforeAll(async () => {
    receiver = await startReceiver();
    dataDir = await mkdtemp(join(tmpdir(), "signet-flows-"));
    config = {
      grants: [
        {
          principal: "role:user",
          buckets: ["default"],
          prefix: "kyc/${sub}",
          actions: ["read", "write"],
        },
      ],
      webhooks: [
        { url: receiver.url, secret: "${HOOK_SECRET}", events: ["file.committed", "file.deleted"] },
      ],
      webhookAllow: ["127.0.0.1/32"],
      session: { cookieName: "app_session" },
    };
    h = await startSignet({ config, dataDir, env: { HOOK_SECRET: SECRET } });
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it("intent → upload → complete → one signed event → /r download; another user gets 404", async () => {
    const alice = await h.admin.apiKeys.create({ name: "alice", role: "user" });
    const bob = await h.admin.apiKeys.create({ name: "bob", role: "user" });
    const key = `kyc/key:${alice.id}/passport.png`;
    const bytes = Buffer.from("png bytes");
    const intent = await api(
      h.url,
      "POST",
      "/v1/uploads",
      { bucket: "default", key, size: bytes.length, contentType: "image/png" },
      alice.key,
    );
    expect(intent.body.file.status).toBe("pending");
    await fetch(intent.body.upload.url, {
      method: "PUT",
      body: bytes,
      headers: { "content-type": "image/png" },
    });
    expect(
      (await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`, {}, alice.key))
        .status,
    ).toBe(200);

    await until(() => receiver.events.some((e) => e.data.file.id === intent.body.file.id));
    await new Promise((r) => setTimeout(r, 1500));
    const mine = receiver.events.filter((e) => e.data.file.id === intent.body.file.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      type: "file.committed",
      data: { file: { status: "committed" } },
    });
    expect(mine[0]!.id).toMatch(/^evt_/);

    const redirect = await fetch(`${h.url}/r/${intent.body.file.id}`, {
      headers: { authorization: `Bearer ${alice.key}` },
      redirect: "manual",
    });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("cache-control")).toBe("no-store");
    const target = redirect.headers.get("location")!;
    const claims = JSON.parse(
      Buffer.from(new URL(target).searchParams.get("t")!.split(".")[0]!, "base64url").toString(),
    );
    expect(claims.e - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(300);
    expect(Buffer.from(await (await fetch(target)).arrayBuffer()).equals(bytes)).toBe(true);
    const viaCookie = await fetch(`${h.url}/r/${intent.body.file.id}`, {
      headers: { cookie: `other=1; app_session=${encodeURIComponent(alice.key)}` },
      redirect: "manual",
    });
    expect(viaCookie.status).toBe(302);

    expect(
      (
        await fetch(`${h.url}/r/${intent.body.file.id}`, {
          headers: { authorization: `Bearer ${bob.key}` },
          redirect: "manual",
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await fetch(`${h.url}/r/f_AAAAAAAAAAAAAAAAAAAAAA`, {
          headers: { authorization: `Bearer ${alice.key}` },
          redirect: "manual",
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await fetch(`${h.url}/r/nonsense`, {
          headers: { authorization: `Bearer ${alice.key}` },
          redirect: "manual",
        })
      ).status,
    ).toBe(404);
    expect((await fetch(`${h.url}/r/${intent.body.file.id}`, { redirect: "manual" })).status).toBe(
      401,
    );
  });

  it("a receiver that is down gets the event once it is back, and after a Signet restart", async () => {
    receiver.setUp(false);
    const intent = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "late/report.txt",
      size: 4,
      contentType: "text/plain",
    });
    await fetch(intent.body.upload.url, {
      method: "PUT",
      body: "late",
      headers: { "content-type": "text/plain" },
    });
    expect(
      (await api(h.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`, {})).status,
    ).toBe(200);
    // A few failed attempts, then Signet goes down with the event still owed.
    await new Promise((r) => setTimeout(r, 2500));
    const owed = await h.signet.db
      .selectFrom("webhook_outbox")
      .selectAll()
      .where("delivered_at", "is", null)
      .execute();
    expect(owed.length).toBe(1);
    expect(owed[0]!.attempts).toBeGreaterThanOrEqual(1);
    await h.close();

    receiver.setUp(true);
    h = await startSignet({ config, dataDir, env: { HOOK_SECRET: SECRET } });
    // Make the owed delivery due now rather than at its backoff time.
    await h.signet.db
      .updateTable("webhook_outbox")
      .set({ next_attempt_at: new Date(0).toISOString() })
      .where("delivered_at", "is", null)
      .execute();
    await until(() => receiver.events.some((e) => e.data.file.id === intent.body.file.id));
    expect(receiver.events.filter((e) => e.data.file.id === intent.body.file.id)).toHaveLength(1);
  });

  it("deleting a file sends file.deleted", async () => {
    const id = await commitFile(h.url, { key: "gone.txt", body: "x" });
    expect((await api(h.url, "DELETE", `/v1/files/${id}`)).status).toBe(204);
    await until(() =>
      receiver.events.some((e) => e.type === "file.deleted" && e.data.file.id === id),
    );
  });

  it("ending a pending intent: a delete sends file.deleted and audits file.delete; an abort sends none and audits upload.abort", async () => {
    const pending = async (key: string) =>
      (
        await api(h.url, "POST", "/v1/uploads", {
          bucket: "default",
          key,
          size: 1,
          contentType: "text/plain",
        })
      ).body.file.id as string;
    const deleted = await pending("ends/deleted.txt");
    const aborted = await pending("ends/aborted.txt");
    expect((await api(h.url, "DELETE", `/v1/files/${deleted}`)).status).toBe(204);
    expect((await api(h.url, "POST", `/v1/uploads/${aborted}/abort`)).status).toBe(200);
    const queued = (await h.signet.db.selectFrom("webhook_outbox").select("body").execute()).map(
      (r) => JSON.parse(r.body) as Received,
    );
    expect(queued.filter((e) => e.data.file.id === deleted).map((e) => e.type)).toEqual([
      "file.deleted",
    ]);
    expect(queued.filter((e) => e.data.file.id === aborted)).toEqual([]);
    // Audit records are written off the request path: wait until both are there.
    let seen: string[] = [];
    for (let i = 0; i < 50 && seen.length < 2; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      const page = (await api(h.url, "GET", "/v1/audit?prefix=ends/")).body;
      seen = (page.items as { action: string; key: string }[])
        .filter((r) => r.action === "file.delete" || r.action === "upload.abort")
        .map((r) => `${r.action} ${r.key}`)
        .sort();
    }
    expect(seen).toEqual(["file.delete ends/deleted.txt", "upload.abort ends/aborted.txt"]);
  });

  it("refuses internal webhook destinations unless they are allowed", async () => {
    await expect(
      startSignet({
        config: {
          webhooks: [
            { url: "http://169.254.169.254/latest", secret: "${S}", events: ["file.committed"] },
          ],
        },
        env: { S: "x" },
      }),
    ).rejects.toThrow(/webhooks\.0\.url is an internal address/);
    await expect(
      startSignet({
        config: {
          webhooks: [{ url: "http://127.0.0.1:9/x", secret: "${S}", events: ["file.committed"] }],
        },
        env: { S: "x" },
      }),
    ).rejects.toThrow(/internal address/);
    await expect(
      startSignet({
        config: {
          webhooks: [{ url: "http://10.1.2.3/x", secret: "plain", events: ["file.committed"] }],
        },
      }),
    ).rejects.toThrow(/webhooks\.0\.secret/);
  });
});
