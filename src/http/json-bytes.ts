/** Large JSON answers (a batch's results, a part plan, a multipart upload intent) as bytes. */
import type { FastifyReply } from "fastify";

/** Sends `value` as Fastify's default JSON serializer would, through {@link jsonBytes}. */
export function sendJsonBytes(reply: FastifyReply, value: object): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(jsonBytes(value));
}

/**
 * Array items per `JSON.stringify` call. A slice's text stays a small flat string (an S3 URL
 * result is about 700 bytes, so some 22 KiB), below V8's large-object size: such strings are
 * made and dropped in the young generation.
 */
const ITEMS_PER_SLICE = 32;

/**
 * The UTF-8 bytes of `JSON.stringify(value)`, the same text byte for byte, with the large arrays
 * in its fields, and in the fields of its plain-object fields at any depth (an upload intent's
 * `upload.parts`), serialized a slice of items at a time. Fields whose JSON is nothing
 * (undefined, a function, a symbol, a `toJSON` answering undefined) are left out as
 * `JSON.stringify` leaves them out. A value that is an array or has a `toJSON` goes through
 * `JSON.stringify` whole. One difference remains, unreachable from plain data: a `toJSON` is
 * called with another key (a field's with "", an item's with its index in its slice).
 *
 * Why: V8 builds a large `JSON.stringify` result as a rope of pieces. Fastify's Content-Length
 * then flattens it into a fresh large string and the socket write encodes that into UTF-8
 * again, each pass into newly mapped pages: 4.5 to 8 ms for the 667 KB answer of a batch of
 * 1,000 S3 URLs on the project machine, against 1.9 to 2.8 ms this way (docs/decisions.md,
 * issue 17). The Buffer goes to the socket as it is (Content-Length is its length; no copy on
 * write).
 */
export function jsonBytes(value: object): Buffer {
  // Texts written one after the other; where `joins` is set, the text (a slice of an array,
  // "[…]") starts on the previous slice's closing "]", which becomes ",": no string is
  // concatenated or cut, so none is copied before its one write into the Buffer.
  const texts: string[] = [];
  const joins: boolean[] = [];
  const push = (text: string, join = false) => {
    texts.push(text);
    joins.push(join);
  };
  const pushValue = (field: unknown): void => {
    if (field === null || typeof field !== "object" || hasToJson(field)) {
      push(JSON.stringify(field));
    } else if (Array.isArray(field)) {
      if (field.length <= ITEMS_PER_SLICE) push(JSON.stringify(field));
      else
        for (let start = 0; start < field.length; start += ITEMS_PER_SLICE)
          push(JSON.stringify(field.slice(start, start + ITEMS_PER_SLICE)), start > 0);
    } else {
      let separator = "{";
      for (const name of Object.keys(field)) {
        const inner = (field as Record<string, unknown>)[name];
        // What JSON.stringify leaves out: undefined, a function, a symbol.
        if (inner === undefined || typeof inner === "function" || typeof inner === "symbol")
          continue;
        if (hasToJson(inner) && JSON.stringify(inner) === undefined) continue;
        push(`${separator}${JSON.stringify(name)}:`);
        pushValue(inner);
        separator = ",";
      }
      push(separator === "{" ? "{}" : "}");
    }
  };
  if (Array.isArray(value) || hasToJson(value)) return Buffer.from(JSON.stringify(value));
  pushValue(value);
  let size = 0;
  for (let i = 0; i < texts.length; i++) size += Buffer.byteLength(texts[i]!) - (joins[i] ? 1 : 0);
  const bytes = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let i = 0; i < texts.length; i++) {
    const at = joins[i] ? offset - 1 : offset;
    offset = at + bytes.write(texts[i]!, at);
    if (joins[i]) bytes[at] = 0x2c; // ","
  }
  return bytes;
}

const hasToJson = (value: unknown): boolean =>
  typeof (value as { toJSON?: unknown } | null)?.toJSON === "function";
