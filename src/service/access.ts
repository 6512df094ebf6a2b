/**
 * What a principal may do. Until grants land (issue 3) only the admin role, which has an
 * implicit grant on everything, is allowed; any other principal sees no bucket at all,
 * which DESIGN.md's precedence answers as 404, the same as an unknown bucket.
 */
import { notFound } from "../core/errors.js";
import { isAdmin, type Principal } from "../core/principal.js";
import type { Bucket } from "./buckets.js";

export type Action = "read" | "write" | "delete" | "list" | "share";

export function authorize(
  principal: Principal,
  _bucket: Bucket,
  _action: Action,
  _key: string,
): void {
  if (!isAdmin(principal)) throw notFound("bucket");
}
