/**
 * /docs describes every operation: summary, description, tags, success and error replies;
 * compatibility routes included; public routes (health, data plane, DRS service-info) without
 * a bearer requirement, everything else with it.
 */
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATIONS } from "../../src/http/openapi-catalog.js";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";

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

  it("documents each reply as the server sends it: every field, no other", async () => {
    // Objects the document lists the properties of may hold nothing else.
    const closed = (schema: unknown): unknown => {
      if (Array.isArray(schema)) return schema.map(closed);
      if (schema === null || typeof schema !== "object") return schema;
      const copy = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)]));
      if (copy.type === "object" && copy.properties !== undefined)
        copy.additionalProperties ??= false;
      return copy;
    };
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const check = async (
      method: string,
      path: string,
      route: string,
      status: number,
      body?: unknown,
    ) => {
      const res = await fetch(`${h.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const reply: unknown = await res.json();
      expect(res.status, `${method} ${path}: ${JSON.stringify(reply)}`).toBe(status);
      const documented =
        doc.paths[route]![method.toLowerCase()]!.responses![String(status)]!.content![
          "application/json"
        ]!.schema;
      const validate = ajv.compile(closed(documented) as object);
      expect(validate(reply), `${method} ${route}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      return reply as Record<string, unknown>;
    };
    const intent = await h.admin.uploads.create({ bucket: "default", key: "docs/a.txt", size: 3 });
    await check("GET", `/v1/files/${intent.file.id}`, "/v1/files/{id}", 200);
    await check("GET", "/v1/files?bucket=default", "/v1/files", 200);
    const signed = await h.admin.presign({ bucket: "default", key: "docs/b.txt", method: "GET" });
    await check("POST", "/v1/revocations", "/v1/revocations", 201, { tokenId: signed.id });
    expect((await fetch(signed.url)).status).toBe(403);
    await check("POST", "/v1/revocations", "/v1/revocations", 201, {
      bucket: "default",
      prefix: "docs/",
    });
    await check("POST", "/v1/revocations", "/v1/revocations", 201, { principal: "key:nobody" });
    // The refusal is audited as its reply goes out: asked again until it is there.
    let refused: unknown[] = [];
    for (let i = 0; i < 50 && refused.length === 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      refused = (await check("GET", "/v1/audit?outcome=refused", "/v1/audit", 200))
        .items as unknown[];
    }
    expect(refused).toContainEqual(expect.objectContaining({ reason: "token_revoked" }));
  });
});
