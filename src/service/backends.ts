/**
 * The backend of one bucket of the config file: the embedded store, or a cloud adapter built by
 * its factory with secrets resolved from `env`. Errors name the config key
 * ("invalid config: buckets.media.region …"), never a secret.
 */
import { createAzureBackend } from "../backends/azure/azure.js";
import { createGcsBackend } from "../backends/gcs/gcs.js";
import { createS3Backend } from "../backends/s3/s3.js";
import { createSwiftBackend } from "../backends/swift/swift.js";
import type { Backend } from "../backends/types.js";
import type { BucketConfig } from "./config.js";

export async function openBackend(
  name: string,
  config: BucketConfig,
  env: NodeJS.ProcessEnv,
  local: () => Backend,
): Promise<Backend> {
  const at = `buckets.${name}`;
  switch (config.backend) {
    case "local":
      return local();
    case "s3":
      return createS3Backend(config, env, at);
    case "gcs":
      return createGcsBackend(config, env, at);
    case "azure": {
      const azure = createAzureBackend(config, env, at);
      await azure.ready();
      return azure;
    }
    case "swift":
      return createSwiftBackend(config, env, at);
  }
}
