/**
 * The one provider-error table (src/backends/provider-errors.ts), and every backend the registry
 * opens answering an unreachable provider with 503 backend_unavailable naming the provider, never
 * a raw SDK error or a 500.
 */
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { SignetError } from "../../src/core/errors.js";
import { classify, providerError } from "../../src/backends/provider-errors.js";
import { openBackend, type AnyBucketConfig } from "../../src/backends/registry.js";

describe("provider-errors table", () => {
  it.each([
    [
      { name: "InvalidAccessKeyId", $metadata: { httpStatusCode: 403 } },
      "s3: credentials refused (InvalidAccessKeyId, 403)",
    ],
    [
      { name: "NoSuchBucket", $metadata: { httpStatusCode: 404 } },
      "s3: bucket missing (NoSuchBucket, 404)",
    ],
    [{ name: "SlowDown", $metadata: { httpStatusCode: 503 } }, "s3: throttled (SlowDown, 503)"],
    [{ name: "TimeoutError" }, "s3: timed out (TimeoutError)"],
    [{ name: "Error", code: "ECONNREFUSED" }, "s3: unreachable (ECONNREFUSED)"],
    [
      { name: "RestError", code: "AuthenticationFailed", statusCode: 403 },
      "s3: credentials refused (AuthenticationFailed, 403)",
    ],
    [
      { name: "RestError", code: "ContainerNotFound", statusCode: 404 },
      "s3: bucket missing (ContainerNotFound, 404)",
    ],
    [{ name: "RestError", code: "ServerBusy", statusCode: 503 }, "s3: throttled (ServerBusy, 503)"],
    [
      { name: "TypeError", cause: { code: "UND_ERR_CONNECT_TIMEOUT" } },
      "s3: timed out (UND_ERR_CONNECT_TIMEOUT)",
    ],
    [{ name: "Whatever", $metadata: { httpStatusCode: 500 } }, "s3: failed (Whatever, 500)"],
  ])("%j -> 503 %s", (raw, message) => {
    const err = providerError("s3", Object.assign(new Error("secret signature abc"), raw));
    expect(err).toBeInstanceOf(SignetError);
    expect(err.code).toBe("backend_unavailable");
    expect(err.status).toBe(503);
    expect(err.message).toBe(message);
    expect(err.message).not.toContain("secret signature");
  });

  it("keeps a caller's error and turns a backend's internal one into 503", () => {
    const nf = new SignetError("not_found", "upload not found");
    expect(providerError("s3", nf)).toBe(nf);
    const internal = providerError(
      "gcs",
      new SignetError("internal", "GCS answered head with 403"),
    );
    expect(internal).toMatchObject({ code: "backend_unavailable" });
    expect(internal.message).toBe("gcs: GCS answered head with 403");
  });

  it("classifies by status when the code is unknown, and leaves callers' statuses alone", () => {
    expect(classify(undefined, 401)).toBe("credentials refused");
    expect(classify(undefined, 429)).toBe("throttled");
    expect(classify(undefined, 504)).toBe("timed out");
    expect(classify(undefined, 404)).toBeUndefined();
    expect(classify(undefined, 416)).toBeUndefined();
  });
});

/** A port on 127.0.0.1 that was just free: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const keyFile = fileURLToPath(
  new URL("../fixtures/conformance/gcs/test_service_account.not-a-test.json", import.meta.url),
);

/** One bucket config per cloud backend, all pointing at `at` (container names from `container`). */
function cloudConfigs(at: string, container: string): [string, AnyBucketConfig][] {
  return [
    [
      "s3",
      {
        backend: "s3",
        bucket: "b",
        region: "us-east-1",
        endpoint: at,
        forcePathStyle: true,
        accessKeyId: "${ID}",
        secretAccessKey: "${SECRET}",
      } as AnyBucketConfig,
    ],
    ["gcs", { backend: "gcs", bucket: "signet-b", endpoint: at, credentialsFile: keyFile }],
    [
      "azure",
      {
        backend: "azure",
        accountName: "devstoreaccount1",
        container,
        endpoint: `${at}/devstoreaccount1`,
        accountKey: "${KEY}",
      },
    ],
    [
      "swift",
      {
        backend: "swift",
        storageUrl: `${at}/v1/AUTH_test`,
        container: "c",
        tempUrlKey: "${SECRET}",
        authUrl: `${at}/auth/v1.0`,
        user: "test:tester",
        key: "${SECRET}",
      } as AnyBucketConfig,
    ],
  ];
}

/** The secrets those configs name. */
const env = { ID: "id", SECRET: "secret", KEY: Buffer.from("k".repeat(32)).toString("base64") };

describe("every backend, provider unreachable", async () => {
  const port = await closedPort();
  const at = `http://127.0.0.1:${port}`;
  const configs = cloudConfigs(at, "c-unreachable");
  const embedded = undefined as never;

  it.each(configs)(
    "%s: head, get, put, list, delete and promote answer 503 naming it",
    async (name, config) => {
      const backend = await openBackend(config, env, `buckets.${name}`, embedded);
      const calls: (() => Promise<unknown>)[] = [
        () => backend.head("a.txt"),
        () => backend.get("a.txt"),
        () =>
          backend.put("a.txt", Readable.from([Buffer.from("x")]), {
            contentType: "text/plain",
            contentLength: 1,
          }),
        () => backend.list("", { limit: 10 }),
        () => backend.delete("a.txt"),
        () =>
          backend.promote(".signet-staging/f", "a.txt", {
            key: ".signet-staging/f",
            size: 1,
            etag: '"0"',
            contentType: "text/plain",
            lastModified: new Date(0),
          }),
      ];
      for (const call of calls) {
        const err = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SignetError);
        expect(err).toMatchObject({ code: "backend_unavailable", status: 503 });
        expect((err as Error).message.startsWith(`${name}: `)).toBe(true);
        expect((err as Error).message).not.toMatch(/secret|Signature|x-amz|sig=/i);
      }
    },
    60_000,
  );
});

/**
 * A provider that answers every GET with 200 (206 to a Range) and 1,000 bytes' length, sends 100 and
 * drops the connection (a reset mid-download); Swift's auth answers with a token and itself as
 * the storage URL, and writes (Azure's start-up) succeed.
 */
async function cuttingProvider(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    if (req.url?.endsWith("/auth/v1.0")) {
      res.writeHead(200, { "x-auth-token": "t", "x-storage-url": `${url}/v1/AUTH_test` }).end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(201, { "content-length": "0" }).end();
      return;
    }
    res.writeHead(req.headers.range === undefined ? 200 : 206, {
      "content-length": "1000",
      "content-type": "text/plain",
      "content-range": "bytes 0-999/1000",
      etag: '"e"',
      "last-modified": new Date(0).toUTCString(),
      "x-ms-blob-type": "BlockBlob",
      "x-goog-generation": "1",
      "x-goog-stored-content-length": "1000",
    });
    if (req.method === "HEAD") return void res.end();
    res.write(Buffer.alloc(100, 1), () => res.socket?.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe("every backend, provider resets a download mid-body", async () => {
  const provider = await cuttingProvider();
  afterAll(() => provider.close());
  const at = provider.url;
  const configs = cloudConfigs(at, "c-reset");

  it.each(configs)(
    "%s: the body stream errors with 503 backend_unavailable naming it",
    async (name, config) => {
      const backend = await openBackend(config, env, `buckets.${name}`, undefined as never);
      const got = await backend.get("a.txt", { start: 0, end: 999 });
      expect(got).toBeDefined();
      let read = 0;
      const err = await (async () => {
        for await (const chunk of got!.body) read += (chunk as Buffer).length;
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(read).toBeLessThan(1000);
      expect(err, `${name}: ${String(err)}`).toBeInstanceOf(SignetError);
      expect(err).toMatchObject({ code: "backend_unavailable", status: 503 });
      // a reset (Azure's SDK reports its own abort of the broken download)
      expect((err as Error).message).toMatch(new RegExp(`^${name}: (unreachable|timed out) \\(`));
    },
    60_000,
  );
});

/** A provider that takes every connection and request and never answers. */
async function silentProvider(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<import("node:net").Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.resume();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The backends whose provider calls have a stall timeout (Azure's SDK has none: decisions). */
const STALL_BOUND = ["s3", "gcs", "azure", "swift"];

describe("every backend with a stall timeout, provider silent", async () => {
  const provider = await silentProvider();
  afterAll(() => provider.close());
  const configs = cloudConfigs(provider.url, "c-silent")
    .filter(([name]) => STALL_BOUND.includes(name))
    .map(([name, config]): [string, AnyBucketConfig] => [
      name,
      { ...config, stallTimeoutSeconds: 0.3 } as AnyBucketConfig,
    ]);

  it.each(configs)(
    "%s: head, list and delete answer 503 once the provider has been silent that long",
    async (name, config) => {
      const backend = await openBackend(config, env, `buckets.${name}`, undefined as never);
      for (const call of [
        () => backend.head("a.txt"),
        () => backend.list("", { limit: 10 }),
        () => backend.delete("a.txt"),
      ]) {
        const started = Date.now();
        const err = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, `${name}: ${String(err)}`).toBeInstanceOf(SignetError);
        expect(err).toMatchObject({ code: "backend_unavailable", status: 503 });
        // a few tries of 0.3 s each (the SDKs' own retries), not for ever
        expect(Date.now() - started).toBeLessThan(15_000);
      }
    },
    60_000,
  );
});
