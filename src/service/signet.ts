/** Wires the services together over one data directory and one metadata database. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LocalBackend } from "../backends/local.js";
import { signToken, type UnsignedClaims } from "../core/token.js";
import { type Db, openSqlite } from "../db/connect.js";
import { EmbeddedStore } from "../store/embedded.js";
import { ApiKeys } from "./apikeys.js";
import { AuditLog } from "./audit.js";
import { Buckets } from "./buckets.js";
import type { Config } from "./config.js";
import { KeyringService } from "./keyring.js";
import { resolveMasterKey } from "./master-key.js";
import { ObjectService } from "./objects.js";
import { PresignService } from "./presign.js";
import { Revocations } from "./revocations.js";

export interface SignetOptions {
  dataDir: string;
  config: Config;
  adminKey?: string;
  masterKey?: string;
  publicUrl?: string;
}

export interface Signet {
  readonly config: Config;
  readonly db: Db;
  readonly keyring: KeyringService;
  readonly revocations: Revocations;
  readonly audit: AuditLog;
  readonly apiKeys: ApiKeys;
  readonly buckets: Buckets;
  readonly presign: PresignService;
  readonly objects: ObjectService;
  /** set when the first start wrote a new admin key */
  readonly adminKeyFile: string | undefined;
  readonly swept: { tmp: number; orphans: number };
  publicUrl: string;
  close(): Promise<void>;
}

export async function openSignet(options: SignetOptions): Promise<Signet> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const master = await resolveMasterKey(options.dataDir, options.masterKey);
  const db = await openSqlite(join(options.dataDir, "signet.db"));
  const keyring = new KeyringService(db, master);
  await keyring.open();
  const revocations = new Revocations(db);
  await revocations.load();
  const audit = new AuditLog(db);
  const apiKeys = new ApiKeys(db, revocations, options.adminKey);
  const store = new EmbeddedStore(db, options.dataDir);
  const swept = await store.init();

  let publicUrl = options.publicUrl ?? options.config.publicUrl ?? "http://127.0.0.1:8080";
  const sign = (claims: UnsignedClaims) => signToken(keyring.current, claims).token;
  const buckets = new Buckets(
    options.config.buckets ?? {},
    () => new LocalBackend(() => publicUrl, sign),
  );
  return {
    config: options.config,
    db,
    keyring,
    revocations,
    audit,
    apiKeys,
    buckets,
    presign: new PresignService(buckets, audit),
    objects: new ObjectService(keyring, revocations, buckets, store, audit),
    adminKeyFile: await bootstrapAdminKey(apiKeys, options),
    swept,
    get publicUrl() {
      return publicUrl;
    },
    set publicUrl(url: string) {
      publicUrl = url;
    },
    close: () => db.destroy(),
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
