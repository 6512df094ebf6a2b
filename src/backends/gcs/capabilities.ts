import type { BackendCapabilities } from "../types.js";

/** GCS V4 signed URLs and POST policies (see gcs.ts for the format). */
export const GCS_CAPABILITIES: BackendCapabilities = {
  binds: {
    "method, expiry": "V4 (7 days at most)",
    "response overrides": "signed query",
    "byte range": "signed Range header",
    folder: false,
    IP: false,
    "exact length, type": "signed headers",
    "length range, type pattern": "POST policy only",
    "sha256 of body": false,
    revocation: false,
    multipart: "XML multipart",
  },
  signetVerified: false,
  proxy: true,
  revocation: false,
  keyRotation: false,
  conditionalWrites: false,
  versions: true,
  multipart: true,
  formPost: true,
  folderScope: "none",
  alsoAllows: {},
};
