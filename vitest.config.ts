import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // The AWS SDK warns once per process on Node 20 that its 2027 releases need Node 22
    // (README: Node versions); the suite states it once there instead of in every fork.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    // With SIGNET_DATABASE_URL, drops the per-test PostgreSQL databases at the end.
    globalSetup: ["test/helpers/pg-teardown.ts"],
  },
});
