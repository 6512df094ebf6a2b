import type { BackendCapabilities } from "../types.js";

/**
 * Azure service and user delegation SAS (see azure.ts for the format). `revocation` is true
 * only for a bucket with a stored-policy pool: the instance overrides it.
 */
export const AZURE_CAPABILITIES: BackendCapabilities = {
  binds: {
    "method, expiry": "r/w/d permissions only",
    "response overrides": "rscd/rsct",
    "byte range": false,
    folder: false,
    IP: "one IPv4 range (sip)",
    "exact length, type": false,
    "length range, type pattern": false,
    "sha256 of body": false,
    revocation: "stored access policy (5 per container)",
    multipart: "blocks",
  },
  signetVerified: false,
  proxy: true,
  revocation: false,
  keyRotation: false,
  conditionalWrites: false,
  versions: false,
  multipart: true,
  formPost: false,
  folderScope: "none",
  // r also serves HEAD (Get Blob Properties)
  alsoAllows: { GET: ["HEAD"] },
};
