/**
 * Crash campaign: rounds of 50 concurrent uploads and deletes against the real server, killed
 * with SIGKILL at a random moment in the middle of them, then restarted. After every start:
 * no temporary file, every committed object has its blob and every blob its object, and every
 * object reads back bytes that some upload of that key really sent (no torn object).
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { recordFigures } from "./report.js";
import { gone, type Running, startServer } from "./spawn.js";

/** kill -9 rounds (the issue asks for 20) */
const ROUNDS = 20;
/** concurrent uploads and deletes in flight at each kill (the issue asks for 50) */
const CONCURRENCY = 50;
/** distinct keys the operations share, so that uploads and deletes race on the same key */
const KEYS = 20;
/** upload sizes, bytes */
const MIN_SIZE = 1024;
const MAX_SIZE = 512 * 1024;
/** the kill lands this long after the operations start, ms */
const MAX_KILL_DELAY = 400;
/** uploads completed one by one at the start of each round, so that the storm overwrites and deletes committed objects */
const SEEDED = 3;

const ADMIN = "reliability-crash-admin-key-0123456789abcdef";
const sha = (b: Buffer) => createHash("sha256").update(b).digest("base64");

interface Violations {
  tmpFiles: number;
  missingBlobs: number;
  orphanBlobs: number;
  torn: number;
}

async function check(
  dataDir: string,
  server: Running,
  written: Map<string, Set<string>>,
): Promise<{ v: Violations; objects: number }> {
  const v: Violations = { tmpFiles: 0, missingBlobs: 0, orphanBlobs: 0, torn: 0 };
  v.tmpFiles = (await readdir(join(dataDir, "tmp"))).length;
  const db = new Database(join(dataDir, "signet.db"), { readonly: true, fileMustExist: true });
  const rows = db.prepare("select key, blob_id, size, sha256 from objects").all() as {
    key: string;
    blob_id: string;
    size: number;
    sha256: string;
  }[];
  db.close();
  const blobPath = (id: string) => join(dataDir, "blobs", id.slice(0, 2), id);
  for (const row of rows) if (!existsSync(blobPath(row.blob_id))) v.missingBlobs++;
  const ids = new Set(rows.map((r) => r.blob_id));
  for (const shard of existsSync(join(dataDir, "blobs"))
    ? await readdir(join(dataDir, "blobs"))
    : [])
    for (const name of await readdir(join(dataDir, "blobs", shard)))
      if (!ids.has(name)) v.orphanBlobs++;
  // Each object is read back whole through a signed URL: its bytes are one upload's bytes.
  for (const row of rows) {
    const signed = await fetch(`${server.url}/v1/presign`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ bucket: "default", key: row.key, method: "GET" }),
    });
    const res = await fetch(((await signed.json()) as { url: string }).url);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200 || !written.get(row.key)?.has(sha(bytes)) || sha(bytes) !== row.sha256)
      v.torn++;
  }
  return { v, objects: rows.length };
}

describe("crash safety under load", () => {
  it(`${ROUNDS} rounds of kill -9 during ${CONCURRENCY} concurrent uploads and deletes`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "signet-crashes-"));
    const env = { SIGNET_ADMIN_KEY: ADMIN };
    const written = new Map<string, Set<string>>();
    const totals = { ops: 0, completed: 0, cut: 0, objectsChecked: 0, seeded: 0 };
    const worst: Violations = { tmpFiles: 0, missingBlobs: 0, orphanBlobs: 0, torn: 0 };
    const started = Date.now();
    try {
      for (let round = 0; round <= ROUNDS; round++) {
        const server = await startServer(dataDir, env);
        const { v, objects } = await check(dataDir, server, written);
        totals.objectsChecked += objects;
        for (const k of Object.keys(worst) as (keyof Violations)[]) worst[k] += v[k];
        if (round === ROUNDS) {
          server.child.kill("SIGTERM");
          await gone(server.child);
          break;
        }
        // A few committed objects first: the storm below overwrites and deletes them.
        for (let i = 0; i < SEEDED; i++) {
          const key = `k${randomInt(KEYS)}`;
          const body = randomBytes(randomInt(MIN_SIZE, MAX_SIZE));
          const signed = await fetch(`${server.url}/v1/presign`, {
            method: "POST",
            headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
            body: JSON.stringify({ bucket: "default", key, method: "PUT" }),
          });
          const set = written.get(key) ?? new Set<string>();
          set.add(sha(body));
          written.set(key, set);
          const res = await fetch(((await signed.json()) as { url: string }).url, {
            method: "PUT",
            body,
          });
          expect(res.status).toBe(200);
          totals.seeded++;
        }
        // Sign the round's operations first, then start them all at once.
        const ops = Array.from({ length: CONCURRENCY }, () => {
          const key = `k${randomInt(KEYS)}`;
          return randomInt(4) === 0
            ? { key, method: "DELETE" as const }
            : { key, method: "PUT" as const, body: randomBytes(randomInt(MIN_SIZE, MAX_SIZE)) };
        });
        const batch = await fetch(`${server.url}/v1/presign/batch`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
          body: JSON.stringify({
            requests: ops.map((op) => ({ bucket: "default", key: op.key, method: op.method })),
          }),
        });
        const { results } = (await batch.json()) as { results: { url: string }[] };
        for (const op of ops)
          if (op.body !== undefined) {
            const set = written.get(op.key) ?? new Set<string>();
            set.add(sha(op.body));
            written.set(op.key, set);
          }
        const inFlight = ops.map((op, i) =>
          fetch(results[i]!.url, { method: op.method, body: op.body }).then(
            (res) => res.status < 300,
            () => false,
          ),
        );
        await new Promise((r) => setTimeout(r, randomInt(5, MAX_KILL_DELAY)));
        server.child.kill("SIGKILL");
        await gone(server.child);
        const outcomes = await Promise.all(inFlight);
        totals.ops += ops.length;
        totals.completed += outcomes.filter(Boolean).length;
        totals.cut += outcomes.filter((ok) => !ok).length;
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    const seconds = (Date.now() - started) / 1000;
    await recordFigures("crash", "Crashes (kill -9 under load)", [
      `- ${ROUNDS} rounds, each killing the server (SIGKILL) 5 to ${MAX_KILL_DELAY} ms into ${CONCURRENCY} concurrent PUTs and DELETEs (${MIN_SIZE} B to ${MAX_SIZE / 1024} KiB, ${KEYS} shared keys); ${seconds.toFixed(0)} s in all.`,
      `- operations: ${totals.seeded} uploads committed one by one before each storm; in the storms ${totals.ops} started, ${totals.completed} answered 2xx before the kill, ${totals.cut} cut.`,
      `- after ${ROUNDS + 1} starts, ${totals.objectsChecked} objects checked: ${worst.torn} torn, ${worst.missingBlobs} without their blob, ${worst.orphanBlobs} orphan blobs, ${worst.tmpFiles} temporary files left.`,
    ]);
    expect(worst).toEqual({ tmpFiles: 0, missingBlobs: 0, orphanBlobs: 0, torn: 0 });
    expect(totals.ops).toBe(ROUNDS * CONCURRENCY);
    // the checks saw objects to check (a campaign over an empty store would prove nothing)
    expect(totals.objectsChecked).toBeGreaterThan(ROUNDS);
  }, 600_000);
});
