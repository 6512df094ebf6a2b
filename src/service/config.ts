/**
 * The config file: validated at start-up against this schema, with errors naming the bad
 * key. Secrets never appear in it as values, only as `${ENV_NAME}` references.
 */
import { readFile } from "node:fs/promises";
import { type Static, Type } from "@sinclair/typebox";
import { SignetError } from "../core/errors.js";
import { parseCidr } from "../core/cidr.js";
import type { Grant } from "../core/grants.js";
import {
  type GrantInput,
  GrantSpecSchema,
  type QuotaLimits,
  QuotaSchema,
} from "../core/grant-schema.js";
import { toGrantSpec } from "./grants.js";
import { type Parser, parser } from "../core/schema.js";
import { SecretRef } from "../core/config-schema.js";
import {
  BACKEND_KINDS as BACKENDS,
  BUCKET_SCHEMAS,
  type BackendKind,
} from "../backends/registry.js";

export const SEVEN_DAYS = 7 * 86400;
export const BUCKET_NAME = "^[a-z0-9][a-z0-9._-]{0,62}$";

export type { BackendKind };

export const BucketConfigSchema = Type.Union(Object.values(BUCKET_SCHEMAS));
export type BucketConfig = Static<typeof BucketConfigSchema>;

/**
 * What a bucket is checked against first: its `backend` alone (an enum, whose error names the
 * allowed values). Ajv's error for a union names a branch the bucket was never meant to match,
 * so the bucket is then checked against its own backend's schema, which names the bad key.
 */
export const BucketShapeSchema = Type.Object({
  backend: Type.Unsafe<BackendKind>({ type: "string", enum: BACKENDS }),
});
export type BucketShape = Static<typeof BucketShapeSchema>;
const parseShape = parser(BucketShapeSchema);
const bucketParsers = Object.fromEntries(
  BACKENDS.map((kind) => [kind, parser(BUCKET_SCHEMAS[kind])]),
) as Record<BackendKind, Parser<BucketConfig>>;

/** A bucket's config, checked against its backend's schema; errors name the key under `at`. */
export function parseBucketConfig(raw: unknown, at: string): BucketConfig {
  return bucketParsers[parseShape(raw, at).backend](raw, at);
}

const JwtConfigSchema = Type.Object(
  {
    jwksUrl: Type.Optional(Type.String({ pattern: "^https?://" })),
    secret: Type.Optional(SecretRef),
    publicKeyFile: Type.Optional(Type.String({ minLength: 1 })),
    issuer: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })])),
    audience: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })]),
    ),
    algorithms: Type.Optional(
      Type.Array(Type.String({ pattern: "^(HS|RS|PS|ES)(256|384|512)$|^EdDSA$" }), { minItems: 1 }),
    ),
    subjectClaim: Type.Optional(Type.String({ minLength: 1 })),
    rolesClaim: Type.Optional(Type.String({ minLength: 1 })),
    clockToleranceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 300 })),
    /** the least time between two JWKS fetches (an unknown kid, keys due, an outage) */
    jwksCooldownSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
    /** the age past which the JWKS is fetched again, in the background (default 600) */
    jwksRefreshSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    /** how long the keys in hand keep verifying while the JWKS endpoint fails (default 86400) */
    jwksMaxStaleSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800 })),
  },
  { additionalProperties: false },
);
export type JwtConfig = Static<typeof JwtConfigSchema>;

export { type GrantInput, GrantSpecSchema, type QuotaLimits };

/**
 * Server limits against slow, flooding and hostile clients; every one has a default (see
 * src/http/limits.ts). Times in seconds, sizes in bytes.
 */
export const LimitsSchema = Type.Object(
  {
    /** time to receive a request's headers */
    headersTimeoutSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3600 })),
    /** time to receive a whole request, body included; 0 for none (very large slow uploads) */
    requestTimeoutSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 86400 })),
    /** longest silence on a connection while a request (its body too) is under way */
    bodyIdleTimeoutSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3600 })),
    /** how long an idle keep-alive connection is kept */
    keepAliveTimeoutSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 600 })),
    /** open connections at once; more are closed at once */
    maxConnections: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    /** the largest control-plane request body */
    maxBodyBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 })),
    /** time for a control-plane body to arrive whole */
    controlBodyTimeoutSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3600 })),
    /** the deepest nesting of a control-plane JSON body */
    maxJsonDepth: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
    /** failed authentications allowed per client address and per API key id in a window */
    authFailures: Type.Optional(
      Type.Object(
        {
          perAddress: Type.Optional(Type.Integer({ minimum: 1 })),
          perKey: Type.Optional(Type.Integer({ minimum: 1 })),
          windowSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type LimitsConfig = Static<typeof LimitsSchema>;

// A URL whose password would sit in the config file: only `${ENV}` may carry one.
const PostgresUrl = Type.String({ pattern: "^postgres(ql)?://([^:@/]+@)?[^@]*$", maxLength: 2048 });
const RedisUrl = Type.String({ pattern: "^rediss?://([^:@/]+@)?[^@]*$", maxLength: 2048 });

export const ConfigSchema = Type.Object(
  {
    limits: Type.Optional(LimitsSchema),
    /** the metadata database (else SQLite in the data dir); SIGNET_DATABASE_URL wins */
    database: Type.Optional(
      Type.Object({ url: Type.Union([SecretRef, PostgresUrl]) }, { additionalProperties: false }),
    ),
    /** shared quota counters (else in memory); SIGNET_REDIS_URL wins */
    redis: Type.Optional(
      Type.Object({ url: Type.Union([SecretRef, RedisUrl]) }, { additionalProperties: false }),
    ),
    quotas: Type.Optional(
      Type.Object(
        {
          /** URLs each principal may be issued */
          principal: Type.Optional(QuotaSchema),
          /** URLs issued on each bucket, by bucket name; "*" is every other bucket */
          buckets: Type.Optional(Type.Record(Type.String({ minLength: 1 }), QuotaSchema)),
          /**
           * Generation-rate anomalies: a principal issuing more than `factor` times its own
           * average per minute over the last `windowMinutes` (and at least `minPerMinute`).
           */
          anomaly: Type.Optional(
            Type.Object(
              {
                factor: Type.Number({ exclusiveMinimum: 1 }),
                windowMinutes: Type.Optional(Type.Integer({ minimum: 2, maximum: 1440 })),
                minPerMinute: Type.Optional(Type.Integer({ minimum: 1 })),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    publicUrl: Type.Optional(Type.String({ pattern: "^https?://" })),
    dataUrl: Type.Optional(Type.String({ pattern: "^https?://" })),
    trustedProxies: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    webhooks: Type.Optional(
      Type.Array(
        Type.Object(
          {
            url: Type.String({ pattern: "^https?://[^\\s]+$", maxLength: 2048 }),
            secret: SecretRef,
            events: Type.Array(
              Type.Union([
                Type.Literal("file.committed"),
                Type.Literal("file.superseded"),
                Type.Literal("file.deleted"),
              ]),
              { minItems: 1, uniqueItems: true },
            ),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    /** destinations on internal addresses that webhooks may reach anyway (CIDRs or addresses) */
    webhookAllow: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }))),
    compat: Type.Optional(
      Type.Object(
        {
          presignBucket: Type.Optional(Type.String({ pattern: BUCKET_NAME })),
          fenceBucket: Type.Optional(Type.String({ pattern: BUCKET_NAME })),
        },
        { additionalProperties: false },
      ),
    ),
    audit: Type.Optional(
      Type.Object(
        {
          /** audit records older than this many days are removed by a sweep */
          retainDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 36500 })),
        },
        { additionalProperties: false },
      ),
    ),
    session: Type.Optional(
      Type.Object(
        {
          cookieName: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$" })),
          redirectExpiresIn: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
        },
        { additionalProperties: false },
      ),
    ),
    auth: Type.Optional(
      Type.Object({ jwt: Type.Optional(JwtConfigSchema) }, { additionalProperties: false }),
    ),
    grants: Type.Optional(Type.Array(GrantSpecSchema)),
    // each bucket is then checked by parseBucketConfig
    buckets: Type.Optional(
      Type.Record(Type.String({ pattern: BUCKET_NAME }), BucketShapeSchema, {
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false },
);
export type Config = Omit<Static<typeof ConfigSchema>, "buckets"> & {
  buckets?: Record<string, BucketConfig>;
};

const parseConfig = parser(ConfigSchema);

export const DEFAULT_CONFIG: Config = { buckets: { default: { backend: "local" } } };

/** The config after the checks a schema cannot make, with grants normalised. */
export interface ResolvedConfig extends Config {
  grantSpecs: Grant[];
}

function checkSemantics(config: Config): Grant[] {
  const jwt = config.auth?.jwt;
  if (jwt !== undefined) {
    const sources = [jwt.jwksUrl, jwt.secret, jwt.publicKeyFile].filter((s) => s !== undefined);
    if (sources.length !== 1)
      throw new SignetError(
        "invalid_request",
        "auth.jwt needs exactly one of jwksUrl, secret, publicKeyFile",
        "auth.jwt",
      );
    // An identity provider's keys sign tokens for every app it serves: only the audience says
    // a token was meant for this Signet (a shared secret is this deployment's own).
    if (jwt.secret === undefined && jwt.audience === undefined)
      throw new SignetError(
        "invalid_request",
        "auth.jwt.audience is required with jwksUrl or publicKeyFile: without it, tokens the " +
          "identity provider issues for any other app would be accepted",
        "auth.jwt.audience",
      );
    const symmetric = jwt.secret !== undefined;
    for (const alg of jwt.algorithms ?? [])
      if (alg.startsWith("HS") !== symmetric)
        throw new SignetError(
          "invalid_request",
          `auth.jwt.algorithms: ${alg} does not fit the key source (HS only with a secret)`,
          "auth.jwt.algorithms",
        );
  }
  config.trustedProxies?.forEach((proxy, i) => parseCidr(proxy, `trustedProxies.${i}`));
  config.webhookAllow?.forEach((entry, i) => parseCidr(entry, `webhookAllow.${i}`));
  return (config.grants ?? []).map((input, i) => ({
    ...toGrantSpec(input, `grants.${i}`),
    id: `config:${i}`,
  }));
}

export function validateConfig(raw: unknown): ResolvedConfig {
  try {
    const parsed = parseConfig(raw);
    const config: Config = {
      ...parsed,
      buckets:
        parsed.buckets &&
        Object.fromEntries(
          Object.entries(parsed.buckets).map(([name, bucket]) => [
            name,
            parseBucketConfig(bucket, `buckets.${name}`),
          ]),
        ),
    };
    const grantSpecs = checkSemantics(config);
    return { ...config, buckets: config.buckets ?? DEFAULT_CONFIG.buckets, grantSpecs };
  } catch (err) {
    if (err instanceof SignetError)
      throw new Error(
        `invalid config: ${err.message}${err.field && !err.message.startsWith(err.field) ? ` (at ${err.field})` : ""}`,
      );
    throw err;
  }
}

export async function loadConfig(path: string | undefined): Promise<ResolvedConfig> {
  if (path === undefined) return validateConfig({});
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
