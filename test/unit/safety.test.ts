import { describe, expect, it } from "vitest";
import { contentDisposition } from "../../src/core/safety.js";

describe("contentDisposition", () => {
  it("writes a plain name as is in both forms", () => {
    expect(contentDisposition("attachment", "reports/q3/part-1_a.v2~x.pdf")).toBe(
      `attachment; filename="part-1_a.v2~x.pdf"; filename*=UTF-8''part-1_a.v2~x.pdf`,
    );
  });

  it("escapes a name that needs it: an ASCII fallback and the exact name percent-encoded", () => {
    expect(contentDisposition("inline", `a/r\u00e9sum\u00e9 "1" (2)%*'.txt`)).toBe(
      `inline; filename="r_sum_ _1_ (2)_*'.txt"; ` +
        `filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22%20%282%29%25%2A%27.txt`,
    );
  });
});
