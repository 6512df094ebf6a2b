import type { BackendCapabilities } from "../types.js";

/**
 * Swift tempurl (see swift-tempurl.ts for the format). `proxy` and `keyRotation` need the
 * bucket's admin credentials: the instance sets them from its config.
 */
export const SWIFT_CAPABILITIES: BackendCapabilities = {
  binds: {
    "method, expiry": "HMAC over method, expiry, path",
    "response overrides": false,
    "byte range": false,
    folder: "temp_url_prefix (one method per signature)",
    IP: "temp_url_ip_range",
    "exact length, type": false,
    "length range, type pattern": false,
    "sha256 of body": false,
    revocation: "key rotation",
    multipart: "SLO manifest written by Signet",
  },
  signetVerified: false,
  proxy: true,
  revocation: false,
  keyRotation: true,
  conditionalWrites: false,
  versions: false,
  multipart: true,
  formPost: false,
  folderScope: "one-method",
  // tempurl lets a HEAD through with any GET, PUT or POST signature
  alsoAllows: { GET: ["HEAD"], PUT: ["HEAD"], POST: ["HEAD"] },
};
