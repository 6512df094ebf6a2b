/**
 * The contract suite: every behaviour of behaviours.ts against every backend of fixtures.ts,
 * through Signet's HTTP API on 127.0.0.1, with the backend's name in each title.
 */
import { afterAll, beforeAll, describe } from "vitest";
import { startSignet, type Harness } from "../helpers/harness.js";
import { BEHAVIOURS, type ContractContext, swiftSpecExample } from "./behaviours.js";
import { type BucketFixture, FIXTURES } from "./fixtures.js";

/** `${NAME}` references renamed `${BAD_NAME}`, so two buckets' secrets can differ. */
const renamedRefs = (config: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(config).map(([k, v]) => [
      k,
      typeof v === "string" ? v.replace(/^\$\{(\w+)\}$/, "${BAD_$1}") : v,
    ]),
  );
const prefixed = (env: Record<string, string>) =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [`BAD_${k}`, v]));

for (const fixture of FIXTURES)
  describe.skipIf(!fixture.available)(`contract: ${fixture.name}`, () => {
    let harness: Harness;
    let bucket: BucketFixture;
    let context: ContractContext;
    beforeAll(async () => {
      bucket = await fixture.setup();
      const refused = fixture.refused?.(bucket);
      const buckets: Record<string, unknown> = { c: bucket.config };
      if (refused !== undefined) buckets.refused = renamedRefs(refused.config);
      if (bucket.reader !== undefined) buckets.reader = bucket.reader;
      // the same provider and credentials, a bucket or container never made
      const where = ["azure", "swift"].includes(String(bucket.config.backend))
        ? "container"
        : "bucket";
      if (bucket.config.backend !== "local")
        buckets.missing = {
          ...bucket.config,
          [where]: `signet-missing-${Date.now().toString(36)}`,
        };
      harness = await startSignet({
        // the compat routes (AWS presign, Fence) hand out URLs for the bucket under test too
        config: { buckets, compat: { presignBucket: "c", fenceBucket: "c" } },
        // the refused bucket's env differs only in the secrets its own references name
        env: { ...bucket.env, ...prefixed(refused?.env ?? {}) },
      });
      context = {
        name: fixture.name,
        url: harness.url,
        bucket: "c",
        readBucket: bucket.reader === undefined ? "c" : "reader",
        gaps: fixture.gaps ?? [],
        refusedBucket: refused === undefined ? undefined : "refused",
        missingBucket: "missing" in buckets ? "missing" : undefined,
        multipart: fixture.multipart ?? { size: 150_000, partSize: 64 * 1024 },
        partEtag: fixture.partEtag ?? ((_part, res) => res.headers.get("etag") ?? ""),
        capabilities: harness.signet.buckets.get("c")!.backend.capabilities,
        backend: harness.signet.buckets.get(bucket.reader === undefined ? "c" : "reader")!.backend,
      };
    }, 60_000);
    afterAll(async () => {
      await harness?.close();
      await bucket?.cleanup();
    });
    // Titles are made before beforeAll runs: the name is known, the rest is read in the test.
    const ctx = () => context ?? ({ name: fixture.name } as ContractContext);
    for (const behaviour of BEHAVIOURS) behaviour(ctx);
    if (fixture.name === "swift (temp URL key only)") swiftSpecExample(ctx);
  });
