/**
 * Many part URLs of one upload intent signed at once (an SDK signs 4 to 8 parts at a time, and
 * several tabs or workers of one upload add up): every signing is answered, every URL is in the
 * intent's list, and an abort revokes them all. On SQLite and, in CI's second pass, PostgreSQL,
 * where the record's earlier rewrite-if-unchanged loop (8 tries) refused 6 to 16 of 40 with 409.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

const SIGNINGS = 40;

describe("an intent's part URLs signed at once", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it(`answers all ${SIGNINGS} signings, and an abort revokes every URL`, async () => {
    const made = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key: "at-once.bin",
      size: 30,
      contentType: "application/octet-stream",
      multipart: { partSize: 10 },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = (made.body as { file: { id: string } }).file.id;
    const answers = await Promise.all(
      Array.from({ length: SIGNINGS }, (_, i) =>
        api(h.url, "POST", `/v1/uploads/${id}/parts`, { partNumbers: [(i % 3) + 1] }),
      ),
    );
    const refused = answers.filter((r) => r.status !== 200).map((r) => JSON.stringify(r.body));
    expect(refused, "signings refused").toEqual([]);
    const urls = answers.flatMap((r) => (r.body.parts as { url: string }[]).map((p) => p.url));
    expect((await api(h.url, "POST", `/v1/uploads/${id}/abort`)).status).toBe(200);
    // Every URL signed, whichever signing made it, is refused once the intent is aborted.
    const puts = await Promise.all(
      urls.map((url) => fetch(url, { method: "PUT", body: "0123456789" }).then((r) => r.status)),
    );
    expect(puts.filter((s) => s < 400)).toEqual([]);
  });
});
