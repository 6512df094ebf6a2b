/**
 * The one place that maps a bucket's `"backend": "s3"` to its config schema and its factory.
 * A new provider is one folder under backends/ plus one line in each table below; nothing above
 * backends/ names a provider.
 */
import type { Static } from "@sinclair/typebox";
import { AzureBucketConfigSchema, createAzureBackend } from "./azure/azure.js";
import { GcsBucketConfigSchema, createGcsBackend } from "./gcs/gcs.js";
import { LocalBucketConfigSchema } from "./local/config.js";
import { S3BucketConfigSchema, createS3Backend } from "./s3/s3.js";
import { SwiftBucketConfigSchema, createSwiftBackend } from "./swift/swift.js";
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

/**
 * Builds a bucket's backend. `env` resolves `${ENV}` secret references; `at` is the config
 * path ("buckets.media") that errors name; `local` builds the embedded store, which needs
 * Signet's own store, keyring and data URL rather than provider settings.
 */
type Factory<K extends BackendKind> = (
  config: ConfigOf<K>,
  env: NodeJS.ProcessEnv,
  at: string,
  local: () => Backend,
) => Backend | Promise<Backend>;

const FACTORIES: { [K in BackendKind]: Factory<K> } = {
  local: (_config, _env, _at, local) => local(),
  s3: createS3Backend,
  gcs: createGcsBackend,
  azure: async (config, env, at) => {
    const azure = createAzureBackend(config, env, at);
    await azure.ready();
    return azure;
  },
  swift: createSwiftBackend,
};

/** The backend of one bucket; errors name the config key under `at`, never a secret. */
export async function openBackend(
  config: AnyBucketConfig,
  env: NodeJS.ProcessEnv,
  at: string,
  local: () => Backend,
): Promise<Backend> {
  // the table is keyed by kind, so the config always has the factory's own type
  const factory = FACTORIES[config.backend] as Factory<BackendKind>;
  return factory(config as never, env, at, local);
}
