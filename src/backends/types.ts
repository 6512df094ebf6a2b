/**
 * The one interface every backend implements. A backend knows its provider's signing and
 * nothing about routes, principals or the database: it is handed a scope already checked
 * against the caller's grants and the bucket's limits, and returns a direct request.
 */
import type { Constraint, ScopeConstraints } from "../core/constraints.js";
import type { Method } from "../core/methods.js";

export interface DirectScope {
  /** Signet's bucket name */
  bucket: string;
  /** the methods the URL allows; the first is the reply's `method` */
  methods: Method[];
  key?: string;
  /** a folder after the folder rule ("" is the whole bucket) */
  folder?: string;
  expiresAt: Date;
  notBefore?: Date;
  principal: string;
  tokenId: string;
  constraints: ScopeConstraints;
}

export interface DirectRequest {
  url: string;
  method: Method;
  methods?: Method[];
  headers: Record<string, string>;
  objectUrlTemplate?: string;
}

export interface Backend {
  readonly kind: string;
  /** the constraints this backend's own signature check enforces (DESIGN.md's table) */
  readonly binds: ReadonlySet<Constraint>;
  presign(scope: DirectScope): DirectRequest;
}
