/**
 * The parts of the config file every bucket and every backend shares: `${ENV_NAME}` secret
 * references, CORS, and each bucket's own limits. Kept in core so that service/config.ts and the
 * backends' own bucket schemas use one definition without importing each other. No I/O: a
 * secret is resolved from the env object the caller passes.
 */
import { Type } from "@sinclair/typebox";

/** `${ENV_NAME}`: a secret is named, never written, in the config. */
export const SECRET_REF = "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$";
export const SecretRef = Type.String({
  pattern: SECRET_REF,
  description: "a ${ENV_NAME} reference: secrets are named in the config, never written",
});
const SECRET_REF_RE = new RegExp(SECRET_REF);

export const isSecretRef = (value: string): boolean => SECRET_REF_RE.test(value);

/**
 * The value a `${ENV_NAME}` reference names in `env`. A missing or empty variable fails naming
 * the config key (`field`) and the variable, never a value.
 */
export function resolveSecret(ref: string, env: NodeJS.ProcessEnv, field: string): string {
  if (!isSecretRef(ref))
    throw new Error(`invalid config: ${field} must be a \${ENV_NAME} reference`);
  const name = ref.slice(2, -1);
  const value = env[name];
  if (value === undefined || value === "")
    throw new Error(`invalid config: ${field} names \${${name}}, which is not set`);
  return value;
}

export const CorsSchema = Type.Object(
  {
    // An origin is sent back in Access-Control-Allow-Origin: printable ASCII only (RFC 6454).
    origins: Type.Array(Type.String({ pattern: "^(\\*|https?://[\\x21-\\x2e\\x30-\\x7e]+)$" }), {
      minItems: 1,
    }),
    methods: Type.Optional(
      Type.Array(Type.Union(["GET", "HEAD", "PUT", "POST", "DELETE"].map((m) => Type.Literal(m))), {
        minItems: 1,
      }),
    ),
    headers: Type.Optional(Type.Array(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }))),
    maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
  },
  { additionalProperties: false },
);

/** The longest any signed URL may live, in seconds (365 days): no bucket's maxExpiresIn is above. */
export const MAX_URL_SECONDS = 365 * 86400;

/**
 * The fields of every bucket, whatever its backend. `maxExpiresIn` bounds links too, so it may
 * exceed a provider's own limit (7 days for SigV4, V4 and a service SAS): direct URLs are capped
 * by the backend's maxExpiresIn as well.
 */
export const COMMON_BUCKET_FIELDS = {
  maxExpiresIn: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_URL_SECONDS })),
  maxObjectSize: Type.Optional(Type.Integer({ minimum: 0 })),
  cors: Type.Optional(CorsSchema),
};

/**
 * The fields of buckets whose backend is a provider over the network (S3, GCS, Azure, Swift),
 * the common ones included.
 * `stallTimeoutSeconds`: a call to the provider that sends and receives nothing this long fails
 * as `backend_unavailable` (default {@link BACKEND_STALL_SECONDS}).
 */
export const TIMED_BUCKET_FIELDS = {
  ...COMMON_BUCKET_FIELDS,
  stallTimeoutSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3600 })),
};

/** Seconds a provider call may be silent by default: a stalled provider never holds a request. */
export const BACKEND_STALL_SECONDS = 60;

/** A bucket's provider stall timeout in milliseconds. */
export const backendStallMs = (config: { stallTimeoutSeconds?: number }): number =>
  1000 * (config.stallTimeoutSeconds ?? BACKEND_STALL_SECONDS);
