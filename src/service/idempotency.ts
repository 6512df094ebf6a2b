/**
 * `Idempotency-Key`: a create or complete retried with the same key and the same request gets
 * the first answer again instead of running twice; the same key with another request is 409.
 */
import { createHash } from "node:crypto";
import { SignetError } from "../core/errors.js";
import type { Db } from "../db/connect.js";

export interface Answer {
  status: number;
  body: unknown;
}

const IN_PROGRESS = 0;

export class Idempotency {
  constructor(private readonly db: Db) {}

  async run(
    principal: string,
    key: string | undefined,
    request: unknown,
    work: () => Promise<Answer>,
  ): Promise<Answer> {
    if (key === undefined) return work();
    if (!/^[\x21-\x7e]{1,255}$/.test(key))
      throw new SignetError(
        "invalid_request",
        "Idempotency-Key must be 1 to 255 printable characters",
        "idempotency-key",
      );
    const fingerprint = createHash("sha256").update(JSON.stringify(request)).digest("base64");
    const claimed = await this.db
      .insertInto("idempotency")
      .values({
        principal,
        key,
        request: fingerprint,
        status: IN_PROGRESS,
        response: "null",
        created_at: new Date().toISOString(),
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) {
      const row = await this.db
        .selectFrom("idempotency")
        .selectAll()
        .where("principal", "=", principal)
        .where("key", "=", key)
        .executeTakeFirstOrThrow();
      if (row.request !== fingerprint)
        throw new SignetError("conflict", "this Idempotency-Key was used for another request");
      if (row.status === IN_PROGRESS)
        throw new SignetError(
          "conflict",
          "a request with this Idempotency-Key is still in progress",
        );
      return { status: row.status, body: JSON.parse(row.response) as unknown };
    }
    try {
      const answer = await work();
      await this.db
        .updateTable("idempotency")
        .set({ status: answer.status, response: JSON.stringify(answer.body) })
        .where("principal", "=", principal)
        .where("key", "=", key)
        .execute();
      return answer;
    } catch (err) {
      // A refusal is not remembered: the caller may fix the request and retry with the key.
      await this.db
        .deleteFrom("idempotency")
        .where("principal", "=", principal)
        .where("key", "=", key)
        .execute();
      throw err;
    }
  }
}
