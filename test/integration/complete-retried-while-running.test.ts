/**
 * A complete retried while the first is still running (a client that timed out on a long
 * multipart assembly and asked again) is 409, and the key stays held by the first until it is
 * done. The hold names the intent, and a holder could take its own hold again (a retry after a
 * crash): both completes ran, the second committed first and released the hold the first still
 * relied on, so an upsert could commit at the key while the first went on to promote its
 * staged bytes there. The window is opened deterministically: the retry and the upsert run inside
 * the first complete's promote.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("a complete retried while the first runs", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  /** An intent at `key` with `body` uploaded, not completed; its file id. */
  const staged = async (key: string, body: string, upsert = false) => {
    const intent = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key,
      size: body.length,
      contentType: "text/plain",
      ...(upsert ? { upsert: true } : {}),
    });
    expect(intent.status).toBe(201);
    const sent = await fetch(intent.body.upload.url, {
      method: "PUT",
      body,
      headers: { "content-type": "text/plain" },
    });
    expect(sent.ok).toBe(true);
    return intent.body.file.id as string;
  };
  const complete = (id: string) => api(h.url, "POST", `/v1/uploads/${id}/complete`, {});

  it("is 409, and no upsert commits at the key until the first is done", async () => {
    const key = "retry/report.txt";
    const first = await staged(key, "first");
    const later = await staged(key, "later", true);
    const store = h.signet.buckets.get("default")!.backend;
    const promote = store.promote.bind(store);
    let retry: number | undefined;
    let upsert: number | undefined;
    store.promote = async (...args: Parameters<typeof promote>) => {
      if (retry === undefined) {
        retry = (await complete(first)).status;
        upsert = (await complete(later)).status;
      }
      return promote(...args);
    };
    try {
      expect((await complete(first)).status).toBe(200);
    } finally {
      store.promote = promote;
    }
    expect(retry).toBe(409);
    expect(upsert).toBe(409);
    // Once the first is done, the upsert commits over it, and the key serves its bytes.
    expect((await complete(later)).status).toBe(200);
    expect((await api(h.url, "GET", `/v1/files/${first}`)).body.status).toBe("superseded");
    const read = await fetch(`${h.url}/r/${later}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("later");
  });
});
