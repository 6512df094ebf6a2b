/**
 * The backend of one bucket of the config file: the embedded store, or a cloud adapter built by
 * its factory (backends/registry.ts) with secrets resolved from `env`. Errors name the config key
 * ("invalid config: buckets.media.region …"), never a secret.
 */
import { type EmbeddedContext, openBackend as openFromRegistry } from "../backends/registry.js";
import type { Backend } from "../backends/types.js";
import type { BucketConfig } from "./config.js";

export async function openBackend(
  name: string,
  config: BucketConfig,
  env: NodeJS.ProcessEnv,
  embedded: Omit<EmbeddedContext, "bucket">,
): Promise<Backend> {
  return openFromRegistry(config, env, `buckets.${name}`, { ...embedded, bucket: name });
}
