/**
 * A folder listing: JSON `{ items, prefixes, nextCursor }`, or an escaped HTML page for a
 * browser (Accept: text/html). Links in it keep the caller's own query (the token).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ListPage } from "../backends/types.js";
import { isStaging } from "../core/keys.js";

const MAX_LIMIT = 1000;

export function listOptions(query: URLSearchParams): { cursor?: string; limit: number } {
  const limit = Number(query.get("limit") ?? 100);
  const cursor = query.get("cursor") ?? undefined;
  return {
    limit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, MAX_LIMIT) : 100,
    ...(cursor ? { cursor } : {}),
  };
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/**
 * `hrefOf(key)` gives the URL of an object or sub-folder (already carrying the token).
 * Keys are shown relative to the listed folder.
 */
export function sendListing(
  request: FastifyRequest,
  reply: FastifyReply,
  folder: string,
  page: ListPage,
  hrefOf: (key: string) => string,
): FastifyReply {
  // Intents' staging keys are Signet's own: never listed (core/keys.ts).
  page = {
    ...page,
    items: page.items.filter((i) => !isStaging(i.key)),
    prefixes: page.prefixes.filter((p) => !isStaging(p)),
  };
  const body = {
    items: page.items.map((i) => ({
      key: i.key,
      size: i.size,
      etag: i.etag,
      lastModified: i.lastModified.toISOString(),
    })),
    prefixes: page.prefixes,
    nextCursor: page.nextCursor,
  };
  const accept = request.headers.accept ?? "";
  if (!accept.includes("text/html"))
    return reply.type("application/json; charset=utf-8").send(body);
  const rows = [
    ...page.prefixes.map(
      (p) =>
        `<li><a href="${escapeHtml(hrefOf(p))}">${escapeHtml(p.slice(folder.length))}</a></li>`,
    ),
    ...page.items.map(
      (i) =>
        `<li><a href="${escapeHtml(hrefOf(i.key))}">${escapeHtml(i.key.slice(folder.length))}</a> ${i.size} bytes</li>`,
    ),
  ];
  const title = escapeHtml(folder === "" ? "/" : folder);
  return reply
    .type("text/html; charset=utf-8")
    .send(
      `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><ul>${rows.join("")}</ul>\n`,
    );
}
