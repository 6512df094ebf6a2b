/**
 * The AWS SigV4 test suites (test/fixtures/conformance/README.md §2) run through the generic
 * signer: the classic suite (header signing only) and aws-c-auth's (header and query signing).
 * Each case compares the canonical request, the string to sign, the signature, and what the
 * signed request adds (the Authorization header, or the presigned query as a set).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type Credentials,
  type Pair,
  type SignableRequest,
  presign,
  signHeaders,
  uriEncodePath,
} from "../../src/backends/s3/sigv4.js";

const ROOT = join(import.meta.dirname, "../fixtures/conformance/aws");
const index = JSON.parse(readFileSync(join(ROOT, "index.json"), "utf8")) as {
  "sig-v4-test-suite": { cases: string[]; count: number };
  "aws-c-auth-v4": { cases: { name: string }[]; count: number };
};
const read = (...parts: string[]) => readFileSync(join(ROOT, ...parts), "utf8");

interface Context {
  credentials: { access_key_id: string; secret_access_key: string; token?: string };
  expiration_in_seconds: number;
  normalize: boolean;
  region: string;
  service: string;
  sign_body: boolean;
  timestamp: string;
  omit_session_token?: boolean;
}
const context = (name: string) =>
  JSON.parse(read("aws-c-auth-v4", name, "context.json")) as Context;

interface HttpMessage {
  method: string;
  path: string;
  query: Pair[];
  headers: Pair[];
  body: string;
}

/** Parses the suites' raw HTTP: a request line, headers (continuation lines folded in), a body. */
function parseMessage(text: string): HttpMessage {
  const [head, ...bodyParts] = text.split("\n\n");
  const [requestLine, ...headerLines] = head!.split("\n");
  const method = requestLine!.slice(0, requestLine!.indexOf(" "));
  // the target may hold raw spaces ("/example space/"), so cut at the last space
  const target = requestLine!.slice(method.length + 1, requestLine!.lastIndexOf(" "));
  const [path, rawQuery] = target.split(/\?(.*)/s) as [string, string | undefined];
  const headers: [string, string][] = [];
  for (const line of headerLines) {
    if (/^[ \t]/.test(line)) headers[headers.length - 1]![1] += `\n${line}`;
    else if (line !== "")
      headers.push([line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]);
  }
  return { method, path, query: parseQuery(rawQuery ?? ""), headers, body: bodyParts.join("\n\n") };
}

function parseQuery(raw: string): Pair[] {
  if (raw === "") return [];
  return raw.split("&").map((part) => {
    const at = part.indexOf("=");
    const [name, value] = at < 0 ? [part, ""] : [part.slice(0, at), part.slice(at + 1)];
    return [decodeURIComponent(name), decodeURIComponent(value)] as const;
  });
}

const sha256 = (body: string) => createHash("sha256").update(body).digest("hex");

function toSignable(message: HttpMessage, dropped: string[] = []): SignableRequest {
  return {
    method: message.method,
    // the suites write paths raw; on the wire each segment is URI-encoded
    path: uriEncodePath(message.path),
    query: message.query,
    headers: message.headers.filter(([name]) => !dropped.includes(name.toLowerCase())),
    payloadHash: sha256(message.body),
  };
}

const multiset = (pairs: readonly Pair[]) =>
  pairs.map(([name, value]) => `${name.toLowerCase()}:${value}`).sort();

describe("AWS SigV4 test suite, classic layout (header signing)", () => {
  const { cases, count } = index["sig-v4-test-suite"];
  it("has every case listed", () => expect(cases).toHaveLength(count));

  it.each(cases)("%s", (path) => {
    const name = path.split("/").at(-1)!;
    const file = (ext: string) => read("sig-v4-test-suite", `${path}.${ext}`);
    // The documented inputs; the classic .req files leave the session token out, so it comes from
    // the aws-c-auth case of the same name, with whether it is signed or added after signing.
    const sibling = index["aws-c-auth-v4"].cases.some((c) => c.name === name)
      ? context(name)
      : undefined;
    const token = sibling?.credentials.token;
    const credentials: Credentials = {
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      sessionToken: sibling?.omit_session_token === true ? undefined : token,
    };
    // The signer owns x-amz-date and x-amz-security-token; the .req files already carry some.
    const request = toSignable(parseMessage(file("req")), ["x-amz-date", "x-amz-security-token"]);
    const signed = signHeaders(
      request,
      {
        credentials,
        region: "us-east-1",
        service: "service",
        date: new Date("2015-08-30T12:36:00Z"),
      },
      { normalizePath: true },
    );
    expect(signed.canonicalRequest).toBe(file("creq"));
    expect(signed.stringToSign).toBe(file("sts"));
    expect(signed.headers.authorization).toBe(file("authz"));
    expect(signed.headers["x-amz-date"]).toBe("20150830T123600Z");
  });
});

describe("AWS SigV4 test suite, aws-c-auth layout", () => {
  const { cases, count } = index["aws-c-auth-v4"];
  const names = cases.map((c) => c.name);
  it("has every case listed", () => expect(names).toHaveLength(count));

  const setUp = (name: string) => {
    const ctx = context(name);
    const message = parseMessage(read("aws-c-auth-v4", name, "request.txt"));
    const token = ctx.credentials.token;
    const omitted = ctx.omit_session_token === true;
    const signing = {
      credentials: {
        accessKeyId: ctx.credentials.access_key_id,
        secretAccessKey: ctx.credentials.secret_access_key,
        // an omitted token is added to the request after signing (post-sts-header-after)
        sessionToken: omitted ? undefined : token,
      },
      region: ctx.region,
      service: ctx.service,
      date: new Date(ctx.timestamp),
    };
    const after: Pair[] = omitted && token !== undefined ? [["X-Amz-Security-Token", token]] : [];
    return { ctx, message, signing, after };
  };
  const expected = (name: string, form: "header" | "query") => {
    const file = (what: string) => read("aws-c-auth-v4", name, `${form}-${what}.txt`);
    return {
      canonicalRequest: file("canonical-request"),
      stringToSign: file("string-to-sign"),
      signature: file("signature"),
      request: parseMessage(file("signed-request")),
    };
  };

  it.each(names)("%s, header signing", (name) => {
    const { ctx, message, signing, after } = setUp(name);
    const signed = signHeaders(toSignable(message), signing, {
      normalizePath: ctx.normalize,
      contentSha256Header: ctx.sign_body,
    });
    const want = expected(name, "header");
    expect(signed.canonicalRequest).toBe(want.canonicalRequest);
    expect(signed.stringToSign).toBe(want.stringToSign);
    expect(signed.signature).toBe(want.signature);
    // the signed request is the original plus exactly what the signer added
    const sent = [...message.headers, ...Object.entries(signed.headers), ...after];
    expect(multiset(sent)).toEqual(multiset(want.request.headers));
  });

  it.each(names)("%s, query signing", (name) => {
    const { ctx, message, signing, after } = setUp(name);
    const signed = presign(toSignable(message), signing, {
      normalizePath: ctx.normalize,
      expiresIn: ctx.expiration_in_seconds,
    });
    const want = expected(name, "query");
    expect(signed.canonicalRequest).toBe(want.canonicalRequest);
    expect(signed.stringToSign).toBe(want.stringToSign);
    expect(signed.signature).toBe(want.signature);
    // upstream lists the parameters out of canonical order: compare them as a set
    expect(multiset([...parseQuery(signed.query), ...after])).toEqual(multiset(want.request.query));
    expect(multiset(message.headers)).toEqual(multiset(want.request.headers));
  });
});
