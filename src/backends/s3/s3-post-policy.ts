/**
 * S3 browser-form uploads (POST Object) signed with SigV4: a policy document that S3 checks
 * every form field against, signed with the day's signing key (sigv4.ts).
 *
 *   Policy          = base64(JSON {"expiration": ISO 8601 (no milliseconds), "conditions": […]})
 *   X-Amz-Signature = hex(HMAC-SHA256(SigningKey(day, region, "s3"), Policy))
 *   form            = POST {url}, multipart/form-data: every field returned, then `file` last
 *
 * Conditions, in the order the AWS SDK's createPresignedPost writes them (so that both sign the
 * same bytes): ["content-length-range", min, max], ["starts-with", "$Content-Type", prefix],
 * one {name: value} per fixed field (Content-Type, success_action_status or _redirect,
 * x-amz-checksum-sha256, bucket, X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 * X-Amz-Security-Token), then {"key": key} or ["starts-with", "$key", folder].
 *
 * Example: bucket uploads, folder "u/42/", any image up to 1 MiB, signed 2026-01-02T03:04:05Z for
 * 600 s → fields { bucket, X-Amz-Algorithm, X-Amz-Credential: AKID…/20260102/us-east-1/s3/
 * aws4_request, X-Amz-Date: 20260102T030405Z, key: "u/42/${filename}", Policy: eyJleHBp…,
 * X-Amz-Signature }, the policy being
 *
 *   {"expiration":"2026-01-02T03:14:05Z","conditions":[["content-length-range",0,1048576],
 *    ["starts-with","$Content-Type","image/"],{"bucket":"uploads"},…,["starts-with","$key","u/42/"]]}
 *
 * and the browser adding its own Content-Type field. What a policy binds that a presigned PUT
 * cannot: a length range, a type prefix, any key under a folder (S3 replaces ${filename} with the
 * file's name; the form may also set another key under the folder, which S3 does not check
 * against Signet's key rules, so an upload intent checks the key at completion). Also the
 * expiry (at most 7 days here, as for URLs), the exact type, the reply (status or redirect) and
 * a SHA-256 of the body. Not bound: a client IP, revocation.
 */
import { invalidRequest } from "../../core/errors.js";
import { assertValidKey, toFolder } from "../../core/keys.js";
import { type S3Signer, byteCount, checksumSha256 } from "./s3-signing.js";
import { ALGORITHM, amzDate, checkExpiresIn } from "./sigv4.js";
import type { FormPolicyInput } from "../types.js";

/** A form upload to S3: the provider-neutral policy input, plus a checksum S3 enforces. */
export interface S3PostInput extends FormPolicyInput {
  /** base64 SHA-256 of the file, checked by S3 */
  checksumSha256?: string;
}

export interface S3PostForm {
  url: string;
  /** the form fields, to send in this order before the file */
  fields: Record<string, string>;
  /** the policy's expiration: expiresAt truncated to the second */
  expiresAt: Date;
}

type Condition = Record<string, string> | readonly (string | number)[];

/** The form for one browser upload; throws invalid_request, invalid_key or expiry_too_long. */
export function presignPost(signer: S3Signer, input: S3PostInput): S3PostForm {
  if ((input.key === undefined) === (input.folder === undefined))
    throw invalidRequest("give exactly one of key and folder", "key");
  if (input.successActionStatus !== undefined && input.successActionRedirect !== undefined)
    throw invalidRequest(
      "give successActionStatus or successActionRedirect, not both",
      "successActionRedirect",
    );
  const date = input.date ?? new Date();
  const second = Math.floor(date.getTime() / 1000);
  const expiresAt = new Date(Math.floor(input.expiresAt.getTime() / 1000) * 1000);
  checkExpiresIn(expiresAt.getTime() / 1000 - second);

  const conditions: Condition[] = [];
  const fields: Record<string, string> = {};
  if (input.contentLength !== undefined) {
    const { min, max } = input.contentLength;
    byteCount(min, "contentLength.min");
    byteCount(max, "contentLength.max");
    if (min > max) throw invalidRequest("contentLength.min is above max", "contentLength");
    conditions.push(["content-length-range", min, max]);
  }
  if (typeof input.contentType === "object") {
    conditions.push(["starts-with", "$Content-Type", input.contentType.startsWith]);
  } else if (input.contentType !== undefined) {
    if (input.contentType.trim() === "")
      throw invalidRequest("contentType is empty", "contentType");
    fields["Content-Type"] = input.contentType;
  }
  if (input.successActionStatus !== undefined) {
    if (![200, 201, 204].includes(input.successActionStatus))
      throw invalidRequest("successActionStatus must be 200, 201 or 204", "successActionStatus");
    fields.success_action_status = String(input.successActionStatus);
  }
  if (input.successActionRedirect !== undefined) {
    if (!URL.canParse(input.successActionRedirect))
      throw invalidRequest("successActionRedirect is not a URL", "successActionRedirect");
    fields.success_action_redirect = input.successActionRedirect;
  }
  if (input.checksumSha256 !== undefined) {
    fields["x-amz-checksum-sha256"] = checksumSha256(input.checksumSha256);
  }
  fields.bucket = signer.location.bucket;
  fields["X-Amz-Algorithm"] = ALGORITHM;
  fields["X-Amz-Credential"] = signer.credential(date);
  fields["X-Amz-Date"] = amzDate(date);
  if (signer.sessionToken !== undefined) fields["X-Amz-Security-Token"] = signer.sessionToken;
  for (const [name, value] of Object.entries(fields)) conditions.push({ [name]: value });

  let key: string;
  if (input.key !== undefined) {
    key = assertValidKey(input.key);
    conditions.push({ key });
  } else {
    const folder = toFolder(input.folder!, "folder");
    key = `${folder}\${filename}`;
    conditions.push(["starts-with", "$key", folder]);
  }

  const expiration = expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z");
  const policy = Buffer.from(JSON.stringify({ expiration, conditions })).toString("base64");
  return {
    url: signer.postUrl,
    fields: {
      ...fields,
      key,
      Policy: policy,
      "X-Amz-Signature": signer.signWithDayKey(date, policy),
    },
    expiresAt,
  };
}
