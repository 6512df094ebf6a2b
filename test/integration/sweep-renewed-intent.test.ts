/**
 * The sweeper judges an intent as it is once it holds the key, not as its first read saw it.
 * An intent past its expiry whose owner renews its part URLs (`POST /v1/uploads/{id}/parts`,
 * the documented way to go on with a long upload) between the sweeper's read and its hold was
 * discarded all the same: the renewal answered 200 with URLs the sweep then revoked, and the
 * upload was gone. With several instances the sweep runs on one and the renewal on another;
 * here the window is opened deterministically by running the renewal as the sweep takes its
 * hold.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("an intent renewed while the sweeper picks it", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("is not swept: its renewed URLs stay valid and it stays pending", async () => {
    const made = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "long/upload.bin",
      size: 30,
      contentType: "application/octet-stream",
      multipart: { partSize: 10 },
    });
    expect(made.status).toBe(201);
    const id = made.body.file.id as string;
    // Its URLs and grace period ran out (a slow upload): the sweeper's next run picks it.
    await h.signet.db
      .updateTable("files")
      .set({ expires_at: new Date(Date.now() - 60_000).toISOString() })
      .where("id", "=", id)
      .execute();
    const guard = h.signet.keyGuard;
    const exclusive = guard.exclusive.bind(guard);
    let renewed: Awaited<ReturnType<typeof api>> | undefined;
    guard.exclusive = (async (
      bucket: string,
      key: string,
      holder: string,
      work: () => Promise<unknown>,
    ) => {
      if (holder === `discard:${id}` && renewed === undefined)
        renewed = await api(h.url, "POST", `/v1/uploads/${id}/parts`, { partNumbers: [1] });
      return exclusive(bucket, key, holder, work);
    }) as typeof guard.exclusive;
    try {
      await h.signet.uploads.sweep();
    } finally {
      guard.exclusive = exclusive;
    }
    expect(renewed?.status).toBe(200);
    const file = await api(h.url, "GET", `/v1/files/${id}`);
    expect(file.body.status, "renewed (200), then swept").toBe("pending");
    const part = renewed!.body.parts[0] as { url: string };
    const res = await fetch(part.url, { method: "PUT", body: Buffer.alloc(10) });
    expect(res.status).toBe(200);
  });
});
