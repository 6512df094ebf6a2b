/**
 * The Uppy signing protocol over HTTP (src/http/routes/uppy.ts) step by step, as @uppy/aws-s3
 * sends it: what the browser test does not reach (ListParts on resume, abort, someone else's
 * upload, malformed XML).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";

describe("Uppy protocol routes", () => {
  let h: Harness;
  let otherKey: string;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    token = ADMIN_KEY,
    type = "application/json",
  ) => {
    const res = await fetch(`${h.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": type }),
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
  const sign = (body: Record<string, unknown>, token?: string) =>
    call("POST", "/v1/uppy/sign", { bucket: "default", ...body }, token);

  beforeAll(async () => {
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local" } },
        grants: [{ principal: "role:other", buckets: ["default"], actions: ["write"] }],
      },
    });
    otherKey = (await call("POST", "/v1/apikeys", { name: "o", role: "other" })).json().key;
  });
  afterAll(async () => h?.close());

  /** Opens a multipart upload the way the plugin does: sign the POST, then POST to it. */
  const create = async (key: string) => {
    const signed = (await sign({ method: "POST", key })).json();
    expect(signed.path).toMatch(/^\/v1\/uppy\/s3\/uploads\?/);
    const created = await call("POST", signed.path, "", ADMIN_KEY, "application/pdf");
    expect(created.status).toBe(200);
    return /<UploadId>(f_[^<]+)<\/UploadId>/.exec(created.text)![1]!;
  };

  it("lists stored parts (resume) and aborts, removing the intent", async () => {
    const uploadId = await create("u/a.bin");
    const part = (await sign({ method: "PUT", key: "u/a.bin", uploadId, partNumber: 1 })).json();
    const put = await fetch(part.url, { method: "PUT", headers: part.headers, body: "hello" });
    expect(put.status).toBe(200);
    const listUrl = (await sign({ method: "GET", key: "u/a.bin", uploadId })).json().path;
    const listed = await call("GET", listUrl);
    expect(listed.text).toMatch(
      /<Part><PartNumber>1<\/PartNumber><ETag>[^<]+<\/ETag><Size>5<\/Size><\/Part>/,
    );
    const abortUrl = (await sign({ method: "DELETE", key: "u/a.bin", uploadId })).json().path;
    expect((await call("DELETE", abortUrl)).status).toBe(204);
    // idempotent, like /v1/uploads/{id}/abort
    expect((await call("DELETE", abortUrl)).status).toBe(204);
    const file = (await call("GET", `/v1/files/${uploadId}`)).json();
    expect(file.status).toBe("deleted");
    // an aborted upload is no longer signable
    expect((await sign({ method: "PUT", key: "u/a.bin", uploadId, partNumber: 2 })).status).toBe(
      404,
    );
  });

  // Opening a multipart upload wrote no record, and its refusals were not audited.
  it("opening a multipart upload is audited, and so is its refusal", async () => {
    const uploadId = await create("u/audited.bin");
    await h.signet.audit.flush();
    const made = (await call("GET", "/v1/audit?action=upload.create")).json().items as {
      key: string;
      detail: { file: string };
    }[];
    expect(made.find((r) => r.key === "u/audited.bin")?.detail.file).toBe(uploadId);
    // A key held by a committed file: 409 at the POST, and a refused issuance in the trail.
    const intent = (
      await call("POST", "/v1/uploads", { bucket: "default", key: "u/held.bin", size: 1 })
    ).json();
    // fetch sets content-length itself
    const headers = Object.entries(intent.upload.headers as Record<string, string>).filter(
      ([name]) => name !== "content-length",
    );
    await fetch(intent.upload.url, { method: "PUT", body: "y", headers });
    expect((await call("POST", `/v1/uploads/${intent.file.id}/complete`, {})).status).toBe(200);
    const signed = (await sign({ method: "POST", key: "u/held.bin" })).json();
    const refused = await call("POST", signed.path, "", ADMIN_KEY, "application/pdf");
    expect(refused.status).toBe(409);
    await h.signet.audit.flush();
    const refusals = (await call("GET", "/v1/audit?outcome=refused&action=upload")).json()
      .items as { key: string; reason: string }[];
    expect(refusals.some((r) => r.key === "u/held.bin" && r.reason === "conflict")).toBe(true);
  });

  it("complete checks its XML and the parts, and commits", async () => {
    const uploadId = await create("u/b.bin");
    const part = (await sign({ method: "PUT", key: "u/b.bin", uploadId, partNumber: 1 })).json();
    const put = await fetch(part.url, { method: "PUT", headers: part.headers, body: "bytes!" });
    const etag = put.headers.get("etag")!;
    const done = (await sign({ method: "POST", key: "u/b.bin", uploadId })).json().path;
    expect((await call("POST", done, "<nope", ADMIN_KEY, "application/xml")).status).toBe(400);
    const missing = `<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;
    // a wrong parts list is the request's error: 400 invalid_part
    const refused = await call("POST", done, missing, ADMIN_KEY, "application/xml");
    expect(refused.status).toBe(400);
    expect(refused.json().error.code).toBe("invalid_part");
    const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;
    const completed = await call("POST", done, xml, ADMIN_KEY, "application/xml");
    expect(completed.status).toBe(200);
    expect(completed.text).toContain(`<Location>${h.url}/v1/files/${uploadId}</Location>`);
    expect(completed.text).toContain("<Key>u/b.bin</Key>");
    expect((await call("GET", `/v1/files/${uploadId}`)).json()).toMatchObject({
      status: "committed",
      size: 6,
    });
  });

  it("someone else's upload, or another key for it, looks absent", async () => {
    const uploadId = await create("u/c.bin");
    expect(
      (await sign({ method: "PUT", key: "u/c.bin", uploadId, partNumber: 1 }, otherKey)).status,
    ).toBe(404);
    expect((await sign({ method: "GET", key: "u/other.bin", uploadId })).status).toBe(404);
    const listUrl = (await sign({ method: "GET", key: "u/c.bin", uploadId })).json().path;
    expect((await call("GET", listUrl, undefined, otherKey)).status).toBe(404);
    expect((await call("DELETE", listUrl, undefined, otherKey)).status).toBe(404);
  });

  it("refuses what the protocol does not have, and needs credentials", async () => {
    expect((await sign({ method: "DELETE", key: "u/d.bin" })).json().error.code).toBe(
      "invalid_request",
    );
    expect((await sign({ method: "PUT", key: "../x" })).json().error.code).toBe("invalid_key");
    expect((await sign({ method: "PUT", key: "u/e.bin" }, "wrong")).status).toBe(401);
    expect(
      (await call("POST", "/v1/uppy/s3/uploads?bucket=default&key=u/f.bin", "", "wrong")).status,
    ).toBe(401);
  });
});
