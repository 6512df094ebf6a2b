/**
 * Webhook destinations across instances whose configs differ (a rolling config change: one
 * instance already runs without a destination the other still lists). An outbox row must go
 * to the destination it was queued for, or stay queued: never to whichever destination another
 * instance has at the same position in its own list.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api } from "../helpers/http.js";
import { type Instances, startInstances, within } from "../helpers/instances.js";
import { withoutPostgres } from "../helpers/pg.js";
import type { Served } from "../helpers/process.js";

/** A receiver answering 204 after `delayMs` (a receiver doing some work per event). */
async function startReceiver(delayMs = 0) {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push((JSON.parse(body) as { data: { file: { key: string } } }).data.file.key);
      setTimeout(() => {
        res.statusCode = 204;
        res.end();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const SUITE = "webhook destinations of instances whose configs differ";
describe.skipIf(withoutPostgres(SUITE))(SUITE, () => {
  // A only runs (and delivers what it reads); requests go to B.
  let b: Served;
  let instances: Instances;
  let x: Awaited<ReturnType<typeof startReceiver>>;
  let y: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    [x, y] = [await startReceiver(), await startReceiver(300)];
    const events = ["file.committed"];
    const configOf = (hooks: string[]) => ({
      buckets: { default: { backend: "local" } },
      webhooks: hooks.map((url) => ({ url, secret: "${HOOK_SECRET}", events })),
      webhookAllow: ["127.0.0.1/32"],
    });
    // A still lists X then Y; B runs the new config, without X.
    instances = await startInstances([configOf([x.url, y.url]), configOf([y.url])], {
      HOOK_SECRET: "instances-webhook-secret",
    });
    ({ b } = instances);
  }, 60_000);

  afterAll(async () => {
    await instances?.close();
    await x?.close();
    await y?.close();
  });

  /** Commits a file through B (intent, PUT, complete): B queues its file.committed. */
  const commitOnB = async (key: string) => {
    const made = await api(b.url, "POST", "/v1/uploads", {
      bucket: "default",
      key,
      size: 2,
      contentType: "text/plain",
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const put = await fetch(made.body.upload.url as string, {
      method: "PUT",
      // fetch sets content-length itself
      headers: Object.fromEntries(
        Object.entries(made.body.upload.headers as Record<string, string>).filter(
          ([name]) => name !== "content-length",
        ),
      ),
      body: "hi",
    });
    expect(put.status).toBe(200);
    const done = await api(b.url, "POST", `/v1/uploads/${made.body.file.id as string}/complete`);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
  };

  // Y takes 300 ms per event, so B is still delivering when A's loop (every second) looks:
  // A took B's rows (target 0, Y's place in B's list) as X's (0 in A's list) and sent them to
  // X, signed with X's secret, and marked them delivered: Y never got them.
  it("events B queued for Y reach Y once each, and never X", async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `hook-${i}.txt`);
    for (const key of keys) await commitOnB(key);
    const all = await within(10_000, () => keys.every((k) => y.received.includes(k)));
    // Both instances poll every second: give a stray delivery the time to show up.
    await new Promise((r) => setTimeout(r, 2500));
    expect(x.received, "B's events (queued for Y) delivered to X").toEqual([]);
    expect(all, `Y received ${JSON.stringify(y.received)}`).toBe(true);
    for (const key of keys) expect(y.received.filter((k) => k === key)).toHaveLength(1);
  });
});
