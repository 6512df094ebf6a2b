/**
 * The app-session redirect (`GET /r/{fileId}`): an app links to a file by its id, and the
 * caller's own session decides. Signet checks the caller's grants on the file and answers with
 * a fresh URL of a few minutes: direct when the backend binds everything the grant requires,
 * a link otherwise. Files the caller may not read look like unknown ids.
 */
import type { Principal } from "../core/principal.js";
import { type FileService, pinTo } from "./files.js";
import type { Issuance } from "./issuance.js";

export const DEFAULT_REDIRECT_SECONDS = 300;

export class SessionRedirects {
  constructor(
    private readonly files: FileService,
    private readonly issuance: Issuance,
    private readonly redirectExpiresIn: number,
  ) {}

  /** The 302 target for a file; `ip` is the client's address, recorded with the issuance. */
  async target(principal: Principal, fileId: string, ip?: string): Promise<string> {
    const ctx = { action: "session", ip, detail: { file: fileId } };
    // A file the caller may not read (or changed bytes) is a refused issuance too: audited.
    const file = await this.issuance.forFile(principal, ctx, () =>
      this.files.served(principal, fileId),
    );
    const signed = await this.issuance.issue(
      principal,
      { bucket: file.bucket, key: file.key, method: "GET" },
      { ...ctx, defaultExpiresIn: this.redirectExpiresIn, ...pinTo(file) },
    );
    return signed.url;
  }
}
