import { describe, expect, it } from "vitest";
import { loggablePath, logSerializers } from "../../src/http/log.js";

describe("request logs hold no secret", () => {
  it("drops the query and a link's token", () => {
    expect(loggablePath("/o/default/a.txt?t=payload.mac")).toBe("/o/default/a.txt");
    expect(loggablePath("/l/payload.mac")).toBe("/l/…");
    expect(loggablePath("/s/payload.mac/reports/q3.pdf?cursor=x")).toBe("/s/…/reports/q3.pdf");
    expect(loggablePath("/v1/presign")).toBe("/v1/presign");
  });

  it("drops a short URL's id (a bearer secret too)", () => {
    expect(loggablePath("/u/HxkUK28C1WHDLDFzGItnRw")).toBe("/u/…");
    expect(loggablePath("//%75/HxkUK28C1WHDLDFzGItnRw")).toBe("//%75/…");
  });

  it("logs no header", () => {
    const logged = logSerializers.req({
      method: "GET",
      url: "/l/abc.def",
      ip: "127.0.0.1",
      headers: { authorization: "Bearer sg_x" },
    } as never);
    expect(JSON.stringify(logged)).not.toContain("sg_x");
    expect(JSON.stringify(logged)).not.toContain("abc.def");
  });
});

describe("issue 16: every request-target form is redacted", () => {
  const token = "eyJ2IjoxLCJrIjoiazEifQ.c2lnbmF0dXJlLW9mLXRoZS1tYWM";
  it.each([
    `/l/${token}`,
    `//l/${token}`,
    `///l/${token}`,
    `/%6c/${token}`,
    `/%6C/${token}`,
    `/%256c/${token}`,
    `/./l/${token}`,
    `/L/${token}`,
    `http://127.0.0.1:8080/l/${token}`,
    `HTTP://example.com//s/${token}/a/b`,
    `/s/${token}/reports/x.pdf`,
    `/%73/${token}/x`,
    `/l/${encodeURIComponent(token)}`,
    `/x/${token.replace(".", "%2E")}`,
    `/x/${token.replace(".", "%252E")}`,
    `/o/b/k#${token}`,
    `/o/b/k?t=${token}`,
  ])("%s", (target) => {
    const path = loggablePath(target)!;
    expect(path).not.toContain(token.slice(0, 12));
    expect(path).not.toContain(token.slice(-12));
  });

  it("keeps ordinary paths readable", () => {
    expect(loggablePath("/o/default/reports/q3.pdf")).toBe("/o/default/reports/q3.pdf");
    expect(loggablePath("/s/abc.defghijklmn/x")).toBe("/s/…/x");
  });
});
