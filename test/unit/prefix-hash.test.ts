/** The download's sha256, computed by a worker thread over the done prefix (src/client/prefix-hash.ts). */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prefixHash, sha256Of, WORKER_FROM } from "../../src/client/prefix-hash.js";

describe("prefix hash in a worker thread", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "signet-prefix-hash-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("hashes the file up to each end asked for, in steps, past its read size", async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(dir, "steps.bin");
    await writeFile(file, bytes);
    const hash = prefixHash(file, WORKER_FROM);
    for (const end of [0, 5, 1024 * 1024, 1024 * 1024, 2 * 1024 * 1024 + 3, bytes.length])
      hash.advance(end);
    expect(await hash.digest()).toBe(createHash("sha256").update(bytes).digest("base64"));
  });

  it("hashes only the prefix asked for", async () => {
    const bytes = randomBytes(1000);
    const file = join(dir, "prefix.bin");
    await writeFile(file, bytes);
    const hash = prefixHash(file, WORKER_FROM);
    hash.advance(600);
    expect(await hash.digest()).toBe(
      createHash("sha256").update(bytes.subarray(0, 600)).digest("base64"),
    );
  });

  it("rejects the digest when the file is shorter than asked", async () => {
    const file = join(dir, "short.bin");
    await writeFile(file, randomBytes(10));
    const hash = prefixHash(file, WORKER_FROM);
    hash.advance(20);
    await expect(hash.digest()).rejects.toThrow(/shorter than its parts/);
  });

  it("hashes a small file's prefix at the end, on this thread", async () => {
    const bytes = randomBytes(1000);
    const file = join(dir, "small.bin");
    await writeFile(file, bytes);
    const hash = prefixHash(file, 1000);
    hash.advance(400);
    hash.advance(600);
    expect(await hash.digest()).toBe(
      createHash("sha256").update(bytes.subarray(0, 600)).digest("base64"),
    );
    expect(await sha256Of(file, 0)).toBe(createHash("sha256").digest("base64"));
    expect(await sha256Of(file)).toBe(createHash("sha256").update(bytes).digest("base64"));
  });

  it("stops without a digest", async () => {
    const file = join(dir, "stopped.bin");
    await writeFile(file, randomBytes(10));
    const hash = prefixHash(file, WORKER_FROM);
    hash.advance(10);
    await hash.stop();
    await expect(hash.digest()).rejects.toThrow();
  });
});
