/** Wires the services together over one data directory and one metadata database. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { signToken, type UnsignedClaims } from "../core/token.js";
import { resolveSecret, isSecretRef } from "../core/config-schema.js";
import { ChangeFeed } from "../db/changes.js";
import { type Db, dialectOf, openDatabase, withStartupLock } from "../db/connect.js";
import { lockDataDir } from "../store/lock.js";
import { BlobFiles } from "../store/blobs.js";
import { VerifiedTokens } from "../core/verified-tokens.js";
import { storeCacheOptions } from "../store/cache.js";
import { EmbeddedStore } from "../store/embedded.js";
import { EmbeddedMultipart } from "../store/multipart.js";
import { ApiKeys, checkAdminKeyStrength } from "./apikeys.js";
import { AuditLog } from "./audit.js";
import { BackendKeys } from "./backend-keys.js";
import { openBackend } from "./backends.js";
import { Authenticator } from "./auth.js";
import { Buckets } from "./buckets.js";
import type { ResolvedConfig } from "./config.js";
import { FenceService } from "./fence.js";
import { FileService } from "./files.js";
import { KeyGuard } from "./key-guard.js";
import { GrantService } from "./grants.js";
import { Idempotency } from "./idempotency.js";
import { JwtVerifier } from "./jwt.js";
import { KeyringService } from "./keyring.js";
import { LinkService } from "./links.js";
import { resolveMasterKey } from "./master-key.js";
import { ObjectService } from "./objects.js";
import { Issuance } from "./issuance.js";
import { PresignService } from "./presign.js";
import { Revocations } from "./revocations.js";
import { RevokeService } from "./revoke.js";
import { ShortUrls } from "./short-urls.js";
import { DEFAULT_REDIRECT_SECONDS, SessionRedirects } from "./session.js";
import { ShareService } from "./shares.js";
import { DEFAULT_FAILED_AUTH_LIMITS, FailedAuthThrottle } from "./throttle.js";
import { type LimiterFactory, openLimiters } from "./limiters.js";
import { Metrics } from "./metrics.js";
import { Quotas } from "./quotas.js";
import { Webhooks } from "./webhooks.js";
import { UploadService } from "./uploads.js";

/** How long an issuance record outlives its token (a revoke of it then answers 404). */
const PRUNE_ISSUED_AFTER_MS = 3_600_000;

export interface SignetOptions {
  dataDir: string;
  config: ResolvedConfig;
  adminKey?: string;
  masterKey?: string;
  publicUrl?: string;
  /** the origin of data-plane URLs (/o, /l, /s), when it is not the public URL's */
  dataUrl?: string;
  /** where `${ENV}` references are resolved (process.env by default) */
  env?: NodeJS.ProcessEnv;
  /** a postgres:// URL (SIGNET_DATABASE_URL); wins over the config's database.url */
  databaseUrl?: string;
  /** a redis:// URL for shared quota counters (SIGNET_REDIS_URL); wins over redis.url */
  redisUrl?: string;
}

export interface Signet {
  readonly config: ResolvedConfig;
  readonly db: Db;
  readonly keyring: KeyringService;
  readonly revocations: Revocations;
  readonly audit: AuditLog;
  readonly apiKeys: ApiKeys;
  readonly auth: Authenticator;
  readonly grants: GrantService;
  readonly buckets: Buckets;
  readonly backendKeys: BackendKeys;
  /** the one path that issues signed requests (service/issuance.ts) */
  readonly issuance: Issuance;
  readonly presign: PresignService;
  readonly shortUrls: ShortUrls;
  readonly links: LinkService;
  readonly shares: ShareService;
  readonly uploads: UploadService;
  readonly files: FileService;
  /** files stay true: raw writes and deletes at keys that files hold (service/key-guard.ts) */
  readonly keyGuard: KeyGuard;
  readonly session: SessionRedirects;
  readonly webhooks: Webhooks;
  readonly revoke: RevokeService;
  /** the Gen3 Fence / Syfon compatibility, when `compat.fenceBucket` names a bucket */
  readonly fence: FenceService | undefined;
  readonly idempotency: Idempotency;
  readonly objects: ObjectService;
  /** the embedded store's multipart parts (its part URLs are served on the data plane) */
  readonly multipart: EmbeddedMultipart;
  /** set when the first start wrote a new admin key */
  readonly adminKeyFile: string | undefined;
  readonly swept: { tmp: number; orphans: number };
  readonly metrics: Metrics;
  /** the counters quotas (and throttles) use: Redis or memory */
  readonly limiters: LimiterFactory;
  /** cross-instance cache invalidation (PostgreSQL; inert on SQLite) */
  readonly changes: ChangeFeed;
  publicUrl: string;
  /** the base of data-plane URLs: SIGNET_DATA_URL, the config's dataUrl, else the public URL */
  readonly dataUrl: string;
  close(): Promise<void>;
}

export async function openSignet(options: SignetOptions): Promise<Signet> {
  const env = options.env ?? process.env;
  // Before anything is opened: a weak admin key refuses to start, saying why.
  if (options.adminKey !== undefined) checkAdminKeyStrength(options.adminKey);
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  // Held until close(): a second process on this data dir is refused with a clear message.
  const lock = await lockDataDir(options.dataDir);
  const opened: { close(): Promise<void> }[] = [{ close: () => lock.release() }];
  try {
    return await open(options, env, opened);
  } catch (err) {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
    throw err;
  }
}

/** A URL from the options (environment) or the config, where `${ENV}` names it. */
function urlOf(
  explicit: string | undefined,
  configured: string | undefined,
  env: NodeJS.ProcessEnv,
  field: string,
): string | undefined {
  if (explicit !== undefined && explicit !== "") return explicit;
  if (configured === undefined) return undefined;
  return isSecretRef(configured) ? resolveSecret(configured, env, field) : configured;
}

async function open(
  options: SignetOptions,
  env: NodeJS.ProcessEnv,
  opened: { close(): Promise<void> }[],
): Promise<Signet> {
  const jwt =
    options.config.auth?.jwt === undefined
      ? undefined
      : await JwtVerifier.create(options.config.auth.jwt, env);
  const master = await resolveMasterKey(options.dataDir, options.masterKey);
  const databaseUrl = urlOf(options.databaseUrl, options.config.database?.url, env, "database.url");
  const db = await openDatabase({
    url: databaseUrl,
    sqlitePath: join(options.dataDir, "signet.db"),
  });
  opened.push({ close: () => db.destroy() });
  const metrics = new Metrics();
  metrics.watch(db);
  const limiters = await openLimiters(
    urlOf(options.redisUrl, options.config.redis?.url, env, "redis.url"),
  );
  opened.push(limiters);
  const changes = new ChangeFeed(db, {
    url: dialectOf(db) === "postgres" ? databaseUrl : undefined,
    onInvalidate: (topic) => metrics.invalidations.inc({ topic }),
  });
  // Before the caches load: whatever changes from here on is reloaded once the feed starts.
  await changes.snapshot();
  const keyring = new KeyringService(db, master);
  keyring.changes = changes;
  // Two instances starting together on an empty database create one first key, not two.
  await withStartupLock(db, () => keyring.open());
  const audit = new AuditLog(db);
  const revocations = new Revocations(db, () => audit.flush());
  revocations.changes = changes;
  await revocations.load();
  const apiKeys = new ApiKeys(db, revocations, options.adminKey);
  const grants = new GrantService(db, options.config.grantSpecs);
  grants.changes = changes;
  await grants.load();
  const caches = storeCacheOptions(env);
  const store = new EmbeddedStore(db, options.dataDir, caches);
  const swept = await store.init();
  opened.push({ close: async () => store.blobs.openFiles.clear() });
  const multipart = new EmbeddedMultipart(db, store);
  // Proxied uploads are spooled here while they are checked; whatever a crash left is swept.
  const spool = new BlobFiles(join(options.dataDir, "spool"));
  await spool.init();
  await spool.sweep(async () => false);

  let publicUrl = options.publicUrl ?? options.config.publicUrl ?? "http://127.0.0.1:8080";
  // Served bytes can live on an origin of their own, apart from the API and any console.
  const ownDataUrl = options.dataUrl ?? options.config.dataUrl;
  const dataUrl = () => ownDataUrl ?? publicUrl;
  const sign = (claims: UnsignedClaims) => signToken(keyring.current, claims).token;
  const buckets = await Buckets.open(db, options.config.buckets ?? {}, (name, config) =>
    openBackend(name, config, env, { store, dataUrl, sign, multipart }),
  );
  buckets.changes = changes;
  await buckets.load();
  // Swift buckets sign with the temp URL keys Signet last rotated to, kept in the keyring.
  const backendKeys = new BackendKeys(db, master, buckets, audit);
  backendKeys.changes = changes;
  await backendKeys.apply();
  // What another instance changes is reloaded here within a second (db/changes.ts).
  changes.subscribe("keyring", () => keyring.reload());
  changes.subscribe("revocations", () => revocations.load());
  changes.subscribe("grants", () => grants.load());
  changes.subscribe("buckets", () => buckets.load());
  changes.subscribe("backend-keys", () => backendKeys.apply());
  await changes.start();
  opened.push(changes);
  const links = new LinkService(keyring, dataUrl, spool);
  const quotas = new Quotas(limiters, options.config.quotas ?? {}, metrics, audit, (id) =>
    grants.byId(id),
  );
  const webhooks = new Webhooks(
    db,
    options.config.webhooks ?? [],
    options.config.webhookAllow ?? [],
    env,
  );
  webhooks.start();
  const keyGuard = new KeyGuard(db, webhooks);
  // SQLite belongs to this process alone (the data dir is locked): any hold left is a crash's.
  if (dialectOf(db) === "sqlite") await keyGuard.dropStaleHolds();
  const shortUrls = new ShortUrls(db, revocations, dataUrl);
  const issuance = new Issuance(
    buckets,
    () => grants.current,
    audit,
    links,
    shortUrls,
    keyGuard,
    quotas,
    metrics,
  );
  const presign = new PresignService(issuance);
  const revoke = new RevokeService(db, audit, revocations, buckets, dialectOf(db) === "postgres");
  const uploads = new UploadService(db, buckets, issuance, revocations, audit, webhooks, keyGuard);
  const files = new FileService(db, buckets, issuance, audit, webhooks, keyGuard, revocations);
  // Abandoned intents are swept with their partial data: at start-up, then every minute.
  const sweep = async () => metrics.swept.inc(await uploads.sweep());
  await sweep();
  // Expired revocations, issuance records and short URLs go; audit rows past retainDays too.
  const retainDays = options.config.audit?.retainDays;
  const prune = async () => {
    await audit.flush();
    await revocations.prune();
    await shortUrls.prune();
    await keyGuard.pruneDirectWrites();
    await db
      .deleteFrom("issued")
      .where("expires_at", "<", new Date(Date.now() - PRUNE_ISSUED_AFTER_MS).toISOString())
      .execute();
    if (retainDays !== undefined) await audit.sweep(retainDays);
  };
  await prune();
  const sweeper = setInterval(
    () =>
      void sweep()
        .then(prune)
        .catch(() => undefined),
    60_000,
  );
  sweeper.unref();
  return {
    config: options.config,
    db,
    keyring,
    revocations,
    audit,
    apiKeys,
    auth: new Authenticator(
      apiKeys,
      jwt,
      FailedAuthThrottle.inMemory({
        ...DEFAULT_FAILED_AUTH_LIMITS,
        ...options.config.limits?.authFailures,
      }),
    ),
    grants,
    buckets,
    backendKeys,
    issuance,
    presign,
    shortUrls,
    links,
    shares: new ShareService(db, issuance, revoke),
    uploads,
    files,
    webhooks,
    revoke,
    fence:
      options.config.compat?.fenceBucket === undefined
        ? undefined
        : new FenceService(db, options.config.compat.fenceBucket, uploads, files, issuance),
    session: new SessionRedirects(
      files,
      issuance,
      options.config.session?.redirectExpiresIn ?? DEFAULT_REDIRECT_SECONDS,
    ),
    idempotency: new Idempotency(db),
    objects: new ObjectService(
      keyring,
      revocations,
      buckets,
      store,
      audit,
      keyGuard,
      new VerifiedTokens(caches.tokenBytes),
    ),
    keyGuard,
    multipart,
    adminKeyFile: await bootstrapAdminKey(apiKeys, options),
    swept,
    metrics,
    limiters,
    changes,
    get dataUrl() {
      return dataUrl();
    },
    get publicUrl() {
      return publicUrl;
    },
    set publicUrl(url: string) {
      publicUrl = url;
    },
    close: async () => {
      clearInterval(sweeper);
      await webhooks.stop();
      // Whatever the audit queue still holds is written before the database closes; then
      // changes, limiters, db and the lock, in reverse order of opening.
      await audit.close();
      for (const o of opened.reverse()) await o.close();
    },
  };
}

/** Without SIGNET_ADMIN_KEY, the first start creates an admin key in a 0600 file. */
async function bootstrapAdminKey(
  apiKeys: ApiKeys,
  options: SignetOptions,
): Promise<string | undefined> {
  if (options.adminKey !== undefined || (await apiKeys.count()) > 0) return undefined;
  const { key } = await apiKeys.create({ name: "bootstrap admin", role: "admin" });
  const path = join(options.dataDir, "admin.key");
  await writeFile(path, `${key}\n`, { mode: 0o600 });
  return path;
}
