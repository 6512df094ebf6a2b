/**
 * A webhook receiver that answers 200 at once and then trickles its body (one byte a second,
 * under undici's 10 s idle body timeout) must not hold up other destinations' deliveries, nor
 * Signet's shutdown.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api, commitFile } from "../helpers/http.js";

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`;
}

const until = async (check: () => boolean, seconds: number) => {
  for (let i = 0; i < seconds * 10 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
  return check();
};

describe("a slow webhook receiver", () => {
  let h: Harness | undefined;
  const trickling = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  let slowHits = 0;
  const fastEvents: string[] = [];
  const slow = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      slowHits++;
      res.writeHead(200, { "content-type": "text/plain" });
      trickling.add(res);
      // Bounded: at most 120 bytes, one a second.
      let sent = 0;
      const timer = setInterval(() => {
        if (sent++ >= 120 || res.destroyed) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write("x");
      }, 1000);
      timers.add(timer);
    });
  });
  const fast = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      fastEvents.push((JSON.parse(body) as { type: string }).type);
      res.statusCode = 204;
      res.end();
    });
  });

  beforeAll(async () => {
    const slowUrl = await listen(slow);
    const fastUrl = await listen(fast);
    h = await startSignet({
      config: {
        webhooks: [
          { url: slowUrl, secret: "${HOOK}", events: ["file.committed"] },
          { url: fastUrl, secret: "${HOOK}", events: ["file.deleted"] },
        ],
        webhookAllow: ["127.0.0.1/32"],
      },
      env: { HOOK: "whsec-0123456789abcdef0123456789abcdef" },
    });
  });
  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    for (const res of trickling) res.destroy();
    await h?.close();
    slow.closeAllConnections();
    fast.closeAllConnections();
    await new Promise((r) => slow.close(r));
    await new Promise((r) => fast.close(r));
  });

  it("does not hold up another destination's events, and a shutdown ends within seconds", async () => {
    const signet = h!;
    const id = await commitFile(signet.url, { key: "hooks/a.txt", body: "x" });
    // The slow receiver has the committed event and is trickling its answer.
    expect(await until(() => slowHits > 0, 10)).toBe(true);
    expect((await api(signet.url, "DELETE", `/v1/files/${id}`)).status).toBe(204);
    // The other destination gets its own event without waiting on the first.
    expect(await until(() => fastEvents.includes("file.deleted"), 25)).toBe(true);

    // Shutdown does not wait on the trickle either.
    const started = Date.now();
    const closed = await Promise.race([
      signet.close().then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 25_000)),
    ]);
    h = undefined;
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(25_000);
  }, 90_000);
});
