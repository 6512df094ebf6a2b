/**
 * A minimal fake of GCS's XML API on 127.0.0.1, for tests. It verifies the V4 signature of every
 * request the way GCS does, rebuilding the canonical request from what it receives (method, raw
 * path, query, headers) and checking it with the service account's public key or the HMAC
 * secret, sharing no code with src/backends/gcs/gcs-signing.ts. Then it keeps objects and multipart
 * uploads in memory. It knows only what Signet uses: HEAD, GET (one Range, one
 * `generation`), PUT (and a copy with x-goog-copy-source, honouring
 * x-goog-copy-source-if-generation-match) and DELETE of an object; list-type=2 listings; XML multipart (initiate, upload part, list parts, complete,
 * abort). It writes every non-ASCII character of its XML as a numeric reference, as a reader
 * must expect from any XML producer.
 */
import {
  createHash,
  createHmac,
  createPublicKey,
  randomBytes,
  timingSafeEqual,
  verify,
  type KeyObject,
} from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What a signature may be checked against: a service account's key, or an HMAC key. */
export type FakeGcsKey =
  { clientEmail: string; publicKey: KeyObject } | { hmacAccessId: string; hmacSecret: string };

export const serviceAccountKey = (account: {
  client_email: string;
  private_key: string;
}): FakeGcsKey => ({
  clientEmail: account.client_email,
  publicKey: createPublicKey(account.private_key),
});

export interface ReceivedRequest {
  method: string;
  /** the raw request target: path and query, as sent */
  target: string;
  /** lower-case names; host as the client sent it (a port is ignored, as signers omit it) */
  headers: Record<string, string | string[] | undefined>;
}

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/** Why GCS would refuse this request's V4 signature, or undefined when it accepts it. */
export function v4Refusal(req: ReceivedRequest, key: FakeGcsKey, now: Date): string | undefined {
  const at = req.target.indexOf("?");
  if (at === -1) return "no query";
  const rawPath = req.target.slice(0, at);
  let pairs: [string, string][];
  let path: string;
  try {
    pairs = req.target
      .slice(at + 1)
      .split("&")
      .map((pair) => {
        const eq = pair.indexOf("=");
        const [name, value] = eq === -1 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
        return [decodeURIComponent(name), decodeURIComponent(value)];
      });
    path = rawPath
      .split("/")
      .map((segment) => rfc3986(decodeURIComponent(segment)))
      .join("/");
  } catch {
    return "malformed percent-encoding";
  }
  const params = new Map(pairs);
  if (params.size !== pairs.length) return "a query parameter is repeated";
  const param = (name: string) => params.get(`X-Goog-${name}`);
  const [algorithm, credential, date, expires, signedHeaders, signature] = [
    "Algorithm",
    "Credential",
    "Date",
    "Expires",
    "SignedHeaders",
    "Signature",
  ].map(param);
  if (!algorithm || !credential || !date || !expires || !signedHeaders || !signature)
    return "a signature parameter is missing";

  const [accessId, ...scope] = credential.split("/");
  const expected =
    "publicKey" in key
      ? { algorithm: "GOOG4-RSA-SHA256", accessId: key.clientEmail }
      : { algorithm: "GOOG4-HMAC-SHA256", accessId: key.hmacAccessId };
  if (algorithm !== expected.algorithm || accessId !== expected.accessId)
    return "unknown credential";
  const datestamp = date.slice(0, 8);
  if (scope.join("/") !== `${datestamp}/auto/storage/goog4_request`) return "bad credential scope";
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (match === null) return "bad X-Goog-Date";
  const signedAt = Date.UTC(
    +match[1]!,
    +match[2]! - 1,
    +match[3]!,
    +match[4]!,
    +match[5]!,
    +match[6]!,
  );
  if (!/^\d+$/.test(expires) || +expires < 1 || +expires > 604800) return "bad X-Goog-Expires";
  if (now.getTime() > signedAt + +expires * 1000) return "expired";
  if (now.getTime() < signedAt - 60_000) return "signed in the future";

  const headerValue = (name: string): string | undefined => {
    const value = req.headers[name];
    const joined = Array.isArray(value) ? value.join(",") : value;
    return name === "host" ? joined?.replace(/:\d+$/, "") : joined;
  };
  const names = signedHeaders.split(";");
  if (!names.includes("host") || names.join(";") !== [...names].sort().join(";"))
    return "bad X-Goog-SignedHeaders";
  const canonicalHeaders: string[] = [];
  for (const name of names) {
    const value = headerValue(name);
    if (value === undefined) return `the signed header ${name} is missing`;
    canonicalHeaders.push(`${name}:${value.trim().replace(/\s+/g, " ")}\n`);
  }
  const query = pairs
    .filter(([name]) => name !== "X-Goog-Signature")
    .map(([name, value]) => [rfc3986(name), rfc3986(value)])
    .sort(([a, av], [b, bv]) => (a! < b! ? -1 : a! > b! ? 1 : av! < bv! ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const canonicalRequest = [
    req.method,
    path,
    query,
    canonicalHeaders.join(""),
    signedHeaders,
    names.includes("x-goog-content-sha256")
      ? headerValue("x-goog-content-sha256")
      : "UNSIGNED-PAYLOAD",
  ].join("\n");
  const stringToSign = [
    algorithm,
    date,
    scope.join("/"),
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  if (!/^[0-9a-f]+$/.test(signature)) return "bad X-Goog-Signature";
  const given = Buffer.from(signature, "hex");
  let accepted: boolean;
  if ("publicKey" in key) {
    accepted = verify("sha256", Buffer.from(stringToSign), key.publicKey, given);
  } else {
    let derived = createHmac("sha256", `GOOG4${key.hmacSecret}`).update(datestamp).digest();
    for (const part of ["auto", "storage", "goog4_request"])
      derived = createHmac("sha256", derived).update(part).digest();
    const wanted = createHmac("sha256", derived).update(stringToSign).digest();
    accepted = given.length === wanted.length && timingSafeEqual(given, wanted);
  }
  return accepted ? undefined : "SignatureDoesNotMatch";
}

interface StoredObject {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
  /** GCS's generation: a new one for every write (x-goog-generation) */
  generation?: string;
}

interface Upload {
  key: string;
  contentType: string;
  parts: Map<number, { body: Buffer; etag: string }>;
}

export interface FakeGcs {
  /** http://127.0.0.1:{port}, the backend's endpoint */
  url: string;
  objects: Map<string, StoredObject>;
  uploads: Map<string, Upload>;
  /** why each refused request was refused by the signature check, in order */
  refusals: string[];
  /** answers the next signed request with this status instead of serving it */
  failNext(status: number): void;
  close(): Promise<void>;
}

const MAX_BODY = 8 << 20;

export async function startFakeGcs(options: {
  bucket: string;
  key: FakeGcsKey;
  /** the most parts a ListParts page holds (GCS: 1,000) */
  partsPerPage?: number;
}): Promise<FakeGcs> {
  const objects = new Map<string, StoredObject>();
  const uploads = new Map<string, Upload>();
  const refusals: string[] = [];
  let failure: number | undefined;

  const server = createServer((req, res) => {
    void read(req).then(
      (body) => {
        const target = req.url ?? "/";
        const refusal = v4Refusal(
          { method: req.method ?? "", target, headers: req.headers },
          options.key,
          new Date(),
        );
        if (refusal !== undefined) {
          refusals.push(refusal);
          return error(res, 403, refusal === "expired" ? "ExpiredToken" : "SignatureDoesNotMatch");
        }
        if (failure !== undefined) {
          const status = failure;
          failure = undefined;
          return error(res, status, status >= 500 ? "InternalError" : "Injected");
        }
        serve(req.method ?? "", target, req.headers, body, res);
      },
      () => error(res, 413, "EntityTooLarge"),
    );
  });

  let generation = 1_700_000_000_000_000;
  const nextGeneration = () => String(++generation);

  function serve(
    method: string,
    target: string,
    headers: IncomingMessage["headers"],
    body: Buffer,
    res: ServerResponse,
  ): void {
    const url = new URL(target, "http://fake");
    const q = url.searchParams;
    const [, bucket, ...segments] = target.slice(0, target.indexOf("?")).split("/");
    if (bucket !== options.bucket) return error(res, 404, "NoSuchBucket");
    const key = segments.map(decodeURIComponent).join("/");
    if (segments.length === 0) {
      if (method === "GET" && q.get("list-type") === "2") return list(q, res);
      return error(res, 400, "NotImplemented");
    }
    if (method === "POST" && q.has("uploads")) {
      const uploadId = randomBytes(12).toString("base64"); // "+", "/" and "=" need encoding
      uploads.set(uploadId, {
        key,
        contentType: headers["content-type"] ?? "application/octet-stream",
        parts: new Map(),
      });
      return xml(res, 200, "InitiateMultipartUploadResult", [
        ["Bucket", bucket],
        ["Key", key],
        ["UploadId", uploadId],
      ]);
    }
    const uploadId = q.get("uploadId");
    if (uploadId !== null) {
      const upload = uploads.get(uploadId);
      if (upload === undefined || upload.key !== key) return error(res, 404, "NoSuchUpload");
      return multipart(method, q, uploadId, upload, body, res);
    }
    const object = objects.get(key);
    switch (method) {
      case "PUT": {
        const copySource = headers["x-goog-copy-source"];
        if (typeof copySource === "string") {
          // The XML API's copy: "{bucket}/{object}", the object's segments percent-encoded.
          const [srcBucket, ...srcSegments] = copySource.replace(/^\//, "").split("/");
          const source =
            srcBucket === options.bucket
              ? objects.get(srcSegments.map(decodeURIComponent).join("/"))
              : undefined;
          if (source === undefined) return error(res, 404, "NoSuchKey");
          // "If any of the conditional copy headers fail to match the condition you specify
          // you will get a 412 Precondition Failed status code and ... PreconditionFailed in
          // the Code element" (XML API, "Copy an object"; the header is listed in "HTTP
          // headers and common query string parameters for JSON/XML").
          const ifGeneration = headers["x-goog-copy-source-if-generation-match"];
          if (typeof ifGeneration === "string" && ifGeneration !== source.generation)
            return error(res, 412, "PreconditionFailed");
          objects.set(key, { ...source, lastModified: new Date(), generation: nextGeneration() });
          return xml(res, 200, "CopyObjectResult", [["ETag", source.etag]]);
        }
        const etag = `"${createHash("md5").update(body).digest("hex")}"`;
        const contentType = headers["content-type"] ?? "application/octet-stream";
        objects.set(key, {
          body,
          contentType,
          etag,
          lastModified: new Date(),
          generation: nextGeneration(),
        });
        res.writeHead(200, { etag }).end();
        return;
      }
      case "DELETE":
        if (!objects.delete(key)) return error(res, 404, "NoSuchKey");
        res.writeHead(204).end();
        return;
      case "HEAD":
      case "GET":
        // ?generation= reads that generation only (GCS keeps no others here).
        if (
          object === undefined ||
          (q.has("generation") && q.get("generation") !== object.generation)
        )
          return error(res, 404, "NoSuchKey");
        return download(method, object, headers.range, res);
      default:
        return error(res, 405, "MethodNotAllowed");
    }
  }

  function download(
    method: string,
    object: StoredObject,
    range: string | undefined,
    res: ServerResponse,
  ): void {
    const size = object.body.length;
    const meta = {
      "content-type": object.contentType,
      etag: object.etag,
      ...(object.generation === undefined ? {} : { "x-goog-generation": object.generation }),
      "last-modified": object.lastModified.toUTCString(),
      "accept-ranges": "bytes",
    };
    const match = range === undefined ? null : /^bytes=(\d+)-(\d+)$/.exec(range);
    if (match === null) {
      res.writeHead(200, { ...meta, "content-length": size });
      res.end(method === "GET" ? object.body : undefined);
      return;
    }
    const start = Number(match[1]);
    const end = Math.min(Number(match[2]), size - 1);
    if (start >= size) return error(res, 416, "InvalidRange");
    const bytes = object.body.subarray(start, end + 1);
    res.writeHead(206, {
      ...meta,
      "content-length": bytes.length,
      "content-range": `bytes ${start}-${end}/${size}`,
    });
    res.end(method === "GET" ? bytes : undefined);
  }

  function list(q: URLSearchParams, res: ServerResponse): void {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const maxKeys = Number(q.get("max-keys") ?? 1000);
    const token = q.get("continuation-token");
    const after = token === null ? undefined : Buffer.from(token, "base64url").toString();
    const entries: ({ key: string } | { prefix: string })[] = [];
    let truncated = false;
    for (const key of [...objects.keys()].sort()) {
      if (!key.startsWith(prefix)) continue;
      if (after !== undefined && (key <= after || (after.endsWith("/") && key.startsWith(after))))
        continue;
      const rest = key.slice(prefix.length);
      const cut = delimiter === "" ? -1 : rest.indexOf(delimiter);
      const entry = cut === -1 ? { key } : { prefix: prefix + rest.slice(0, cut + 1) };
      const last = entries.at(-1);
      if (
        "prefix" in entry &&
        last !== undefined &&
        "prefix" in last &&
        last.prefix === entry.prefix
      )
        continue;
      if (entries.length === maxKeys) {
        truncated = true;
        break;
      }
      entries.push(entry);
    }
    const fields: [string, string | [string, string][]][] = [
      ["Name", options.bucket],
      ["Prefix", prefix],
      ["KeyCount", String(entries.length)],
      ["MaxKeys", String(maxKeys)],
      ["IsTruncated", String(truncated)],
    ];
    for (const entry of entries) {
      if ("prefix" in entry) {
        fields.push(["CommonPrefixes", [["Prefix", entry.prefix]]]);
        continue;
      }
      const object = objects.get(entry.key)!;
      fields.push([
        "Contents",
        [
          ["Key", entry.key],
          ["LastModified", object.lastModified.toISOString()],
          ["ETag", object.etag],
          ["Size", String(object.body.length)],
          ["StorageClass", "STANDARD"],
        ],
      ]);
    }
    const last = entries.at(-1);
    if (truncated && last !== undefined) {
      const next = "prefix" in last ? last.prefix : last.key;
      fields.push(["NextContinuationToken", Buffer.from(next).toString("base64url")]);
    }
    xml(res, 200, "ListBucketResult", fields);
  }

  function multipart(
    method: string,
    q: URLSearchParams,
    uploadId: string,
    upload: Upload,
    body: Buffer,
    res: ServerResponse,
  ): void {
    if (method === "PUT") {
      const partNumber = Number(q.get("partNumber"));
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000)
        return error(res, 400, "InvalidArgument");
      const etag = `"${createHash("md5").update(body).digest("hex")}"`;
      upload.parts.set(partNumber, { body, etag });
      res.writeHead(200, { etag }).end();
      return;
    }
    if (method === "DELETE") {
      uploads.delete(uploadId);
      res.writeHead(204).end();
      return;
    }
    if (method === "GET") {
      const marker = Number(q.get("part-number-marker") ?? 0);
      const numbers = [...upload.parts.keys()].sort((a, b) => a - b).filter((n) => n > marker);
      const page = numbers.slice(0, options.partsPerPage ?? 1000);
      const fields: [string, string | [string, string][]][] = [
        ["Key", upload.key],
        ["UploadId", uploadId],
        ["IsTruncated", String(page.length < numbers.length)],
      ];
      if (page.length < numbers.length) fields.push(["NextPartNumberMarker", String(page.at(-1))]);
      for (const n of page) {
        const part = upload.parts.get(n)!;
        fields.push([
          "Part",
          [
            ["PartNumber", String(n)],
            ["ETag", part.etag],
            ["Size", String(part.body.length)],
          ],
        ]);
      }
      return xml(res, 200, "ListPartsResult", fields);
    }
    if (method !== "POST") return error(res, 405, "MethodNotAllowed");
    const text = body.toString("utf8");
    const whole = /^<CompleteMultipartUpload>((?:<Part>.*?<\/Part>)+)<\/CompleteMultipartUpload>$/;
    const listed = whole.exec(text)?.[1];
    if (listed === undefined) return error(res, 400, "MalformedXML");
    const chosen = [
      ...listed.matchAll(/<Part><PartNumber>(\d+)<\/PartNumber><ETag>(.*?)<\/ETag><\/Part>/g),
    ];
    const buffers: Buffer[] = [];
    let previous = 0;
    for (const [, number, etag] of chosen) {
      const n = Number(number);
      if (n <= previous) return error(res, 400, "InvalidPartOrder");
      previous = n;
      const part = upload.parts.get(n);
      if (part === undefined || part.etag !== unescape(etag!))
        return error(res, 400, "InvalidPart");
      buffers.push(part.body);
    }
    const all = Buffer.concat(buffers);
    const etag = `"${createHash("md5").update(all).digest("hex")}-${chosen.length}"`;
    objects.set(upload.key, {
      body: all,
      contentType: upload.contentType,
      etag,
      lastModified: new Date(),
      generation: nextGeneration(),
    });
    uploads.delete(uploadId);
    xml(res, 200, "CompleteMultipartUploadResult", [
      ["Bucket", options.bucket],
      ["Key", upload.key],
      ["ETag", etag],
    ]);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    uploads,
    refusals,
    failNext(status) {
      failure = status;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

async function read(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error("too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Every character outside printable ASCII as a numeric reference. */
const escape = (text: string) =>
  [...text]
    .map((c) => (/^[\x20-\x7e]$/.test(c) && !/[&<>"']/.test(c) ? c : `&#${c.codePointAt(0)};`))
    .join("");

const unescape = (text: string) =>
  text.replace(/&(?:#(\d+)|quot|amp|lt|gt|apos);/g, (entity, code: string | undefined) =>
    code !== undefined
      ? String.fromCodePoint(Number(code))
      : ({ "&quot;": '"', "&amp;": "&", "&lt;": "<", "&gt;": ">", "&apos;": "'" }[entity] ?? ""),
  );

function xml(
  res: ServerResponse,
  status: number,
  root: string,
  fields: [string, string | [string, string][]][],
): void {
  const element = ([name, value]: [string, string | [string, string][]]): string =>
    `<${name}>${typeof value === "string" ? escape(value) : value.map(element).join("")}</${name}>`;
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${root} xmlns="http://doc.s3.amazonaws.com/2006-03-01">${fields.map(element).join("")}</${root}>`;
  res.writeHead(status, { "content-type": "application/xml; charset=UTF-8" }).end(body);
}

function error(res: ServerResponse, status: number, code: string): void {
  const body = `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>refused</Message></Error>`;
  res.writeHead(status, { "content-type": "application/xml; charset=UTF-8" }).end(body);
}
