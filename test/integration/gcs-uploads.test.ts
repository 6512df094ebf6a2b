/**
 * Upload intents on a gcs bucket wired into Signet (test/helpers/upload-intents.ts), against the
 * fake GCS XML API (test/helpers/fake-gcs.ts), which verifies the V4 signature of every request
 * it serves, the uploader's and Signet's own alike.
 */
import { randomBytes } from "node:crypto";
import { type FakeGcs, startFakeGcs } from "../helpers/fake-gcs.js";
import { uploadIntentTests } from "../helpers/upload-intents.js";

const HMAC = { id: "GOOG1EXAMPLEACCESSID", secret: randomBytes(30).toString("base64url") };

uploadIntentTests(
  "upload intents on a gcs bucket (fake GCS)",
  {},
  {
    async setup() {
      const bucket = `signet-uploads-${randomBytes(4).toString("hex")}`;
      const fake: FakeGcs = await startFakeGcs({
        bucket,
        key: { hmacAccessId: HMAC.id, hmacSecret: HMAC.secret },
      });
      return {
        config: {
          backend: "gcs",
          bucket,
          endpoint: fake.url,
          hmacAccessId: "${GCS_ID}",
          hmacSecret: "${GCS_SECRET}",
        },
        env: { GCS_ID: HMAC.id, GCS_SECRET: HMAC.secret },
        cleanup: () => fake.close(),
      };
    },
    // V4 signs Content-Length and Content-Type; GCS never checks a SHA-256 of the body.
    binds: { contentLength: "backend", contentType: "backend", checksumSha256: "complete" },
    putVia: "direct",
    multipart: { size: 150_000, partSize: 64 * 1024 },
    partEtag: (_part, res) => res.headers.get("etag") ?? "",
    form: "fields",
    pinsVersion: true,
  },
);
