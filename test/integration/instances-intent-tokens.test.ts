/**
 * An upload intent's URLs across two instances on one PostgreSQL: part URLs signed at once on
 * A and B are all in the intent's list, so an abort (or complete) revokes every one; a signing
 * on B racing an abort on A never leaves a URL that still works once the abort answered (and
 * the revocation had its documented second to reach B).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api } from "../helpers/http.js";
import { type Instances, startInstances } from "../helpers/instances.js";
import { withoutPostgres } from "../helpers/pg.js";
import type { Served } from "../helpers/process.js";

const SUITE = "an intent's URLs across two instances";
describe.skipIf(withoutPostgres(SUITE))(SUITE, () => {
  let a: Served;
  let b: Served;
  let instances: Instances;
  let db: pg.Client;

  beforeAll(async () => {
    instances = await startInstances({ buckets: { default: { backend: "local" } } });
    ({ a, b } = instances);
    db = new pg.Client({ connectionString: instances.databaseUrl });
    await db.connect();
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await instances?.close();
  });

  const intent = async (key: string) => {
    const made = await api(a.url, "POST", "/v1/uploads", {
      bucket: "default",
      key,
      size: 30,
      contentType: "application/octet-stream",
      multipart: { partSize: 10 },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    return made.body as { file: { id: string }; upload: { parts: { id: string }[] } };
  };
  const signOn = (base: string, id: string, partNumber: number) =>
    api(base, "POST", `/v1/uploads/${id}/parts`, { partNumbers: [partNumber] });
  const revoked = async (ids: string[]) => {
    const { rows } = await db.query<{ value: string }>(
      "select value from revocations where kind = 'token' and value = any($1)",
      [ids],
    );
    return new Set(rows.map((r) => r.value));
  };

  it("part URLs signed at once on A and B are all answered and all revoked by an abort", async () => {
    const made = await intent("together.bin");
    const id = made.file.id;
    // 6 on each instance at once: the SDKs sign 4 to 8 parts at a time, and two tabs (or two
    // workers) of one upload land on different instances.
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => signOn(i % 2 === 0 ? a.url : b.url, id, (i % 3) + 1)),
    );
    const statuses = answers.map((r) => r.status);
    const signed = answers
      .filter((r) => r.status === 200)
      .flatMap((r) => (r.body.parts as { id: string }[]).map((p) => p.id));
    expect((await api(b.url, "POST", `/v1/uploads/${id}/abort`)).status).toBe(200);
    const gone = await revoked([...made.upload.parts.map((p) => p.id), ...signed]);
    const live = signed.filter((t) => !gone.has(t));
    expect(live, "signed and not revoked by the abort").toEqual([]);
    expect(statuses, "a concurrent signing refused").toEqual(new Array<number>(12).fill(200));
  });

  it("a signing on B racing an abort on A leaves no URL that was not revoked", async () => {
    const leaks: string[] = [];
    for (let round = 0; round < 8; round++) {
      const made = await intent(`race-${round}.bin`);
      const id = made.file.id;
      const signings = Array.from({ length: 4 }, (_, i) => signOn(b.url, id, (i % 3) + 1));
      const aborted = api(a.url, "POST", `/v1/uploads/${id}/abort`);
      const answers = await Promise.all(signings);
      expect((await aborted).status).toBe(200);
      const signed = answers
        .filter((r) => r.status === 200)
        .flatMap((r) => (r.body.parts as { id: string }[]).map((p) => p.id));
      for (const r of answers) expect([200, 404]).toContain(r.status);
      const gone = await revoked(signed);
      leaks.push(...signed.filter((t) => !gone.has(t)));
    }
    expect(leaks).toEqual([]);
  });
});
