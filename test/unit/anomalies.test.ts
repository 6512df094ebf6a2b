/** Generation-rate anomalies (service/quotas.ts Anomalies), on a clock the test moves. */
import { describe, expect, it } from "vitest";
import type { AuditEvent, AuditLog } from "../../src/service/audit.js";
import { Metrics } from "../../src/service/metrics.js";
import { Anomalies } from "../../src/service/quotas.js";

function setup(factor = 3) {
  let now = 1_000 * 60_000;
  const events: AuditEvent[] = [];
  const audit = { record: async (...e: AuditEvent[]) => void events.push(...e) } as AuditLog;
  const metrics = new Metrics();
  const anomalies = new Anomalies(
    { factor, windowMinutes: 5, minPerMinute: 5 },
    metrics,
    audit,
    () => now,
  );
  const minute = (count: number, principal = "key:a") => {
    for (let i = 0; i < count; i++) anomalies.count(principal);
    now += 60_000;
  };
  const reported = async () => (await metrics.anomalies.get()).values[0]?.value ?? 0;
  return { minute, events, reported };
}

describe("generation-rate anomalies", () => {
  it("reports a principal once when its rate passes factor × its own recent average", async () => {
    const { minute, events, reported } = setup();
    for (let i = 0; i < 5; i++) minute(4); // a steady 4 per minute
    minute(12); // 3 × 4 = 12: not above
    expect(await reported()).toBe(0);
    minute(40); // far above: reported once, not 27 times
    expect(await reported()).toBe(1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: "issuance.anomaly", principal: "key:a" });
    expect(events[0]!.detail).toMatchObject({ perMinute: expect.any(Number), factor: 3 });
  });

  it("a new principal, or one under the floor, is no anomaly", async () => {
    const { minute, reported } = setup();
    minute(100, "key:new"); // no history yet
    minute(1, "key:quiet");
    for (let i = 0; i < 4; i++) minute(0, "key:quiet");
    minute(5, "key:quiet"); // above 3 × 0.2, but not above the floor of 5
    expect(await reported()).toBe(0);
    minute(6, "key:quiet");
    expect(await reported()).toBe(1);
  });

  it("principals are judged on their own history", async () => {
    const { minute, reported } = setup();
    for (let i = 0; i < 5; i++) {
      minute(50, "key:busy");
      minute(1, "key:calm");
    }
    minute(60, "key:busy"); // busy at its usual pace
    expect(await reported()).toBe(0);
  });
});
