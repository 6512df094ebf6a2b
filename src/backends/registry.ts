/**
 * The one place that maps a bucket's `"backend": "s3"` to its config schema and its factory.
 * A new provider is one folder under backends/ plus one line in each table below; nothing above
 * backends/ names a provider.
 */
import type { Static } from "@sinclair/typebox";
import { AzureBucketConfigSchema, createAzureBackend } from "./azure/azure.js";
import { GcsBucketConfigSchema, createGcsBackend } from "./gcs/gcs.js";
import type { EmbeddedStore } from "../store/embedded.js";
import type { EmbeddedMultipart } from "../store/multipart.js";
import { LocalBucketConfigSchema } from "./local/config.js";
import { LocalBackend, type TokenSigner } from "./local/local.js";
import { S3BucketConfigSchema, createS3Backend } from "./s3/s3.js";
import { SwiftBucketConfigSchema, createSwiftBackend } from "./swift/swift.js";
import { guarded } from "./guard.js";
import type { Backend } from "./types.js";

/** Each backend's bucket schema, by the `backend` value that selects it. */
export const BUCKET_SCHEMAS = {
  local: LocalBucketConfigSchema,
  s3: S3BucketConfigSchema,
  gcs: GcsBucketConfigSchema,
  azure: AzureBucketConfigSchema,
  swift: SwiftBucketConfigSchema,
};
export type BackendKind = keyof typeof BUCKET_SCHEMAS;
export const BACKEND_KINDS = Object.keys(BUCKET_SCHEMAS) as BackendKind[];
type ConfigOf<K extends BackendKind> = Static<(typeof BUCKET_SCHEMAS)[K]>;
/** A bucket's config for any backend (validated against its own backend's schema). */
export type AnyBucketConfig = { [K in BackendKind]: ConfigOf<K> }[BackendKind];

/** What the embedded store needs from Signet instead of provider settings. */
export interface EmbeddedContext {
  /** the bucket's name */
  bucket: string;
  store: EmbeddedStore;
  multipart: EmbeddedMultipart;
  /** the base of data-plane URLs, read at signing time */
  dataUrl: () => string;
  /** signs a token's claims with the keyring's current key */
  sign: TokenSigner;
}

/**
 * Builds a bucket's backend. `env` resolves `${ENV}` secret references; `at` is the config
 * path ("buckets.media") that errors name; `embedded` is what the embedded store is built from.
 */
type Factory<K extends BackendKind> = (
  config: ConfigOf<K>,
  env: NodeJS.ProcessEnv,
  at: string,
  embedded: EmbeddedContext,
) => Backend | Promise<Backend>;

const FACTORIES: { [K in BackendKind]: Factory<K> } = {
  local: (_config, _env, _at, e) =>
    new LocalBackend(e.bucket, e.store, e.dataUrl, e.sign, e.multipart),
  s3: createS3Backend,
  gcs: createGcsBackend,
  azure: async (config, env, at) => {
    const azure = createAzureBackend(config, env, at);
    await azure.ready();
    return azure;
  },
  swift: createSwiftBackend,
};

/**
 * The backend of one bucket, its provider calls' errors mapped by provider-errors.ts; config
 * errors name the key under `at`, never a secret.
 */
export async function openBackend(
  config: AnyBucketConfig,
  env: NodeJS.ProcessEnv,
  at: string,
  embedded: EmbeddedContext,
): Promise<Backend> {
  // the table is keyed by kind, so the config always has the factory's own type
  const factory = FACTORIES[config.backend] as Factory<BackendKind>;
  const backend = await factory(config as never, env, at, embedded);
  // The embedded store's failures are Signet's own (500s), not a provider's.
  return backend.capabilities.signetVerified ? backend : guarded(backend);
}
