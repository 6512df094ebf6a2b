import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { run } from "../helpers/process.js";
import { scriptedPeer } from "../helpers/scripted-peer.js";

describe("the signet CLI", () => {
  let h: Harness;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    h = await startSignet();
    dir = await mkdtemp(join(tmpdir(), "signet-cli-"));
    env = { SIGNET_URL: h.url, SIGNET_KEY: ADMIN_KEY };
  });
  afterAll(() => h.close());

  it("presign prints a signed request with the asked method and lifetime", async () => {
    const { code, stdout } = await run(
      ["presign", "default/path/to/key", "--method", "PUT", "--expires", "15m"],
      env,
    );
    expect(code).toBe(0);
    const signed = JSON.parse(stdout);
    expect(signed).toMatchObject({ method: "PUT", expiresIn: 900 });
    expect(signed.url).toContain("/o/default/path/to/key?t=");
  });

  it("put then get round-trips a file through signed URLs", async () => {
    const source = join(dir, "in.bin");
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    await writeFile(source, bytes);
    const put = await run(["put", source, "default/cli/file.bin"], env);
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(/as file f_[A-Za-z0-9_-]{22}/);
    const target = join(dir, "out.bin");
    const get = await run(["get", "default/cli/file.bin", "-o", target], env);
    expect(get.code).toBe(0);
    expect(get.stdout).toContain("300000 bytes");
    expect((await readFile(target)).equals(bytes)).toBe(true);
  });

  it("put goes multipart in parallel parts above 16 MiB and commits a checked file", async () => {
    const source = join(dir, "big.bin");
    const bytes = Buffer.alloc(17 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i / 4096) % 256;
    await writeFile(source, bytes);
    const put = await run(["put", source, "default/cli/big.bin", "--part-size", "5242880"], env);
    expect(put.code, put.stderr).toBe(0);
    const id = /as file (f_\S+)/.exec(put.stdout)![1]!;
    const file = await h.admin.files.get(id);
    expect(file).toMatchObject({ status: "committed", size: bytes.length });
    // The parts go to the intent's own staging key; complete moves them to cli/big.bin.
    const uploads = (await h.admin.audit({ limit: 200 })).items.filter(
      (i) => i.event === "object.use" && i.key === `.signet-staging/${id}` && i.method === "PUT",
    );
    expect(uploads).toHaveLength(4);
    const target = join(dir, "big.out");
    expect((await run(["get", "default/cli/big.bin", "-o", target], env)).code).toBe(0);
    expect((await readFile(target)).equals(bytes)).toBe(true);
  });

  it("get gives up on a silent server after --stall-timeout, saying so", async () => {
    const peer = scriptedPeer();
    const base = await peer.start();
    try {
      const started = Date.now();
      const silent = await run(
        ["get", `${base}/x`, "-o", join(dir, "silent"), "--stall-timeout", "1"],
        {},
      );
      expect(silent.code).toBe(1);
      expect(silent.stderr).toMatch(/stalled: 127\.0\.0\.1:\d+ sent and received nothing for 1 s/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      const bad = await run(["get", `${base}/x`, "--stall-timeout", "soon"], {});
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("--stall-timeout");
    } finally {
      await peer.close();
    }
  });

  it("takes --server and --key over the environment", async () => {
    const { code } = await run(["--server", h.url, "--key", ADMIN_KEY, "presign", "default/k"], {});
    expect(code).toBe(0);
  });

  it("reports errors with their code and a non-zero exit", async () => {
    const noKey = await run(["presign", "default/k"], { SIGNET_URL: h.url, SIGNET_KEY: "wrong" });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain("unauthorized");
    const badTarget = await run(["presign", "no-slash"], env);
    expect(badTarget.code).not.toBe(0);
    expect(badTarget.stderr).toContain("BUCKET/KEY");
    const badExpiry = await run(["presign", "default/k", "--expires", "soon"], env);
    expect(badExpiry.code).not.toBe(0);
    const tooLong = await run(["presign", "default/k", "--expires", "8d"], env);
    expect(tooLong.stderr).toContain("expiry_too_long");
    // Refusals name the CLI's flags, not the API's fields.
    expect(tooLong.stderr).toContain("--expires");
    expect(tooLong.stderr).not.toContain("expiresIn");
    const missing = await run(["get", "default/not/there", "-o", join(dir, "none")], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("not_found");
  });

  it("a key that holds a file is refused naming --upsert, the flag that replaces it", async () => {
    const file = join(dir, "held.txt");
    await writeFile(file, "first");
    expect((await run(["put", file, "default/cli/held.txt"], env)).code).toBe(0);
    const again = await run(["put", file, "default/cli/held.txt"], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/conflict: .*replace it with --upsert/);
    expect(again.stderr).not.toContain("upsert: true");
    const raw = await run(["presign", "default/cli/held.txt", "--method", "PUT"], env);
    expect(raw.stderr).toContain("--upsert");
    expect((await run(["put", file, "default/cli/held.txt", "--upsert"], env)).code).toBe(0);
  });

  it("keys rotate, list and retire", async () => {
    const rotated = JSON.parse((await run(["keys", "rotate"], env)).stdout);
    expect(rotated.status).toBe("active");
    // Lists print JSON lines when piped: one object per line.
    const listed = (await run(["keys", "list"], env)).stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const previous = listed.find((k: any) => k.status === "verifying");
    const retired = JSON.parse((await run(["keys", "retire", previous.kid], env)).stdout);
    expect(retired.status).toBe("retired");
  });
});
