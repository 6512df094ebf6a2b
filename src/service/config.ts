/**
 * The config file: validated at start-up against this schema, with errors naming the bad
 * key. Secrets never appear in it as values, only as `${ENV_NAME}` references.
 */
import { readFile } from "node:fs/promises";
import { type Static, Type } from "@sinclair/typebox";
import { SignetError } from "../core/errors.js";
import { parser } from "../core/schema.js";

export const SEVEN_DAYS = 7 * 86400;
export const BUCKET_NAME = "^[a-z0-9][a-z0-9._-]{0,62}$";

const LocalBucket = Type.Object(
  {
    backend: Type.Literal("local"),
    maxExpiresIn: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 * 86400 })),
    maxObjectSize: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const BucketConfigSchema = LocalBucket;
export type BucketConfig = Static<typeof BucketConfigSchema>;

export const ConfigSchema = Type.Object(
  {
    publicUrl: Type.Optional(Type.String({ pattern: "^https?://" })),
    buckets: Type.Optional(
      Type.Record(Type.String({ pattern: BUCKET_NAME }), BucketConfigSchema, {
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false },
);
export type Config = Static<typeof ConfigSchema>;

const parseConfig = parser(ConfigSchema);

export const DEFAULT_CONFIG: Config = { buckets: { default: { backend: "local" } } };

export function validateConfig(raw: unknown): Config {
  try {
    const config = parseConfig(raw);
    return { ...config, buckets: config.buckets ?? DEFAULT_CONFIG.buckets };
  } catch (err) {
    if (err instanceof SignetError)
      throw new Error(`invalid config: ${err.message}${err.field ? ` (at ${err.field})` : ""}`);
    throw err;
  }
}

export async function loadConfig(path: string | undefined): Promise<Config> {
  if (path === undefined) return DEFAULT_CONFIG;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return validateConfig(raw);
}
