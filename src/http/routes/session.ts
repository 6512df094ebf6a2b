/**
 * GET /r/{fileId}: 302 to a fresh URL for a file, for the app's session (a Bearer credential,
 * or the same credential in the cookie named by `session.cookieName`).
 */
import { parseCookie } from "cookie";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { SignetError } from "../../core/errors.js";
import type { Signet } from "../../service/signet.js";
import { bearerOf } from "../plugins/auth.js";
import { jsonLines } from "../json-lines.js";

const FILE_ID = /^f_[A-Za-z0-9_-]{22}$/;

/**
 * The named cookie (RFC 6265 syntax, parsed by the `cookie` package), percent-decoded; a value
 * that does not decode is no session at all (401), never an error.
 */
function cookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  const value = parseCookie(header, { decode: strictDecode })[name];
  return value === undefined || value === "" ? undefined : value;
}

function strictDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

export async function sessionRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  const cookieName = signet.config.session?.cookieName;
  jsonLines(app);
  app.get("/r/:fileId", async (request, reply) => {
    // 401 first, then every unknown, malformed or unreadable id is the same 404.
    const credential =
      bearerOf(request) ?? (cookieName === undefined ? undefined : cookie(request, cookieName));
    if (credential === undefined)
      throw new SignetError(
        "unauthorized",
        "a session (Bearer credential or session cookie) is required",
      );
    const principal = await signet.auth.authenticate(credential, request.ip);
    const { fileId } = request.params as { fileId: string };
    if (!FILE_ID.test(fileId)) throw new SignetError("not_found", "file not found");
    const url = await signet.session.target(principal, fileId, request.ip);
    return reply.code(302).header("location", url).header("cache-control", "no-store").send();
  });
}
