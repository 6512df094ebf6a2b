/**
 * Issue 4: a browser form upload from headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core) to the embedded store, and a cross-origin PUT that needs Signet's CORS.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { hasChromium, launchChromium } from "../helpers/browser.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { missing } from "../helpers/skip.js";

const TITLE = "browser uploads (headless Chromium)";
describe.skipIf(missing(TITLE, { "/usr/bin/chromium (Debian's chromium package)": hasChromium }))(
  TITLE,
  () => {
    let h: Harness;
    let browser: Browser;
    let app: Server;
    let appOrigin: string;
    let page = "";
    beforeAll(async () => {
      // The app's own origin: serves whatever page the test sets, and the redirect target.
      app = createServer((req, res) => {
        res.setHeader("content-type", "text/html; charset=utf-8");
        res.end(req.url?.startsWith("/done") ? `<p id="done">${req.url}</p>` : page);
      });
      await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
      appOrigin = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
      h = await startSignet({
        config: {
          buckets: {
            default: { backend: "local", cors: { origins: [appOrigin], maxAgeSeconds: 60 } },
          },
        },
      });
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await h?.close();
      await new Promise((resolve) => app.close(resolve));
    });

    it("posts a file through an HTML form under a folder policy and lands on the signed redirect", async () => {
      const signed = await h.admin.presign({
        bucket: "default",
        prefix: "uploads/forms",
        method: "POST",
        contentType: "text/*",
        contentLengthRange: [1, 1000],
        successActionRedirect: `${appOrigin}/done`,
      } as any);
      expect(signed.fields!.key).toBe("uploads/forms/${filename}");
      const inputs = Object.entries(signed.fields!).map(
        ([name, value]) =>
          `<input type="hidden" name="${name}" value="${value.replace(/"/g, "&quot;")}">`,
      );
      page = `<form id="f" method="post" enctype="multipart/form-data" action="${signed.url}">${inputs.join("")}<input type="file" name="file" id="file"><button>send</button></form>`;
      const file = join(await mkdtemp(join(tmpdir(), "signet-form-")), "hello.txt");
      await writeFile(file, "hello from chromium");

      const tab = await browser.newPage();
      await tab.goto(`${appOrigin}/`);
      await tab.setInputFiles("#file", file);
      await Promise.all([tab.waitForURL(/\/done/), tab.click("button")]);
      const landed = new URL(tab.url());
      expect(landed.origin).toBe(appOrigin);
      expect(landed.searchParams.get("key")).toBe("uploads/forms/hello.txt");
      expect(landed.searchParams.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
      await tab.close();

      const stored = await h.signet.objects.store.head("default", "uploads/forms/hello.txt");
      expect(stored?.size).toBe("hello from chromium".length);
      expect(stored?.contentType).toBe("text/plain");
    });

    it("a form outside its policy (wrong type) is refused and stores nothing", async () => {
      const signed = await h.admin.presign({
        bucket: "default",
        key: "uploads/only.png",
        method: "POST",
        contentType: "image/png",
        successActionStatus: 201,
      } as any);
      const inputs = Object.entries(signed.fields!).map(
        ([name, value]) => `<input type="hidden" name="${name}" value="${value}">`,
      );
      page = `<form method="post" enctype="multipart/form-data" action="${signed.url}">${inputs.join("")}<input type="file" name="file" id="file"><button>send</button></form>`;
      const file = join(await mkdtemp(join(tmpdir(), "signet-form-")), "note.txt");
      await writeFile(file, "not an image");
      const tab = await browser.newPage();
      await tab.goto(`${appOrigin}/`);
      await tab.setInputFiles("#file", file);
      // The form fixes Content-Type to image/png through its field; send a file part of another
      // type by dropping that field, as a tampering client would.
      await tab.evaluate(() =>
        (globalThis as any).document.querySelector('input[name="Content-Type"]')?.remove(),
      );
      const [response] = await Promise.all([
        tab.waitForResponse((r) => r.url().startsWith(signed.url)),
        tab.click("button"),
      ]);
      expect(response.status()).toBe(403);
      await tab.close();
      expect(await h.signet.objects.store.head("default", "uploads/only.png")).toBeUndefined();
    });

    it("a cross-origin PUT with a signed Content-Type passes CORS and exposes ETag", async () => {
      const signed = await h.admin.presign({
        bucket: "default",
        key: "uploads/xhr.json",
        method: "PUT",
        contentType: "application/json",
      });
      page = "<p>app</p>";
      const tab = await browser.newPage();
      await tab.goto(`${appOrigin}/`);
      const result = await tab.evaluate(
        async ({ url, headers }) => {
          const res = await fetch(url, { method: "PUT", body: '{"a":1}', headers });
          return { status: res.status, etag: res.headers.get("etag") };
        },
        { url: signed.url, headers: signed.headers },
      );
      expect(result.status).toBe(200);
      expect(result.etag).toMatch(/^"[0-9a-f]{32}"$/);
      await tab.close();
    });
  },
);
