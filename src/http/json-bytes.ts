/** Large JSON answers (a batch's results, a part plan) serialized straight to bytes. */
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
 * among its fields serialized a slice of items at a time. Fields whose JSON is nothing (undefined,
 * a function, a symbol, a `toJSON` answering undefined) are left out as `JSON.stringify` leaves
 * them out. A value that is an array or has a `toJSON`, and a large array with a `toJSON`, go
 * through `JSON.stringify` whole. One difference remains, unreachable from plain data: a
 * `toJSON` is called with another key (a field's with "", an item's with its index in its slice).
 *
 * Why: V8 builds a large `JSON.stringify` result as a rope of pieces. Fastify's Content-Length
 * then flattens it into a fresh large string and the socket write encodes that into UTF-8
 * again, each pass into newly mapped pages: 4.5 to 8 ms for the 667 KB answer of a batch of
 * 1,000 S3 URLs on the project machine, against 1.9 to 2.8 ms this way (docs/decisions.md,
 * issue 17). The Buffer goes to the socket as it is (Content-Length is its length; no copy on
 * write).
 */
export function jsonBytes(value: object): Buffer {
  if (Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === "function")
    return Buffer.from(JSON.stringify(value));
  // Texts written one after the other; where `joins` is set, the text (a slice of an array,
  // "[…]") starts on the previous slice's closing "]", which becomes ",": no string is
  // concatenated or cut, so none is copied before its one write into the Buffer.
  const texts: string[] = [];
  const joins: boolean[] = [];
  let separator = "{";
  for (const name of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[name];
    if (
      Array.isArray(field) &&
      field.length > ITEMS_PER_SLICE &&
      typeof (field as { toJSON?: unknown }).toJSON !== "function"
    ) {
      texts.push(`${separator}${JSON.stringify(name)}:`);
      joins.push(false);
      for (let start = 0; start < field.length; start += ITEMS_PER_SLICE) {
        texts.push(JSON.stringify(field.slice(start, start + ITEMS_PER_SLICE)));
        joins.push(start > 0);
      }
    } else {
      // undefined for undefined, a function, a symbol, or a toJSON answering undefined
      const text = JSON.stringify(field) as string | undefined;
      if (text === undefined) continue;
      texts.push(`${separator}${JSON.stringify(name)}:`, text);
      joins.push(false, false);
    }
    separator = ",";
  }
  texts.push(separator === "{" ? "{}" : "}");
  joins.push(false);
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
