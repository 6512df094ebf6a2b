/**
 * Upload intents on the cloud backends wired into Signet (test/helpers/upload-intents.ts): S3 on
 * Swift's s3api and Swift itself (SIGNET_SWIFT_URL), Azure on Azurite (SIGNET_AZURITE_URL), each
 * in a fresh bucket or container:
 *   SIGNET_SWIFT_URL=http://127.0.0.1:18080 \
 *   SIGNET_AZURITE_URL=http://127.0.0.1:10000/devstoreaccount1 \
 *   npx vitest run test/peers/cloud-uploads.test.ts
 */
import { AZURITE, SWIFT, azurePeer, s3Peer, swiftPeer } from "../helpers/cloud-peers.js";
import { uploadIntentTests } from "../helpers/upload-intents.js";

const etagHeader = (_part: { url: string }, res: Response) => res.headers.get("etag") ?? "";
const MiB = 1024 * 1024;

uploadIntentTests(
  "upload intents on an s3 bucket (Swift's s3api)",
  { "SIGNET_SWIFT_URL (Swift peer: scripts/peers/swift-start.sh)": SWIFT },
  {
    setup: () => s3Peer("uploads-s3"),
    // s3api accepts a wrong x-amz-checksum-sha256: the bucket says "ignored", complete checks it.
    binds: { contentLength: "backend", contentType: "backend", checksumSha256: "complete" },
    putVia: "direct",
    // every part but the last at least 5 MiB
    multipart: { size: 11 * MiB + 123, partSize: 5 * MiB },
    partEtag: etagHeader,
    form: "fields",
  },
);

uploadIntentTests(
  "upload intents on a swift container",
  { "SIGNET_SWIFT_URL (Swift peer: scripts/peers/swift-start.sh)": SWIFT },
  {
    setup: () => swiftPeer("uploads-swift"),
    binds: { contentLength: "complete", contentType: "complete", checksumSha256: "complete" },
    putVia: "link",
    multipart: { size: 150_000, partSize: 64 * 1024 },
    partEtag: etagHeader,
    form: "constraint_not_enforceable",
  },
);

uploadIntentTests(
  "upload intents on an azure container (Azurite)",
  { "SIGNET_AZURITE_URL (Azurite peer: scripts/peers/azurite-start.sh)": AZURITE },
  {
    setup: () => azurePeer("uploads-azure"),
    binds: { contentLength: "complete", contentType: "complete", checksumSha256: "complete" },
    putVia: "direct",
    multipart: { size: 150_000, partSize: 64 * 1024 },
    // Put Block answers no ETag and Azure checks none at complete: the part's block id stands in.
    partEtag: (part) => new URL(part.url).searchParams.get("blockid") ?? "",
    form: "constraint_not_enforceable",
  },
);
