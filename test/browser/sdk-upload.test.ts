/**
 * Issue 19: `signet/browser` bundled with esbuild and run in headless Chromium: uploads over
 * upload intents (one PUT, parallel parts), progress, retries, abort, resume; and the bundle
 * keeps only what an app imports.
 */
import type { Browser, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppOrigin,
  bundle,
  hasChromium,
  openAppPage,
  pattern,
  sha256Hex as sha,
  startAppOrigin,
} from "../helpers/browser.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";

const MiB = 1024 * 1024;

// The page's script: the SDK on window, plus the same byte pattern as `pattern`.
const PAGE_SCRIPT = `
import * as sdk from "signet/browser";
window.sdk = sdk;
window.blobOf = (size) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 255;
  return new Blob([bytes], { type: "application/octet-stream" });
};`;

describe.skipIf(!hasChromium)("signet/browser in headless Chromium", () => {
  let h: Harness;
  let app: AppOrigin;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    app = await startAppOrigin();
    // The README's CORS example: the app's origin may PUT to the data plane, ETag is exposed.
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local", cors: { origins: [app.url], maxAgeSeconds: 60 } } },
      },
    });
    app.signet = h.url;
    // The app's page reaches Signet's /v1 through its own origin, the data plane directly.
    ({ browser, page } = await openAppPage(app, PAGE_SCRIPT, { ready: "sdk" }));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await h?.close();
  });

  const stored = async (key: string) => {
    const signed = await h.admin.presign({ bucket: "default", key, method: "GET" });
    const res = await fetch(signed.url, { headers: signed.headers });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };

  it("uploads a small file in one PUT and commits it with its sha256", async () => {
    const result = await page.evaluate(async (token) => {
      const { sdk, blobOf } = globalThis as any;
      const client = sdk.createClient({ token });
      const seen: number[] = [];
      const file = await sdk.upload(blobOf(100_000), {
        client,
        bucket: "default",
        key: "sdk/small.bin",
        onProgress: (p: { loaded: number }) => seen.push(p.loaded),
      });
      return { file, last: seen.at(-1) };
    }, ADMIN_KEY);
    expect(result.file.status).toBe("committed");
    expect(result.file.size).toBe(100_000);
    expect(result.last).toBe(100_000);
    expect(Buffer.from(result.file.sha256, "base64").toString("hex")).toBe(sha(pattern(100_000)));
    expect(sha(await stored("sdk/small.bin"))).toBe(sha(pattern(100_000)));
  });

  it("a file without a type gets the key's, as Signet guesses it for signet put", async () => {
    const file = await page.evaluate(async (token) => {
      const { sdk } = globalThis as any;
      return sdk.upload(new Blob(["%PDF-1.4"]), {
        client: sdk.createClient({ token }),
        bucket: "default",
        key: "sdk/typed.pdf",
      });
    }, ADMIN_KEY);
    expect(file).toMatchObject({ status: "committed", contentType: "application/pdf" });
  });

  it("uploads a small file as a form POST when asked", async () => {
    const file = await page.evaluate(async (token) => {
      const { sdk, blobOf } = globalThis as any;
      return sdk.upload(blobOf(3000), {
        client: sdk.createClient({ token }),
        bucket: "default",
        key: "sdk/form.bin",
        form: true,
      });
    }, ADMIN_KEY);
    expect(file.status).toBe("committed");
    expect(sha(await stored("sdk/form.bin"))).toBe(sha(pattern(3000)));
    const audit = await fetch(`${h.url}/v1/audit?limit=20`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    const posted = ((await audit.json()) as any).items.find(
      (r: any) => r.key === "sdk/form.bin" && r.method === "POST",
    );
    expect(posted).toBeDefined();
  });

  it("uploads 20 MiB in parallel parts, retrying a part that failed once", async () => {
    let failed = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    // Parts pass through Node here, so the test sees how many are in flight at once; the first
    // attempt at part 2 fails with a 500 and the SDK retries it.
    await page.route(/partNumber=/, async (route) => {
      if (route.request().method() !== "PUT") return route.fallback();
      if (/partNumber=2\b/.test(route.request().url()) && failed++ === 0)
        return route.fulfill({ status: 500, body: "injected" });
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await route.fulfill({ response: await route.fetch() });
      } finally {
        inFlight--;
      }
    });
    const size = 20 * MiB;
    const result = await page.evaluate(
      async ({ token, size }) => {
        const { sdk, blobOf } = globalThis as any;
        const client = sdk.createClient({ token });
        const progress: number[] = [];
        const file = await sdk.upload(blobOf(size), {
          client,
          bucket: "default",
          key: "sdk/big.bin",
          partSize: 5 * 1024 * 1024,
          singleLimit: 8 * 1024 * 1024,
          concurrency: 3,
          onProgress: (p: { loaded: number }) => progress.push(p.loaded),
        });
        return { file, last: progress.at(-1) };
      },
      { token: ADMIN_KEY, size },
    );
    await page.unroute(/partNumber=/);
    expect(failed).toBeGreaterThanOrEqual(2);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(result.file.status).toBe("committed");
    expect(result.file.size).toBe(size);
    expect(result.last).toBe(size);
    expect(sha(await stored("sdk/big.bin"))).toBe(sha(pattern(size)));
  });

  it("drops a part that stalls after stallTimeout and sends it again", async () => {
    let stalled = 0;
    // The first attempt at part 1 is never answered: without a stall timeout the upload waits
    // for ever.
    await page.route(/partNumber=1\b/, async (route) => {
      if (route.request().method() === "PUT" && stalled++ === 0) return;
      return route.fallback();
    });
    const size = 10 * MiB;
    const file = await page.evaluate(
      async ({ token, size }) => {
        const { sdk, blobOf } = globalThis as any;
        return sdk.upload(blobOf(size), {
          client: sdk.createClient({ token }),
          bucket: "default",
          key: "sdk/stalled.bin",
          partSize: 5 * 1024 * 1024,
          singleLimit: 8 * 1024 * 1024,
          // Parts passed on by the route wait on Playwright, silent meanwhile: 3 s leaves room.
          stallTimeout: 3,
        });
      },
      { token: ADMIN_KEY, size },
    );
    await page.unroute(/partNumber=1\b/);
    expect(stalled).toBeGreaterThanOrEqual(2);
    expect(file.status).toBe("committed");
    expect(sha(await stored("sdk/stalled.bin"))).toBe(sha(pattern(size)));
  });

  it("takes stallTimeout Infinity as never, and refuses a negative one before any request", async () => {
    // A browser fires a timer of Infinity, or past 2^31 - 1 ms, at once: every request was
    // dropped as stalled as soon as it was sent.
    const statuses = await page.evaluate(async (token) => {
      const { sdk, blobOf } = globalThis as any;
      const client = sdk.createClient({ token });
      const statuses: string[] = [];
      for (const stallTimeout of [Infinity, 30 * 86400]) {
        const file = await sdk.upload(blobOf(64 * 1024), {
          client,
          bucket: "default",
          key: `sdk/stall-${stallTimeout}.bin`,
          attempts: 1,
          stallTimeout,
        });
        statuses.push(file.status);
      }
      return statuses;
    }, ADMIN_KEY);
    expect(statuses).toEqual(["committed", "committed"]);

    const requests: string[] = [];
    const onRequest = (r: Request) => requests.push(`${r.method()} ${r.url()}`);
    page.on("request", onRequest);
    const refused = await page
      .evaluate(async (token) => {
        const { sdk, blobOf } = globalThis as any;
        const client = sdk.createClient({ token });
        return sdk
          .upload(blobOf(64 * 1024), { client, bucket: "default", key: "sdk/x", stallTimeout: -1 })
          .then(
            () => "uploaded",
            (e: Error) => e.name,
          );
      }, ADMIN_KEY)
      .finally(() => page.off("request", onRequest));
    expect(refused).toBe("RangeError");
    expect(requests).toEqual([]);
  });

  it("abort stops the upload, removes the partial data and commits nothing", async () => {
    const result = await page.evaluate(async (token) => {
      const { sdk, blobOf } = globalThis as any;
      const client = sdk.createClient({ token });
      const controller = new AbortController();
      let fileId: string | undefined;
      try {
        await sdk.upload(blobOf(12 * 1024 * 1024), {
          client,
          bucket: "default",
          key: "sdk/aborted.bin",
          partSize: 5 * 1024 * 1024,
          singleLimit: 5 * 1024 * 1024,
          concurrency: 1,
          signal: controller.signal,
          onState: (s: { fileId: string }) => {
            fileId = s.fileId;
            controller.abort();
          },
        });
        return { error: "none" };
      } catch (e) {
        return { error: (e as Error).name, fileId };
      }
    }, ADMIN_KEY);
    expect(result.error).toBe("AbortError");
    const res = await fetch(`${h.url}/v1/files/${result.fileId}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    // Aborted intents are removed: the file is deleted (or no longer visible), never committed.
    expect(res.status === 200 ? ((await res.json()) as any).status : "gone").not.toBe("committed");
    expect(await h.signet.objects.store.head("default", "sdk/aborted.bin")).toBeUndefined();
  });

  it("resumes an interrupted multipart upload from its saved state, renewing expired part URLs", async () => {
    const size = 11 * MiB;
    const renewals: string[] = [];
    const onRequest = (r: import("playwright-core").Request) => {
      if (r.url().endsWith("/v1/uppy/sign")) renewals.push(r.postData() ?? "");
    };
    page.on("request", onRequest);
    const result = await page.evaluate(
      async ({ token, size }) => {
        const { sdk, blobOf } = globalThis as any;
        const client = sdk.createClient({ token });
        const blob = blobOf(size);
        const controller = new AbortController();
        let saved: any;
        try {
          await sdk.upload(blob, {
            client,
            bucket: "default",
            key: "sdk/resumed.bin",
            partSize: 5 * 1024 * 1024,
            singleLimit: 1024,
            concurrency: 1,
            signal: controller.signal,
            keepOnAbort: true,
            onState: (s: unknown) => {
              saved = s;
              controller.abort();
            },
          });
        } catch {
          // interrupted on purpose after the first part
        }
        // The state is plain JSON: it survives sessionStorage (and a reload).
        (globalThis as any).sessionStorage.setItem("resume", JSON.stringify(saved));
        const resume = JSON.parse((globalThis as any).sessionStorage.getItem("resume")!);
        // as if the page came back later: the remaining part URLs have expired and are renewed
        for (const part of resume.parts) part.expiresAt = new Date(Date.now() - 1000).toISOString();
        const partsBefore = resume.done.length;
        const sentAfter: number[] = [];
        const file = await sdk.upload(blob, {
          client,
          bucket: "default",
          key: "sdk/resumed.bin",
          resume,
          onProgress: (p: { loaded: number }) => sentAfter.push(p.loaded),
        });
        return { file, partsBefore, firstReport: sentAfter[0] };
      },
      { token: ADMIN_KEY, size },
    );
    page.off("request", onRequest);
    expect(result.partsBefore).toBe(1);
    // the two parts not yet stored got fresh URLs, the stored one none
    expect(renewals.map((b) => JSON.parse(b).partNumber).sort()).toEqual([2, 3]);
    // the resumed upload starts from the part already stored
    expect(result.firstReport).toBe(5 * MiB);
    expect(result.file.status).toBe("committed");
    expect(sha(await stored("sdk/resumed.bin"))).toBe(sha(pattern(size)));
  });

  it("presigns a folder LIST and reads the listing cross-origin", async () => {
    const listing = await page.evaluate(async (token) => {
      const { sdk } = globalThis as any;
      const client = sdk.createClient({ token });
      const signed = await sdk.presign(client, {
        bucket: "default",
        prefix: "sdk",
        method: "LIST",
      });
      return sdk.listFolder(signed, { limit: 100 });
    }, ADMIN_KEY);
    expect(listing.items.map((i: { key: string }) => i.key)).toContain("sdk/small.bin");
  });

  it("a wrong credential is a SignetApiError with the API's code", async () => {
    const result = await page.evaluate(async () => {
      const { sdk } = globalThis as any;
      try {
        await sdk.listFiles(sdk.createClient({ token: "wrong" }), { bucket: "default" });
        return "none";
      } catch (e) {
        return `${(e as Error).name} ${(e as any).status} ${(e as any).code}`;
      }
    });
    expect(result).toBe("SignetApiError 401 unauthorized");
  });

  it("is tree-shakable and free of Node built-ins", async () => {
    const small = await bundle(
      'import { createClient, presign } from "signet/browser"; globalThis.x = [createClient, presign];',
      { minify: true },
    );
    const full = await bundle('import * as s from "signet/browser"; globalThis.x = s;', {
      minify: true,
    });
    expect(small).not.toMatch(/XMLHttpRequest/);
    expect(small.length).toBeLessThan(full.length / 2);
    expect(full).not.toMatch(/node:/);
  });

  // An abort that lands before the parts start (while the intent is created) still aborts, and a
  // resume state (plain JSON the app kept somewhere) cannot send the bytes to a URL of its own.
  const statusOf = async (fileId: string | undefined) => {
    if (fileId === undefined) return "none";
    const res = await fetch(`${h.url}/v1/files/${fileId}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    return res.status === 200 ? ((await res.json()) as { status: string }).status : "gone";
  };

  it("an abort while the multipart intent is created sends no part and commits nothing", async () => {
    const puts: string[] = [];
    const onRequest = (r: Request) => {
      if (r.method() === "PUT") puts.push(r.url());
    };
    page.on("request", onRequest);
    const result = await page.evaluate(async (token) => {
      const { sdk, blobOf } = globalThis as any;
      const controller = new AbortController();
      let fileId: string | undefined;
      // The person presses Cancel while POST /v1/uploads is answered.
      const client = sdk.createClient({
        token,
        fetch: async (input: string, init: RequestInit) => {
          const res = await fetch(input, init);
          if (String(input).endsWith("/v1/uploads")) {
            fileId = ((await res.clone().json()) as { file: { id: string } }).file.id;
            controller.abort();
          }
          return res;
        },
      });
      try {
        await sdk.upload(blobOf(12 * 1024 * 1024), {
          client,
          bucket: "default",
          key: "sdk/abort-early.bin",
          partSize: 5 * 1024 * 1024,
          singleLimit: 5 * 1024 * 1024,
          signal: controller.signal,
        });
        return { error: "none", fileId };
      } catch (e) {
        return { error: (e as Error).name, fileId };
      }
    }, ADMIN_KEY);
    page.off("request", onRequest);
    expect(result.error).toBe("AbortError");
    expect(puts).toEqual([]);
    expect(await statusOf(result.fileId)).not.toBe("committed");
  });

  it("a resume state's part URLs are not trusted: the bytes go only where Signet signs", async () => {
    const elsewhere: string[] = [];
    const onRequest = (r: Request) => {
      if (r.url().startsWith(`${app.url}/collect`)) elsewhere.push(r.url());
    };
    page.on("request", onRequest);
    const result = await page.evaluate(
      async ({ token, collect }) => {
        const { sdk, blobOf } = globalThis as any;
        const client = sdk.createClient({ token });
        const file = blobOf(11 * 1024 * 1024);
        const options = {
          client,
          bucket: "default",
          key: "sdk/resume-trust.bin",
          partSize: 5 * 1024 * 1024,
          singleLimit: 5 * 1024 * 1024,
          concurrency: 1,
        };
        const controller = new AbortController();
        let state: any;
        try {
          await sdk.upload(file, {
            ...options,
            signal: controller.signal,
            keepOnAbort: true,
            onState: (s: unknown) => {
              state = s;
              controller.abort();
            },
          });
        } catch {
          // aborted after the first part, kept for a resume
        }
        // The state the app kept, altered: its remaining parts now point elsewhere.
        for (const part of state.parts)
          if (!state.done.some((d: any) => d.partNumber === part.partNumber))
            part.url = `${collect}?part=${part.partNumber}`;
        try {
          const done = await sdk.upload(file, { ...options, resume: state, attempts: 1 });
          return { status: done.status, fileId: state.fileId };
        } catch (e) {
          return { status: `error ${(e as Error).message}`, fileId: state.fileId };
        }
      },
      { token: ADMIN_KEY, collect: `${app.url}/collect` },
    );
    page.off("request", onRequest);
    expect(elsewhere).toEqual([]);
    expect(result.status).toBe("committed");
  });
});
