/**
 * Issue 14: the audit write is off the request path. In-process issuance (grant check, signing,
 * one audit record, one `issued` row for revocation) on the embedded store, over a real SQLite
 * database, with the audit trail on (queued, written in batches: a page a batch) and off (the
 * `issued` rows are still written, so the two differ only by the audit). A third row shows the
 * old way for scale: one write awaited per issuance, on the request path.
 * Target: issuance with audit on within 10% of issuance with audit off.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrantSet } from "../src/core/grants.js";
import type { Principal } from "../src/core/principal.js";
import { openSqlite } from "../src/db/connect.js";
import {
  type AuditEvent,
  AuditLog,
  type IssuanceEvent,
  type IssuedExtra,
} from "../src/service/audit.js";
import { benchIssuance, interleaved, report } from "./lib.js";

const dir = await mkdtemp(join(tmpdir(), "signet-bench-"));
const db = await openSqlite(join(dir, "signet.db"));
const make = await benchIssuance(db);
const grants = new GrantSet([
  {
    id: "kyc",
    principal: "role:user",
    buckets: ["default"],
    prefix: "kyc/${sub}/",
    actions: ["read", "write"],
    maxExpiresIn: 3600,
  },
]);
const issuance = (audit: AuditLog) => make(grants, audit);

/** The old way: each audit row INSERTed and awaited before the answer. */
class InlineAudit extends AuditLog {
  override async record(...events: AuditEvent[]): Promise<void> {
    await super.record(...events);
    await this.flush();
  }

  override async recordIssuance(event: IssuanceEvent, issued: IssuedExtra): Promise<void> {
    await super.recordIssuance(event, issued);
    await this.flush();
  }
}

const auditOn = new AuditLog(db);
const auditOff = new AuditLog(db, { enabled: false });
const inline = new InlineAudit(db);
const on = issuance(auditOn);
const off = issuance(auditOff);
const old = issuance(inline);

const user: Principal = { id: "sub:alice", subject: "alice", roles: ["user"] };
const read = { bucket: "default", key: "kyc/sub:alice/id.png", method: "GET" as const };
const ctx = { action: "presign", ip: "127.0.0.1" };

report(
  "Issuance with the audit trail on and off (service/issuance.ts, service/audit.ts)",
  await interleaved(
    [
      { name: "issue GET, audit off (reference)", run: () => off.issue(user, read, ctx) },
      { name: "issue GET, audit on (queued, batched)", run: () => on.issue(user, read, ctx) },
      {
        name: "issue GET, audit awaited per request (old way)",
        run: () => old.issue(user, read, ctx),
      },
      // Many short rounds, each case's best kept: on two shared cores a burst of others' load
      // lands on one round, not on one case.
    ],
    { rounds: 15, seconds: 0.2 },
  ),
  "audit on within 10% of audit off (at least 90.9% of the reference)",
);
for (const audit of [auditOn, auditOff, inline]) await audit.close();
await db.destroy();
await rm(dir, { recursive: true, force: true });
