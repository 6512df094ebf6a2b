/**
 * Issue 17: an API key costs one hash per request (the env admin key is not also hashed for a
 * stored key's shape), and an env admin key that happens to have a stored key's shape still
 * authenticates as the admin.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Db, openSqlite } from "../../src/db/connect.js";
import { ApiKeys } from "../../src/service/apikeys.js";
import { Revocations } from "../../src/service/revocations.js";

describe("API key authentication", () => {
  let dir: string;
  let db: Db;
  const keysWith = async (envAdminKey: string) => {
    dir = await mkdtemp(join(tmpdir(), "signet-apikeys-"));
    db = await openSqlite(join(dir, "signet.db"));
    return new ApiKeys(db, new Revocations(db), envAdminKey);
  };
  afterEach(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("tells the env admin key from stored keys, whatever its shape", async () => {
    const shaped = `sg_0123456789abcdef_${"A".repeat(20)}${"b".repeat(23)}`;
    const keys = await keysWith(shaped);
    expect(await keys.authenticate(shaped)).toMatchObject({ id: "env:admin", roles: ["admin"] });
    const { key, info } = await keys.create({ name: "app", role: "app" });
    expect(await keys.authenticate(key)).toEqual({
      id: `key:${info.id}`,
      subject: info.id,
      roles: ["app"],
    });
    // The cached row: the same key again, and a wrong secret under the same id.
    expect((await keys.authenticate(key))?.id).toBe(`key:${info.id}`);
    const wrong = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");
    await expect(keys.authenticate(wrong)).rejects.toMatchObject({ code: "unauthorized" });
    expect(await keys.authenticate("not-a-key-and-not-the-admin")).toBeUndefined();
  });

  it("a plain env admin key still authenticates", async () => {
    const plain = "bench-admin-key-0123456789abcdef";
    const keys = await keysWith(plain);
    expect((await keys.authenticate(plain))?.id).toBe("env:admin");
  });
});
