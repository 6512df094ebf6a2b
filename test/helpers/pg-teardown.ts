/**
 * Vitest global setup: names this run (the test workers inherit SIGNET_TEST_RUN, and their
 * PostgreSQL databases carry it), then after the run drops this run's databases only.
 */
import { randomBytes } from "node:crypto";
import { dropRunDatabases } from "./pg.js";

export default function setup(): () => Promise<void> {
  process.env.SIGNET_TEST_RUN ??= randomBytes(4).toString("hex");
  return () => dropRunDatabases();
}
