/**
 * The parts list of a multipart complete request, checked against the parts the store holds.
 * One rule for every backend (S3's CompleteMultipartUpload semantics): parts in strictly
 * ascending order, each uploaded, each with the ETag its upload answered. A wrong list is the
 * caller's error in the request: 400 `invalid_part_order` or `invalid_part`, never 409.
 */
import { sameEtag } from "./etag.js";
import { SignetError } from "./errors.js";

/** One entry of a complete request: a part number (1…10,000) and the ETag its PUT answered. */
export interface ListedPart {
  partNumber: number;
  etag: string;
}

/**
 * The stored parts `parts` names, in its order.
 *
 * An empty `etag` stands for the stored part's own: Azure's Put Block answers no ETag, so its
 * clients have none to send.
 *
 * @throws SignetError `invalid_part` (field `parts`) for an empty list, a part not in `stored`
 *   or another ETag; `invalid_part_order` for parts out of ascending order or named twice.
 */
export function checkPartList<P extends { etag: string }>(
  parts: readonly ListedPart[],
  stored: ReadonlyMap<number, P>,
): P[] {
  if (parts.length === 0)
    throw new SignetError("invalid_part", "complete names at least one part", "parts");
  parts.forEach((part, i) => {
    if (i > 0 && part.partNumber <= parts[i - 1]!.partNumber)
      throw new SignetError(
        "invalid_part_order",
        `part ${part.partNumber} comes after part ${parts[i - 1]!.partNumber}: list parts in ascending order, each once`,
        "parts",
      );
  });
  return parts.map((part) => {
    const found = stored.get(part.partNumber);
    if (found === undefined)
      throw new SignetError("invalid_part", `part ${part.partNumber} was not uploaded`, "parts");
    if (part.etag !== "" && !sameEtag(part.etag, found.etag))
      throw new SignetError(
        "invalid_part",
        `part ${part.partNumber}'s ETag is not the uploaded part's`,
        "parts",
      );
    return found;
  });
}
