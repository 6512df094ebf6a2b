/** Issue 17: the store caches' bounds come from the environment, checked; the bounds hold. */
import SQLite from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { withPreparedStatements } from "../../src/db/statements.js";
import {
  BlobBytesCache,
  DEFAULT_STORE_CACHE,
  InMemoryBody,
  storeCacheOptions,
} from "../../src/store/cache.js";

describe("store cache options", () => {
  it("defaults, and takes each bound from its variable", () => {
    expect(storeCacheOptions({})).toEqual(DEFAULT_STORE_CACHE);
    expect(
      storeCacheOptions({
        SIGNET_CACHE_ROWS: "5",
        SIGNET_CACHE_ROW_TTL_MS: "250",
        SIGNET_CACHE_BYTES: "0",
        SIGNET_CACHE_OBJECT_MAX_BYTES: "1024",
        SIGNET_CACHE_OPEN_FILES: "0",
        SIGNET_CACHE_TOKEN_BYTES: "4096",
      }),
    ).toEqual({
      rows: 5,
      rowTtlMs: 250,
      bytes: 0,
      maxObjectBytes: 1024,
      openFiles: 0,
      tokenBytes: 4096,
    });
  });

  it.each([
    ["SIGNET_CACHE_ROWS", "-1"],
    ["SIGNET_CACHE_ROWS", "lots"],
    ["SIGNET_CACHE_BYTES", "1.5"],
    ["SIGNET_CACHE_OPEN_FILES", "-3"],
    // A row kept longer than a second would break DESIGN.md's bound on stale shared state.
    ["SIGNET_CACHE_ROW_TTL_MS", "5000"],
  ])("refuses %s=%s, naming it", (name, value) => {
    expect(() => storeCacheOptions({ [name]: value })).toThrow(
      expect.objectContaining({ code: "invalid_request", field: `environment.${name}` }),
    );
  });
});

describe("the byte cache", () => {
  it("keeps at most its total, evicting the least recently used", () => {
    const cache = new BlobBytesCache({ bytes: 100, maxObjectBytes: 40 });
    for (let i = 0; i < 5; i++) cache.set(`b${i}`, Buffer.alloc(30));
    expect(cache.size).toBeLessThanOrEqual(100);
    expect(cache.get("b0")).toBeUndefined();
    expect(cache.get("b4")?.length).toBe(30);
  });

  it("never keeps a blob above its per-object bound", () => {
    const cache = new BlobBytesCache({ bytes: 100, maxObjectBytes: 40 });
    expect(cache.holds(41)).toBe(false);
    cache.set("big", Buffer.alloc(41));
    expect(cache.get("big")).toBeUndefined();
    expect(new BlobBytesCache({ bytes: 0, maxObjectBytes: 40 }).holds(1)).toBe(false);
  });
});

describe("prepared statements on SQLite", () => {
  it("the same SQL text reuses its statement; a busy one is not handed out again", () => {
    const raw = new SQLite(":memory:");
    const db = withPreparedStatements(raw, 2);
    raw.exec("create table t (n integer); insert into t values (1), (2)");
    const sql = "select n from t order by n";
    const first = db.prepare(sql);
    expect(db.prepare(sql)).toBe(first);
    const iterating = first.iterate([]);
    iterating.next();
    const other = db.prepare(sql);
    expect(other).not.toBe(first);
    expect(other.all([])).toEqual([{ n: 1 }, { n: 2 }]);
    iterating.return?.();
    expect(db.prepare(sql)).toBe(first);
    db.close();
  });
});

describe("an in-memory body", () => {
  it("reads as a stream for consumers that are not the sender (read-back, proxies)", async () => {
    const bytes = Buffer.from("kept in memory");
    const chunks: Buffer[] = [];
    for await (const chunk of new InMemoryBody(bytes)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(bytes);
  });
});
