/**
 * Files stay true (DESIGN.md): a key held by a committed or pending file is written or
 * deleted only through that file (its intent's commit, `upsert`, `DELETE /v1/files/{id}`).
 * This guard answers, for raw URLs, at issuance where the key is known and at use where only
 * the use names it (folder URLs on the embedded store, links and shares):
 * - PUT or form POST at a held key: 409 `conflict` naming the file, unless the caller asked
 *   `upsert: true` and may also delete there; the held file is then superseded at issuance
 *   (a raw URL has no commit: the record stops claiming bytes the URL may replace);
 * - DELETE at a held key: 409 `conflict` (files are deleted through the files API);
 * - a folder URL that writes or deletes: only where Signet sees each use (the embedded store,
 *   or a link), since a cloud folder URL lets the client pick the key when it is used;
 * - a provider's own write URL at one key (a direct PUT, form POST or DELETE, or a link's 307
 *   target), whose use Signet never sees: it is registered before it is handed out, and no
 *   file takes that key (an intent's create and commit, upsert or not) while one lives, so a
 *   URL signed while the key was free cannot change or delete a file committed there later.
 */
import { randomUUID } from "node:crypto";
import { SignetError } from "../core/errors.js";
import type { Method } from "../core/methods.js";
import type { Db } from "../db/connect.js";
import type { FileTable } from "../db/schema.js";
import type { ScopeRequest } from "../core/scope-request.js";
import type { Bucket } from "./buckets.js";
import { toFileInfo } from "./file-records.js";
import type { Webhooks } from "./webhooks.js";

/** A transaction of the metadata database. */
export type Tx = Pick<Db, "selectFrom" | "updateTable" | "insertInto">;

export const WRITES: readonly Method[] = ["PUT", "POST", "DELETE"];

/** A provider may accept its URL a little past its expiry by Signet's clock. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * A hold on a key is a lease: it lapses this long after its last renewal, and `holding` renews
 * it every third of it while the work runs (a large cloud copy may take minutes). A live
 * holder's hold never lapses, on any instance; a crashed one's is taken over once it has.
 */
export const HOLD_LEASE_MS = 60_000;

/** The refusal naming the file that holds a key. */
export const heldBy = (row: Pick<FileTable, "id" | "status">) =>
  new SignetError(
    "conflict",
    `the key holds ${row.status} file ${row.id}: replace it with upsert: true, or delete that file`,
    "key",
  );

/** Holders of a data-plane DELETE's hold (`deleteAt`) start with this. */
const DELETE_HOLDER = "delete:";

/** Times a DELETE tries for a key another DELETE holds (waiting 5 ms, 10 ms, … between). */
const DELETE_WAITS = 20;

const busy = () =>
  new SignetError(
    "conflict",
    "another upload or delete is being committed at this key: try again once it is done",
    "key",
  );

export interface KeyGuardOptions {
  /** how long a hold lives past its last renewal (HOLD_LEASE_MS; tests shorten it) */
  leaseMs?: number;
}

export class KeyGuard {
  private readonly leaseMs: number;

  constructor(
    private readonly db: Db,
    private readonly webhooks: Webhooks,
    options: KeyGuardOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? HOLD_LEASE_MS;
  }

  /**
   * Drops every hold: only at the start of the one process that owns the database (SQLite), where
   * any hold left is a crashed holder's. A complete retried after a crash then runs at once; on a
   * shared database (PostgreSQL) it waits for the crashed hold's lease to lapse.
   */
  async dropStaleHolds(): Promise<void> {
    await this.db.deleteFrom("key_commits").execute();
  }

  /** The committed or pending files at `key` (oldest first), but `except`. */
  async holders(bucket: string, key: string, except?: string, tx?: Tx): Promise<FileTable[]> {
    let q = (tx ?? this.db)
      .selectFrom("files")
      .selectAll()
      .where("bucket", "=", bucket)
      .where("key", "=", key)
      .where("status", "in", ["committed", "pending"]);
    if (except !== undefined) q = q.where("id", "!=", except);
    return q.orderBy("created_at").execute();
  }

  /**
   * The raw-presign rule, at issuance. `authorizeDelete` throws unless the caller may delete
   * at the key (upsert needs write and delete). May turn an `auto` folder write into a link
   * (Signet then checks each use); a `direct` one on a cloud backend is 400.
   */
  async checkIssue(
    checked: { request: ScopeRequest; bucket: Bucket },
    upsert: boolean | undefined,
    authorizeDelete: () => void,
  ): Promise<void> {
    const { request, bucket } = checked;
    const writes = request.methods.some((m) => WRITES.includes(m));
    if (request.key === undefined) {
      if (upsert === true)
        throw new SignetError("invalid_request", "upsert names one key, not a folder", "upsert");
      if (!writes || bucket.backend.capabilities.signetVerified) return;
      if (request.form !== undefined || request.delivery === "direct")
        throw new SignetError(
          "constraint_not_enforceable",
          "a cloud folder URL that writes lets the client pick a key Signet cannot check " +
            "against its files: ask for a link (delivery: link or auto)",
          "prefix",
        );
      request.delivery = "link";
      return;
    }
    if (!writes) return;
    // upsert needs write and delete, whether or not a file holds the key now.
    if (upsert === true) authorizeDelete();
    const held = await this.holders(bucket.name, request.key);
    if (held.length === 0) return;
    if (request.methods.includes("DELETE") || upsert !== true) throw heldBy(held[0]!);
    const pending = held.find((row) => row.status === "pending");
    if (pending !== undefined) throw heldBy(pending);
    await this.supersede(held.map((row) => row.id));
  }

  /**
   * The use-time rule on /o, /l and /s: a write or delete at a held key is 409. Checked when the
   * request arrives and again once its body is in (`tx`: the write's own commit transaction).
   */
  async checkUse(bucket: string, key: string, method: Method, tx?: Tx): Promise<void> {
    if (!WRITES.includes(method)) return;
    const held = await this.holders(bucket, key, undefined, tx);
    if (held.length > 0) throw heldBy(held[0]!);
  }

  /**
   * A data-plane DELETE at `key` (/o, a link): run holding the key as a DELETE (`deleting`),
   * after `checkUse` again, so that a file committed between the request's arrival and its
   * delete never loses its bytes. 409 `conflict` while a commit holds the key.
   */
  async deleteAt(bucket: string, key: string, remove: () => Promise<unknown>): Promise<void> {
    await this.deleting(bucket, key, async () => {
      await this.checkUse(bucket, key, "DELETE");
      await remove();
    });
  }

  /**
   * Runs a DELETE's `work` (a data-plane DELETE, `DELETE /v1/files/{id}`) holding `key` as an
   * intent's commit does (`exclusive`), under a hold of its own: behind another DELETE of the key
   * it waits briefly (deleting twice is deleting once), behind a commit it is 409 `conflict`.
   * A name of its own, never one two DELETEs share (nor one a crashed DELETE left).
   */
  async deleting<T>(bucket: string, key: string, work: () => Promise<T>): Promise<T> {
    const holder = `${DELETE_HOLDER}${randomUUID()}`;
    for (let attempt = 1; ; attempt++) {
      const held = await this.hold(bucket, key, holder);
      if ("expires" in held) return this.holding(bucket, key, holder, held.expires, work);
      // Another DELETE's hold, or a hold released meanwhile (""): try again.
      const again = held.other === "" || held.other.startsWith(DELETE_HOLDER);
      if (!again || attempt >= DELETE_WAITS) throw busy();
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
    }
  }

  /**
   * Registers a provider's own write URL at `key` before it is handed out, then checks that no
   * file took the key meanwhile (a file that did wins: the URL is refused, as at issuance). The
   * row is written on its own, not in a transaction with the check, so that an intent's commit
   * sees it from then on. `options.reused`: `tokenId` is a link's, registered again for each
   * target it redirects to (at most REDIRECT_MAX_SECONDS each); a refused target then leaves the
   * row, since another target registered at the same moment may rely on it. A URL's own id is
   * removed on refusal: nobody else registers it.
   */
  async registerDirectWrite(
    bucket: string,
    key: string,
    tokenId: string,
    expiresAt: string,
    options: { reused?: boolean } = {},
  ): Promise<void> {
    // One statement in the usual case (a new URL); a redirect link registers its id again for
    // each target, and the row then lives as long as the last of them.
    const inserted = await this.db
      .insertInto("direct_writes")
      .values({ bucket, key, token_id: tokenId, expires_at: expiresAt })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    const isNew = Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
    if (!isNew)
      await this.db
        .updateTable("direct_writes")
        .set({ expires_at: expiresAt })
        .where("bucket", "=", bucket)
        .where("key", "=", key)
        .where("token_id", "=", tokenId)
        .where("expires_at", "<", expiresAt)
        .execute();
    const held = await this.holders(bucket, key);
    if (held.length === 0) return;
    if (isNew && options.reused !== true)
      await this.db
        .deleteFrom("direct_writes")
        .where("bucket", "=", bucket)
        .where("key", "=", key)
        .where("token_id", "=", tokenId)
        .execute();
    throw heldBy(held[0]!);
  }

  /**
   * 409 while a provider's own write URL at `key` lives: no file takes the key (an intent's
   * create and commit), since Signet could not refuse that URL once the file is there.
   */
  async assertNoDirectWrites(bucket: string, key: string, now = Date.now()): Promise<void> {
    const live = await this.db
      .selectFrom("direct_writes")
      .select(["token_id", "expires_at"])
      .where("bucket", "=", bucket)
      .where("key", "=", key)
      .where("expires_at", ">", new Date(now - CLOCK_MARGIN_MS).toISOString())
      .orderBy("expires_at", "desc")
      .executeTakeFirst();
    if (live !== undefined)
      throw new SignetError(
        "conflict",
        `a write URL the storage provider checks itself (${live.token_id}) reaches this key ` +
          `until ${live.expires_at}: no file takes the key before then`,
        "key",
      );
  }

  /** Forgets direct write URLs past their expiry (and the clock margin). */
  async pruneDirectWrites(now = Date.now()): Promise<void> {
    await this.db
      .deleteFrom("direct_writes")
      .where("expires_at", "<", new Date(now - CLOCK_MARGIN_MS).toISOString())
      .execute();
  }

  /**
   * Runs an intent's check, promote and commit (or a data-plane DELETE: `deleteAt`) holding its
   * key: one at a time per key, so that a commit's check of the key's files still holds when it
   * promotes and commits (a non-upsert commit can never replace a file another commit made
   * meanwhile). Any live hold at the key is 409 `conflict` (retry), even one of the same holder:
   * a complete retried while the first still runs, on this instance or another, would otherwise
   * run beside it, and the first to finish would release the hold the other relies on. The hold
   * is a lease renewed while `work` runs (HOLD_LEASE_MS): a crashed holder's lapses and is taken
   * over, so a complete retried after a crash waits for that (on SQLite none is left: at start,
   * `dropStaleHolds`).
   */
  async exclusive<T>(bucket: string, key: string, holder: string, work: () => Promise<T>) {
    const held = await this.hold(bucket, key, holder);
    if (!("expires" in held)) throw busy();
    return this.holding(bucket, key, holder, held.expires, work);
  }

  /**
   * Takes the hold on `key` for `holder`: the lease's expiry, or the holder in the way ("": one
   * released between the insert and the look).
   */
  private async hold(
    bucket: string,
    key: string,
    holder: string,
  ): Promise<{ expires: string } | { other: string }> {
    const now = Date.now();
    // Only a lapsed lease: a live one is a holder still at work, whoever it is.
    await this.db
      .deleteFrom("key_commits")
      .where("bucket", "=", bucket)
      .where("key", "=", key)
      .where("expires_at", "<", new Date(now).toISOString())
      .execute();
    const expires = new Date(now + this.leaseMs).toISOString();
    const taken = await this.db
      .insertInto("key_commits")
      .values({ bucket, key, holder, expires_at: expires })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(taken.numInsertedOrUpdatedRows ?? 0) > 0) return { expires };
    const other = await this.db
      .selectFrom("key_commits")
      .select("holder")
      .where("bucket", "=", bucket)
      .where("key", "=", key)
      .executeTakeFirst();
    return { other: other?.holder ?? "" };
  }

  /**
   * Runs `work` under the hold `holder` took (its lease lapsing at `expires`), renewing the lease
   * every third of it, then releases it. The row is named by holder and by the expiry last
   * written, so that a lease that lapsed (the process stalled past it) and was taken over, even
   * under the same holder, is never renewed or released by this run: the renewal that finds it
   * gone notes on stderr that the key went unprotected. A renewal that fails (the database
   * unreachable) is left to the next one.
   */
  private async holding<T>(
    bucket: string,
    key: string,
    holder: string,
    expires: string,
    work: () => Promise<T>,
  ): Promise<T> {
    let lost = false;
    const renew = async () => {
      if (lost) return;
      const next = new Date(Date.now() + this.leaseMs).toISOString();
      const renewed = await this.db
        .updateTable("key_commits")
        .set({ expires_at: next })
        .where("bucket", "=", bucket)
        .where("key", "=", key)
        .where("holder", "=", holder)
        .where("expires_at", "=", expires)
        .executeTakeFirst();
      if (Number(renewed.numUpdatedRows) > 0) expires = next;
      else {
        lost = true;
        console.error(`key hold lost: ${holder}'s lease on ${bucket}/${key} lapsed as it ran`);
      }
    };
    let renewal: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      renewal = renewal.then(renew).catch(() => undefined);
    }, this.leaseMs / 3);
    timer.unref();
    try {
      return await work();
    } finally {
      clearInterval(timer);
      await renewal;
      if (!lost)
        await this.db
          .deleteFrom("key_commits")
          .where("bucket", "=", bucket)
          .where("key", "=", key)
          .where("holder", "=", holder)
          .where("expires_at", "=", expires)
          .execute();
    }
  }

  /**
   * Marks the given files superseded where they are still committed (webhook `file.superseded`
   * in the same transaction); `tx` joins a caller's transaction (an intent's commit).
   */
  async supersede(ids: string[], tx?: Tx): Promise<void> {
    if (ids.length === 0) return;
    const run = async (t: Tx) => {
      const rows = await t
        .selectFrom("files")
        .selectAll()
        .where("id", "in", ids)
        .where("status", "=", "committed")
        .execute();
      for (const row of rows) {
        await t
          .updateTable("files")
          .set({ status: "superseded" })
          .where("id", "=", row.id)
          .where("status", "=", "committed")
          .execute();
        await this.webhooks.enqueue(
          t,
          "file.superseded",
          toFileInfo({ ...row, status: "superseded" }),
        );
      }
    };
    if (tx === undefined) await this.db.transaction().execute(run);
    else await run(tx);
  }
}
