/** Signet's buckets: names bound to a backend and its limits. */
import type { Backend } from "../backends/types.js";
import { type BucketConfig, SEVEN_DAYS } from "./config.js";

export interface Bucket {
  name: string;
  config: BucketConfig;
  backend: Backend;
  maxExpiresIn: number;
}

export class Buckets {
  private readonly byName = new Map<string, Bucket>();

  constructor(
    configs: Record<string, BucketConfig>,
    backendFor: (name: string, config: BucketConfig) => Backend,
  ) {
    for (const [name, config] of Object.entries(configs))
      this.byName.set(name, {
        name,
        config,
        backend: backendFor(name, config),
        maxExpiresIn: config.maxExpiresIn ?? SEVEN_DAYS,
      });
  }

  get(name: string): Bucket | undefined {
    return this.byName.get(name);
  }

  list(): Bucket[] {
    return [...this.byName.values()];
  }
}
