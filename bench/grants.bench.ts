/**
 * Issue 3: what the grant check adds to in-process presign time with 1,000 grants loaded.
 * The reference is the same presign by an admin (implicit grant, no evaluation). The audit
 * write is left out of every row (a no-op log), so that the rows differ only by the check.
 * Target: the grant check adds at most 10%.
 */
import { type Grant, GrantSet } from "../src/core/grants.js";
import type { Principal } from "../src/core/principal.js";
import type { AuditLog } from "../src/service/audit.js";
import { PresignService } from "../src/service/presign.js";
import { benchIssuance, interleaved, report } from "./lib.js";

const issuance = await benchIssuance();
const noAudit = { record: async () => {}, register: async () => {} } as unknown as AuditLog;

const grants: Grant[] = Array.from({ length: 999 }, (_, i) => ({
  id: `g${i}`,
  principal: i % 2 === 0 ? `role:team${i}` : `sub:user${i}`,
  buckets: ["default"],
  prefix: `teams/${i}/\${sub}/`,
  actions: ["read", "write"],
  maxExpiresIn: 3600,
}));
grants.push({
  id: "kyc",
  principal: "role:user",
  buckets: ["default"],
  prefix: "kyc/${sub}/",
  actions: ["read", "write"],
  maxExpiresIn: 300,
  require: { contentLengthMax: 5_000_000, contentTypes: ["image/*"] },
});
const thousand = new GrantSet(grants);

const admin: Principal = { id: "env:admin", subject: "env:admin", roles: ["admin"] };
const user: Principal = { id: "sub:alice", subject: "alice", roles: ["user"] };
const read = { bucket: "default", key: "kyc/sub:alice/id.png", method: "GET" as const };
const write = { ...read, method: "PUT" as const, contentType: "image/png", contentLength: 1000 };

const service = (set: GrantSet) => new PresignService(issuance(set, noAudit));
const withGrants = service(thousand);

const target = "the grant check adds at most 10% (the user row at least 90.9% of the admin row)";
report(
  "Grant check in presign GET (service/presign.ts, core/grants.ts)",
  await interleaved([
    {
      name: "presign GET as admin, no grant check (reference)",
      run: () => withGrants.presign(admin, read),
    },
    { name: "presign GET as user, 1,000 grants loaded", run: () => withGrants.presign(user, read) },
  ]),
  target,
);
report(
  "Grant check in presign PUT with required length and type",
  await interleaved([
    {
      name: "presign PUT as admin, no grant check (reference)",
      run: () => withGrants.presign(admin, write),
    },
    {
      name: "presign PUT as user, 1,000 grants loaded",
      run: () => withGrants.presign(user, write),
    },
  ]),
  target,
);
