import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // With SIGNET_DATABASE_URL, drops the per-test PostgreSQL databases at the end.
    globalSetup: ["test/helpers/pg-teardown.ts"],
  },
});
