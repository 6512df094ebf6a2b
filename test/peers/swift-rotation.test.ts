/**
 * Rotating a Swift bucket's temp URL key through Signet (POST /v1/buckets/{name}/rotate-key and
 * retire-key, and `signet buckets rotate-key | retire-key`), against a real Swift that verifies
 * every URL itself, with Signet started in-process and restarted on the same data dir. Runs only
 * when SIGNET_SWIFT_URL is set, e.g.
 *   SIGNET_SWIFT_URL=http://127.0.0.1:18080 npx vitest run test/peers/swift-rotation.test.ts
 * A fresh container with a container key, so the account's keys are never touched. The refusals
 * (403, 404, 409) need no server and always run.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempUrlKeyHeaders } from "../../src/backends/swift/swift-tempurl.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { run } from "../helpers/process.js";
import { missing } from "../helpers/skip.js";

const SWIFT = process.env.SIGNET_SWIFT_URL;
const KEY = "rotation/o.txt";
const BODY = "signed before and after";

const swiftBucket = (storageUrl: string, container: string, admin: object = {}) => ({
  backend: "swift",
  storageUrl,
  container,
  tempUrlKey: "${SWIFT_TEMPURL_KEY}",
  keyLevel: "container",
  ...admin,
});
const rotation = (h: Harness, bucket: string, action: string, key: string | null = ADMIN_KEY) =>
  api(h.url, "POST", `/v1/buckets/${bucket}/${action}`, undefined, key);

describe("rotate-key and retire-key refusals (no server needed)", () => {
  // Nothing listens on port 9: every refusal comes before Signet would reach Swift.
  const storageUrl = "http://127.0.0.1:9/v1/AUTH_test";
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: {
          media: swiftBucket(storageUrl, "media", {
            authUrl: "http://127.0.0.1:9/auth/v1.0",
            user: "test:tester",
            key: "${SWIFT_ADMIN_KEY}",
          }),
          "no-admin": swiftBucket(storageUrl, "media"),
          disk: { backend: "local" },
          amazon: {
            backend: "s3",
            bucket: "elsewhere",
            region: "us-east-1",
            accessKeyId: "${S3_KEY_ID}",
            secretAccessKey: "${S3_SECRET}",
          },
        },
      },
      env: { SWIFT_TEMPURL_KEY: "k", SWIFT_ADMIN_KEY: "a", S3_KEY_ID: "i", S3_SECRET: "s" },
    });
  });
  afterAll(() => h?.close());

  it("refuses non-admins, unknown buckets, and buckets whose key Signet cannot rotate", async () => {
    const { key } = await h.admin.apiKeys.create({ name: "reader", role: "reader" });
    for (const action of ["rotate-key", "retire-key"]) {
      const denied = await rotation(h, "media", action, key);
      expect(denied.status).toBe(403);
      expect(denied.body.error.code).toBe("forbidden");
      expect((await rotation(h, "media", action, null)).status).toBe(401);
      expect((await rotation(h, "nowhere", action)).status).toBe(404);
      for (const [bucket, reason] of [
        ["disk", /local bucket/],
        ["amazon", /s3 bucket/],
        ["no-admin", /admin credentials/],
      ] as const) {
        const res = await rotation(h, bucket, action);
        expect(res.status).toBe(409);
        expect(res.body.error).toMatchObject({ code: "conflict" });
        expect(res.body.error.message).toMatch(reason);
      }
    }
    // the admin gets past the refusals, to a Swift that is not there
    expect((await rotation(h, "media", "rotate-key")).status).toBe(503);
    expect(await h.signet.db.selectFrom("backend_keys").selectAll().execute()).toEqual([]);
  });
});

describe.skipIf(
  missing("rotating a swift bucket's temp URL key through Signet", {
    "SIGNET_SWIFT_URL (Swift peer: scripts/peers/swift-start.sh)": SWIFT,
  }),
)("rotating a swift bucket's temp URL key through Signet", () => {
  const firstKey = randomBytes(16).toString("hex");
  const env = { SWIFT_TEMPURL_KEY: firstKey, SWIFT_ADMIN_KEY: "testing" };
  let token = "";
  let storageUrl = "";
  let container = "";
  let dataDir = "";
  let config: Record<string, unknown>;
  let h: Harness;

  /** A request with tempauth credentials to the container, for setup and checks only. */
  const swift = (path: string, init: RequestInit = {}) =>
    fetch(`${storageUrl}/${container}${path}`, {
      ...init,
      headers: { "x-auth-token": token, ...(init.headers as Record<string, string>) },
    });
  /** What Swift holds in the container's two key slots. */
  const heldKeys = async () => {
    const res = await swift("", { method: "HEAD" });
    return [
      res.headers.get("x-container-meta-temp-url-key"),
      res.headers.get("x-container-meta-temp-url-key-2"),
    ];
  };
  /** A direct HEAD URL: Swift's downloads are never direct (a holder could add `&inline`). */
  const directHead = async () => {
    const res = await api(h.url, "POST", "/v1/presign", {
      bucket: "media",
      key: KEY,
      method: "HEAD",
      delivery: "direct",
    });
    expect(res.status).toBe(200);
    return res.body.url as string;
  };
  const statusOf = async (url: string) => {
    const res = await fetch(url, { method: "HEAD" });
    if (res.status === 200) expect(res.headers.get("content-length")).toBe(String(BODY.length));
    return res.status;
  };
  const post = (bucket: string, action: string) => rotation(h, bucket, action);
  const restart = async () => {
    await h.close();
    h = await startSignet({ config, env, dataDir });
  };

  beforeAll(async () => {
    const auth = await fetch(`${SWIFT}/auth/v1.0`, {
      headers: { "x-auth-user": "test:tester", "x-auth-key": "testing" },
    });
    expect(auth.status).toBe(200);
    token = auth.headers.get("x-auth-token")!;
    storageUrl = auth.headers.get("x-storage-url")!;
    container = `signet-rotation-${Date.now().toString(36)}`;
    expect((await swift("", { method: "PUT" })).status).toBe(201);
    const keys = await swift("", {
      method: "POST",
      headers: tempUrlKeyHeaders("container", { tempUrlKey: firstKey }),
    });
    expect(keys.status).toBe(204);
    expect((await swift(`/${KEY}`, { method: "PUT", body: BODY })).status).toBe(201);

    config = {
      buckets: {
        media: swiftBucket(storageUrl, container, {
          authUrl: `${SWIFT}/auth/v1.0`,
          user: "test:tester",
          key: "${SWIFT_ADMIN_KEY}",
        }),
      },
    };
    dataDir = await mkdtemp(join(tmpdir(), "signet-rotation-"));
    h = await startSignet({ config, env, dataDir });
  });

  afterAll(async () => {
    await h?.close();
    if (dataDir !== "") await rm(dataDir, { recursive: true, force: true });
    if (container === "") return;
    await swift(`/${KEY}`, { method: "DELETE" });
    await swift("", { method: "DELETE" });
  });

  let before = "";
  let rotatedKey = "";

  it("rotates: the new key signs, URLs signed before keep working, a second rotation waits", async () => {
    before = await directHead();
    expect(await statusOf(before)).toBe(200);

    const res = await post("media", "rotate-key");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["bucket", "rotatedAt"]);
    expect(res.body.bucket).toBe("media");
    const [current, previous] = await heldKeys();
    expect(previous).toBe(firstKey);
    expect(current).not.toBe(firstKey);
    expect(current!.length).toBeGreaterThanOrEqual(32);
    rotatedKey = current!;

    const after = await directHead();
    expect(after).not.toBe(before);
    expect(await statusOf(after)).toBe(200);
    expect(await statusOf(before)).toBe(200);

    const again = await post("media", "rotate-key");
    expect(again.status).toBe(409);
    expect(await heldKeys()).toEqual([rotatedKey, firstKey]);
  });

  it("keeps the rotation across a restart, sealed in the keyring", async () => {
    const rows = await h.signet.db
      .selectFrom("backend_keys")
      .selectAll()
      .where("bucket", "=", "media")
      .orderBy("slot")
      .execute();
    expect(rows.map((r) => r.slot)).toEqual(["current", "previous"]);
    for (const row of rows)
      for (const plain of [rotatedKey, firstKey]) {
        expect(row.secret_sealed).not.toContain(plain);
        expect(row.secret_sealed).not.toContain(Buffer.from(plain).toString("base64"));
      }

    await restart();
    expect(await statusOf(await directHead())).toBe(200);
    expect(await statusOf(before)).toBe(200);
    // the previous key is still known to be in Swift's second slot
    expect((await post("media", "rotate-key")).status).toBe(409);
  });

  it("retires the previous key with `signet buckets retire-key`: earlier URLs end", async () => {
    const after = await directHead();
    const cli = await run(["--server", h.url, "buckets", "retire-key", "media"], {
      SIGNET_KEY: ADMIN_KEY,
    });
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(Object.keys(JSON.parse(cli.stdout)).sort()).toEqual(["bucket", "retiredAt"]);
    expect(cli.stdout).not.toContain(rotatedKey);
    expect(await heldKeys()).toEqual([rotatedKey, null]);

    expect(await statusOf(before)).toBe(401);
    expect(await statusOf(after)).toBe(200);

    const refused = await run(["--server", h.url, "buckets", "rotate-key", "nowhere"], {
      SIGNET_KEY: ADMIN_KEY,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^signet: not_found: bucket not found/);
  });

  it("signs with the rotated key after another restart", async () => {
    await restart();
    const rows = await h.signet.db.selectFrom("backend_keys").select("slot").execute();
    expect(rows.map((r) => r.slot)).toEqual(["current"]);
    expect(await statusOf(await directHead())).toBe(200);
    expect(await statusOf(before)).toBe(401);
  });
});
