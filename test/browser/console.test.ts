/**
 * Issue 20: the web console at /console in headless Chromium (playwright-core, Debian's
 * Chromium): sign in, a 20 MB upload in parts downloaded back byte for byte, a folder share
 * opened in a second browser context then revoked, admin screens only for admins, a wrong key
 * refused with a clear message, phone width, and the CSP (nothing from another origin, no
 * violations). Each screen's screenshot is written to docs/screenshots/ (linked from README).
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { SignJWT } from "jose";
import jsQRModule from "jsqr";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, launchChromium } from "../helpers/browser.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";

const ROOT = join(import.meta.dirname, "../..");
const SHOTS = join(ROOT, "docs/screenshots");
// jsqr is CommonJS with a default export: under NodeNext it arrives as the module object.
const jsQR = ((jsQRModule as any).default ?? jsQRModule) as typeof import("jsqr").default;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const JWT_SECRET = "console-test-secret-".padEnd(48, "x");

// Each test drives a whole screen in Chromium; on two busy cores (CI runs the reliability suite
// beside it) one can take longer than the default 30 s without anything being wrong.
describe.skipIf(!hasChromium)(
  "web console (/console) in headless Chromium",
  { timeout: 120_000 },
  () => {
    let h: Harness;
    let browser: Browser;
    let viewerKey: string;
    const contexts: BrowserContext[] = [];
    /** every request any page made, and every console error (CSP violations show there) */
    const requested = new Set<string>();
    const consoleErrors: string[] = [];

    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${h.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return res.status === 204 ? undefined : ((await res.json()) as any);
    };

    async function newPage(viewport = { width: 1280, height: 860 }): Promise<Page> {
      const context = await browser.newContext({ viewport, acceptDownloads: true });
      contexts.push(context);
      const page = await context.newPage();
      page.on("request", (r) => requested.add(new URL(r.url()).origin));
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      return page;
    }

    async function signIn(page: Page, token: string): Promise<void> {
      await page.goto(`${h.url}/console/`);
      await page.getByLabel("API key or JWT").fill(token);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("navigation", { name: "Sections" }).waitFor();
    }

    const shot = (page: Page, name: string) =>
      page.screenshot({ path: join(SHOTS, `console-${name}.png`), fullPage: true });

    beforeAll(async () => {
      await build({ configFile: join(ROOT, "web/vite.config.ts"), logLevel: "warn" });
      await mkdir(SHOTS, { recursive: true });
      h = await startSignet({
        config: {
          buckets: { default: { backend: "local" } },
          auth: { jwt: { secret: "${JWT_SECRET}" } },
          grants: [
            { principal: "role:viewer", buckets: ["default"], actions: ["read", "list"] },
            {
              principal: "role:user",
              buckets: ["default"],
              prefix: "u/${sub}",
              actions: ["read", "write", "list", "share"],
            },
          ],
        },
        env: { JWT_SECRET },
      });
      viewerKey = (await api("POST", "/v1/apikeys", { name: "viewer", role: "viewer" })).key;
      browser = await launchChromium();
    });
    afterAll(async () => {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser?.close();
      await h?.close();
    });

    it("serves the app with a strict CSP", async () => {
      const res = await fetch(`${h.url}/console/`);
      expect(res.status).toBe(200);
      const csp = res.headers.get("content-security-policy")!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*src="\/console\/)/);
      expect(
        (await fetch(`${h.url}/console`, { redirect: "manual" })).headers.get("location"),
      ).toBe("/console/");
    });

    it("refuses a wrong key with a clear message", async () => {
      const page = await newPage();
      await page.goto(`${h.url}/console/`);
      await shot(page, "signin");
      await page.getByLabel("API key or JWT").fill("not-a-key");
      await page.getByRole("button", { name: "Sign in" }).click();
      const alert = page.getByRole("alert");
      await expect.poll(() => alert.textContent()).toContain("Signet refused this key or token");
      expect(await alert.textContent()).toContain("401 unauthorized");
      expect(await page.getByRole("navigation", { name: "Sections" }).isHidden()).toBe(true);
      await shot(page, "signin-refused");
      // The credential is never kept in localStorage.
      expect(await page.evaluate(() => JSON.stringify((globalThis as any).localStorage))).toBe(
        "{}",
      );
    });

    let admin: Page;
    const big = Buffer.alloc(20 * 1000 * 1000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131 + 17) & 255;

    it("uploads a 20 MB file in parts and downloads the same bytes", async () => {
      admin = await newPage();
      await signIn(admin, ADMIN_KEY);
      await admin.getByRole("link", { name: "Upload" }).click();
      await admin.getByLabel("Folder", { exact: true }).fill("e2e");
      await admin.locator("#pick").setInputFiles({
        name: "big.bin",
        mimeType: "application/octet-stream",
        buffer: big,
      });
      const item = admin.locator('li[data-key="e2e/big.bin"] .state');
      await expect.poll(() => item.textContent(), { timeout: 60_000 }).toBe("uploaded");
      // A small file dropped onto the drop zone, as a drag and drop does.
      await admin.evaluate(() => {
        const g = globalThis as any;
        const data = new g.DataTransfer();
        data.items.add(new g.File(["dropped"], "note.txt", { type: "text/plain" }));
        g.document
          .querySelector('[data-testid="dropzone"]')
          .dispatchEvent(new g.DragEvent("drop", { dataTransfer: data, bubbles: true }));
      });
      await expect
        .poll(() => admin.locator('li[data-key="e2e/note.txt"] .state').textContent())
        .toBe("uploaded");
      await shot(admin, "upload");
      // it went in parts: the intent was multipart
      const audit = await api("GET", "/v1/audit?limit=50");
      const created = audit.items.find(
        (r: any) => r.event === "upload.create" && r.key === "e2e/big.bin",
      );
      expect(created.detail.multipart).toBe(true);

      await admin.getByRole("link", { name: "Files" }).click();
      await admin.getByRole("button", { name: "📁 e2e/" }).click();
      await admin.getByRole("button", { name: "big.bin" }).click();
      const details = admin.getByRole("region", { name: "File details" });
      await expect.poll(() => details.textContent()).toContain("20000000 bytes");
      expect(await details.textContent()).toContain(sha(big));
      await shot(admin, "files");
      // one page holds everything: no "Load more" shown
      expect(await admin.getByRole("button", { name: "Load more" }).isVisible()).toBe(false);
      const [download] = await Promise.all([
        admin.waitForEvent("download"),
        details.getByRole("button", { name: "Download" }).click(),
      ]);
      expect(download.suggestedFilename()).toBe("big.bin");
      expect(sha(await readFile((await download.path())!))).toBe(sha(big));
      // a short-lived link to copy
      await details.getByRole("button", { name: "Get a link" }).click();
      const link = await admin.getByTestId("file-link").inputValue();
      const fetched = await fetch(link);
      expect(fetched.status).toBe(200);
      expect(sha(Buffer.from(await fetched.arrayBuffer()))).toBe(sha(big));
    });

    it("drops several files at once: all upload, at most 3 at a time", async () => {
      await admin.getByRole("link", { name: "Upload" }).click();
      await admin.getByLabel("Folder", { exact: true }).fill("batch");
      let inFlight = 0;
      let maxInFlight = 0;
      // Uploads to storage (each intent's own staging key) pass through Node here, each held
      // briefly, to count those at once.
      await admin.route(/\/o\/default\/\.signet-staging\//, async (route) => {
        if (route.request().method() !== "PUT") return route.fallback();
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 200));
          return await route.fulfill({ response: await route.fetch() });
        } finally {
          inFlight--;
        }
      });
      await admin.evaluate(() => {
        const g = globalThis as any;
        const data = new g.DataTransfer();
        for (let i = 0; i < 6; i++)
          data.items.add(new g.File([`file ${i}`], `b${i}.txt`, { type: "text/plain" }));
        g.document
          .querySelector('[data-testid="dropzone"]')
          .dispatchEvent(new g.DragEvent("drop", { dataTransfer: data, bubbles: true }));
      });
      const states = admin.locator('li[data-key^="batch/"] .state');
      await expect
        .poll(async () => (await states.allTextContents()).join(","), { timeout: 30_000 })
        .toBe(Array(6).fill("uploaded").join(","));
      await admin.unroute(/\/o\/default\/\.signet-staging\//);
      expect(maxInFlight).toBeGreaterThan(1);
      expect(maxInFlight).toBeLessThanOrEqual(3);
    });

    it("cancels an upload under way and retries it", async () => {
      await admin.getByRole("link", { name: "Upload" }).click();
      await admin.getByLabel("Folder", { exact: true }).fill("e2e");
      // Part uploads wait at the network until released, so the cancel lands mid-upload.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      await admin.route(/partNumber=/, async (route) => {
        await gate;
        await route.fallback().catch(() => undefined);
      });
      await admin.locator("#pick").setInputFiles({
        name: "again.bin",
        mimeType: "application/octet-stream",
        buffer: big,
      });
      const item = admin.locator('li[data-key="e2e/again.bin"]');
      // under way: "uploading…" until the first progress event, then "N% · rate/s"
      await expect
        .poll(() => item.locator(".state").textContent())
        .toMatch(/^(uploading…|\d+% · .+\/s)$/);
      expect(await item.getByRole("button", { name: "Retry" }).isVisible()).toBe(false);
      await item.getByRole("button", { name: "Cancel" }).click();
      await expect.poll(() => item.locator(".state").textContent()).toBe("cancelled");
      expect(await item.getByRole("button", { name: "Cancel" }).isVisible()).toBe(false);
      release();
      await admin.unroute(/partNumber=/);
      await item.getByRole("button", { name: "Retry" }).click();
      await expect
        .poll(() => item.locator(".state").textContent(), { timeout: 60_000 })
        .toBe("uploaded");
      const files = await api("GET", "/v1/files?bucket=default&prefix=e2e/again.bin");
      // the cancelled intent was aborted (its partial data removed), the retry committed
      expect(files.items.map((f: any) => f.status).sort()).toEqual(["committed", "deleted"]);
    });

    it("searches a folder by prefix, with a clear empty state", async () => {
      await admin.getByRole("link", { name: "Files" }).click();
      await admin.getByRole("button", { name: "📁 e2e/" }).click();
      await admin.getByLabel("Search this folder").fill("no");
      await expect.poll(() => admin.getByRole("button", { name: "big.bin" }).count()).toBe(0);
      expect(await admin.getByRole("button", { name: "note.txt" }).count()).toBe(1);
      await admin.getByLabel("Search this folder").fill("zzz");
      await expect.poll(() => admin.locator(".empty").textContent()).toContain("Nothing here");
    });

    it("pages through a long folder", async () => {
      // 55 files, more than one page (50), stored through upload intents
      for (let i = 0; i < 55; i++) {
        const intent = await api("POST", "/v1/uploads", {
          bucket: "default",
          key: `many/f${String(i).padStart(2, "0")}.txt`,
          size: 1,
          contentType: "text/plain",
        });
        const headers = Object.entries(intent.upload.headers as Record<string, string>).filter(
          ([name]) => name !== "content-length",
        );
        await fetch(intent.upload.url, { method: "PUT", headers, body: "x" });
        await api("POST", `/v1/uploads/${intent.file.id}/complete`, {});
      }
      await admin.getByRole("link", { name: "Upload" }).click();
      await admin.getByRole("link", { name: "Files" }).click();
      await admin.getByLabel("Search this folder").fill("many");
      await admin.getByRole("button", { name: "📁 many/" }).click();
      const rows = admin
        .getByRole("region", { name: "Files in default/many/" })
        .locator("tbody tr");
      await expect.poll(() => rows.count()).toBe(50);
      await admin.getByRole("button", { name: "Load more" }).click();
      await expect.poll(() => rows.count()).toBe(55);
      expect(await admin.getByRole("button", { name: "Load more" }).isVisible()).toBe(false);
    });

    it("shares a folder, opens it in a second context, revokes it and sees the refusal", async () => {
      await admin.getByRole("link", { name: "Shares" }).click();
      await admin.getByLabel("Folder", { exact: true }).fill("e2e");
      await admin.getByRole("button", { name: "Create share" }).click();
      const url = await admin.getByTestId("share-link").inputValue();
      expect(url).toContain("/s/");
      await admin.getByText("Show as QR code").click();
      await shot(admin, "shares");
      // the QR code holds the link
      const image = await admin
        .getByRole("img", { name: "QR code of the share link" })
        .evaluate((canvas: any) => {
          const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
          return {
            width: data.width,
            height: data.height,
            pixels: Array.from(data.data as number[]),
          };
        });
      const decoded = jsQR(Uint8ClampedArray.from(image.pixels), image.width, image.height);
      expect(decoded?.data).toBe(url);

      const partner = await newPage();
      const opened = await partner.goto(url);
      expect(opened!.status()).toBe(200);
      expect(await partner.content()).toContain("big.bin");

      const row = admin.getByRole("row").filter({ hasText: "default/e2e/" });
      await row.getByRole("button", { name: "Revoke" }).click();
      await row.getByRole("button", { name: "Really revoke?" }).click();
      await expect.poll(() => admin.locator(".empty").textContent()).toContain("No active shares");
      const refused = await partner.goto(url);
      expect(refused!.status()).toBe(403);
      expect(await partner.content()).toContain("token_revoked");
    });

    it("admin screens: signing keys, API keys (secret once), grants, buckets, audit with live tail", async () => {
      await admin.getByRole("link", { name: "Signing keys" }).click();
      await admin.getByRole("button", { name: "Rotate" }).click();
      await expect.poll(() => admin.getByRole("button", { name: "Retire" }).count()).toBe(1);
      await shot(admin, "keys");

      await admin.getByRole("link", { name: "API keys" }).click();
      await admin.getByLabel("Name").fill("partner-app");
      await admin.getByRole("button", { name: "Create key" }).click();
      const secret = await admin.getByTestId("apikey-secret").inputValue();
      expect(secret.length).toBeGreaterThan(20);
      await expect.poll(() => admin.getByRole("table").textContent()).toContain("partner-app");
      expect(await admin.getByRole("table").textContent()).not.toContain(secret);
      await shot(admin, "apikeys");

      await admin.getByRole("link", { name: "Grants" }).click();
      await admin.getByLabel("Principal").fill("role:partner");
      await admin.getByLabel("Folder").fill("partners/${sub}");
      await admin.getByLabel("URLs per minute (optional)").fill("60");
      await admin.getByLabel("Max upload size (optional)").fill("5242880");
      await admin.getByLabel("Content types (optional)").fill("image/*, application/pdf");
      await admin.getByRole("button", { name: "Create grant" }).click();
      await expect.poll(() => admin.getByRole("table").textContent()).toContain("role:partner");
      expect(await admin.getByRole("table").textContent()).toContain(
        "60/min · ≤ 5242880 B · image/*, application/pdf",
      );
      const made = (await h.admin.grants.list()).find((g) => g.principal === "role:partner");
      expect(made).toMatchObject({
        quota: { perMinute: 60 },
        require: { contentLengthMax: 5242880, contentTypes: ["image/*", "application/pdf"] },
      });
      await shot(admin, "grants");

      await admin.getByRole("link", { name: "Buckets" }).click();
      await admin.getByLabel("Name").fill("scratch");
      await admin.getByRole("button", { name: "Create bucket" }).click();
      await expect.poll(() => admin.getByRole("table").textContent()).toContain("scratch");
      await shot(admin, "buckets");

      await admin.getByRole("link", { name: "Audit" }).click();
      await expect.poll(() => admin.getByRole("table").textContent()).toContain("upload.complete");
      await admin.getByLabel("Live tail").check();
      await api("POST", "/v1/presign", { bucket: "default", key: "tail/seen.txt", method: "GET" });
      await expect
        .poll(() => admin.getByRole("table").textContent(), { timeout: 10_000 })
        .toContain("tail/seen.txt");
      await admin.getByLabel("Event").fill("share");
      await expect
        .poll(() => admin.getByRole("table").textContent())
        .not.toContain("tail/seen.txt");
      await shot(admin, "audit");
    });

    it("a non-admin does not see the admin screens", async () => {
      const page = await newPage();
      await signIn(page, viewerKey);
      const nav = page.getByRole("navigation", { name: "Sections" });
      expect(await nav.getByRole("link").allTextContents()).toEqual(["Files", "Upload", "Shares"]);
      await page.goto(`${h.url}/console/#/audit`);
      await expect
        .poll(() => page.getByRole("alert").textContent())
        .toContain("for administrators");
      // what they may do follows their grants: reading works, deleting is refused
      await page.goto(`${h.url}/console/#/files`);
      // By search: the root shows the folders of its first page of files, which many/ fills.
      await page.getByLabel("Search this folder").fill("e2e");
      await page.getByRole("button", { name: "📁 e2e/" }).click();
      await page.getByRole("button", { name: "note.txt" }).click();
      await page.getByRole("button", { name: "Delete" }).click();
      await page.getByRole("button", { name: "Really delete?" }).click();
      await expect.poll(() => page.getByRole("alert").textContent()).toContain("Not deleted");
    });

    it("signs in with a JWT, kept in this tab's sessionStorage only when asked, and works in its grant", async () => {
      const jwt = await new SignJWT({ roles: ["user"] })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("alice")
        .setExpirationTime("10m")
        .sign(new TextEncoder().encode(JWT_SECRET));
      const page = await newPage();
      await page.goto(`${h.url}/console/`);
      await page.getByLabel("API key or JWT").fill(jwt);
      await page.getByLabel(/Keep me signed in/).check();
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("navigation", { name: "Sections" }).waitFor();
      await page.getByRole("link", { name: "Upload" }).click();
      // ${sub} stands for the namespaced principal (sub:alice), never a bare subject.
      await page.getByLabel("Folder", { exact: true }).fill("u/sub:alice");
      await page.locator("#pick").setInputFiles({
        name: "mine.txt",
        mimeType: "text/plain",
        buffer: Buffer.from("alice's"),
      });
      await expect
        .poll(() => page.locator('li[data-key="u/sub:alice/mine.txt"] .state').textContent())
        .toBe("uploaded");
      // outside the grant: refused with the API's reason, nothing stored
      await page.getByLabel("Folder", { exact: true }).fill("u/bob");
      await page.locator("#pick").setInputFiles({
        name: "theirs.txt",
        mimeType: "text/plain",
        buffer: Buffer.from("no"),
      });
      await expect
        .poll(() => page.locator('li[data-key="u/bob/theirs.txt"] .state').textContent())
        .toMatch(/^failed: .*403 forbidden/);
      // a reload keeps the session (sessionStorage), never localStorage; sign out forgets it
      await page.reload();
      await page.getByRole("navigation", { name: "Sections" }).waitFor();
      const storage = () =>
        page.evaluate(() => ({
          local: (globalThis as any).localStorage.length,
          session: (globalThis as any).sessionStorage.length,
        }));
      expect(await storage()).toEqual({ local: 0, session: 1 });
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("API key or JWT").waitFor();
      expect(await storage()).toEqual({ local: 0, session: 0 });
    });

    it("fits a phone-width screen and is keyboard reachable", async () => {
      const page = await newPage({ width: 390, height: 844 });
      await signIn(page, ADMIN_KEY);
      await page.getByLabel("Search this folder").fill("e2e");
      await page.getByRole("button", { name: "📁 e2e/" }).click();
      await page.getByRole("button", { name: "big.bin" }).waitFor();
      expect(
        await page.evaluate(() => {
          const d = (globalThis as any).document.documentElement;
          return d.scrollWidth <= d.clientWidth;
        }),
      ).toBe(true);
      await shot(page, "phone");
      // keyboard: from the top, the sections come next, the skip link before them leads to <main>
      const focused = () =>
        page.evaluate(() => {
          const el = (globalThis as any).document.activeElement;
          return el.id || el.textContent;
        });
      await page.getByRole("heading", { name: "Signet" }).click();
      await page.keyboard.press("Tab");
      expect(await focused()).toBe("Files");
      await page.keyboard.press("Shift+Tab");
      expect(await focused()).toBe("Skip to content");
      await page.keyboard.press("Enter");
      expect(await focused()).toBe("main");
    });

    it("every screen passes axe-core's WCAG A/AA checks, and fits a phone width", async () => {
      const axe = await readFile(
        createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
        "utf8",
      );
      const page = await newPage({ width: 390, height: 844 });
      await page.goto(`${h.url}/console/`);
      const check = async (screen: string) => {
        // evaluate runs through the DevTools protocol, so the page's CSP stays as it is
        await page.evaluate(axe);
        const violations = await page.evaluate(async () => {
          const result = await (globalThis as any).axe.run({
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
          });
          return result.violations.map((v: any) => `${v.id}: ${v.nodes.length}`);
        });
        expect({ screen, violations }).toEqual({ screen, violations: [] });
        const fits = await page.evaluate(() => {
          const d = (globalThis as any).document.documentElement;
          return d.scrollWidth <= d.clientWidth;
        });
        expect({ screen, fits }).toEqual({ screen, fits: true });
      };
      await check("sign in");
      await page.getByLabel("API key or JWT").fill(ADMIN_KEY);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("navigation", { name: "Sections" }).waitFor();
      for (const name of [
        "Files",
        "Upload",
        "Shares",
        "Signing keys",
        "API keys",
        "Grants",
        "Buckets",
        "Audit",
      ]) {
        await page.getByRole("link", { name, exact: true }).click();
        await page.getByRole("heading", { level: 2, name }).waitFor();
        await page.waitForLoadState("networkidle");
        await check(name);
      }
    });

    it("loaded nothing from another origin and broke no CSP rule", () => {
      expect([...requested]).toEqual([h.url]);
      expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual(
        [],
      );
    });
  },
);
