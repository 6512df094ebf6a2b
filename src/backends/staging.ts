/**
 * What every backend's `promote` shares: the refusals when nothing is staged or other bytes were
 * staged after complete checked them, and the largest
 * object one server-side copy request may move on providers that cap it (S3 CopyObject: 5 GiB;
 * above it the copy goes in parts).
 */
import { SignetError } from "../core/errors.js";

/** The answer of `promote` when the upload never arrived (or was already promoted). */
export const nothingStaged = () =>
  new SignetError("conflict", "nothing has been uploaded for this file yet");

/**
 * The answer of `promote` when the staged object is no longer the one complete checked: a PUT
 * through the intent's still-live URL replaced it. One rule on every backend: the provider's own
 * source precondition refuses the copy (the embedded store: the blob id), the destination keeps
 * what it had, and the bytes staged since stay for complete to check again.
 */
export const stagedChanged = () =>
  new SignetError(
    "conflict",
    "other bytes were uploaded while complete checked these: complete again",
  );

/** S3's limit for one CopyObject request, in bytes (5 GiB). */
export const SINGLE_COPY_MAX = 5 * 1024 ** 3;
