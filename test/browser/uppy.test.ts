/**
 * Issue 19: the real `@uppy/core` + `@uppy/aws-s3` (bundled with esbuild, run in headless
 * Chromium) upload through Signet's Uppy signing protocol (src/service/uppy.ts): simple PUT and
 * multipart, under grants, against the embedded store and S3 on Swift's s3api (with
 * SIGNET_SWIFT_URL), or s3rver (SIGNET_S3RVER_URL: it checks no signature, so it shows the
 * protocol and the S3 backend's multipart path, not the storage's own checks).
 */
import { randomBytes } from "node:crypto";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppOrigin,
  hasChromium,
  openAppPage,
  pattern,
  sha256Hex as sha,
  startAppOrigin,
} from "../helpers/browser.js";
import { type Peer, s3Peer, SWIFT } from "../helpers/cloud-peers.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";

const MiB = 1024 * 1024;

// One Uppy per upload, wired to Signet exactly as an app would (see src/browser/uppy.ts).
const PAGE_SCRIPT = `
import Uppy from "@uppy/core";
import AwsS3 from "@uppy/aws-s3";
import { createClient, uppySigner } from "signet/browser";
window.uppyUpload = async ({ token, bucket, key, size, multipart }) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 255;
  const client = createClient({ token });
  const uppy = new Uppy();
  const signer = uppySigner(client, { bucket, uppy, chunkSize: 5 * 1024 * 1024 });
  uppy.use(AwsS3, {
    signRequest: signer.signRequest,
    getChunkSize: signer.getChunkSize,
    shouldUseMultipart: multipart,
    generateObjectKey: () => key,
  });
  uppy.addPostProcessor(signer.commit);
  const errors = [];
  uppy.on("upload-error", (_file, error) => errors.push(String(error && error.message)));
  uppy.on("error", (error) => errors.push(String(error && error.message)));
  uppy.addFile({ name: key.split("/").pop(), type: "application/octet-stream", data: new Blob([bytes]) });
  const result = await uppy.upload();
  return { successful: (result?.successful ?? []).length, failed: (result?.failed ?? []).length, errors };
};`;

interface Backend {
  name: string;
  skip: boolean;
  /** the storage's origin, when it is not Signet's own */
  origin?: string;
  /** false where the peer cannot complete a multipart upload at all (why, in the test name) */
  completesMultipart?: false;
  bucket(): Promise<{ config: Record<string, unknown>; env: Record<string, string>; peer?: Peer }>;
}

const S3RVER = process.env.SIGNET_S3RVER_URL;

/** A fresh bucket on s3rver (fixed credentials S3RVER / S3RVER); left for s3rver's own purge. */
async function s3rverPeer(): Promise<Peer> {
  const bucket = `signet-uppy-${randomBytes(4).toString("hex")}`;
  const env = { S3_KEY_ID: "S3RVER", S3_SECRET: "S3RVER" };
  const admin = new S3Client({
    endpoint: S3RVER,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_KEY_ID, secretAccessKey: env.S3_SECRET },
  });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  return {
    config: {
      backend: "s3",
      bucket,
      region: "us-east-1",
      endpoint: S3RVER,
      forcePathStyle: true,
      accessKeyId: "${S3_KEY_ID}",
      secretAccessKey: "${S3_SECRET}",
    },
    env,
    cleanup: async () => undefined,
  };
}

const backends: Backend[] = [
  {
    name: "embedded store",
    skip: false,
    bucket: async () => ({ config: { backend: "local" }, env: {} }),
  },
  {
    name: "S3 on Swift's s3api",
    skip: SWIFT === undefined,
    origin: SWIFT === undefined ? undefined : new URL(SWIFT).origin,
    bucket: async () => {
      const peer = await s3Peer("uppy");
      return { config: peer.config, env: peer.env, peer };
    },
  },
  {
    name: "S3 on s3rver",
    skip: S3RVER === undefined,
    // s3rver 3.7 answers ListParts (which complete needs) with 405 MethodNotAllowed
    completesMultipart: false,
    origin: S3RVER === undefined ? undefined : new URL(S3RVER).origin,
    bucket: async () => {
      const peer = await s3rverPeer();
      return { config: peer.config, env: peer.env, peer };
    },
  },
];

for (const backend of backends)
  describe.skipIf(!hasChromium || backend.skip)(`Uppy's @uppy/aws-s3 on ${backend.name}`, () => {
    let h: Harness;
    let app: AppOrigin;
    let browser: Browser;
    let page: Page;
    let peer: Peer | undefined;
    let uploaderKey: string;

    beforeAll(async () => {
      app = await startAppOrigin();
      const bucket = await backend.bucket();
      peer = bucket.peer;
      h = await startSignet({
        config: {
          buckets: {
            default: { ...bucket.config, cors: { origins: [app.url], maxAgeSeconds: 60 } },
          },
          grants: [
            { principal: "role:uploader", buckets: ["default"], prefix: "in", actions: ["write"] },
          ],
        },
        env: bucket.env,
      });
      app.signet = h.url;
      const created = await fetch(`${h.url}/v1/apikeys`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "uppy", role: "uploader" }),
      });
      uploaderKey = ((await created.json()) as { key: string }).key;
      ({ browser, page } = await openAppPage(app, PAGE_SCRIPT, {
        ready: "uppyUpload",
        prepare: async (page) => {
          if (backend.origin === undefined) return;
          // The S3 peer answers no CORS; its requests go through Node with CORS added, unchanged
          // otherwise (the signature is checked by the peer as usual).
          const peerOrigin = backend.origin;
          await page.route(
            (url) => url.origin === peerOrigin,
            async (route) => {
              if (route.request().method() === "OPTIONS")
                return route.fulfill({ status: 204, headers: cors(app.url, true) });
              const response = await route.fetch();
              return route.fulfill({
                response,
                headers: { ...response.headers(), ...cors(app.url) },
              });
            },
          );
        },
      }));
    });
    afterAll(async () => {
      await browser?.close();
      await app?.close();
      await h?.close();
      await peer?.cleanup();
    });

    const upload = (args: { token: string; key: string; size: number; multipart: boolean }) =>
      page.evaluate((a) => (globalThis as any).uppyUpload({ ...a, bucket: "default" }), args);

    const fileAt = async (key: string) => {
      const res = await fetch(
        `${h.url}/v1/files?bucket=default&prefix=${encodeURIComponent(key)}`,
        {
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
        },
      );
      const items = ((await res.json()) as { items: any[] }).items.filter((f) => f.key === key);
      return items.at(-1);
    };
    const stored = async (key: string) => {
      const signed = await h.admin.presign({ bucket: "default", key, method: "GET" });
      const res = await fetch(signed.url, { headers: signed.headers });
      return Buffer.from(await res.arrayBuffer());
    };

    it("a simple upload is an intent, committed after Uppy's PUT", async () => {
      const result = await upload({
        token: uploaderKey,
        key: "in/simple.bin",
        size: 70_000,
        multipart: false,
      });
      expect(result).toEqual({ successful: 1, failed: 0, errors: [] });
      const file = await fileAt("in/simple.bin");
      expect(file.status).toBe("committed");
      expect(file.size).toBe(70_000);
      expect(sha(await stored("in/simple.bin"))).toBe(sha(pattern(70_000)));
    });

    it.runIf(backend.completesMultipart === false)(
      "multipart parts are signed with their lengths and stored (s3rver has no ListParts, so no complete)",
      async () => {
        const parts: number[] = [];
        const onResponse = (r: import("playwright-core").Response) => {
          if (r.request().method() === "PUT" && /partNumber=/.test(r.url())) parts.push(r.status());
        };
        page.on("response", onResponse);
        const result = await upload({
          token: uploaderKey,
          key: "in/parts.bin",
          size: 11 * MiB,
          multipart: true,
        });
        page.off("response", onResponse);
        expect(result.successful).toBe(0);
        expect(parts).toEqual([200, 200, 200]);
        expect((await fileAt("in/parts.bin")).status).toBe("pending");
      },
    );

    it.skipIf(backend.completesMultipart === false)(
      "a multipart upload: create, signed parts, complete through Signet",
      async () => {
        const size = 11 * MiB;
        const result = await upload({
          token: uploaderKey,
          key: "in/multi.bin",
          size,
          multipart: true,
        });
        expect(result).toEqual({ successful: 1, failed: 0, errors: [] });
        const file = await fileAt("in/multi.bin");
        expect(file.status).toBe("committed");
        expect(file.size).toBe(size);
        expect(sha(await stored("in/multi.bin"))).toBe(sha(pattern(size)));
      },
    );

    it("outside the caller's grant, Uppy's upload fails and nothing is stored", async () => {
      for (const multipart of [false, true]) {
        const key = `out/${multipart ? "multi" : "simple"}.bin`;
        const result = await upload({ token: uploaderKey, key, size: 1000, multipart });
        expect(result.successful).toBe(0);
        expect(await fileAt(key)).toBeUndefined();
      }
    });

    it("a wrong credential is refused at signing", async () => {
      const result = await upload({
        token: "wrong",
        key: "in/nope.bin",
        size: 10,
        multipart: false,
      });
      expect(result.successful).toBe(0);
      expect(await fileAt("in/nope.bin")).toBeUndefined();
    });
  });

function cors(origin: string, preflight = false): Record<string, string> {
  return {
    "access-control-allow-origin": origin,
    "access-control-expose-headers": "ETag",
    ...(preflight
      ? {
          "access-control-allow-methods": "GET, PUT, POST, DELETE",
          "access-control-allow-headers": "*",
        }
      : {}),
  };
}
