/**
 * Issue 13's property: whatever the interleaving of intents (with and without upsert), uploads,
 * completes, aborts, sweeps, raw presigned PUTs and DELETEs and file deletes on the embedded
 * store, after every step each committed file's stored bytes hash to its sha256, and no key has
 * two committed files. Bounded: few runs of few steps, over real HTTP on 127.0.0.1.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("base64");

type Op =
  | {
      op: "intent";
      key: number;
      bytes: number;
      upsert: boolean;
      upload: "none" | "right" | "wrong";
    }
  | { op: "complete" | "abort" | "deleteFile"; pick: number }
  | { op: "sweep" }
  | { op: "rawPut"; key: number; bytes: number; upsert: boolean }
  | { op: "rawDelete"; key: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("intent" as const),
    key: fc.nat(1),
    bytes: fc.nat(255),
    upsert: fc.boolean(),
    upload: fc.constantFrom("none" as const, "right" as const, "wrong" as const),
  }),
  fc.record({
    op: fc.constantFrom("complete" as const, "abort" as const, "deleteFile" as const),
    pick: fc.nat(20),
  }),
  fc.constant({ op: "sweep" as const }),
  fc.record({
    op: fc.constant("rawPut" as const),
    key: fc.nat(1),
    bytes: fc.nat(255),
    upsert: fc.boolean(),
  }),
  fc.record({ op: fc.constant("rawDelete" as const), key: fc.nat(1) }),
);

describe("files stay true under random interleavings (embedded store)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  /** Each committed file's bytes hash to its sha256; one committed file per key at most. */
  async function assertInvariant(prefix: string): Promise<void> {
    const rows = await h.signet.db
      .selectFrom("files")
      .selectAll()
      .where("status", "=", "committed")
      .where("key", "like", `${prefix}%`)
      .execute();
    const keys = rows.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const row of rows) {
      const object = await h.signet.objects.store.head(row.bucket, row.key);
      expect(object, `${row.id} at ${row.key} has no bytes`).toBeDefined();
      const body = await h.signet.objects.store.open(object!);
      const chunks: Buffer[] = [];
      for await (const chunk of body!) chunks.push(chunk as Buffer);
      expect(sha(Buffer.concat(chunks)), `${row.id} at ${row.key}`).toBe(row.sha256);
    }
  }

  it("each committed file's stored bytes hash to its sha256 after every step", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
        const prefix = `p${run++}/`;
        const keyOf = (i: number) => `${prefix}k${i}.bin`;
        const bytesOf = (n: number) => Buffer.from(`${prefix}${n}`.repeat(1 + (n % 5)));
        const intents: string[] = [];
        const files: string[] = [];
        for (const step of ops) {
          switch (step.op) {
            case "intent": {
              const bytes = bytesOf(step.bytes);
              const res = await api(h.url, "POST", "/v1/uploads", {
                bucket: "default",
                key: keyOf(step.key),
                size: bytes.length,
                sha256: sha(bytes),
                contentType: "application/octet-stream",
                upsert: step.upsert,
              });
              if (res.status !== 201) {
                expect(res.body.error.code).toBe("conflict");
                break;
              }
              intents.push(res.body.file.id);
              files.push(res.body.file.id);
              if (step.upload !== "none") {
                const body = step.upload === "right" ? bytes : Buffer.alloc(bytes.length, 7);
                // A wrong body is refused by the token's signed sha256; nothing is stored.
                await fetch(res.body.upload.url, {
                  method: "PUT",
                  body,
                  headers: { "content-type": "application/octet-stream" },
                });
              }
              break;
            }
            case "complete":
            case "abort": {
              const id = intents[step.pick % Math.max(1, intents.length)];
              if (id === undefined) break;
              const res = await api(h.url, "POST", `/v1/uploads/${id}/${step.op}`, {});
              expect([200, 409]).toContain(res.status);
              break;
            }
            case "deleteFile": {
              const id = files[step.pick % Math.max(1, files.length)];
              if (id === undefined) break;
              expect((await api(h.url, "DELETE", `/v1/files/${id}`)).status).toBe(204);
              break;
            }
            case "sweep":
              await h.signet.uploads.sweep(new Date(Date.now() + 3 * 3600_000));
              break;
            case "rawPut": {
              const res = await api(h.url, "POST", "/v1/presign", {
                bucket: "default",
                key: keyOf(step.key),
                method: "PUT",
                upsert: step.upsert,
              });
              if (res.status !== 200) {
                expect(res.body.error.code).toBe("conflict");
                break;
              }
              const put = await fetch(res.body.url, { method: "PUT", body: bytesOf(step.bytes) });
              expect([200, 409]).toContain(put.status);
              break;
            }
            case "rawDelete": {
              const res = await api(h.url, "POST", "/v1/presign", {
                bucket: "default",
                key: keyOf(step.key),
                method: "DELETE",
              });
              if (res.status !== 200) {
                expect(res.body.error.code).toBe("conflict");
                break;
              }
              expect([204, 409]).toContain(
                (await fetch(res.body.url, { method: "DELETE" })).status,
              );
              break;
            }
          }
          await assertInvariant(prefix);
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
