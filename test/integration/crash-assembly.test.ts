/**
 * Issue 5: kill -9 during multipart assembly. After a restart the object is either absent or
 * whole, and the file is still pending or committed, never committed without its object; a
 * pending one completes on a second try.
 */
import { createHash } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HOLD_LEASE_MS } from "../../src/service/key-guard.js";
import { PG_ADMIN_URL } from "../helpers/pg.js";
import { exited, serve } from "../helpers/process.js";

const ADMIN = "crash-assembly-admin-key-0123456789abcdef";
const postgres = PG_ADMIN_URL !== undefined;
/** On PostgreSQL the retry may wait for the crashed hold's lease. */
const BUDGET_MS = 60_000 + HOLD_LEASE_MS;
const TITLE = "leaves the object absent or whole and the file pending or committed";
const auth = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };

describe("crash during multipart assembly", () => {
  it(TITLE, { timeout: BUDGET_MS }, async () => {
    const data = await mkdtemp(join(tmpdir(), "signet-assembly-"));
    const first = await serve(data, { SIGNET_ADMIN_KEY: ADMIN });
    const partSize = 16 * 1024 * 1024;
    const part = (n: number) => Buffer.alloc(partSize, n);
    const whole = Buffer.concat([part(1), part(2), part(3)]);
    const sha = createHash("sha256").update(whole).digest("base64");
    const intent = (await (
      await fetch(`${first.url}/v1/uploads`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({
          bucket: "default",
          key: "assembled.bin",
          size: whole.length,
          sha256: sha,
          contentType: "application/octet-stream",
          multipart: { partSize },
        }),
      })
    ).json()) as any;
    const etags: string[] = [];
    for (const p of intent.upload.parts) {
      const res = await fetch(p.url, { method: "PUT", body: part(p.partNumber) });
      expect(res.status).toBe(200);
      etags.push(res.headers.get("etag")!);
    }
    const completion = fetch(`${first.url}/v1/uploads/${intent.file.id}/complete`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) }),
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 40));
    first.child.kill("SIGKILL");
    await exited(first.child);
    await completion;

    const second = await serve(data, { SIGNET_ADMIN_KEY: ADMIN });
    try {
      const file = (await (
        await fetch(`${second.url}/v1/files/${intent.file.id}`, { headers: auth })
      ).json()) as any;
      const get = (await (
        await fetch(`${second.url}/v1/presign`, {
          method: "POST",
          headers: auth,
          body: JSON.stringify({ bucket: "default", key: "assembled.bin", method: "GET" }),
        })
      ).json()) as any;
      const object = await fetch(get.url);
      if (file.status === "committed") {
        expect(object.status).toBe(200);
        expect(
          createHash("sha256")
            .update(Buffer.from(await object.arrayBuffer()))
            .digest("base64"),
        ).toBe(sha);
      } else {
        expect(file.status).toBe("pending");
        if (object.status === 200)
          expect(
            createHash("sha256")
              .update(Buffer.from(await object.arrayBuffer()))
              .digest("base64"),
          ).toBe(sha);
        else expect(object.status).toBe(404);
        // The parts survived the crash: a second complete finishes the job. On SQLite at once
        // (a restart drops the crashed hold); on PostgreSQL, shared by other instances, the
        // crashed complete's hold is a lease that lapses first (409 `conflict` until then).
        const deadline = Date.now() + HOLD_LEASE_MS + 10_000;
        let retry: Response;
        for (;;) {
          retry = await fetch(`${second.url}/v1/uploads/${intent.file.id}/complete`, {
            method: "POST",
            headers: auth,
            body: JSON.stringify({
              parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })),
            }),
          });
          if (retry.status !== 409 || !postgres || Date.now() > deadline) break;
          await retry.body?.cancel();
          await new Promise((r) => setTimeout(r, 500));
        }
        expect(retry.status).toBe(200);
        expect(((await retry.json()) as any).file.status).toBe("committed");
      }
    } finally {
      second.child.kill("SIGTERM");
      await exited(second.child);
    }
  });
});
