/**
 * Webhooks: `file.committed`, `file.superseded` and `file.deleted` events, POSTed to the destinations named in the
 * config file, from a persisted outbox: written in the same transaction as the change it
 * reports, delivered at least once with retries and exponential backoff, and never lost across
 * restarts. Each request carries `Signet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 * t + "." + body)>`; the event id lets receivers drop duplicates.
 *
 * Destinations on private, loopback, link-local or metadata addresses are refused unless listed
 * in `webhookAllow`; hostnames are checked on every connection, after DNS, so a name cannot be
 * pointed at an internal address later.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { lookup } from "node:dns";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { Agent, request } from "undici";
import { ipMatcher } from "../core/cidr.js";
import { resolveSecret } from "../core/config-schema.js";
import { type Db, dialectOf } from "../db/connect.js";
import type { WebhookOutboxTable } from "../db/schema.js";

export type WebhookEvent = "file.committed" | "file.superseded" | "file.deleted";

export interface WebhookConfig {
  url: string;
  secret: string;
  events: WebhookEvent[];
}

interface Destination {
  /** what its outbox rows name it by (`destinationId`), the same on every instance */
  id: string;
  url: URL;
  secret: string;
  events: Set<WebhookEvent>;
}

const MAX_ATTEMPTS = 25;
const MAX_BACKOFF_SECONDS = 3600;
const BATCH = 20;
/**
 * The longest one delivery may take, connection to the end of the answer: a receiver that
 * trickles its answer (each chunk inside undici's idle timeouts) is cut there.
 */
const DELIVERY_SECONDS = 20;
/** how long a claimed row is left to its claimer: above one delivery's 20 s */
const LEASE_SECONDS = 30;

// Loopback, private, link-local (cloud metadata lives there), unique-local, CGNAT, unspecified;
// IETF protocol assignments, benchmarking, reserved, multicast and broadcast (never a receiver);
// a network's own NAT64 prefix (64:ff9b:1::/48, RFC 8215: its IPv4 may sit at other bits than a
// /96's) and the deprecated IPv4-compatible ::/96, whose IPv4 cannot be read for certain.
const INTERNAL = ipMatcher([
  "64:ff9b:1::/48",
  "::/96",
  "127.0.0.0/8",
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "169.254.0.0/16",
  "100.64.0.0/10",
  "0.0.0.0/8",
  "192.0.0.0/24",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "::1/128",
  "::/128",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
  "ff00::/8",
  "fd00:ec2::254/128",
]);

/**
 * The IPv4 addresses an IPv6 one stands for where a gateway or relay may take it there, by the
 * range ipaddr.js names: IPv4-mapped ::ffff:0:0/96 and SIIT's IPv4-translated ::ffff:0:0:0/96
 * (RFC 6145), NAT64's 64:ff9b::/96 and 64:ff9b:1::/48 (RFC 6052, 8215) — the last 32 bits;
 * 6to4's 2002::/16 (RFC 3056) — the 32 bits after the prefix; Teredo's 2001::/32 (RFC 4380) —
 * its server (bits 32-63) and its client (the last 32 bits, inverted).
 */
const EMBEDDED: Partial<Record<ReturnType<ipaddr.IPv6["range"]>, (b: number[]) => number[][]>> = {
  ipv4Mapped: (b) => [b.slice(12)],
  rfc6145: (b) => [b.slice(12)],
  rfc6052: (b) => [b.slice(12)],
  "6to4": (b) => [b.slice(2, 6)],
  teredo: (b) => [b.slice(4, 8), b.slice(12).map((x) => x ^ 0xff)],
};

function embeddedIpv4(address: string): string[] {
  if (isIP(address) !== 6) return [];
  // The zone (fe80::1%eth0) names an interface, not address bits; ipaddr.js takes fewer forms of it than node:net.
  const ip = ipaddr.IPv6.parse(address.replace(/%.*$/, ""));
  return (EMBEDDED[ip.range()]?.(ip.toByteArray()) ?? []).map((bytes) => bytes.join("."));
}

/** A check of addresses against the internal ranges, with the operator's exceptions. */
export function addressPolicy(allow: string[]): (address: string) => boolean {
  const allowed = allow.length === 0 ? () => false : ipMatcher(allow);
  const one = (address: string) => !INTERNAL(address) || allowed(address);
  return (address) => {
    const inner = embeddedIpv4(address);
    return (inner.every(one) || allowed(address)) && one(address);
  };
}

/**
 * A destination's identity in the outbox, the same on every instance whose config lists it
 * wherever it lists it: a digest of its URL (no credential a URL may carry goes to the
 * database), and its rank among the config's destinations with that URL (`nth`, from 0).
 */
export function destinationId(url: URL, nth = 0): string {
  const digest = createHash("sha256").update(url.href).digest("base64url").slice(0, 32);
  return nth === 0 ? digest : `${digest}.${nth}`;
}

export function signature(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex")}`;
}

type Insertable = Pick<Db, "insertInto">;

export class Webhooks {
  private readonly destinations: Destination[];
  private readonly agent: Agent;
  private timer: NodeJS.Timeout | undefined;
  /** one delivery loop per destination, so that a slow receiver holds up only its own events */
  private readonly running = new Map<number, Promise<void>>();
  /** aborts deliveries in flight at stop() */
  private readonly stopping = new AbortController();

  constructor(
    private readonly db: Db,
    configs: WebhookConfig[],
    allow: string[],
    env: NodeJS.ProcessEnv,
  ) {
    const permitted = addressPolicy(allow);
    this.destinations = configs.map((c, i) => {
      const url = new URL(c.url);
      const host = url.hostname.replace(/^\[|\]$/g, "");
      if (isIP(host) !== 0 && !permitted(host))
        throw new Error(
          `invalid config: webhooks.${i}.url is an internal address; list it in webhookAllow to allow it`,
        );
      const nth = configs.slice(0, i).filter((o) => new URL(o.url).href === url.href).length;
      return {
        id: destinationId(url, nth),
        url,
        secret: resolveSecret(c.secret, env, `webhooks.${i}.secret`),
        events: new Set(c.events),
      };
    });
    // Every connection's address is checked after DNS: no rebinding to internal hosts.
    this.agent = new Agent({
      connect: {
        lookup: (hostname, options, callback) =>
          lookup(hostname, { ...options, all: true }, (err, addresses) => {
            if (err) return callback(err, []);
            const list = addresses as { address: string; family: number }[];
            const bad = list.find((a) => !permitted(a.address));
            if (bad !== undefined)
              return callback(new Error("webhook destination resolves to an internal address"), []);
            callback(null, list);
          }),
      },
    });
  }

  /**
   * Queues an event for every destination that wants it, inside the caller's transaction.
   * `file` is the file as the API shows it (uploads' FileInfo); typed by its id only so that
   * this module does not import uploads, which imports it.
   */
  async enqueue(tx: Insertable, type: WebhookEvent, file: { id: string }): Promise<void> {
    const targets = this.destinations
      .map((d, i) => ({ d, i }))
      .filter(({ d }) => d.events.has(type));
    if (targets.length === 0) return;
    const now = new Date().toISOString();
    const eventId = `evt_${randomBytes(12).toString("base64url")}`;
    const body = JSON.stringify({ id: eventId, type, createdAt: now, data: { file } });
    await tx
      .insertInto("webhook_outbox")
      .values(
        targets.map(({ i }) => ({
          id: `${eventId}.${i}`,
          event_id: eventId,
          target: i,
          destination: this.destinations[i]!.id,
          body,
          attempts: 0,
          next_attempt_at: now,
          delivered_at: null,
          last_error: null,
          created_at: now,
        })),
      )
      .execute();
    this.kick();
  }

  /** Starts delivering (and keeps delivering every second) until stop(). */
  start(): void {
    if (this.destinations.length === 0) return;
    this.timer = setInterval(() => this.kick(), 1000);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopping.abort(new Error("Signet is shutting down"));
    await Promise.all(this.running.values());
    await this.agent.close();
  }

  private kick(): void {
    if (this.timer === undefined) return;
    this.destinations.forEach((_, target) => {
      if (this.running.has(target)) return;
      this.running.set(
        target,
        this.deliverDue(new Date(), target)
          .then(
            () => undefined,
            () => undefined,
          )
          .finally(() => this.running.delete(target)),
      );
    });
  }

  /**
   * Claims one due row of this instance's destination `target` (by its id, so that an instance
   * whose config lists it elsewhere, or not at all, never takes it for another): pushes its
   * next attempt a lease into the future, so that no other instance takes it while this one
   * delivers (if this one dies, it is retried after the lease). On PostgreSQL the row is
   * picked `FOR UPDATE SKIP LOCKED`, so two instances claiming at once get different rows;
   * SQLite has one process (the store lock).
   */
  private async claim(now: Date, target: number): Promise<WebhookOutboxTable | undefined> {
    const destination = this.destinations[target]!;
    return this.db.transaction().execute(async (tx) => {
      let query = tx
        .selectFrom("webhook_outbox")
        .selectAll()
        .where((eb) =>
          eb.or([
            eb("destination", "=", destination.id),
            // Queued before rows named their destination: by index, as then.
            eb.and([eb("destination", "is", null), eb("target", "=", target)]),
          ]),
        )
        .where("delivered_at", "is", null)
        .where("attempts", "<", MAX_ATTEMPTS)
        .where("next_attempt_at", "<=", now.toISOString())
        .orderBy("created_at")
        .limit(1);
      if (dialectOf(this.db) === "postgres") query = query.forUpdate().skipLocked();
      const row = await query.executeTakeFirst();
      if (row === undefined) return undefined;
      await tx
        .updateTable("webhook_outbox")
        .set({ next_attempt_at: new Date(Date.now() + LEASE_SECONDS * 1000).toISOString() })
        .where("id", "=", row.id)
        .execute();
      return row;
    });
  }

  /**
   * One pass over one destination's due rows (at most BATCH); failures are rescheduled with
   * exponential backoff.
   */
  async deliverDue(now: Date, target: number): Promise<number> {
    let delivered = 0;
    // Claimed one at a time, just before its delivery, so a lease never runs out in a queue.
    for (let i = 0; i < BATCH && !this.stopping.signal.aborted; i++) {
      const destination = this.destinations[target];
      if (destination === undefined) break;
      const row = await this.claim(now, target);
      if (row === undefined) break;
      let error: string | undefined;
      const signal = AbortSignal.any([
        this.stopping.signal,
        AbortSignal.timeout(DELIVERY_SECONDS * 1000),
      ]);
      try {
        const res = await request(destination.url, {
          method: "POST",
          dispatcher: this.agent,
          signal,
          headers: {
            "content-type": "application/json",
            "signet-signature": signature(
              destination.secret,
              row.body,
              Math.floor(Date.now() / 1000),
            ),
            "signet-event-id": row.event_id,
          },
          body: row.body,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        await res.body.dump({ limit: 65_536, signal });
        if (res.statusCode < 200 || res.statusCode >= 300) error = `HTTP ${res.statusCode}`;
      } catch (err) {
        error = (err as Error).message.slice(0, 200);
      }
      if (error === undefined) {
        delivered++;
        await this.db
          .updateTable("webhook_outbox")
          .set({
            delivered_at: new Date().toISOString(),
            attempts: row.attempts + 1,
            last_error: null,
          })
          .where("id", "=", row.id)
          .execute();
      } else {
        const backoff =
          Math.min(MAX_BACKOFF_SECONDS, 2 ** row.attempts) * (0.75 + Math.random() / 2);
        await this.db
          .updateTable("webhook_outbox")
          .set({
            attempts: row.attempts + 1,
            last_error: error,
            next_attempt_at: new Date(Date.now() + backoff * 1000).toISOString(),
          })
          .where("id", "=", row.id)
          .execute();
      }
    }
    return delivered;
  }
}
