/**
 * The contract: behaviours every backend must show through Signet's API, each a function taking
 * the backend's context (after tus-node-server's test/stores.ts). A capability a backend declares
 * is proven here; one it lacks is proven to fall back to a link or be refused with
 * `constraint_not_enforceable`. Every title starts with the backend's name.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { expect, it } from "vitest";
import type { Backend, BackendCapabilities } from "../../src/backends/types.js";
import { stagingKey } from "../../src/core/keys.js";
import { isActiveType } from "../../src/core/safety.js";
import { SignetApiError, SignetClient } from "../../src/client/index.js";
import { ADMIN_KEY } from "../helpers/harness.js";
import { api } from "../helpers/http.js";

export interface Signed {
  url: string;
  method: string;
  methods?: string[];
  headers: Record<string, string>;
  objectUrlTemplate?: string;
  enforcedBy: Record<string, string>;
}

export interface ContractContext {
  name: string;
  /** Signet's base URL */
  url: string;
  bucket: string;
  /** where bytes are read back: the bucket, or the same storage with credentials (fixtures.ts) */
  readBucket: string;
  /** what the stand-in provider does not check (see fixtures.ts): the signed URL is checked */
  gaps: string[];
  /** a bucket on the same provider whose credentials it refuses (none for the embedded store) */
  refusedBucket?: string;
  /** a bucket on the same provider whose bucket or container does not exist (none: embedded) */
  missingBucket?: string;
  multipart: { size: number; partSize: number };
  partEtag(part: { url: string }, res: Response): string;
  capabilities: BackendCapabilities;
  /** the backend of `readBucket` (Signet's own credentials), for behaviours below the API */
  backend: Backend;
}

type Ctx = () => ContractContext;
type Behaviour = (ctx: Ctx) => void;

const fresh = (label: string) => `${label}-${randomBytes(4).toString("hex")}`;

async function presign(c: ContractContext, body: Record<string, unknown>) {
  return api(c.url, "POST", "/v1/presign", { bucket: c.bucket, ...body });
}

async function presigned(c: ContractContext, body: Record<string, unknown>): Promise<Signed> {
  const res = await presign(c, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Signed;
}

/**
 * A client that sends exactly the request's `headers` (fetch sets content-length itself) and
 * follows redirects, as a plain HTTP client would.
 */
async function send(
  request: { url: string; method: string; headers: Record<string, string> },
  options: { body?: Buffer; headers?: Record<string, string>; method?: string; url?: string } = {},
): Promise<Response> {
  const headers = Object.fromEntries(
    Object.entries({ ...request.headers, ...options.headers }).filter(
      ([name]) => name !== "content-length",
    ),
  );
  return fetch(options.url ?? request.url, {
    method: options.method ?? request.method,
    headers,
    // a Blob, which fetch can send again after a 307 (a Buffer's memory is handed over once)
    body: options.body === undefined ? undefined : new Blob([options.body]),
    redirect: "follow",
  });
}

/**
 * PUT bytes through a fresh URL, sending the type as a header (not a constraint: a Swift bucket
 * with only a temp URL key cannot bind one).
 */
async function put(c: ContractContext, key: string, body: Buffer, contentType = "text/plain") {
  const signed = await presigned(c, { key, method: "PUT" });
  const res = await send(signed, { body, headers: { "content-type": contentType } });
  expect(res.status, `${c.name} PUT ${key}: ${await res.text()}`).toBeLessThan(300);
}

const refusedAtPresign = (res: { status: number; body?: { error?: { code?: string } } }) =>
  res.status === 400 && res.body?.error?.code === "constraint_not_enforceable";

/**
 * Whether the bucket hands out downloads: not where the provider binds no response overrides
 * (its URL's holder could ask for inline rendering: Swift's unsigned `&inline`) and Signet has no
 * credentials to proxy (a Swift bucket with only a temp URL key).
 */
const downloads = (c: ContractContext) =>
  c.capabilities.proxy || c.capabilities.binds["response overrides"] !== false;

/** A GET presign the bucket cannot serve is refused at presign, naming the attachment. */
function expectNoDownload(res: { status: number; body?: any }) {
  expect(refusedAtPresign(res), JSON.stringify(res.body)).toBe(true);
  expect(res.body.error.message).toMatch(/attachment/);
}

/** The object's bytes, read through Signet from the bucket or, where it has no downloads, its reader. */
async function read(c: ContractContext, key: string): Promise<Response> {
  const res = await api(c.url, "POST", "/v1/presign", { bucket: c.readBucket, key, method: "GET" });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return send(res.body as Signed);
}

// ---------------------------------------------------------------------------------------------

const roundTrip: Behaviour = (ctx) => {
  for (const delivery of ["auto", "link"] as const)
    it(`${ctx().name}: PUT, GET, HEAD, DELETE (${delivery}), a client sending exactly headers`, async () => {
      const c = ctx();
      const key = `${fresh("rt")}/a b.txt`;
      const body = Buffer.from("hello, contract");
      const up = await presigned(c, { key, method: "PUT", delivery });
      const putRes = await send(up, { body, headers: { "content-type": "text/plain" } });
      expect(putRes.status, await putRes.text()).toBeLessThan(300);

      const get = await presign(c, { key, method: "GET", delivery });
      if (!downloads(c)) expectNoDownload(get);
      const got = downloads(c) ? await send(get.body as Signed) : await read(c, key);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(body)).toBe(true);

      const head = await presigned(c, { key, method: "HEAD", delivery });
      const headRes = await send(head);
      expect(headRes.status).toBe(200);
      expect(headRes.headers.get("content-length")).toBe(String(body.length));

      const del = await presigned(c, { key, method: "DELETE", delivery });
      expect((await send(del)).status).toBeLessThan(300);
      const gone = await read(c, key);
      expect(gone.status).toBe(404);
      await gone.body?.cancel();
    });
};

/** Issue 15's Azure repro, on every backend: a PUT through a link works with a plain client. */
const putThroughLinks: Behaviour = (ctx) => {
  const cases: [string, Record<string, unknown>][] = [
    ["revocable: true", { method: "PUT", revocable: true }],
    ["several methods", { methods: ["GET", "PUT"] }],
    ["delivery link", { method: "PUT", delivery: "link" }],
  ];
  for (const [label, body] of cases)
    it(`${ctx().name}: a PUT through a link (${label}) stores the bytes`, async () => {
      const c = ctx();
      const key = `${fresh("link")}.bin`;
      const res = await presign(c, { key, ...body });
      if (!downloads(c) && body.methods !== undefined) return expectNoDownload(res);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const signed = res.body as Signed;
      const bytes = randomBytes(64);
      const up = await send(signed, { body: bytes, method: "PUT" });
      expect(up.status, `${c.name}: ${await up.text()}`).toBeLessThan(300);
      const got = await read(c, key);
      expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
    });

  it(`${ctx().name}: a share allowing GET and PUT uploads and reads with a plain client`, async () => {
    const c = ctx();
    const prefix = fresh("share");
    const res = await api(c.url, "POST", "/v1/shares", {
      bucket: c.bucket,
      prefix,
      methods: ["GET", "PUT"],
    });
    if (!downloads(c)) return expectNoDownload(res);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const base = (res.body as { url: string }).url;
    const bytes = randomBytes(32);
    const up = await fetch(`${base}x/y.bin`, {
      method: "PUT",
      body: new Blob([bytes]),
      redirect: "follow",
    });
    expect(up.status, `${c.name}: ${await up.text()}`).toBeLessThan(300);
    const got = await fetch(`${base}x/y.bin`, { redirect: "follow" });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  });
};

/** Issue 15's third repro: active content never renders inline from a direct URL. */
const activeContent: Behaviour = (ctx) => {
  it(`${ctx().name}: an uploaded text/html is never served inline (auto and direct)`, async () => {
    const c = ctx();
    const key = `${fresh("active")}/page.html`;
    await put(c, key, Buffer.from("<script>alert(1)</script>"), "text/html");
    for (const delivery of ["auto", "direct", "link"]) {
      const res = await presign(c, { key, method: "GET", delivery });
      if (refusedAtPresign(res)) continue;
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const signed = res.body as Signed;
      if (c.gaps.includes("overrides")) {
        // the stand-in ignores overrides: the provider's URL must carry a signed attachment
        let target = signed.url;
        if (signed.enforcedBy.method === "signet") {
          const hop = await fetch(signed.url, { redirect: "manual" });
          await hop.body?.cancel();
          target = hop.headers.get("location") ?? "";
        }
        if (target !== "") {
          const signedDisposition = new URL(target).searchParams.get(
            "response-content-disposition",
          );
          expect(signedDisposition, `${c.name} ${delivery}`).toMatch(/^attachment/);
          continue;
        }
      }
      const got = await send(signed);
      expect(got.status).toBe(200);
      expect(
        servedSafely(got),
        `${c.name} ${delivery}: ${got.headers.get("content-type")} ${got.headers.get("content-disposition")}`,
      ).toBe(true);
      await got.body?.cancel();
    }
  });

  it(`${ctx().name}: responseContentType text/html is refused on direct URLs, safe on others`, async () => {
    const c = ctx();
    const key = `${fresh("rct")}/page.txt`;
    await put(c, key, Buffer.from("<b>hi</b>"), "text/plain");
    const direct = await presign(c, {
      key,
      method: "GET",
      delivery: "direct",
      responseContentType: "text/html",
    });
    if (!c.capabilities.signetVerified)
      expect(refusedAtPresign(direct), JSON.stringify(direct.body)).toBe(true);
    const auto = await presign(c, { key, method: "GET", responseContentType: "text/html" });
    if (refusedAtPresign(auto)) {
      expect(c.capabilities.proxy).toBe(false);
      return;
    }
    const got = await send(auto.body as Signed);
    expect(got.status).toBe(200);
    expect(servedSafely(got)).toBe(true);
    await got.body?.cancel();
  });
};

/** An answer that does not run as a page: a non-active type, or an attachment. */
function servedSafely(res: Response): boolean {
  const type = res.headers.get("content-type") ?? "";
  const disposition = res.headers.get("content-disposition") ?? "";
  return !isActiveType(type) || /^attachment/i.test(disposition);
}

/** The URL with Swift tempurl's unsigned `inline` and `filename` parameters added by its holder. */
const withInline = (url: string) =>
  `${url}${url.includes("?") ? "&" : "?"}inline&filename=page.html`;

/**
 * Fetches `url` as its holder would after appending `&inline&filename=…` to it and to every
 * redirect target it is given: nothing answered may be active content inline.
 */
async function expectNeverInline(c: ContractContext, label: string, url: string): Promise<void> {
  // the URL untouched serves the page (so a refusal below is the tampering's doing)
  const plain = await fetch(url);
  expect(plain.status, `${c.name} ${label}`).toBe(200);
  await plain.body?.cancel();
  let target = withInline(url);
  for (let hop = 0; hop < 5; hop++) {
    const direct = new URL(target).origin !== new URL(c.url).origin;
    if (direct && c.gaps.includes("overrides")) {
      // the stand-in ignores overrides: the provider's URL must carry a signed attachment
      const signed = new URL(target).searchParams.get("response-content-disposition");
      return void expect(signed, `${c.name} ${label}`).toMatch(/^attachment/);
    }
    const res = await fetch(target, { redirect: "manual" });
    const location = res.headers.get("location");
    await res.arrayBuffer();
    if (res.status >= 300 && res.status < 400 && location !== null) {
      target = withInline(new URL(location, target).href);
      continue;
    }
    const served = `${res.status} ${res.headers.get("content-type")} ${res.headers.get("content-disposition")}`;
    if (res.status < 300) expect(servedSafely(res), `${c.name} ${label}: ${served}`).toBe(true);
    else expect([400, 401, 403], `${c.name} ${label}: ${served}`).toContain(res.status);
    return;
  }
  throw new Error(`${c.name} ${label}: too many redirects`);
}

/**
 * Swift's tempurl serves `Content-Disposition: inline` for an unsigned `&inline` over any stored
 * disposition (tempurl.py): every path that hands out a download URL (presign, links, shares, the
 * compat route, /r, DRS, Fence) gives one that stays safe when its holder appends it.
 */
const inlineParameter: Behaviour = (ctx) => {
  it(`${ctx().name}: no download URL (presign, link, share, compat, /r, DRS, Fence) renders an uploaded text/html inline with &inline appended`, async () => {
    const c = ctx();
    const dir = fresh("inline");
    const key = `${dir}/page.html`;
    const page = Buffer.from("<script>alert(1)</script>");
    await put(c, key, page, "text/html");
    const urls: [string, string][] = [];
    const refused: string[] = [];
    for (const delivery of ["auto", "direct", "link"]) {
      const res = await presign(c, { key, method: "GET", delivery });
      if (refusedAtPresign(res)) refused.push(`presign ${delivery}`);
      else urls.push([`presign ${delivery}`, (res.body as Signed).url]);
    }
    for (const mode of ["redirect", "proxy"]) {
      const res = await api(c.url, "POST", "/v1/shares", {
        bucket: c.bucket,
        prefix: dir,
        methods: ["GET"],
        mode,
      });
      if (refusedAtPresign(res)) refused.push(`share ${mode}`);
      else urls.push([`share ${mode}`, `${(res.body as { url: string }).url}page.html`]);
    }
    const compat = await api(c.url, "GET", `/presign/${key}`);
    if (refusedAtPresign(compat)) refused.push("compat");
    else urls.push(["compat", compat.body.URL as string]);

    // a file: /r, DRS and Fence hand out its URL
    const intent = await api(c.url, "POST", "/v1/uploads", {
      bucket: c.bucket,
      key: `${dir}/file.html`,
      size: page.length,
      contentType: "text/html",
    });
    if (intent.status === 201) {
      const up = await send(intent.body.upload as Signed, { body: page });
      expect(up.status, await up.text()).toBeLessThan(300);
      const done = await api(c.url, "POST", `/v1/uploads/${intent.body.file.id}/complete`, {});
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      const id = intent.body.file.id as string;
      const session = await fetch(`${c.url}/r/${id}`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        redirect: "manual",
      });
      await session.body?.cancel();
      expect(session.status, `${c.name} /r`).toBe(302);
      urls.push(["/r", new URL(session.headers.get("location")!, c.url).href]);
      const drs = await api(c.url, "GET", `/ga4gh/drs/v1/objects/${id}/access/https`);
      expect(drs.status, JSON.stringify(drs.body)).toBe(200);
      urls.push(["DRS", drs.body.url as string]);
    } else refused.push(`/v1/uploads ${intent.status}`);
    const fence = await api(c.url, "POST", "/data/upload", { file_name: "fence.html" });
    if (fence.status === 201) {
      const headers: Record<string, string> = { "content-type": "text/html" };
      if (c.name.startsWith("azure")) headers["x-ms-blob-type"] = "BlockBlob";
      const up = await fetch(fence.body.url as string, { method: "PUT", body: page, headers });
      expect(up.status, await up.text()).toBeLessThan(300);
      const down = await api(c.url, "GET", `/data/download/${fence.body.guid as string}`);
      expect(down.status, JSON.stringify(down.body)).toBe(200);
      urls.push(["Fence", down.body.url as string]);
    } else refused.push(`fence ${fence.status}`);

    if (downloads(c)) expect(urls.map(([label]) => label)).toContain("presign auto");
    // a bucket with no downloads answers none, on every path
    else expect(urls, refused.join(", ")).toEqual([]);
    for (const [label, url] of urls) await expectNeverInline(c, label, url);
  });
};

/**
 * The Swift spec's example, word for word, on a bucket that has only a temp URL key, except that
 * its GET signature is refused (a holder could add `&inline`): a HEAD signature for the prefix
 * shows the same reach, and the bytes are read back through the reader bucket.
 */
export const swiftSpecExample: Behaviour = (ctx) => {
  it(`${ctx().name}: one container-level PUT signature uploads o1, o2, p/o3; one HEAD signature for prefix p finds p/o1, p/o2, p/p2/o3 and is refused for o4 and p3/o5; a GET signature is refused`, async () => {
    const c = ctx();
    const upload = await presigned(c, { prefix: "", method: "PUT" });
    const at = (template: string, key: string) =>
      template.replace("{key}", key.split("/").map(encodeURIComponent).join("/"));
    for (const key of ["o1", "o2", "p/o3", "p/o1", "p/o2", "p/p2/o3", "o4", "p3/o5"]) {
      const res = await send(upload, {
        url: at(upload.objectUrlTemplate!, key),
        body: Buffer.from(key),
      });
      expect(res.status, `${c.name} PUT ${key}: ${await res.text()}`).toBeLessThan(300);
    }
    expectNoDownload(await presign(c, { prefix: "p", method: "GET" }));
    const find = await presigned(c, { prefix: "p", method: "HEAD" });
    expect(find.enforcedBy.folder).toBe("backend");
    for (const key of ["p/o1", "p/o2", "p/p2/o3"]) {
      const res = await send(find, { url: at(find.objectUrlTemplate!, key) });
      expect(res.status, `${c.name} HEAD ${key}`).toBe(200);
      expect(res.headers.get("content-length")).toBe(String(key.length));
      expect(await (await read(c, key)).text()).toBe(key);
    }
    for (const key of ["o4", "p3/o5"]) {
      const res = await send(find, { url: at(find.objectUrlTemplate!, key) });
      expect([401, 403], `${c.name} HEAD ${key}`).toContain(res.status);
      await res.body?.cancel();
    }
  });

  it(`${ctx().name}: a folder PUT is a direct prefix URL whose methods say HEAD passes too, or refused`, async () => {
    const c = ctx();
    const res = await presign(c, { prefix: fresh("w"), method: "PUT" });
    if (refusedAtPresign(res)) return;
    expect(res.status).toBe(200);
    const signed = res.body as Signed;
    if (signed.enforcedBy.method === "backend") expect(signed.methods).toEqual(["PUT", "HEAD"]);
  });

  it(`${ctx().name}: a listing share is refused at presign, not at use`, async () => {
    const c = ctx();
    const res = await api(c.url, "POST", "/v1/shares", {
      bucket: c.bucket,
      prefix: "p",
      methods: ["GET", "LIST"],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("constraint_not_enforceable");
  });
};

const referrers: Behaviour = (ctx) => {
  it(`${ctx().name}: referrers is enforced by Signet (no provider binds it)`, async () => {
    const c = ctx();
    const key = `${fresh("ref")}.txt`;
    await put(c, key, Buffer.from("ref"));
    const direct = await presign(c, {
      key,
      method: "GET",
      delivery: "direct",
      referrers: ["https://app.example"],
    });
    if (c.capabilities.signetVerified) expect(direct.status).toBe(200);
    else expect(refusedAtPresign(direct)).toBe(true);
    const res = await presign(c, { key, method: "GET", referrers: ["https://app.example"] });
    if (!c.capabilities.proxy) {
      expect(refusedAtPresign(res)).toBe(true);
      return;
    }
    const signed = res.body as Signed;
    expect(signed.enforcedBy.referrers).toBe(c.capabilities.signetVerified ? "backend" : "signet");
    const none = await send(signed);
    expect(none.status).toBe(403);
    await none.body?.cancel();
    const other = await send(signed, { headers: { referer: "https://evil.example/x" } });
    expect(other.status).toBe(403);
    await other.body?.cancel();
    const ok = await send(signed, { headers: { referer: "https://app.example/page" } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("ref");
  });

  it(`${ctx().name}: referrers must be origins`, async () => {
    const res = await presign(ctx(), {
      key: "k",
      method: "GET",
      referrers: ["https://app.example/path"],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe("referrers");
  });
};

/**
 * GET, or HEAD where a GET is never direct (no bound overrides): the provider's own signature is
 * what these cases tamper with.
 */
const readMethod = (c: ContractContext) =>
  c.capabilities.binds["response overrides"] === false ? "HEAD" : "GET";

const tamperingAndExpiry: Behaviour = (ctx) => {
  it(`${ctx().name}: a URL moved to another key is refused`, async () => {
    const c = ctx();
    const dir = fresh("tamper");
    await put(c, `${dir}/a.txt`, Buffer.from("a"));
    await put(c, `${dir}/b.txt`, Buffer.from("b"));
    const signed = await presigned(c, { key: `${dir}/a.txt`, method: readMethod(c) });
    expect(signed.url).toContain("a.txt");
    const res = await send(signed, { url: signed.url.replace("a.txt", "b.txt") });
    expect([400, 401, 403], c.name).toContain(res.status);
    await res.body?.cancel();
  });

  it(`${ctx().name}: an expired URL is refused`, async () => {
    const c = ctx();
    const key = `${fresh("exp")}.txt`;
    await put(c, key, Buffer.from("e"));
    const signed = await presigned(c, { key, method: readMethod(c), expiresIn: 1 });
    await new Promise((r) => setTimeout(r, 2200));
    const res = await send(signed);
    expect([400, 401, 403], c.name).toContain(res.status);
    await res.body?.cancel();
  });
};

const constraints: Behaviour = (ctx) => {
  it(`${ctx().name}: a range-bound GET serves exactly its range, or is refused at presign`, async () => {
    const c = ctx();
    const key = `${fresh("range")}.txt`;
    await put(c, key, Buffer.from("0123456789"));
    const res = await presign(c, { key, method: "GET", range: "bytes=2-5" });
    if (refusedAtPresign(res)) return expect(c.capabilities.proxy).toBe(false);
    const got = await send(res.body as Signed);
    expect(got.status).toBe(206);
    expect(await got.text()).toBe("2345");
  });

  it(`${ctx().name}: an upload of another length than the bound one stores nothing`, async () => {
    const c = ctx();
    const key = `${fresh("len")}.txt`;
    const res = await presign(c, {
      key,
      method: "PUT",
      contentLength: 5,
      contentType: "text/plain",
    });
    if (refusedAtPresign(res)) return expect(c.capabilities.proxy).toBe(false);
    const signed = res.body as Signed;
    const bad = await send(signed, { body: Buffer.from("123456") });
    expect(bad.status, c.name).toBeGreaterThanOrEqual(400);
    await bad.body?.cancel();
    const head = await send(await presigned(c, { key, method: "HEAD" }));
    expect(head.status).toBe(404);
    const good = await send(signed, { body: Buffer.from("12345") });
    expect(good.status, await good.text()).toBeLessThan(300);
  });

  it(`${ctx().name}: an upload of another type or checksum than the bound one stores nothing`, async () => {
    const c = ctx();
    const body = Buffer.from("checked bytes");
    const sha256 = createHash("sha256").update(body).digest("base64");
    for (const [label, bound, wrong] of [
      ["type", { contentType: "text/plain" }, { headers: { "content-type": "text/html" }, body }],
      ["checksum", { checksumSha256: sha256 }, { body: Buffer.from("other bytes!!") }],
    ] as const) {
      const key = `${fresh(label)}.txt`;
      const res = await presign(c, { key, method: "PUT", ...bound });
      if (refusedAtPresign(res)) {
        expect(c.capabilities.proxy, `${c.name} ${label}`).toBe(false);
        continue;
      }
      const signed = res.body as Signed;
      const bad = await send(signed, wrong);
      expect(bad.status, `${c.name} ${label}: ${await bad.text()}`).toBeGreaterThanOrEqual(400);
      const head = await send(await presigned(c, { key, method: "HEAD" }));
      expect(head.status, `${c.name} ${label}`).toBe(404);
      const good = await send(signed, { body });
      expect(good.status, `${c.name} ${label}: ${await good.text()}`).toBeLessThan(300);
    }
  });

  it(`${ctx().name}: an IP limit lets its range in and keeps others out`, async () => {
    const c = ctx();
    const key = `${fresh("ip")}.txt`;
    await put(c, key, Buffer.from("ip"));
    const inside = await presign(c, { key, method: "GET", ip: "127.0.0.0/8" });
    if (refusedAtPresign(inside)) return expect(c.capabilities.proxy).toBe(false);
    expect((await send(inside.body as Signed)).status).toBe(200);
    const outside = await presign(c, { key, method: "GET", ip: "10.0.0.0/8" });
    if (c.gaps.includes("ip") && outside.body.enforcedBy.ip === "backend")
      return expect(new URL(outside.body.url).searchParams.get("sip")).toBe(
        "10.0.0.0-10.255.255.255",
      );
    const res = await send(outside.body as Signed);
    expect([401, 403]).toContain(res.status);
    await res.body?.cancel();
  });

  it(`${ctx().name}: a folder scope is the backend's where it declares one, else a link or refused`, async () => {
    const c = ctx();
    // HEAD, not GET: a GET is never direct where overrides are unbound (see activeContent)
    const res = await presign(c, { prefix: fresh("f"), method: "HEAD", delivery: "direct" });
    if (c.capabilities.folderScope === "none") expect(refusedAtPresign(res)).toBe(true);
    else expect(res.status, JSON.stringify(res.body)).toBe(200);
    const auto = await presign(c, { prefix: fresh("f"), method: "HEAD" });
    expect(auto.status).toBe(200);
    expect(auto.body.enforcedBy.folder).toBe(
      c.capabilities.folderScope === "none" ? "signet" : "backend",
    );
  });

  it(`${ctx().name}: a form POST is a form where declared, else constraint_not_enforceable`, async () => {
    const c = ctx();
    const res = await presign(c, {
      key: `${fresh("form")}.bin`,
      method: "POST",
      contentLengthRange: [0, 1024],
    });
    if (c.capabilities.formPost) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.fields).toBeTypeOf("object");
    } else expect(refusedAtPresign(res)).toBe(true);
    // A folder form lets the browser name the key: only where Signet sees each use (files stay
    // true), so a cloud backend refuses it at presign.
    const folder = await presign(c, {
      prefix: fresh("form"),
      method: "POST",
      contentLengthRange: [0, 1024],
    });
    if (c.capabilities.formPost && c.capabilities.signetVerified)
      expect(folder.status, JSON.stringify(folder.body)).toBe(200);
    else expect(refusedAtPresign(folder)).toBe(true);
  });
};

/**
 * Conditional writes (If-None-Match: *, If-Match) on every backend. Where the store checks them
 * atomically (`conditionalWrites`: the embedded store) the URL is its own; elsewhere no provider's
 * signature binds the header (tempurl and SAS sign no header, our SigV4 signer signs none beyond
 * the range and the GCS backend leaves them to links), so issuance must route the scope through
 * a link that checks the header: `enforcedBy.headers` says which, and both keep their word.
 */
const conditionalWrites: Behaviour = (ctx) => {
  /** Presigns a PUT requiring `headers`, checking who enforces them; undefined when refused. */
  async function conditional(c: ContractContext, key: string, headers: Record<string, string>) {
    const res = await presign(c, { key, method: "PUT", headers });
    if (!c.capabilities.proxy) {
      // a link that must proxy, without credentials to do it: refused at presign
      expect(refusedAtPresign(res), JSON.stringify(res.body)).toBe(true);
      return undefined;
    }
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const signed = res.body as Signed;
    const enforcer = c.capabilities.conditionalWrites ? "backend" : "signet";
    expect(signed.enforcedBy.headers, c.name).toBe(enforcer);
    expect(signed.enforcedBy.method, c.name).toBe(enforcer);
    expect(signed.headers).toMatchObject(headers);
    return signed;
  }

  it(`${ctx().name}: If-None-Match: * writes a new key once and never overwrites`, async () => {
    const c = ctx();
    const key = `${fresh("cond")}.txt`;
    const signed = await conditional(c, key, { "if-none-match": "*" });
    if (signed === undefined) return;
    const first = await send(signed, { body: Buffer.from("first") });
    expect(first.status, await first.text()).toBeLessThan(300);
    const again = await send(signed, { body: Buffer.from("second") });
    expect(again.status, await again.text()).toBe(412);
    // a client leaving the header out is refused too: the header is part of the scope
    const bare = await fetch(signed.url, { method: "PUT", body: new Blob([Buffer.from("third")]) });
    expect([403, 412], await bare.text()).toContain(bare.status);
    expect(await (await read(c, key)).text()).toBe("first");
  });

  it(`${ctx().name}: If-Match writes only over the version it names`, async () => {
    const c = ctx();
    const key = `${fresh("cond")}.txt`;
    await put(c, key, Buffer.from("first"));
    const head = await send(await presigned(c, { key, method: "HEAD" }));
    const etag = head.headers.get("etag")!;
    expect(etag).toBeTruthy();
    const stale = await conditional(c, key, { "if-match": '"not-the-etag"' });
    if (stale === undefined) return;
    const refused = await send(stale, { body: Buffer.from("second") });
    expect(refused.status, await refused.text()).toBe(412);
    expect(await (await read(c, key)).text()).toBe("first");
    const current = (await conditional(c, key, { "if-match": etag }))!;
    const written = await send(current, { body: Buffer.from("third") });
    expect(written.status, await written.text()).toBeLessThan(300);
    expect(await (await read(c, key)).text()).toBe("third");
    // the version it named is gone: the same URL cannot write again
    const twice = await send(current, { body: Buffer.from("fourth") });
    expect(twice.status, await twice.text()).toBe(412);
  });
};

const refusals: Behaviour = (ctx) => {
  it(`${ctx().name}: refused credentials are 503 backend_unavailable naming the provider`, async (t) => {
    const c = ctx();
    if (c.refusedBucket === undefined)
      t.skip(
        "no provider credentials to refuse: the embedded store, or a bucket with only a temp URL key",
      );
    // a proxied listing: Signet's own call with its own credentials, on every backend
    const share = await api(c.url, "POST", "/v1/shares", {
      bucket: c.refusedBucket,
      prefix: "x",
      methods: ["GET", "LIST"],
      mode: "proxy",
    });
    expect(share.status, JSON.stringify(share.body)).toBe(201);
    const listed = await fetch(share.body.url as string);
    const body = (await listed.json()) as { error: { code: string; message: string } };
    expect(listed.status, JSON.stringify(body)).toBe(503);
    expect(body.error.code).toBe("backend_unavailable");
    expect(body.error.message).toMatch(/^(s3|gcs|azure|swift): /);
    expect(body.error.message).not.toMatch(/not-the|secret|signature=|sig=/i);
  });

  it(`${ctx().name}: a revocable URL is refused once revoked, whoever enforces it`, async () => {
    const c = ctx();
    const key = `${fresh("revoke")}.txt`;
    await put(c, key, Buffer.from("r"));
    const res = await presign(c, { key, method: "GET", revocable: true });
    if (refusedAtPresign(res)) return expect(c.capabilities.proxy).toBe(false);
    expect(res.status).toBe(200);
    const signed = res.body as Signed & { id: string };
    expect(signed.enforcedBy.revocable).toBeDefined();
    const before = await send(signed);
    expect(before.status).toBe(200);
    await before.body?.cancel();
    const revoked = await api(c.url, "POST", "/v1/revocations", { tokenId: signed.id });
    expect(revoked.status, JSON.stringify(revoked.body)).toBeLessThan(300);
    const after = await send(signed);
    expect([401, 403], c.name).toContain(after.status);
    await after.body?.cancel();
  });
};

const multipart: Behaviour = (ctx) => {
  it(`${ctx().name}: multipart parts through their signed requests, then complete assembles them`, async () => {
    const c = ctx();
    const { size, partSize } = c.multipart;
    const bytes = randomBytes(size);
    const sha256 = createHash("sha256").update(bytes).digest("base64");
    const key = `${fresh("multi")}/big.bin`;
    const intent = await api(c.url, "POST", "/v1/uploads", {
      bucket: c.bucket,
      key,
      size,
      sha256,
      contentType: "application/octet-stream",
      multipart: { partSize },
    });
    if (!c.capabilities.proxy) {
      // Signet cannot start or complete an upload without its own credentials: refused now
      expect([400, 503], JSON.stringify(intent.body)).toContain(intent.status);
      return;
    }
    expect(intent.status, JSON.stringify(intent.body)).toBe(201);
    const parts = intent.body.upload.parts as (Signed & {
      partNumber: number;
      start: number;
      end: number;
    })[];
    expect(parts).toHaveLength(Math.ceil(size / partSize));
    const uploaded: { partNumber: number; etag: string }[] = [];
    for (const part of parts) {
      const res = await send(part, { body: bytes.subarray(part.start, part.end + 1) });
      expect(res.status, `${c.name} part ${part.partNumber}`).toBeLessThan(300);
      uploaded.push({ partNumber: part.partNumber, etag: c.partEtag(part, res) });
      await res.body?.cancel();
    }
    // A wrong parts list is the request's error (400, a code naming what), and the intent
    // stays pending: the right list still completes it.
    const id = intent.body.file.id as string;
    const wrong = async (list: { partNumber: number; etag: string }[], code: string) => {
      const res = await api(c.url, "POST", `/v1/uploads/${id}/complete`, { parts: list });
      expect(res.status, `${c.name} ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error).toMatchObject({ code, field: "parts" });
    };
    await wrong([...uploaded, { partNumber: uploaded.length + 1, etag: "x" }], "invalid_part");
    await wrong([...uploaded].reverse(), "invalid_part_order");
    await wrong([uploaded[0]!, uploaded[0]!, ...uploaded.slice(1)], "invalid_part_order");
    await wrong(
      uploaded.map((p, i) => (i === 0 ? { ...p, etag: `"${"0".repeat(32)}"` } : p)),
      "invalid_part",
    );
    await wrong(uploaded.slice(0, -1), "invalid_part");
    const done = await api(c.url, "POST", `/v1/uploads/${id}/complete`, {
      parts: uploaded,
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.file).toMatchObject({ status: "committed", size, sha256 });
    const got = await read(c, key);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  });
};

/** Stores `bytes` at `key` with Signet's credentials. */
async function store(backend: Backend, key: string, bytes: Buffer) {
  return backend.put(key, Readable.from([bytes]), {
    contentType: "application/octet-stream",
    contentLength: bytes.length,
  });
}

/** The bytes at `key` (undefined when there is no object). */
async function bytesAt(backend: Backend, key: string): Promise<Buffer | undefined> {
  const got = await backend.get(key);
  if (got === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of got.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Complete checks the staged object, then promotes it; the intent's upload URL lives until the
 * commit, so other bytes may be staged in between. `Backend.promote(from, to, checked)` moves
 * only the object `checked` describes, or is 409 `conflict` and leaves the destination as it
 * was (session 9; every backend, with its provider's own source precondition).
 */
const promotePinned: Behaviour = (ctx) => {
  it(`${ctx().name}: promote moves only the checked staged bytes, else 409 conflict`, async () => {
    const { backend } = ctx();
    const name = fresh("pin");
    const from = stagingKey(name);
    const to = `${name}/file.bin`;
    const before = Buffer.from("the bytes a committed file serves");
    await store(backend, to, before);
    // the same size, so that only the bytes differ
    const checkedBytes = randomBytes(64);
    const otherBytes = randomBytes(64);
    await store(backend, from, checkedBytes);
    const checked = await backend.head(from);
    expect(checked).toBeDefined();
    await store(backend, from, otherBytes); // a PUT through the intent's still-live URL

    const refused = await backend.promote(from, to, checked!).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused, "promote of bytes no longer staged").toMatchObject({ code: "conflict" });
    expect((refused as Error).message).toMatch(/complete again/);
    expect((await bytesAt(backend, to))?.equals(before), "destination unchanged").toBe(true);
    // the bytes staged since stay, for complete to check again
    expect((await bytesAt(backend, from))?.equals(otherBytes)).toBe(true);

    const current = await backend.head(from);
    const promoted = await backend.promote(from, to, current!);
    expect(promoted).toMatchObject({ key: to, size: otherBytes.length });
    expect((await bytesAt(backend, to))?.equals(otherBytes)).toBe(true);
    expect(await backend.head(from)).toBeUndefined();
    await backend.delete(to);
  });
};

/**
 * Stages `bytes` at `key` as a multipart object, its parts PUT through URLs the backend signs
 * (as an intent's part URLs are), then assembled: a Swift SLO manifest, an S3 multipart object,
 * Azure's block list, GCS's XML multipart, the embedded store's assembly.
 */
async function storeInParts(c: ContractContext, key: string, bytes: Buffer) {
  const { backend } = c;
  const { partSize } = c.multipart;
  const uploadId = await backend.createMultipart(key, {
    contentType: "application/octet-stream",
  });
  const parts: { partNumber: number; etag: string }[] = [];
  for (let start = 0; start < bytes.length; start += partSize) {
    const body = bytes.subarray(start, start + partSize);
    const partNumber = parts.length + 1;
    const scope = {
      bucket: c.readBucket,
      methods: ["PUT" as const],
      key,
      expiresAt: new Date(Date.now() + 600_000),
      principal: "system:contract",
      tokenId: randomBytes(12).toString("base64url"),
      constraints: { contentLength: body.length },
      part: { uploadId, partNumber },
    };
    // the part's length where the provider binds it (Swift and Azure do not)
    if (backend.unbound(scope).includes("contentLength")) scope.constraints = {} as never;
    const signed = backend.presign(scope);
    const res = await send(signed, { body });
    expect(res.status, `${c.name} part ${partNumber}: ${await res.clone().text()}`).toBeLessThan(
      300,
    );
    parts.push({ partNumber, etag: c.partEtag(signed, res) });
  }
  await backend.completeMultipart(key, uploadId, parts);
}

/** promotePinned with multipart objects staged (Swift pins a manifest by its own ETag). */
const promotePinnedParts: Behaviour = (ctx) => {
  it(`${ctx().name}: promote of a multipart object moves only the checked one, else 409 conflict`, async () => {
    const c = ctx();
    const { backend } = c;
    const name = fresh("pin-parts");
    const from = stagingKey(name);
    const to = `${name}/big.bin`;
    const size = c.multipart.partSize + 100; // two parts, the last short
    const checkedBytes = randomBytes(size);
    const otherBytes = randomBytes(size);
    await storeInParts(c, from, checkedBytes);
    const checked = await backend.head(from);
    expect(checked).toMatchObject({ size });
    await storeInParts(c, from, otherBytes);

    const refused = await backend.promote(from, to, checked!).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused, "promote of a multipart object no longer staged").toMatchObject({
      code: "conflict",
    });
    expect(await backend.head(to)).toBeUndefined();

    const current = await backend.head(from);
    await backend.promote(from, to, current!);
    expect((await bytesAt(backend, to))?.equals(otherBytes)).toBe(true);
    expect(await backend.head(from)).toBeUndefined();
    await backend.delete(to);
  });
};

const missingBuckets: Behaviour = (ctx) => {
  it(`${ctx().name}: /readyz checks each bucket; a missing bucket or container is named, and an upload there says so`, async () => {
    const c = ctx();
    const ready = await api(c.url, "GET", "/readyz", undefined, null);
    const checked = (r: string) => (c.capabilities.proxy ? r === "ok" : r.startsWith("skipped:"));
    expect(checked(ready.body.checks["bucket:c"]), JSON.stringify(ready.body)).toBe(true);
    if (c.missingBucket === undefined) return expect(ready.status).toBe(200);
    if (!c.capabilities.proxy)
      return expect(ready.body.checks[`bucket:${c.missingBucket}`]).toMatch(/^skipped:/);
    expect(ready.status).toBe(503);
    expect(ready.body.checks[`bucket:${c.missingBucket}`]).toMatch(
      /^unavailable: \w+: bucket missing \(/,
    );
    // `signet put` (the SDK under it): a clear code and message, never a raw http_error.
    const dir = await mkdtemp(join(tmpdir(), "signet-missing-"));
    try {
      await writeFile(join(dir, "a.txt"), "bytes for a missing container");
      const err = await new SignetClient({ server: c.url, key: ADMIN_KEY })
        .put(join(dir, "a.txt"), c.missingBucket, `${fresh("missing")}.txt`, { resume: false })
        .then(
          () => undefined,
          (e: unknown) => e as SignetApiError,
        );
      expect(err, c.name).toBeInstanceOf(SignetApiError);
      expect(err).toMatchObject({ code: "backend_unavailable" });
      expect(err!.message).toMatch(/bucket missing/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
};

/** Every behaviour, in order. */
export const BEHAVIOURS: Behaviour[] = [
  roundTrip,
  putThroughLinks,
  activeContent,
  inlineParameter,
  referrers,
  tamperingAndExpiry,
  constraints,
  conditionalWrites,
  refusals,
  multipart,
  promotePinned,
  promotePinnedParts,
  missingBuckets,
];
