/**
 * `signet/browser`'s `upload()`: an abort that lands before the parts start (while the intent is
 * being created) still aborts, and a resume state (plain JSON the app kept somewhere) cannot send
 * the file's bytes to a URL of its own: resumed parts are signed afresh by Signet.
 */
import type { Browser, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppOrigin, hasChromium, openAppPage, startAppOrigin } from "../helpers/browser.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";

const PAGE_SCRIPT = `
import * as sdk from "signet/browser";
window.sdk = sdk;
window.blobOf = (size) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 255;
  return new Blob([bytes], { type: "application/octet-stream" });
};`;

describe.skipIf(!hasChromium)("signet/browser upload: abort and resume trust", () => {
  let h: Harness;
  let app: AppOrigin;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    app = await startAppOrigin();
    h = await startSignet({
      config: {
        buckets: { default: { backend: "local", cors: { origins: [app.url], maxAgeSeconds: 60 } } },
      },
    });
    app.signet = h.url;
    ({ browser, page } = await openAppPage(app, PAGE_SCRIPT, { ready: "sdk" }));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await h?.close();
  });

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
