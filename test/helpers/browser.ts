/**
 * Browser tests: headless Chromium (Debian's /usr/bin/chromium through playwright-core), an
 * app origin of its own that serves a page plus bundled scripts and forwards /v1 to Signet (as
 * an app in front of Signet would), and esbuild bundles of `signet/browser` for that page.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import { join } from "node:path";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
const ROOT = join(import.meta.dirname, "../..");

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Builds dist/browser (the package's `signet/browser` entry) from src/browser. */
export function buildBrowserSdk(): void {
  execFileSync(
    process.execPath,
    [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.browser.json"],
    {
      cwd: ROOT,
      stdio: "inherit",
    },
  );
}

/** Bundles `source` (an ES module importing `signet/browser`, Uppy, …) for the browser. */
export async function bundle(source: string, options: { minify?: boolean } = {}): Promise<string> {
  const result = await build({
    stdin: { contents: source, resolveDir: ROOT, loader: "ts" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    minify: options.minify ?? false,
    // `signet/browser` resolves through package.json `exports` (the package's self-reference).
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

export interface AppOrigin {
  url: string;
  /** Signet's base URL that /v1 goes to (settable: Signet's config may need this origin first) */
  signet: string;
  /** path → body served with its type (`/` is the page) */
  files: Map<string, { type: string; body: string }>;
  close(): Promise<void>;
}

/** An app's origin on 127.0.0.1: its own files, and /v1 forwarded to `origin.signet`. */
export async function startAppOrigin(): Promise<AppOrigin> {
  const files = new Map<string, { type: string; body: string }>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path.startsWith("/v1/")) {
      const target = new URL(origin.signet);
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.writeHead(502).end());
      req.pipe(upstream);
      return;
    }
    const file = files.get(path);
    if (file === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": file.type });
    res.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin: AppOrigin = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    signet: "",
    files,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return origin;
}

/** The bytes the pages generate: byte i is (i * 31 + 7) mod 256, for any size. */
export function pattern(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 255;
  return bytes;
}

export const sha256Hex = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/**
 * An app page in a fresh headless Chromium: `signet/browser` built, `script` bundled and served
 * at `app`'s `/app.js` under a page of its own, `prepare` run on the page before it loads (e.g.
 * routes), then the page opened until the script has set the global `ready`.
 */
export async function openAppPage(
  app: AppOrigin,
  script: string,
  options: { ready: string; prepare?: (page: Page) => Promise<void> },
): Promise<{ browser: Browser; page: Page }> {
  buildBrowserSdk();
  app.files.set("/", {
    type: "text/html",
    body: '<!doctype html><script type="module" src="/app.js"></script>',
  });
  app.files.set("/app.js", { type: "text/javascript", body: await bundle(script) });
  const browser = await launchChromium();
  const page = await browser.newPage();
  await options.prepare?.(page);
  await page.goto(app.url);
  await page.waitForFunction(
    (name) => (globalThis as Record<string, unknown>)[name] !== undefined,
    options.ready,
  );
  return { browser, page };
}
