import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/service/metrics.js";

describe("TalliedCounter (hot-path counters handed over at scrape)", () => {
  it("counts by label values and hands each count to prom-client once", async () => {
    const metrics = new Metrics();
    for (let i = 0; i < 3; i++)
      metrics.issued.inc({ backend: "s3", method: "GET", delivery: "direct" });
    metrics.issued.inc({ backend: "local", method: "PUT", delivery: "link" });
    const line = (text: string, labels: string) =>
      text.split("\n").find((l) => l.startsWith(`signet_urls_issued_total{${labels}}`));
    let text = await metrics.registry.metrics();
    expect(line(text, 'backend="s3",method="GET",delivery="direct"')).toMatch(/ 3$/);
    expect(line(text, 'backend="local",method="PUT",delivery="link"')).toMatch(/ 1$/);
    // A second scrape adds only what was counted since the first.
    metrics.issued.inc({ backend: "s3", method: "GET", delivery: "direct" });
    text = await metrics.registry.metrics();
    expect(line(text, 'backend="s3",method="GET",delivery="direct"')).toMatch(/ 4$/);
    expect(line(text, 'backend="local",method="PUT",delivery="link"')).toMatch(/ 1$/);
  });

  it("keeps label sets apart even when their values run together", async () => {
    const metrics = new Metrics();
    metrics.issued.inc({ backend: "a b", method: "c", delivery: "d" });
    metrics.issued.inc({ backend: "a", method: "b c", delivery: "d" });
    // Values that only run together without a separator between them.
    metrics.issued.inc({ backend: "xy", method: "z", delivery: "d" });
    metrics.issued.inc({ backend: "x", method: "yz", delivery: "d" });
    const text = await metrics.registry.metrics();
    expect(text).toContain('signet_urls_issued_total{backend="a b",method="c",delivery="d"} 1');
    expect(text).toContain('signet_urls_issued_total{backend="a",method="b c",delivery="d"} 1');
    expect(text).toContain('signet_urls_issued_total{backend="xy",method="z",delivery="d"} 1');
    expect(text).toContain('signet_urls_issued_total{backend="x",method="yz",delivery="d"} 1');
  });
});
