/**
 * What every backend's `promote` shares: the refusal when nothing is staged, and the largest
 * object one server-side copy request may move on providers that cap it (S3 CopyObject: 5 GiB;
 * above it the copy goes in parts). The refusal when other bytes were staged after complete
 * checked them is `stagedChanged` in core/errors.ts, shared with the embedded store.
 */
import { SignetError } from "../core/errors.js";

/**
 * The answer of `promote`, and of complete's look at the staging key, when the upload never
 * arrived (or was already promoted).
 */
export const nothingStaged = () =>
  new SignetError("conflict", "nothing has been uploaded for this file yet");

/** S3's limit for one CopyObject request, in bytes (5 GiB). */
export const SINGLE_COPY_MAX = 5 * 1024 ** 3;
