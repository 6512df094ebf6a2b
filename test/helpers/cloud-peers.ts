/**
 * Fresh cloud buckets on the peers for tests that wire them into Signet: S3 on Swift's s3api and
 * Swift itself (SIGNET_SWIFT_URL, e.g. http://127.0.0.1:18080), Azure on Azurite
 * (SIGNET_AZURITE_URL, e.g. http://127.0.0.1:10000/devstoreaccount1). Each gives the bucket's
 * config entry, the env its `${ENV}` references name, and how to remove it again.
 */
import { randomBytes } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  AbortMultipartUploadCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { expect } from "vitest";
import { tempUrlKeyHeaders } from "../../src/backends/swift/swift-tempurl.js";

export const SWIFT = process.env.SIGNET_SWIFT_URL;
export const AZURITE = process.env.SIGNET_AZURITE_URL;
// Azurite's public development key; it protects nothing outside the emulator.
const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/** A bucket or container name no earlier run used: lower case, at most 63 characters. */
const fresh = (label: string) =>
  `signet-${label}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;

export interface Peer {
  config: Record<string, unknown>;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

export async function s3Peer(label: string): Promise<Peer> {
  const bucket = fresh(label);
  const env = { S3_KEY_ID: "test:tester", S3_SECRET: "testing" };
  const admin = new S3Client({
    endpoint: SWIFT,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_KEY_ID, secretAccessKey: env.S3_SECRET },
  });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    config: {
      backend: "s3",
      bucket,
      region: "us-east-1",
      endpoint: SWIFT,
      forcePathStyle: true,
      accessKeyId: "${S3_KEY_ID}",
      secretAccessKey: "${S3_SECRET}",
    },
    env,
    async cleanup() {
      const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      for (const { Key, UploadId } of uploads.Uploads ?? [])
        await admin.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
      const page = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const { Key } of page.Contents ?? [])
        await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
      await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
      admin.destroy();
    },
  };
}

export async function swiftPeer(label: string): Promise<Peer> {
  const auth = await fetch(`${SWIFT}/auth/v1.0`, {
    headers: { "x-auth-user": "test:tester", "x-auth-key": "testing" },
  });
  expect(auth.status).toBe(200);
  const token = auth.headers.get("x-auth-token")!;
  const storageUrl = auth.headers.get("x-storage-url")!;
  const container = fresh(label);
  const tempUrlKey = randomBytes(16).toString("hex");
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${storageUrl}/${container}${path}`, {
      ...init,
      headers: { "x-auth-token": token, ...(init.headers as Record<string, string>) },
    });
  expect((await admin("", { method: "PUT" })).status).toBe(201);
  const keys = await admin("", {
    method: "POST",
    headers: tempUrlKeyHeaders("container", { tempUrlKey }),
  });
  expect(keys.status).toBe(204);
  return {
    config: {
      backend: "swift",
      storageUrl,
      container,
      tempUrlKey: "${SWIFT_TEMPURL_KEY}",
      keyLevel: "container",
      authUrl: `${SWIFT}/auth/v1.0`,
      user: "test:tester",
      key: "${SWIFT_ADMIN_KEY}",
    },
    env: { SWIFT_TEMPURL_KEY: tempUrlKey, SWIFT_ADMIN_KEY: "testing" },
    async cleanup() {
      const listed = await admin("?format=json");
      const names =
        listed.status === 200
          ? ((await listed.json()) as { name: string }[]).map((o) => o.name)
          : [];
      for (const name of names)
        await admin(`/${name.split("/").map(encodeURIComponent).join("/")}`, { method: "DELETE" });
      await admin("", { method: "DELETE" });
    },
  };
}

export async function azurePeer(label: string): Promise<Peer> {
  const accountName = new URL(AZURITE!).pathname.split("/")[1]!;
  const container = fresh(label);
  const setup = new BlobServiceClient(
    AZURITE!,
    new StorageSharedKeyCredential(accountName, AZURITE_KEY),
  ).getContainerClient(container);
  await setup.create();
  return {
    config: {
      backend: "azure",
      accountName,
      container,
      endpoint: AZURITE,
      accountKey: "${AZURE_KEY}",
    },
    env: { AZURE_KEY: AZURITE_KEY },
    cleanup: async () => {
      await setup.delete();
    },
  };
}
