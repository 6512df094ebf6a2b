import { mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exited, run, serve, signetCommand } from "../helpers/process.js";

const tmp = () => mkdtemp(join(tmpdir(), "signet-serve-"));

describe("signet serve", () => {
  it("first start writes an admin key to a 0600 file, prints only its path, and the key works", async () => {
    const data = await tmp();
    const server = await serve(data, { SIGNET_ADMIN_KEY: undefined });
    try {
      const path = join(data, "admin.key");
      expect(server.output()).toContain(`Admin API key written to ${path}`);
      const key = (await readFile(path, "utf8")).trim();
      expect(server.output()).not.toContain(key);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect((await stat(join(data, "master.key"))).mode & 0o777).toBe(0o600);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const res = await fetch(`${server.url}/v1/presign`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ bucket: "default", key: "k", method: "GET" }),
      });
      expect(res.status).toBe(200);
    } finally {
      server.child.kill("SIGTERM");
    }
    // Shuts down cleanly on SIGTERM.
    expect(await exited(server.child)).toEqual({ code: 0, signal: null });
    // A second start keeps the first key and writes no new one.
    const again = await serve(data, { SIGNET_ADMIN_KEY: undefined });
    expect(again.output()).not.toContain("Admin API key written");
    again.child.kill("SIGINT");
    expect((await exited(again.child)).code).toBe(0);
  });

  it("refuses a config file with a bad key, naming it", async () => {
    const data = await tmp();
    const config = join(data, "config.json");
    await writeFile(
      config,
      JSON.stringify({ buckets: { default: { backend: "local", maxExpiresIn: -5 } } }),
    );
    const bad = await run(["serve", "--port", "0", "--data", data, "--config", config]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("buckets.default.maxExpiresIn");
    await writeFile(config, JSON.stringify({ bukets: {} }));
    const unknown = await run(["serve", "--port", "0", "--data", data, "--config", config]);
    expect(unknown.stderr).toContain("bukets");
    await writeFile(config, "{ not json");
    expect(
      (await run(["serve", "--port", "0", "--data", data, "--config", config])).stderr,
    ).toContain("not valid JSON");
    expect(await readdir(data)).not.toContain("admin.key");
  });

  it("uses SIGNET_PUBLIC_URL as the base of the URLs it hands out", async () => {
    const data = await tmp();
    const server = await serve(data, {
      SIGNET_ADMIN_KEY: "admin-key-for-public-url-test-0123456789",
      SIGNET_PUBLIC_URL: "https://files.example.test",
    });
    try {
      const res = await fetch(`${server.url}/v1/presign`, {
        method: "POST",
        headers: {
          authorization: "Bearer admin-key-for-public-url-test-0123456789",
          "content-type": "application/json",
        },
        body: JSON.stringify({ bucket: "default", key: "k", method: "GET" }),
      });
      expect(((await res.json()) as { url: string }).url).toMatch(
        /^https:\/\/files\.example\.test\/o\/default\/k\?t=/,
      );
    } finally {
      server.child.kill("SIGTERM");
      await exited(server.child);
    }
  });

  it("writes its log lines off the request path and flushes them all on SIGTERM", async () => {
    const data = await tmp();
    const server = await serve(data, {
      SIGNET_ADMIN_KEY: "admin-key-for-log-flush-test-0123456789",
      SIGNET_LOG_LEVEL: "info",
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // At once: the buffered lines (a request's, then "shutting down") are written at exit.
    server.child.kill("SIGTERM");
    expect(await exited(server.child)).toEqual({ code: 0, signal: null });
    const lines = server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg: string; status?: number; req?: { path: string } });
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: "request",
        status: 200,
        req: expect.objectContaining({ path: "/healthz" }),
      }),
    );
    expect(lines.at(-1)?.msg).toBe("shutting down");
  });

  it("exits when its stdout reader has gone, with log lines still buffered", async () => {
    const data = await tmp();
    const child = signetCommand(["serve", "--port", "0", "--data", data], {
      SIGNET_ADMIN_KEY: "admin-key-for-broken-stdout-test-0123456789",
      SIGNET_LOG_LEVEL: "info",
    });
    // Nobody reads stdout: its first write fails (EPIPE) and the process ends. Before the
    // guard, pino's flush at exit retried that write forever and the process never ended.
    child.stdout!.destroy();
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    try {
      expect((await exited(child)).signal).toBeNull();
    } finally {
      clearTimeout(killer);
    }
  }, 90_000);
});
