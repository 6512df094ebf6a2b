/** The SDK's errors never carry a signature or token a store echoed back. */
import { describe, expect, it, vi } from "vitest";
import { retryAfterOf } from "../../src/api/errors.js";
import { failure, redact, withRetries } from "../../src/client/errors.js";

describe("SDK errors", () => {
  it("redact signatures and tokens from a store's error body", async () => {
    const xml =
      "<Error><Code>SignatureDoesNotMatch</Code><SignatureProvided>abc123def</SignatureProvided></Error>";
    const err = await failure(403, { text: async () => xml });
    expect(err.code).toBe("http_error");
    expect(err.message).not.toContain("abc123def");
    const quoted = redact(
      "GET https://h/o/b/k?t=eyJ.payload.mac&x=1 and https://s3/b/k?X-Amz-Signature=ffee&X-Amz-Date=1",
    );
    expect(quoted).not.toMatch(/eyJ|ffee/);
    expect(quoted).toContain("x=1");
  });

  it("name a store's missing bucket or container through the provider-error table", async () => {
    const s3 = await failure(404, {
      text: async () => "<Error><Code>NoSuchBucket</Code><BucketName>b</BucketName></Error>",
    });
    expect(s3).toMatchObject({
      status: 404,
      code: "backend_unavailable",
      message: "the store: bucket missing (NoSuchBucket, 404)",
    });
    const azure = await failure(
      404,
      { text: async () => "" },
      {
        "x-ms-error-code": "ContainerNotFound",
      },
    );
    expect(azure.message).toBe("the store: bucket missing (ContainerNotFound, 404)");
    // a direct URL's own 403 stays about that URL (expired, signature), not Signet's credentials
    expect((await failure(403, { text: async () => "<Code>AccessDenied</Code>" })).code).toBe(
      "http_error",
    );
  });

  it("keep Signet's JSON error code, message and field", async () => {
    const body = JSON.stringify({
      error: { code: "forbidden", message: "no grant", field: "key" },
    });
    const err = await failure(403, { text: async () => body });
    expect(err).toMatchObject({
      status: 403,
      code: "forbidden",
      message: "no grant",
      field: "key",
    });
  });

  it("carry a 429's Retry-After in seconds (the delay form only), and retries wait at least that", async () => {
    expect(retryAfterOf("7")).toBe(7);
    expect(retryAfterOf(["3", "9"])).toBe(3);
    for (const header of [undefined, null, "", "soon", "-1", "Wed, 21 Oct 2026 07:28:00 GMT"])
      expect(retryAfterOf(header), String(header)).toBeUndefined();
    const refused = await failure(
      429,
      { text: async () => JSON.stringify({ error: { code: "rate_limited", message: "spent" } }) },
      { "retry-after": "1" },
    );
    expect(refused).toMatchObject({ status: 429, code: "rate_limited", retryAfter: 1 });
    vi.useFakeTimers();
    try {
      let tries = 0;
      const done = withRetries(
        async () => {
          if (++tries === 1) throw refused;
          return "ok";
        },
        { baseDelayMs: 1 },
      );
      await vi.advanceTimersByTimeAsync(900);
      expect(tries).toBe(1); // a 1 ms backoff alone would have tried again long ago
      await vi.advanceTimersByTimeAsync(200);
      expect(tries).toBe(2);
      await expect(done).resolves.toBe("ok");
    } finally {
      vi.useRealTimers();
    }
  });
});
