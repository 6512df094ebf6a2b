import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";
import { dropDatabaseFor } from "../helpers/pg.js";

/** Closes a harness restarted on a data dir it did not create, and removes what it used. */
async function cleanUp(h: Harness, dataDir: string): Promise<void> {
  await h.close();
  await rm(dataDir, { recursive: true, force: true });
  await dropDatabaseFor(dataDir);
}

describe("key rotation and retirement", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("rotate makes a new key active at once; old URLs work until their key is retired", async () => {
    const [first] = await h.admin.keys.list();
    expect(first).toMatchObject({ status: "active" });
    await fetch((await h.admin.presign({ bucket: "default", key: "r.txt", method: "PUT" })).url, {
      method: "PUT",
      body: "rotating",
    });
    const old = await h.admin.presign({ bucket: "default", key: "r.txt", method: "GET" });

    const second = await h.admin.keys.rotate();
    expect(second.status).toBe("active");
    expect(second.kid).not.toBe(first!.kid);
    const statuses = Object.fromEntries((await h.admin.keys.list()).map((k) => [k.kid, k.status]));
    expect(statuses).toEqual({ [first!.kid]: "verifying", [second.kid]: "active" });

    const fresh = await h.admin.presign({ bucket: "default", key: "r.txt", method: "GET" });
    const kidOf = (url: string) =>
      JSON.parse(
        Buffer.from(new URL(url).searchParams.get("t")!.split(".")[0]!, "base64url").toString(),
      ).k;
    expect(kidOf(fresh.url)).toBe(second.kid);
    expect(kidOf(old.url)).toBe(first!.kid);
    expect(await (await fetch(old.url)).text()).toBe("rotating");

    const retired = await h.admin.keys.retire(first!.kid);
    expect(retired).toMatchObject({ kid: first!.kid, status: "retired" });
    expect(retired.retiredAt).not.toBeNull();
    const refused = await fetch(old.url);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error.code).toBe("token_invalid");
    expect((await fetch(fresh.url)).status).toBe(200);
  });

  it("the active key cannot be retired (409); unknown kids are 404; malformed are 400", async () => {
    const active = (await h.admin.keys.list()).find((k) => k.status === "active")!;
    expect((await api(h.url, "POST", `/v1/keys/${active.kid}/retire`)).body.error.code).toBe(
      "conflict",
    );
    expect((await api(h.url, "POST", "/v1/keys/k000000000000/retire")).status).toBe(404);
    expect((await api(h.url, "POST", "/v1/keys/..%2F..%2Fx/retire")).status).toBe(400);
  });

  it("survives a restart: the keyring is in the database, sealed with the master key", async () => {
    const dataDir = h.dataDir;
    const signed = await h.admin.presign({ bucket: "default", key: "r.txt", method: "GET" });
    // One process at a time opens a data dir (the store lock): stop, then start again on it.
    await h.app.close();
    await h.signet.close();
    const restarted = await startSignet({ dataDir });
    try {
      const url = signed.url.replace(h.url, restarted.url);
      expect(await (await fetch(url)).text()).toBe("rotating");
      const rows = await restarted.signet.db
        .selectFrom("signing_keys")
        .select("secret_sealed")
        .execute();
      for (const row of rows) expect(row.secret_sealed).not.toMatch(/^[A-Za-z0-9_-]{43}$/);
    } finally {
      h = { ...restarted, close: () => cleanUp(restarted, dataDir) };
    }
  });

  it("key routes need the admin role", async () => {
    expect((await api(h.url, "GET", "/v1/keys", undefined, null)).status).toBe(401);
  });
});
