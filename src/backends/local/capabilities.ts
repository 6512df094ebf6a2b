import type { BackendCapabilities } from "../types.js";

/** The embedded store: Signet verifies its own tokens, so it binds everything. */
export const LOCAL_CAPABILITIES: BackendCapabilities = {
  binds: {
    "method, expiry": "Signet token",
    "response overrides": "Signet token",
    "byte range": "Signet token",
    folder: "Signet token",
    IP: "Signet token",
    "exact length, type": "Signet token",
    "length range, type pattern": "Signet token",
    "sha256 of body": "Signet token",
    revocation: "Signet token",
    multipart: "parts as blobs, assembled by Signet",
  },
  signetVerified: true,
  proxy: true,
  revocation: false,
  keyRotation: false,
  conditionalWrites: true,
  versions: true,
  multipart: true,
  formPost: true,
  folderScope: "all",
  alsoAllows: {},
};
