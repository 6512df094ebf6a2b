/**
 * A content type guessed from a file name's extension, through the `mime` package (the
 * IANA/Apache/nginx types as mime-db keeps them): the one guess `signet put`, the SDK and an
 * upload intent without `contentType` all make, so the same name gets the same type everywhere.
 */
import mime from "mime";

/** The type for the first of `names` whose extension is known (`a.pdf` → application/pdf), else `application/octet-stream`. */
export function contentTypeOf(...names: string[]): string {
  for (const name of names) {
    const type = mime.getType(name);
    if (type !== null) return type;
  }
  return "application/octet-stream";
}
