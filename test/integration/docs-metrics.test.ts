import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";

describe("OpenAPI and metrics", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("serves the OpenAPI document built from the route schemas, and a page at /docs", async () => {
    const doc = (await (await fetch(`${h.url}/docs/json`)).json()) as any;
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/presign", "/v1/uploads", "/v1/shares", "/v1/presign/parts"]),
    );
    expect(
      doc.paths["/v1/presign"].post.requestBody.content["application/json"].schema.properties,
    ).toHaveProperty("checksumSha256");
    expect((await fetch(`${h.url}/docs`)).status).toBeLessThan(400);
  });

  it("counts answers by surface, never by path", async () => {
    const signed = await h.admin.presign({
      bucket: "default",
      key: "secret-name.txt",
      method: "GET",
    });
    await fetch(signed.url);
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/signet_http_responses_total\{surface="o",method="GET",status="404"\} 1/);
    expect(text).toMatch(/signet_http_responses_total\{surface="v1",method="POST",status="200"\}/);
    expect(text).not.toContain("secret-name");
    expect(text).toContain("process_cpu_seconds_total");
    // Counted between scrapes and handed over at each one: the totals keep adding up.
    await fetch(signed.url);
    await fetch(signed.url);
    const again = await (await fetch(`${h.url}/metrics`)).text();
    expect(again).toMatch(/signet_http_responses_total\{surface="o",method="GET",status="404"\} 3/);
    expect(again).toMatch(
      /signet_http_responses_total\{surface="metrics",method="GET",status="200"\} 1/,
    );
  });

  it("names the surface by the first segment alone, whatever follows it", async () => {
    for (const path of ["/u/nope", "/u?x=1", "/healthz?probe=1", "/nowhere/u", "/"])
      await (await fetch(`${h.url}${path}`)).arrayBuffer();
    const text = await (await fetch(`${h.url}/metrics`)).text();
    const count = (surface: string) =>
      text
        .split("\n")
        .filter((l) =>
          l.startsWith(`signet_http_responses_total{surface="${surface}",method="GET"`),
        )
        .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    expect(count("u")).toBe(2);
    expect(count("healthz")).toBeGreaterThanOrEqual(1);
    expect(count("other")).toBe(2);
    expect(text).not.toContain('surface="nowhere"');
  });
});
