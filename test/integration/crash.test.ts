import { mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exited, serve } from "../helpers/process.js";

const ADMIN = "crash-test-admin-key-0123456789abcdef";
const env = { SIGNET_ADMIN_KEY: ADMIN };

async function presign(base: string, key: string, method: string): Promise<string> {
  const res = await fetch(`${base}/v1/presign`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ bucket: "default", key, method }),
  });
  return ((await res.json()) as { url: string }).url;
}

async function blobFiles(data: string): Promise<string[]> {
  const names: string[] = [];
  for (const shard of await readdir(join(data, "blobs")))
    names.push(...(await readdir(join(data, "blobs", shard))));
  return names;
}

describe("crash safety of the embedded store", () => {
  it("kill -9 during a PUT: after a restart the old object is intact and no temp file or orphan remains", async () => {
    const data = await mkdtemp(join(tmpdir(), "signet-crash-"));
    const first = await serve(data, env);
    const original = Buffer.alloc(256 * 1024, 1);
    expect(
      (
        await fetch(await presign(first.url, "precious.bin", "PUT"), {
          method: "PUT",
          body: original,
        })
      ).status,
    ).toBe(200);

    // Start a 64 MiB upload, send a few MiB, and kill the server while it is writing.
    const target = new URL(await presign(first.url, "precious.bin", "PUT"));
    const upload = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      method: "PUT",
      headers: { "content-length": String(64 * 1024 * 1024) },
    });
    upload.on("error", () => {});
    const chunk = Buffer.alloc(1024 * 1024, 2);
    for (let i = 0; i < 4; i++)
      await new Promise<void>((resolve) => upload.write(chunk, () => resolve()));
    await new Promise((r) => setTimeout(r, 300));
    expect((await readdir(join(data, "tmp"))).length).toBe(1);
    first.child.kill("SIGKILL");
    expect((await exited(first.child)).signal).toBe("SIGKILL");
    upload.destroy();

    // An orphan blob, as a crash between rename and commit would leave.
    await mkdir(join(data, "blobs", "ff"), { recursive: true });
    await writeFile(join(data, "blobs", "ff", "ff".repeat(16)), "orphan");

    const second = await serve(data, env);
    try {
      const res = await fetch(await presign(second.url, "precious.bin", "GET"));
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(original)).toBe(true);
      expect(await readdir(join(data, "tmp"))).toEqual([]);
      expect(await blobFiles(data)).toHaveLength(1);
    } finally {
      second.child.kill("SIGTERM");
      await exited(second.child);
    }
  });
});
