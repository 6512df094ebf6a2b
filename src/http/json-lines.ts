/** JSON bodies ending with a newline, for the data plane. */
import type { FastifyInstance } from "fastify";

/**
 * Data-plane JSON bodies (replies and errors alike) end with a newline, as a terminal and
 * `curl` want them and as line-oriented tools read them. Object bytes are never serialized, so
 * they pass untouched.
 */
export function jsonLines(app: FastifyInstance): void {
  app.setReplySerializer((payload) => `${JSON.stringify(payload)}\n`);
}
