/**
 * The web console (issue 20): the single-page app built from web/ into dist/console, served at
 * /console/ as static files with a strict Content-Security-Policy. The page loads nothing from
 * elsewhere; it talks to this origin's /v1 and uploads straight to storage, so `connect-src`
 * names exactly the data-plane origin and each bucket's storage origin.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import type { Signet } from "../../service/signet.js";

const here = dirname(fileURLToPath(import.meta.url));

/** dist/console, from dist/http/routes (the package) or src/http/routes (tests, tsx). */
export function consoleDir(): string | undefined {
  return [join(here, "../../console"), join(here, "../../../dist/console")].find((dir) =>
    existsSync(join(dir, "index.html")),
  );
}

const originOf = (url: string | undefined) => {
  try {
    return url === undefined ? undefined : new URL(url).origin;
  } catch {
    return undefined;
  }
};

/** Where the console's uploads and downloads may go: the data plane and each bucket's storage. */
function storageOrigins(signet: Signet): string[] {
  const origins = new Set<string>();
  const data = originOf(signet.dataUrl);
  if (data !== undefined) origins.add(data);
  for (const { config } of signet.buckets.list()) {
    const c = config as {
      backend: string;
      endpoint?: string;
      authUrl?: string;
      accountName?: string;
    };
    const own = originOf(c.endpoint ?? c.authUrl);
    if (own !== undefined) origins.add(own);
    else if (c.backend === "s3") origins.add("https://*.amazonaws.com");
    else if (c.backend === "gcs") origins.add("https://storage.googleapis.com");
    else if (c.backend === "azure" && c.accountName !== undefined)
      origins.add(`https://${c.accountName}.blob.core.windows.net`);
  }
  return [...origins];
}

/** The console's CSP: own scripts and styles only, no inline code, no framing, no plugins. */
export function consoleCsp(signet: Signet): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${storageOrigins(signet).join(" ")}`.trim(),
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export async function consoleRoutes(app: FastifyInstance, signet: Signet): Promise<void> {
  const root = consoleDir();
  // The console's pages are not API operations: hidden from the OpenAPI document.
  app.get("/console", { schema: { hide: true } }, async (_request, reply) =>
    reply.redirect("/console/", 301),
  );
  if (root === undefined) {
    // Not built (a checkout without `npm run build:web`): say so rather than a bare 404.
    app.get("/console/*", { schema: { hide: true } }, async (_request, reply) =>
      reply.code(404).send({
        error: { code: "not_found", message: "the console is not built: run npm run build:web" },
      }),
    );
    return;
  }
  app.addHook("onSend", async (request, reply) => {
    if (!request.url.startsWith("/console/")) return;
    reply.header("content-security-policy", consoleCsp(signet));
    reply.header("x-content-type-options", "nosniff");
    reply.header("x-frame-options", "DENY");
    reply.header("referrer-policy", "no-referrer");
    reply.header("cross-origin-opener-policy", "same-origin");
  });
  await app.register(fastifyStatic, {
    root,
    prefix: "/console/",
    index: ["index.html"],
    // Hashed assets never change; the page itself is revalidated.
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header(
        "cache-control",
        path.includes(join("assets", "")) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
}
