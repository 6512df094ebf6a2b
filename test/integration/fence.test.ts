/** Issue 10: Gen3 Fence / Syfon /data routes, driven like a Gen3 client drives them. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

describe("Gen3 Fence / Syfon compatibility", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" }, gen3: { backend: "local" } },
        compat: { fenceBucket: "gen3" },
      },
    });
  });
  afterAll(() => h.close());

  it("upload → PUT → download, part download bound to its bytes, redirect", async () => {
    const up = await api(h.url, "POST", "/data/upload", { file_name: "reads.fastq" });
    expect(up.status).toBe(201);
    expect(up.body.guid).toMatch(/^[0-9a-f-]{36}$/);
    const bytes = Buffer.from("@read1\nACGTACGT\n+\n########\n");
    expect((await fetch(up.body.url, { method: "PUT", body: bytes })).status).toBe(200);

    const again = await api(
      h.url,
      "GET",
      `/data/upload/${up.body.guid}?file_name=reads.fastq&expires_in=60`,
    );
    expect(again.status).toBe(200);
    // A fresh URL for the same upload: to its own staging key, as the first one.
    expect(again.body.url).toContain("/o/gen3/.signet-staging/f_");

    const down = await api(h.url, "GET", `/data/download/${up.body.guid}?expires_in=120`);
    expect(down.status).toBe(200);
    expect(Buffer.from(await (await fetch(down.body.url)).arrayBuffer()).equals(bytes)).toBe(true);
    // The first download committed the file with what was found.
    const files = await api(h.url, "GET", "/v1/files?bucket=gen3");
    expect(files.body.items[0]).toMatchObject({
      status: "committed",
      size: bytes.length,
      key: `${up.body.guid}/reads.fastq`,
    });
    expect((await api(h.url, "GET", `/data/upload/${up.body.guid}`)).status).toBe(404);

    const redirect = await fetch(`${h.url}/data/download/${up.body.guid}?redirect=true`, {
      headers: { authorization: "Bearer test-admin-key-0123456789abcdef0" },
      redirect: "manual",
    });
    expect(redirect.status).toBe(302);

    const part = await api(h.url, "GET", `/data/download/${up.body.guid}/part?start=1&end=5`);
    expect(part.status).toBe(200);
    expect(part.body.headers).toEqual({ range: "bytes=1-5" });
    const piece = await fetch(part.body.url, { headers: part.body.headers });
    expect(piece.status).toBe(206);
    expect(await piece.text()).toBe(bytes.subarray(1, 6).toString());
    expect((await fetch(part.body.url, { headers: { range: "bytes=0-5" } })).status).toBe(403);
    for (const query of [
      "start=1",
      "end=5",
      "start=-1&end=5",
      "start=5&end=1",
      `start=0&end=${bytes.length}`,
      "start=a&end=2",
    ]) {
      expect((await api(h.url, "GET", `/data/download/${up.body.guid}/part?${query}`)).status).toBe(
        400,
      );
    }
  });

  it("multipart: init with the caller's guid, presigned parts, complete, then download", async () => {
    const init = await api(h.url, "POST", "/data/multipart/init", {
      file_name: "big.bam",
      guid: "dg.TEST/0a1b2c3d",
    });
    expect(init.status).toBe(201);
    expect(init.body.guid).toBe("dg.TEST/0a1b2c3d");
    const key = "dg.TEST/0a1b2c3d/big.bam";
    const chunks = [Buffer.alloc(7000, 1), Buffer.alloc(3000, 2)];
    const parts: { PartNumber: number; ETag: string }[] = [];
    for (const [i, chunk] of chunks.entries()) {
      const signed = await api(h.url, "POST", "/data/multipart/upload", {
        key,
        uploadId: init.body.uploadId,
        partNumber: i + 1,
      });
      expect(signed.status).toBe(200);
      const res = await fetch(signed.body.presigned_url, { method: "PUT", body: chunk });
      expect(res.status).toBe(200);
      parts.push({ PartNumber: i + 1, ETag: res.headers.get("etag")! });
    }
    const done = await api(h.url, "POST", "/data/multipart/complete", {
      key,
      uploadId: init.body.uploadId,
      parts,
    });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({});
    const down = await api(h.url, "GET", `/data/download/dg.TEST/0a1b2c3d`);
    expect(
      Buffer.from(await (await fetch(down.body.url)).arrayBuffer()).equals(Buffer.concat(chunks)),
    ).toBe(true);
    expect(
      (
        await api(h.url, "POST", "/data/multipart/init", {
          file_name: "again.bam",
          guid: "dg.TEST/0a1b2c3d",
        })
      ).status,
    ).toBe(409);
    expect(
      (await api(h.url, "POST", "/data/multipart/upload", { key, uploadId: "nope", partNumber: 1 }))
        .status,
    ).toBe(404);
  });

  it("unknown ids are 404, bad names 400, and everything needs credentials", async () => {
    expect(
      (await api(h.url, "GET", "/data/download/00000000-0000-0000-0000-000000000000")).status,
    ).toBe(404);
    expect((await api(h.url, "POST", "/data/upload", { file_name: "a/b" })).status).toBe(400);
    expect((await api(h.url, "POST", "/data/upload", {})).status).toBe(400);
    expect(
      (await api(h.url, "POST", "/data/multipart/init", { file_name: "x", guid: "../../etc" }))
        .status,
    ).toBe(400);
    expect((await api(h.url, "POST", "/data/upload", { file_name: "x" }, null)).status).toBe(401);
  });
});
