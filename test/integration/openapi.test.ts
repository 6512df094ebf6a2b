/**
 * /docs describes every operation: summary, description, tags, success and error replies;
 * compatibility routes included; public routes (health, data plane, DRS service-info) without
 * a bearer requirement, everything else with it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATIONS } from "../../src/http/openapi-catalog.js";
import { type Harness, startSignet } from "../helpers/harness.js";

type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  responses?: Record<string, { content?: Record<string, { schema: unknown }> }>;
  security?: unknown[];
};

describe("the OpenAPI document", () => {
  let h: Harness;
  let doc: { paths: Record<string, Record<string, Operation>>; security: unknown[] };
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ id: `${method.toUpperCase()} ${path}`, op })),
    );
  beforeAll(async () => {
    h = await startSignet({
      config: { compat: { presignBucket: "default", fenceBucket: "default" } },
    });
    doc = (await (await fetch(`${h.url}/docs/json`)).json()) as typeof doc;
  });
  afterAll(() => h.close());

  it("describes every operation, with tags, a reply and its errors", () => {
    expect(operations().length).toBeGreaterThanOrEqual(50);
    for (const { id, op } of operations()) {
      expect(op.summary, id).toMatch(/\S/);
      expect(op.description, id).toMatch(/\S/);
      expect(op.tags?.length, id).toBeGreaterThan(0);
      const statuses = Object.keys(op.responses ?? {}).map(Number);
      expect(
        statuses.some((s) => s < 400),
        id,
      ).toBe(true);
    }
    const presign = doc.paths["/v1/presign"]!.post!;
    expect(Object.keys(presign.responses!)).toEqual(
      expect.arrayContaining(["200", "400", "401", "403", "404"]),
    );
    expect(presign.responses!["403"]!.content!["application/json"]!.schema).toEqual({
      $ref: "#/components/schemas/Error",
    });
  });

  it("includes the compatibility routes and documents only routes that exist", () => {
    const ids = operations().map((o) =>
      o.id.replace(/\{\*\}/g, "*").replace(/\{([^}]+)\}/g, ":$1"),
    );
    expect(ids).toEqual(
      expect.arrayContaining([
        "GET /presign/*",
        "POST /data/upload",
        "GET /ga4gh/drs/v1/objects/:id",
      ]),
    );
    for (const key of Object.keys(OPERATIONS)) expect(ids, key).toContain(key);
  });

  it("asks a bearer token everywhere but on public routes", () => {
    expect(doc.security).toEqual([{ bearer: [] }]);
    const open = operations().filter(({ op }) => op.security !== undefined);
    for (const { id, op } of open) expect(op.security, id).toEqual([]);
    expect(open.map((o) => o.id)).toEqual(
      expect.arrayContaining([
        "GET /healthz",
        "GET /o/{*}",
        "PUT /s/{*}",
        "GET /ga4gh/drs/v1/service-info",
      ]),
    );
    for (const id of ["POST /v1/presign", "GET /r/{fileId}", "GET /presign/{*}"])
      expect(open.map((o) => o.id)).not.toContain(id);
  });

  it("gives each method of a many-method route its own summary (they share no object)", () => {
    const o = doc.paths["/o/{*}"]!;
    expect(o.get!.summary).not.toBe(o.put!.summary);
    expect(o.put!.summary).not.toBe(o.delete!.summary);
    const l = doc.paths["/l/{*}"]!;
    expect(l.get!.summary).not.toBe(l.delete!.summary);
  });
});
