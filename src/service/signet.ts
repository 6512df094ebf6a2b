/** Wires the services together over one data directory and one metadata database. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { signToken, type UnsignedClaims } from "../core/token.js";
import { type Db, openSqlite } from "../db/connect.js";
import { BlobFiles } from "../store/blobs.js";
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
  publicUrl: string;
  /** the base of data-plane URLs: SIGNET_DATA_URL, the config's dataUrl, else the public URL */
  readonly dataUrl: string;
  close(): Promise<void>;
}

export async function openSignet(options: SignetOptions): Promise<Signet> {
  const env = options.env ?? process.env;
  // Before anything is opened: a weak admin key refuses to start, saying why.
  if (options.adminKey !== undefined) checkAdminKeyStrength(options.adminKey);
  const jwt =
    options.config.auth?.jwt === undefined
      ? undefined
      : await JwtVerifier.create(options.config.auth.jwt, env);
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const master = await resolveMasterKey(options.dataDir, options.masterKey);
  const db = await openSqlite(join(options.dataDir, "signet.db"));
  const keyring = new KeyringService(db, master);
  await keyring.open();
  const audit = new AuditLog(db);
  const revocations = new Revocations(db, () => audit.flush());
  await revocations.load();
  const apiKeys = new ApiKeys(db, revocations, options.adminKey);
  const grants = new GrantService(db, options.config.grantSpecs);
  await grants.load();
  const store = new EmbeddedStore(db, options.dataDir, storeCacheOptions(env));
  const swept = await store.init();
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
  await buckets.load();
  // Swift buckets sign with the temp URL keys Signet last rotated to, kept in the keyring.
  const backendKeys = new BackendKeys(db, master, buckets, audit);
  await backendKeys.apply();
  const links = new LinkService(keyring, dataUrl, spool);
  const webhooks = new Webhooks(
    db,
    options.config.webhooks ?? [],
    options.config.webhookAllow ?? [],
    env,
  );
  webhooks.start();
  const keyGuard = new KeyGuard(db, webhooks);
  const shortUrls = new ShortUrls(db, revocations, dataUrl);
  const issuance = new Issuance(buckets, () => grants.current, audit, links, shortUrls, keyGuard);
  const presign = new PresignService(issuance);
  const uploads = new UploadService(db, buckets, issuance, revocations, audit, webhooks, keyGuard);
  const files = new FileService(db, buckets, issuance, audit, webhooks);
  // Abandoned intents are swept with their partial data: at start-up, then every minute.
  await uploads.sweep();
  // Expired revocations, issuance records and short URLs go; audit rows past retainDays too.
  const retainDays = options.config.audit?.retainDays;
  const prune = async () => {
    await audit.flush();
    await revocations.prune();
    await shortUrls.prune();
    await db
      .deleteFrom("issued")
      .where("expires_at", "<", new Date(Date.now() - PRUNE_ISSUED_AFTER_MS).toISOString())
      .execute();
    if (retainDays !== undefined) await audit.sweep(retainDays);
  };
  await prune();
  const sweeper = setInterval(
    () =>
      void uploads
        .sweep()
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
    shares: new ShareService(db, issuance, revocations, audit),
    uploads,
    files,
    webhooks,
    revoke: new RevokeService(db, audit, revocations, buckets),
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
    objects: new ObjectService(keyring, revocations, buckets, store, audit),
    keyGuard,
    multipart,
    adminKeyFile: await bootstrapAdminKey(apiKeys, options),
    swept,
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
      // Whatever the audit queue still holds is written before the database closes.
      await audit.close();
      await db.destroy();
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
