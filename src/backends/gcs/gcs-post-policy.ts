/**
 * Google Cloud Storage V4 POST policies: a browser form uploads straight to GCS, within the
 * bounds of a signed policy document. Signed in-process like the URLs (gcs-signing.ts).
 *
 *   policy     = base64(JSON {"conditions": [...], "expiration": "YYYY-MM-DDTHH:MM:SSZ"}), the
 *                JSON with every non-ASCII code unit escaped as \uXXXX (as the SDK and the
 *                published vectors do, so "é" is signed as \u00e9)
 *   conditions = the caller's conditions, then {name: value} for each extra form field, then
 *                {"bucket"}, {"key"} or ["starts-with", "$key", folder], {"x-goog-date"},
 *                {"x-goog-credential"}, {"x-goog-algorithm"}
 *   x-goog-signature = hex(RSA-SHA256 or derived-key HMAC-SHA256 over the base64 policy itself)
 *   form       = POST {origin}{/bucket}/ with key, the extra fields, x-goog-algorithm,
 *                x-goog-credential, x-goog-date, x-goog-signature, policy, and the file last
 *
 * Example (conformance "POST Policy Simple": bucket rsaposttest-1579902670-h3q7wvodjor6bc7y,
 * key test-object, 2020-01-23T04:35:30Z, 10 s) signs the base64 of
 *
 *   {"conditions":[{"bucket":"rsaposttest-1579902670-h3q7wvodjor6bc7y"},{"key":"test-object"},
 *   {"x-goog-date":"20200123T043530Z"},{"x-goog-credential":"test-iam-credentials@dummy-project-id
 *   .iam.gserviceaccount.com/20200123/auto/storage/goog4_request"},{"x-goog-algorithm":
 *   "GOOG4-RSA-SHA256"}],"expiration":"2020-01-23T04:35:40Z"}
 *
 * giving x-goog-signature 9eb947e08891be62…83b6e70410, posted to
 * https://storage.googleapis.com/rsaposttest-1579902670-h3q7wvodjor6bc7y/.
 *
 * What a policy binds: the bucket; one exact key, or a folder (the form's key must start with
 * it; `fields.key` is then folder + "${filename}", which GCS fills in with the uploaded file's
 * name); the expiry (at most 7 days); a content-length-range; an exact Content-Type or a prefix
 * of it; success_action_status or success_action_redirect; exact extra fields such as
 * x-goog-meta-*. It cannot bind a client IP, a checksum of the body, or a number of uses: a
 * policy admits any number of uploads until it expires, so keys chosen by the form are checked
 * when the upload completes.
 */
import { invalidRequest, SignetError } from "../../core/errors.js";
import type { FormPolicyInput } from "../types.js";
import {
  checkExpiresIn,
  credentialScope,
  type GcsBucket,
  goog4Date,
  v4Life,
} from "./gcs-signing.js";

/** One policy condition: an exact field, a prefix or equality test, or a size range. */
export type PolicyCondition =
  | Readonly<Record<string, string>>
  | readonly ["starts-with" | "eq", string, string]
  | readonly ["content-length-range", number, number];

/** A policy in V4's own terms (the conformance vectors' shape). */
export interface PostPolicyRequest {
  /** an exact key, or the prefix every uploaded key must start with */
  key: string | { startsWith: string };
  /** seconds from `date`, 1 to 7 days */
  expiresIn: number;
  /** the signing time (x-goog-date), truncated to the second; default now */
  date?: Date;
  /** conditions placed first, in order */
  conditions?: readonly PolicyCondition[];
  /** extra form fields, each also an exact condition, in order */
  fields?: Readonly<Record<string, string>>;
}

export interface SignedPostPolicy {
  url: string;
  /** every form field to send before the file, the base64 `policy` among them */
  fields: Record<string, string>;
  /** the policy document as signed (before base64), for diagnostics */
  policyDocument: string;
}

/** A Signet form upload, in Signet's terms (see `FormPolicyInput`). */
export type GcsPostInput = FormPolicyInput;

export interface GcsSignedPost {
  url: string;
  method: "POST";
  fields: Record<string, string>;
  /** when the policy stops working: expiresAt truncated to the second */
  expiresAt: Date;
}

/** Form fields the signer writes itself. */
const OWN_FIELDS = new Set([
  "key",
  "bucket",
  "policy",
  "file",
  "x-goog-algorithm",
  "x-goog-credential",
  "x-goog-date",
  "x-goog-signature",
]);

/** Signs any V4 POST policy: the protocol as the conformance vectors state it. */
export function signPostPolicyV4(bucket: GcsBucket, request: PostPolicyRequest): SignedPostPolicy {
  checkExpiresIn(request.expiresIn);
  const date = new Date(Math.floor((request.date ?? new Date()).getTime() / 1000) * 1000);
  const { timestamp, datestamp } = goog4Date(date);
  const extra = Object.entries(request.fields ?? {});
  for (const [name] of extra)
    if (OWN_FIELDS.has(name.toLowerCase()))
      throw invalidRequest(`the form field "${name}" is written by the signer`, "fields");

  const own: [string, string][] = [
    ["x-goog-date", timestamp],
    ["x-goog-credential", `${bucket.accessId}/${credentialScope(datestamp)}`],
    ["x-goog-algorithm", bucket.algorithm],
  ];
  const keyCondition: PolicyCondition =
    typeof request.key === "string"
      ? { key: request.key }
      : ["starts-with", "$key", request.key.startsWith];
  const conditions: PolicyCondition[] = [
    ...(request.conditions ?? []),
    ...extra.map(([name, value]) => ({ [name]: value })),
    { bucket: bucket.bucket },
    keyCondition,
    ...own.map(([name, value]) => ({ [name]: value })),
  ];
  const expiration = new Date(date.getTime() + request.expiresIn * 1000)
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z");
  const policyDocument = JSON.stringify({ conditions, expiration }).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  const policy = Buffer.from(policyDocument).toString("base64");

  return {
    url: `${bucket.origin}${bucket.pathPrefix}/`,
    fields: {
      key: typeof request.key === "string" ? request.key : `${request.key.startsWith}\${filename}`,
      ...Object.fromEntries(extra),
      ...Object.fromEntries(own),
      "x-goog-signature": bucket.sign(policy, datestamp),
      policy,
    },
    policyDocument,
  };
}

/** Signet's form upload: one key or one folder, with the bounds only a policy can hold. */
export function presignGcsPost(bucket: GcsBucket, input: GcsPostInput): GcsSignedPost {
  if ((input.key === undefined) === (input.folder === undefined))
    throw invalidRequest("a form upload names exactly one of key and folder", "key");
  if (input.key === "") throw new SignetError("invalid_key", "the key is empty", "key");
  if (input.folder !== undefined && input.folder !== "" && !input.folder.endsWith("/"))
    throw invalidRequest("a folder is empty or ends in /", "folder");

  const conditions: PolicyCondition[] = [];
  const fields: Record<string, string> = {};
  if (input.contentLength !== undefined) {
    const { min, max } = input.contentLength;
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min)
      throw invalidRequest("a length range is 0 <= min <= max bytes", "contentLength");
    conditions.push(["content-length-range", min, max]);
  }
  if (typeof input.contentType === "string") fields["content-type"] = input.contentType;
  else if (input.contentType !== undefined)
    conditions.push(["starts-with", "$content-type", input.contentType.startsWith]);
  if (input.successActionStatus !== undefined) {
    if (![200, 201, 204].includes(input.successActionStatus))
      throw invalidRequest("success_action_status is 200, 201 or 204", "successActionStatus");
    fields.success_action_status = String(input.successActionStatus);
  }
  if (input.successActionRedirect !== undefined) {
    if (!/^https?:\/\/[^\s]+$/i.test(input.successActionRedirect))
      throw invalidRequest("success_action_redirect is an http(s) URL", "successActionRedirect");
    fields.success_action_redirect = input.successActionRedirect;
  }

  const date = input.date ?? new Date();
  const { expiresIn, expiresAt } = v4Life(date, input.expiresAt);
  const signed = signPostPolicyV4(bucket, {
    key: input.key ?? { startsWith: input.folder! },
    expiresIn,
    date,
    conditions,
    fields,
  });
  return { url: signed.url, method: "POST", fields: signed.fields, expiresAt };
}
