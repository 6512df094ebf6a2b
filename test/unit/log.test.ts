import { describe, expect, it } from "vitest";
import { loggablePath, logSerializers } from "../../src/http/log.js";

describe("request logs hold no secret", () => {
  it("drops the query and a link's token", () => {
    expect(loggablePath("/o/default/a.txt?t=payload.mac")).toBe("/o/default/a.txt");
    expect(loggablePath("/l/payload.mac")).toBe("/l/…");
    expect(loggablePath("/s/payload.mac/reports/q3.pdf?cursor=x")).toBe("/s/…/reports/q3.pdf");
    expect(loggablePath("/v1/presign")).toBe("/v1/presign");
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
