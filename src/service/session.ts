/**
 * The app-session redirect (`GET /r/{fileId}`): an app links to a file by its id, and the
 * caller's own session decides. Signet checks the caller's grants on the file and answers with
 * a fresh URL of a few minutes: direct when the backend binds everything the grant requires,
 * a link otherwise. Files the caller may not read look like unknown ids.
 */
import { SignetError } from "../core/errors.js";
import type { Principal } from "../core/principal.js";
import type { FileService } from "./files.js";
import type { PresignService } from "./presign.js";

export const DEFAULT_REDIRECT_SECONDS = 300;

export class SessionRedirects {
  constructor(
    private readonly files: FileService,
    private readonly presign: PresignService,
    private readonly redirectExpiresIn: number,
  ) {}

  async target(principal: Principal, fileId: string): Promise<string> {
    const file = await this.files.get(principal, fileId);
    if (file.status !== "committed") throw new SignetError("not_found", "file not found");
    const checked = await this.presign.check(
      principal,
      { bucket: file.bucket, key: file.key, method: "GET" },
      Date.now(),
      [],
      this.redirectExpiresIn,
    );
    return this.presign.deliver(checked).url;
  }
}
