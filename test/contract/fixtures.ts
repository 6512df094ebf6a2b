/**
 * The backends the contract suite runs against, each a fixture that makes a fresh bucket and
 * removes it again: the embedded store, S3 on Swift's s3api, Swift (with admin credentials, and
 * with only a temp URL key), Azure on Azurite and the GCS fake. The peers are named by
 * SIGNET_SWIFT_URL and SIGNET_AZURITE_URL; a fixture whose peer is not named is skipped.
 */
import { fileURLToPath } from "node:url";
import { startFakeGcs, serviceAccountKey } from "../helpers/fake-gcs.js";
import { AZURITE, SWIFT, azurePeer, s3Peer, swiftPeer } from "../helpers/cloud-peers.js";
import { readFile } from "node:fs/promises";

export interface BucketFixture {
  config: Record<string, unknown>;
  /**
   * The same storage with credentials Signet can read through, for a bucket that cannot serve
   * downloads itself (a Swift bucket with only a temp URL key): the suite reads bytes back there.
   */
  reader?: Record<string, unknown>;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

export interface BackendFixture {
  /** the name every test title carries */
  name: string;
  /** false when its peer is not running here */
  available: boolean;
  /**
   * What the stand-in does not check that the real provider does, so the suite checks the
   * signed URL instead of the answer: "ip" (Azurite ignores a SAS's sip), "overrides" (the GCS
   * fake ignores response-content-* parameters).
   */
  gaps?: ("ip" | "overrides")[];
  /** a multipart upload within the provider's minimums (default 150,000 bytes in 64 KiB parts) */
  multipart?: { size: number; partSize: number };
  /** the etag complete takes for an uploaded part (default: the ETag header) */
  partEtag?(part: { url: string }, res: Response): string;
  /** the bucket's config with Signet's credentials replaced by wrong ones (none: embedded) */
  refused?(bucket: BucketFixture): BucketFixture;
  setup(): Promise<BucketFixture>;
}

const keyFile = fileURLToPath(
  new URL("../fixtures/conformance/gcs/test_service_account.not-a-test.json", import.meta.url),
);

export const FIXTURES: BackendFixture[] = [
  {
    name: "embedded",
    available: true,
    setup: async () => ({ config: { backend: "local" }, env: {}, cleanup: async () => {} }),
  },
  {
    name: "s3 (swift s3api)",
    available: SWIFT !== undefined,
    setup: () => s3Peer("contract"),
    multipart: { size: 11 * 1024 * 1024 + 123, partSize: 5 * 1024 * 1024 },
    refused: (b) => ({ ...b, env: { ...b.env, S3_SECRET: "not-the-secret" } }),
  },
  {
    name: "swift",
    available: SWIFT !== undefined,
    setup: () => swiftPeer("contract"),
    refused: (b) => ({ ...b, env: { ...b.env, SWIFT_ADMIN_KEY: "not-the-key" } }),
  },
  {
    name: "swift (temp URL key only)",
    available: SWIFT !== undefined,
    setup: async () => {
      const peer = await swiftPeer("contract-key");
      const config = { ...peer.config };
      for (const admin of ["authUrl", "user", "key"]) delete config[admin];
      return { ...peer, config, reader: peer.config };
    },
  },
  {
    name: "azure (azurite)",
    available: AZURITE !== undefined,
    gaps: ["ip"],
    setup: () => azurePeer("contract"),
    partEtag: (part) => new URL(part.url).searchParams.get("blockid") ?? "",
    refused: (b) => ({
      ...b,
      env: { ...b.env, AZURE_KEY: Buffer.from("not-the-key-".repeat(4)).toString("base64") },
    }),
  },
  {
    name: "gcs (fake)",
    available: true,
    gaps: ["overrides"],
    // an HMAC key the fake does not know
    refused: (b) => {
      const config = { ...b.config };
      delete config.credentialsFile;
      return {
        ...b,
        config: { ...config, hmacAccessId: "${GCS_ID}", hmacSecret: "${GCS_SECRET}" },
        env: { GCS_ID: "GOOG1WRONGID", GCS_SECRET: "bm90LXRoZS1zZWNyZXQ" },
      };
    },
    setup: async () => {
      const account = JSON.parse(await readFile(keyFile, "utf8")) as {
        client_email: string;
        private_key: string;
      };
      const fake = await startFakeGcs({
        bucket: "signet-contract",
        key: serviceAccountKey(account),
      });
      return {
        config: {
          backend: "gcs",
          bucket: "signet-contract",
          endpoint: fake.url,
          credentialsFile: keyFile,
        },
        env: {},
        cleanup: () => fake.close(),
      };
    },
  },
];
