/**
 * Where counters for quotas and throttles live, behind rate-limiter-flexible: Redis (ioredis)
 * when SIGNET_REDIS_URL or the config's `redis.url` is set, so that every instance counts
 * together; process memory otherwise (one instance). Redis increments are atomic (the library's
 * Lua script), so N allowed across instances is N, not N per instance.
 *
 * A counter store that cannot answer fails closed: the caller gets an Error (not a
 * RateLimiterRes) and refuses with 503, rather than issuing without a quota it claims to enforce.
 */
import type { RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";

export type { RateLimiterRes };

// Loaded on first use: the CLI's client commands load this module but never count anything.
const library = () => import("rate-limiter-flexible");

/** Whether a limiter's rejection is a spent quota (else the store failed). */
export async function isSpent(reason: unknown): Promise<boolean> {
  return reason instanceof (await library()).RateLimiterRes;
}

export interface LimiterOptions {
  /** names the counter family; keys passed to consume() are scoped under it */
  keyPrefix: string;
  /** how many points a key may consume per `duration` */
  points: number;
  /** the window, in seconds */
  duration: number;
  /** seconds a key stays refused once over (default: until the window ends) */
  blockDuration?: number;
}

/** Makes limiters on one counter store; reusable by any quota or throttle. */
export interface LimiterFactory {
  readonly kind: "redis" | "memory";
  create(options: LimiterOptions): RateLimiterAbstract;
  /** resolves when the store answers (for /readyz); throws otherwise */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const PREFIX = "signet";

export async function memoryLimiters(): Promise<LimiterFactory> {
  const { RateLimiterMemory } = await library();
  return {
    kind: "memory",
    create: (o) => new RateLimiterMemory({ ...o, keyPrefix: `${PREFIX}:${o.keyPrefix}` }),
    ping: async () => undefined,
    close: async () => undefined,
  };
}

/**
 * Limiters on the Redis at `url`; resolves once it is connected (at most `timeoutMs`), so an
 * instance does not start claiming quotas it cannot count.
 */
export async function redisLimiters(url: string, timeoutMs = 5000): Promise<LimiterFactory> {
  const { RateLimiterRedis } = await library();
  const { Redis } = await import("ioredis");
  const client = new Redis(url, {
    // A command waits at most for one reconnect; then the caller refuses with 503.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    lazyConnect: true,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new Error(`cannot reach Redis (redis.url / SIGNET_REDIS_URL): ${(err as Error).message}`);
  }
  return {
    kind: "redis",
    create: (o) =>
      new RateLimiterRedis({
        ...o,
        keyPrefix: `${PREFIX}:${o.keyPrefix}`,
        storeClient: client,
        rejectIfRedisNotReady: true,
      }),
    ping: async () => {
      await client.ping();
    },
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** Redis when a URL is given, else memory. */
export async function openLimiters(redisUrl: string | undefined): Promise<LimiterFactory> {
  return redisUrl === undefined || redisUrl === "" ? memoryLimiters() : redisLimiters(redisUrl);
}
