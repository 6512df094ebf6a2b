/** Vitest global setup: after the run, drops the databases tests made (PostgreSQL runs only). */
import { dropAllTestDatabases } from "./pg.js";

export default function setup(): () => Promise<void> {
  return () => dropAllTestDatabases();
}
