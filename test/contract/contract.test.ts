/**
 * The contract suite: every behaviour of behaviours.ts against every backend of fixtures.ts,
 * through Signet's HTTP API on 127.0.0.1, with the backend's name in each title.
 */
import { afterAll, beforeAll, describe } from "vitest";
import { startSignet, type Harness } from "../helpers/harness.js";
import { BEHAVIOURS, type ContractContext, swiftSpecExample } from "./behaviours.js";
import { type BucketFixture, FIXTURES } from "./fixtures.js";

for (const fixture of FIXTURES)
  describe.skipIf(!fixture.available)(`contract: ${fixture.name}`, () => {
    let harness: Harness;
    let bucket: BucketFixture;
    let context: ContractContext;
    beforeAll(async () => {
      bucket = await fixture.setup();
      harness = await startSignet({ config: { buckets: { c: bucket.config } }, env: bucket.env });
      context = {
        name: fixture.name,
        url: harness.url,
        bucket: "c",
        gaps: fixture.gaps ?? [],
        capabilities: harness.signet.buckets.get("c")!.backend.capabilities,
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
