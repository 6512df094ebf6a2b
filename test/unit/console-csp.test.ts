/** The console's CSP names exactly where its requests may go: itself, the data plane, storage. */
import { describe, expect, it } from "vitest";
import { consoleCsp } from "../../src/http/routes/console.js";
import type { Signet } from "../../src/service/signet.js";

const signetWith = (dataUrl: string, configs: Record<string, unknown>[]) =>
  ({
    dataUrl,
    buckets: {
      list: () => configs.map((config, i) => ({ name: `b${i}`, source: "config", config })),
    },
  }) as unknown as Signet;

const directive = (csp: string, name: string) =>
  csp
    .split("; ")
    .find((d) => d.startsWith(`${name} `))
    ?.split(" ")
    .slice(1);

describe("console CSP", () => {
  it("allows only this origin's scripts and styles, no framing, no inline code", () => {
    const csp = consoleCsp(signetWith("http://127.0.0.1:8080", [{ backend: "local" }]));
    expect(directive(csp, "default-src")).toEqual(["'none'"]);
    expect(directive(csp, "script-src")).toEqual(["'self'"]);
    expect(directive(csp, "style-src")).toEqual(["'self'"]);
    expect(directive(csp, "frame-ancestors")).toEqual(["'none'"]);
    expect(csp).not.toMatch(/unsafe|\*\s|;\s*$/);
  });

  it("connects to the data-plane origin and each bucket's storage origin only", () => {
    const csp = consoleCsp(
      signetWith("https://files.example.com/base", [
        { backend: "local" },
        { backend: "s3", bucket: "x", endpoint: "http://127.0.0.1:18080/" },
        { backend: "s3", bucket: "y" },
        { backend: "gcs", bucket: "z" },
        { backend: "azure", accountName: "acct1" },
        { backend: "swift", authUrl: "https://swift.example.org/auth/v1.0" },
      ]),
    );
    expect(directive(csp, "connect-src")).toEqual([
      "'self'",
      "https://files.example.com",
      "http://127.0.0.1:18080",
      "https://*.amazonaws.com",
      "https://storage.googleapis.com",
      "https://acct1.blob.core.windows.net",
      "https://swift.example.org",
    ]);
  });
});
