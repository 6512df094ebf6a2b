/**
 * The register of providers' own write URLs (service/key-guard.ts, files stay true): one row
 * per URL, kept as long as its longest-lived target; a URL refused at a held key leaves no row
 * of its own behind, and never removes one an earlier target of the same link registered; a
 * link's target refused leaves the link's row (another target may rely on it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Signet } from "../../src/service/signet.js";
import { type Harness, startSignet } from "../helpers/harness.js";

let h: Harness;
let signet: Signet;
const rows = (key: string) =>
  signet.db
    .selectFrom("direct_writes")
    .select(["token_id", "expires_at"])
    .where("bucket", "=", "default")
    .where("key", "=", key)
    .orderBy("token_id")
    .execute();

// On SQLite, or on PostgreSQL when SIGNET_DATABASE_URL is set (CI's second pass).
beforeAll(async () => {
  h = await startSignet();
  signet = h.signet;
});
afterAll(() => h.close());

describe("direct write register", () => {
  it("keeps one row per URL, living as long as its latest target", async () => {
    const guard = signet.keyGuard;
    await guard.registerDirectWrite("default", "a.bin", "tok1", "2030-01-01T00:00:10.000Z");
    await guard.registerDirectWrite("default", "a.bin", "tok1", "2030-01-01T00:00:30.000Z");
    await guard.registerDirectWrite("default", "a.bin", "tok1", "2030-01-01T00:00:20.000Z");
    expect(await rows("a.bin")).toEqual([
      { token_id: "tok1", expires_at: "2030-01-01T00:00:30.000Z" },
    ]);
  });

  it("refuses a URL at a key a file holds, keeping only what was there before", async () => {
    const guard = signet.keyGuard;
    await guard.registerDirectWrite("default", "held.bin", "early", "2030-01-01T00:00:10.000Z");
    const now = new Date().toISOString();
    await signet.db
      .insertInto("files")
      .values({
        id: "f_held",
        bucket: "default",
        key: "held.bin",
        size: 1,
        sha256: null,
        content_type: "application/octet-stream",
        owner: "admin",
        status: "committed",
        etag: null,
        upload: null,
        created_at: now,
        expires_at: now,
        committed_at: now,
        deleted_at: null,
        changed_at: null,
        version: null,
      })
      .execute();
    await expect(
      guard.registerDirectWrite("default", "held.bin", "late", "2030-01-01T00:00:10.000Z"),
    ).rejects.toMatchObject({ code: "conflict" });
    // The same URL again (a redirect link's next target): refused; the row its first target
    // registered stays (that URL may be out there), extended to the later expiry.
    await expect(
      guard.registerDirectWrite("default", "held.bin", "early", "2030-01-01T00:00:20.000Z"),
    ).rejects.toMatchObject({ code: "conflict" });
    expect(await rows("held.bin")).toEqual([
      { token_id: "early", expires_at: "2030-01-01T00:00:20.000Z" },
    ]);
    // A link's first target refused: the row stays. Another target of the link registered at
    // the same moment, whose check found the key free, may be out there relying on it.
    await expect(
      guard.registerDirectWrite("default", "held.bin", "link1", "2030-01-01T00:00:10.000Z", {
        reused: true,
      }),
    ).rejects.toMatchObject({ code: "conflict" });
    expect(await rows("held.bin")).toEqual([
      { token_id: "early", expires_at: "2030-01-01T00:00:20.000Z" },
      { token_id: "link1", expires_at: "2030-01-01T00:00:10.000Z" },
    ]);
  });
});
