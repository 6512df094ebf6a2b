/**
 * Grants from the config file (fixed, ids "config:N") and from /v1/grants (in the database).
 * The evaluator (core/grants.ts) is rebuilt whenever the set changes.
 */
import { randomBytes } from "node:crypto";
import { parseIpList } from "../core/cidr.js";
import { SignetError } from "../core/errors.js";
import { checkGrant, type Grant, type GrantSpec, GrantSet } from "../core/grants.js";
import type { Db } from "../db/connect.js";
import { type ChangePublisher, LOCAL_ONLY } from "../db/changes.js";
import type { GrantInput } from "../core/grant-schema.js";

/** Validates what a schema cannot and normalises the ip ranges; `path` names the grant. */
export function toGrantSpec(input: GrantInput, path: string): GrantSpec {
  const { require: req, ...rest } = input;
  const spec: GrantSpec = { ...rest };
  if (req !== undefined) {
    spec.require = {
      ...req,
      ip: req.ip === undefined ? undefined : parseIpList(req.ip, `${path}.require.ip`),
    };
    if (spec.require.ip === undefined) delete spec.require.ip;
  }
  checkGrant(spec, path);
  return spec;
}

export class GrantService {
  private set: GrantSet;
  private stored: Grant[] = [];
  private byIdMap = new Map<string, Grant>();
  /** tells other instances to reload (db/changes.ts) */
  changes: ChangePublisher = LOCAL_ONLY;

  constructor(
    private readonly db: Db,
    private readonly fromConfig: Grant[],
  ) {
    this.set = new GrantSet(fromConfig);
    this.byIdMap = new Map(fromConfig.map((g) => [g.id, g]));
  }

  /** The grant with this id, from the config or the database (as last loaded). */
  byId(id: string): Grant | undefined {
    return this.byIdMap.get(id);
  }

  get current(): GrantSet {
    return this.set;
  }

  async load(): Promise<void> {
    const rows = await this.db.selectFrom("grants").selectAll().orderBy("created_at").execute();
    this.stored = rows.map((row) => ({ ...(JSON.parse(row.spec) as GrantSpec), id: row.id }));
    this.set = new GrantSet([...this.fromConfig, ...this.stored]);
    this.byIdMap = new Map(this.list().map((g) => [g.id, g]));
  }

  list(): Grant[] {
    return [...this.fromConfig, ...this.stored];
  }

  async create(input: GrantInput): Promise<Grant> {
    const spec = toGrantSpec(input, "grant");
    const id = `g_${randomBytes(8).toString("hex")}`;
    await this.db
      .insertInto("grants")
      .values({ id, spec: JSON.stringify(spec), created_at: new Date().toISOString() })
      .execute();
    await this.load();
    await this.changes.publish("grants");
    return { ...spec, id };
  }

  async delete(id: string): Promise<void> {
    if (this.fromConfig.some((g) => g.id === id))
      throw new SignetError("conflict", "this grant is defined in the config file");
    const result = await this.db.deleteFrom("grants").where("id", "=", id).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new SignetError("not_found", "grant not found");
    await this.load();
    await this.changes.publish("grants");
  }
}
