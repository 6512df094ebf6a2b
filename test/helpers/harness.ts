/** Starts Signet in-process on 127.0.0.1 with a fresh data dir, for integration tests. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { SignetClient } from "../../src/client/index.js";
import { buildApp } from "../../src/http/app.js";
import { validateConfig } from "../../src/service/config.js";
import { openSignet, type Signet } from "../../src/service/signet.js";
import { databaseFor, dropDatabaseFor } from "./pg.js";

export const ADMIN_KEY = "test-admin-key-0123456789abcdef0";

export interface Harness {
  url: string;
  signet: Signet;
  app: FastifyInstance;
  dataDir: string;
  admin: SignetClient;
  close(): Promise<void>;
}

export async function startSignet(
  options: { config?: unknown; dataDir?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Harness> {
  const config = validateConfig(options.config ?? {});
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "signet-test-")));
  // With SIGNET_DATABASE_URL: a PostgreSQL database of this data dir's own.
  const databaseUrl = await databaseFor(dataDir);
  const signet = await openSignet({
    dataDir,
    config,
    adminKey: ADMIN_KEY,
    env: options.env ?? {},
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
  });
  const app = await buildApp(signet);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  const url = `http://127.0.0.1:${address.port}`;
  signet.publicUrl = url;
  return {
    url,
    signet,
    app,
    dataDir,
    admin: new SignetClient({ server: url, key: ADMIN_KEY }),
    async close() {
      await app.close();
      await signet.close();
      if (options.dataDir === undefined) {
        await rm(dataDir, { recursive: true, force: true });
        await dropDatabaseFor(dataDir);
      }
    },
  };
}

/**
 * An S3 bucket named `bucket` whose endpoint nothing listens on: issuance and links never call
 * the provider, so tests of signing, refusals and revocation need no peer; a call that does
 * reach it fails as a backend that is down. Its credentials come from `UNREACHABLE_S3_ENV`.
 */
export const unreachableS3 = (bucket: string) => ({
  backend: "s3",
  bucket,
  region: "us-east-1",
  endpoint: "http://127.0.0.1:1",
  forcePathStyle: true,
  accessKeyId: "${S3_ID}",
  secretAccessKey: "${S3_SECRET}",
});

/** The environment `unreachableS3`'s credentials are read from. */
export const UNREACHABLE_S3_ENV = { S3_ID: "id", S3_SECRET: "secret" };
