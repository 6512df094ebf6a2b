/**
 * The embedded store as a backend: its direct URLs are Signet's own tokens,
 *
 *   {publicUrl}/o/{bucket}/{key}?t={payload}.{mac}        (core/token.ts has the format)
 *
 * e.g. http://127.0.0.1:8080/o/default/reports/q3.pdf?t=eyJ2IjoxLC….Xk2f…
 * Signet itself verifies them on the data plane, so every constraint a token carries is
 * bound: method, key or folder, time window, and (as they land) IP, range, length, type,
 * checksum, headers and response overrides.
 */
import type { Constraint } from "../core/constraints.js";
import type { Method } from "../core/methods.js";
import type { UnsignedClaims } from "../core/token.js";
import { encodeKeyPath, trimSlash } from "../core/urls.js";
import type { Backend, DirectRequest, DirectScope } from "./types.js";

export type TokenSigner = (claims: UnsignedClaims) => string;

export class LocalBackend implements Backend {
  readonly kind = "local";
  readonly binds: ReadonlySet<Constraint> = new Set<Constraint>([
    "contentType",
    "contentLength",
    "ip",
  ]);

  constructor(
    private readonly publicUrl: () => string,
    private readonly sign: TokenSigner,
  ) {}

  presign(scope: DirectScope): DirectRequest {
    const claims: UnsignedClaims = {
      i: scope.tokenId,
      p: scope.principal,
      m: scope.methods,
      b: scope.bucket,
      e: Math.floor(scope.expiresAt.getTime() / 1000),
    };
    if (scope.key !== undefined) claims.o = scope.key;
    if (scope.folder !== undefined) claims.f = scope.folder;
    if (scope.notBefore !== undefined) claims.n = Math.floor(scope.notBefore.getTime() / 1000);
    const { contentType, contentLength, ip } = scope.constraints;
    if (ip !== undefined) claims.ip = ip;
    if (contentType !== undefined) claims.ct = contentType;
    if (contentLength !== undefined) claims.cl = contentLength;
    const query = `?t=${this.sign(claims)}`;
    const base = `${trimSlash(this.publicUrl())}/o/${encodeURIComponent(scope.bucket)}/`;
    const [method, ...more] = scope.methods as [Method, ...Method[]];
    const request: DirectRequest = {
      url: `${base}${encodeKeyPath(scope.key ?? scope.folder ?? "")}${query}`,
      method,
      headers: {},
    };
    // The headers an upload must send exactly as signed.
    if (contentType !== undefined) request.headers["content-type"] = contentType;
    if (contentLength !== undefined) request.headers["content-length"] = String(contentLength);
    if (more.length > 0) request.methods = scope.methods;
    if (scope.key === undefined) request.objectUrlTemplate = `${base}{key}${query}`;
    return request;
  }
}
