import { describe, expect, it } from "vitest";
import { parseObjectPath, single } from "../../src/http/object-path.js";

describe("parseObjectPath", () => {
  it("decodes each segment and keeps the query", () => {
    const t = parseObjectPath("/o/default/a%20b/%C3%A9t%C3%A9.txt?t=abc", "/o/");
    expect(t.bucket).toBe("default");
    expect(t.key).toBe("a b/été.txt");
    expect(t.query.get("t")).toBe("abc");
  });

  it("keeps a trailing slash (a folder)", () => {
    expect(parseObjectPath("/o/default/p/", "/o/").key).toBe("p/");
  });

  it.each([
    ["/o/default/a%2Fb", /encoded slash/],
    ["/o/default/a%2fb", /encoded slash/],
    ["/o/default/a%FF", /percent-encoded UTF-8/],
    ["/o/default/a%E2%82", /percent-encoded UTF-8/],
    ["/o/default/%", /percent-encoded UTF-8/],
    ["/o/default", /no bucket and key/],
    ["/o//key", /no bucket and key/],
  ])("%s is refused", (url, message) => {
    expect(() => parseObjectPath(url, "/o/")).toThrowError(
      expect.objectContaining({ code: "invalid_key", message: expect.stringMatching(message) }),
    );
  });

  it("refuses a repeated query parameter", () => {
    expect(() => single(new URLSearchParams("t=a&t=b"), "t")).toThrowError(
      expect.objectContaining({ code: "invalid_request" }),
    );
    expect(single(new URLSearchParams("t=a"), "t")).toBe("a");
  });
});
