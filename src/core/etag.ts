/**
 * ETags as providers spell them: quoted or not, weak (`W/"…"`) or strong, hex in either case.
 * Two spellings of one entity tag compare equal (RFC 9110 §8.8.3, weak comparison).
 */

/** The entity tag without `W/`, quotes or case: `W/"AbC"` → `abc`. */
export const bareEtag = (etag: string): string =>
  etag.replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase();

/** Whether `a` and `b` name the same entity tag (weak comparison). */
export const sameEtag = (a: string, b: string): boolean => bareEtag(a) === bareEtag(b);
