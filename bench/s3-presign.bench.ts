/**
 * Issue 6: S3 presigned GET URLs per second in-process. The reference is the AWS SDK's
 * getSignedUrl (async, awaited one at a time); beside it, our signer (s3-signing.ts) on the same
 * bucket, key, expiry and signing time, and a bare SHA-256 + HMAC-SHA256 over a canonical request
 * and string to sign of the same size: the floor of any SigV4 signature with a cached key.
 * Target: ours >= 20x the SDK.
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createHash, createHmac } from "node:crypto";
import { S3Signer } from "../src/backends/s3/s3-signing.js";
import { UNSIGNED_PAYLOAD, amzDate, presign, signingKey } from "../src/backends/s3/sigv4.js";
import { measure, measureAsync, report } from "./lib.js";

const credentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const location = { bucket: "signet-bench", region: "eu-west-3" };
const key = "reports/2026/q3/summary.pdf";
const date = new Date();
const expiresIn = 900;
const expiresAt = new Date(date.getTime() + expiresIn * 1000);

const client = new S3Client({
  ...location,
  credentials,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
const command = new GetObjectCommand({ Bucket: location.bucket, Key: key });
const signer = new S3Signer(location, credentials);

// The bare row hashes what our signer hashes for this URL.
const { canonicalRequest, stringToSign } = presign(
  {
    method: "GET",
    path: `/${key}`,
    headers: [["host", signer.endpoint.host]],
    payloadHash: UNSIGNED_PAYLOAD,
  },
  { credentials, region: location.region, service: "s3", date },
  { expiresIn },
);
const dayKey = signingKey(
  credentials.secretAccessKey,
  amzDate(date).slice(0, 8),
  location.region,
  "s3",
);

const sdk = {
  name: "@aws-sdk/s3-request-presigner getSignedUrl (reference)",
  run: () => getSignedUrl(client, command, { signingDate: date, expiresIn }),
};
// The SDK keeps speeding up well past measureAsync's own warm-up: give it a discarded second.
await measureAsync(sdk, { maxIterations: 50_000 });

report(
  "S3 presigned GET URLs (s3-signing.ts)",
  [
    await measureAsync(sdk, { maxIterations: 50_000 }),
    measure({
      name: "S3Signer.presign",
      run: () => signer.presign({ method: "GET", key, date, expiresAt }).url,
    }),
    measure({
      name: "bare SHA-256 + HMAC-SHA256 (context)",
      run: () => {
        createHash("sha256").update(canonicalRequest).digest("hex");
        return createHmac("sha256", dayKey).update(stringToSign).digest("hex");
      },
    }),
  ],
  "S3Signer.presign >= 20x the SDK (2000% of reference)",
);
