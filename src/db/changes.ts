/**
 * The change feed: how an instance learns that state it caches in memory (keyring, grants,
 * buckets, revocations, backend keys) was changed by another instance, within a second.
 *
 * A change bumps its topic's row in `change_versions` (after the change committed) and, on
 * PostgreSQL, sends `NOTIFY signet_changes, '<topic>'`. Each instance LISTENs on a dedicated
 * connection and, as the fallback for a missed notification (a dropped connection, a restart
 * of the listener), also reads the versions every `pollMs`. Either way the same check() runs:
 * it reads every topic's version first, then reloads each topic whose version moved, so a
 * change committed during a reload is seen by the next check.
 *
 * On SQLite one process owns the database (store lock), so publishing is local only: the
 * service that made the change has already reloaded itself.
 */
import { sql } from "kysely";
import type pg from "pg";
import { type Db, dialectOf, postgresPool } from "./connect.js";

export type Topic = "keyring" | "grants" | "buckets" | "revocations" | "backend-keys";

export const CHANNEL = "signet_changes";

/** What a service that changes cached state needs: announce the change to other instances. */
export interface ChangePublisher {
  /** Call after the change committed; resolves once it is recorded. */
  publish(topic: Topic): Promise<void>;
}

/** A publisher that tells no one (one process, or a service used on its own in a test). */
export const LOCAL_ONLY: ChangePublisher = { publish: async () => undefined };

export interface ChangeFeedOptions {
  /** the PostgreSQL URL, for the LISTEN connection (absent on SQLite) */
  url?: string | undefined;
  /** the fallback version check's period, in milliseconds (default 500) */
  pollMs?: number;
  /** called once per topic reloaded because of a change seen from the feed */
  onInvalidate?: (topic: Topic) => void;
  /** called when a reload fails (the next check retries it) */
  onError?: (err: unknown) => void;
}

export class ChangeFeed implements ChangePublisher {
  private readonly reloaders = new Map<Topic, (() => Promise<void>)[]>();
  private readonly seen = new Map<string, number>();
  private readonly shared: boolean;
  private timer: NodeJS.Timeout | undefined;
  private listener: pg.Pool | undefined;
  /** releases the LISTEN connection */
  private unlisten: (() => void) | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private snapshotted = false;

  constructor(
    private readonly db: Db,
    private readonly options: ChangeFeedOptions = {},
  ) {
    this.shared = dialectOf(db) === "postgres";
  }

  /** `reload` runs whenever another instance changed `topic`. */
  subscribe(topic: Topic, reload: () => Promise<void>): void {
    this.reloaders.set(topic, [...(this.reloaders.get(topic) ?? []), reload]);
  }

  async publish(topic: Topic): Promise<void> {
    if (!this.shared) return;
    await this.db
      .insertInto("change_versions")
      .values({ topic, version: 1 })
      .onConflict((oc) =>
        oc
          .column("topic")
          .doUpdateSet((eb) => ({ version: eb("change_versions.version", "+", 1) })),
      )
      .execute();
    // Delivered to every listener (this one too) once the statement commits.
    await sql`select pg_notify(${CHANNEL}, ${topic})`.execute(this.db);
  }

  /**
   * Records the current versions. Call it before loading the caches it guards: a change made
   * between this and start() is then reloaded by start()'s first check, never missed.
   */
  async snapshot(): Promise<void> {
    if (!this.shared) return;
    for (const [topic, version] of await this.readVersions()) this.seen.set(topic, version);
    this.snapshotted = true;
  }

  /** Listens and polls (PostgreSQL only), after a first check against the snapshot. */
  async start(): Promise<void> {
    if (!this.shared) return;
    if (!this.snapshotted) await this.snapshot();
    this.check();
    await this.listen();
    this.timer = setInterval(() => this.check(), this.options.pollMs ?? 500);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.checking;
    this.unlisten?.();
    await this.listener?.end();
  }

  /** A LISTEN connection; when it breaks, polling covers until it is re-made. */
  private async listen(): Promise<void> {
    if (this.options.url === undefined || this.closed) return;
    try {
      this.listener ??= await postgresPool(this.options.url, 1);
      const client = await this.listener.connect();
      let released = false;
      // Released once, whichever comes first: an error (it may come more than once) or close().
      const drop = () => {
        if (released) return;
        released = true;
        client.release(true);
        if (this.unlisten === drop) this.unlisten = undefined;
      };
      client.on("notification", () => this.check());
      client.on("error", () => {
        drop();
        if (!this.closed) setTimeout(() => void this.listen(), 1000).unref();
      });
      this.unlisten = drop;
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      this.options.onError?.(err);
      if (!this.closed) setTimeout(() => void this.listen(), 1000).unref();
    }
  }

  /** One check at a time; a request during one runs another right after it. */
  check(): void {
    if (this.closed) return;
    if (this.checking !== undefined) {
      this.again = true;
      return;
    }
    this.checking = this.reloadChanged()
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => {
        this.checking = undefined;
        if (this.again) {
          this.again = false;
          this.check();
        }
      });
  }

  /** Resolves after a check that started after the call (for tests and shutdown). */
  async settle(): Promise<void> {
    await this.checking;
    this.check();
    await this.checking;
  }

  private async readVersions(): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom("change_versions").selectAll().execute();
    return new Map(rows.map((r) => [r.topic, Number(r.version)]));
  }

  private async reloadChanged(): Promise<void> {
    const versions = await this.readVersions();
    for (const [topic, version] of versions) {
      if (this.seen.get(topic) === version) continue;
      for (const reload of this.reloaders.get(topic as Topic) ?? []) await reload();
      // Marked seen only after a successful reload, so a failed one is retried.
      this.seen.set(topic, version);
      this.options.onInvalidate?.(topic as Topic);
    }
  }
}
