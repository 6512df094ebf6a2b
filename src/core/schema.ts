/**
 * Schema validation for everything that comes from outside (HTTP bodies, query strings,
 * the config file). One strict Ajv: unknown properties are refused, never dropped, so a
 * constraint a caller believes it asked for is never silently ignored.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { SignetError } from "./errors.js";

// strictNumbers: `strict: false` turns it off, and JSON.parse reads 1e309 as Infinity (which
// passes "integer" and is stored as null); NaN and ±Infinity are refused as numbers.
const strict = new Ajv({
  strictNumbers: true,
  allErrors: false,
  removeAdditional: false,
  useDefaults: false,
  coerceTypes: false,
  strict: false,
  // errors carry their schema: a pattern's `description` says what it wants (describe())
  verbose: true,
});
// Query strings and path parameters arrive as text: numbers and booleans there are coerced.
const coercing = new Ajv({
  strictNumbers: true,
  allErrors: false,
  removeAdditional: false,
  useDefaults: false,
  coerceTypes: true,
  strict: false,
  verbose: true,
});

/**
 * What a name people type may not hold, since it is later printed in tables, logs and
 * headers: controls (C0 with CR/LF, DEL, C1), line and paragraph separators, lone surrogates
 * (no valid UTF-8; PostgreSQL refuses them) and bidi overrides (they reorder what is shown).
 */
const UNPRINTABLE = "\\p{Cc}\\p{Cs}\\p{Zl}\\p{Zp}\\u202a-\\u202e\\u2066-\\u2069";
const PRINTABLE = `^[^${UNPRINTABLE}]*$`;
const unprintable = new RegExp(`[${UNPRINTABLE}]`, "u");

/** Whether `text` is fit to print as a name (see `PrintableName`). */
export const isPrintable = (text: string): boolean => !unprintable.test(text);

/**
 * The one schema for a name or label people type (API key names, grant principals, file
 * names...): 1 to `maxLength` characters, none of them unprintable.
 */
export const PrintableName = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: PRINTABLE });

/** "/buckets/a/maxExpiresIn" → "buckets.a.maxExpiresIn"; names the offending property. */
export function fieldOf(error: ErrorObject, root?: string): string | undefined {
  const parts = error.instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (error.keyword === "additionalProperties") parts.push(String(error.params.additionalProperty));
  if (error.keyword === "required") parts.push(String(error.params.missingProperty));
  if (root !== undefined) parts.unshift(root);
  return parts.length > 0 ? parts.join(".") : undefined;
}

export function describe(error: ErrorObject, field: string | undefined): string {
  const where = field ?? "the input";
  switch (error.keyword) {
    case "additionalProperties":
      return `${where} is not a known property`;
    case "required":
      return `${where} is required`;
    case "enum":
      return `${where} must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "pattern": {
      if (error.params.pattern === PRINTABLE)
        return `${where} must be printable (no control characters, line breaks or bidi overrides)`;
      // A pattern names its shape in words where people meet it; a raw regex is the fallback.
      const what = (error.parentSchema as { description?: unknown } | undefined)?.description;
      if (typeof what === "string") return `${where} must be ${what}`;
      return `${where} ${error.message ?? "is invalid"}`;
    }
    default:
      return `${where} ${error.message ?? "is invalid"}`;
  }
}

export function toSignetError(
  errors: ErrorObject[] | null | undefined,
  root?: string,
): SignetError {
  const first = errors?.[0];
  if (first === undefined) return new SignetError("invalid_request", "the input is invalid");
  const field = fieldOf(first, root);
  return new SignetError("invalid_request", describe(first, field), field);
}

/** `at` names where the data sits (prefixing the field an error names), else the parser's root. */
export type Parser<T> = (data: unknown, at?: string) => T;

/**
 * Ajv's coercion turns "Infinity" or "1e309" into Infinity without the strictNumbers check
 * (which sees only the text): text input, a flat object of scalars, is looked over after it.
 */
function assertFinite(data: unknown, root?: string): void {
  if (data === null || typeof data !== "object") return;
  for (const [name, value] of Object.entries(data))
    if (typeof value === "number" && !Number.isFinite(value)) {
      const field = root === undefined ? name : `${root}.${name}`;
      throw new SignetError("invalid_request", `${field} must be a finite number`, field);
    }
}

function build<S extends TSchema>(ajv: Ajv, schema: S, root?: string): Parser<Static<S>> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (data, at = root) => {
    if (!validate(data)) throw toSignetError(validate.errors, at);
    if (ajv === coercing) assertFinite(data, at);
    return data as Static<S>;
  };
}

/** A parser for JSON input: the value is returned as is when valid, else invalid_request. */
export const parser = <S extends TSchema>(schema: S, root?: string) => build(strict, schema, root);

/** A parser for text input (query strings, params, environment): coerces scalars. */
export const textParser = <S extends TSchema>(schema: S, root?: string) =>
  build(coercing, schema, root);

/** The same validation in the shape Fastify's validatorCompiler expects. */
export function routeValidator(
  schema: TSchema,
  text: boolean,
): (data: unknown) => { value: unknown } | { error: SignetError } {
  const validate = (text ? coercing : strict).compile(schema);
  return (data) => {
    if (!validate(data)) return { error: toSignetError(validate.errors) };
    if (text)
      try {
        assertFinite(data);
      } catch (err) {
        return { error: err as SignetError };
      }
    return { value: data };
  };
}
