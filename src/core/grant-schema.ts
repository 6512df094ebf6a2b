/**
 * The shape of a grant as written in the config file and sent to the grants API. It lives in
 * core so that the config loader and the grants service both use it without importing each
 * other.
 */
import { type Static, Type } from "@sinclair/typebox";
import { ACTIONS } from "./grants.js";
import { PrintableName } from "./schema.js";

const IpList = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
]);

/** Issuance quotas: URLs per minute and per day (either may be omitted). */
export const QuotaSchema = Type.Object(
  {
    perMinute: Type.Optional(Type.Integer({ minimum: 1 })),
    perDay: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type QuotaLimits = Static<typeof QuotaSchema>;

export const GrantSpecSchema = Type.Object(
  {
    principal: PrintableName(300),
    buckets: Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { minItems: 1 }),
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
    actions: Type.Array(Type.Union(ACTIONS.map((a) => Type.Literal(a))), {
      minItems: 1,
      uniqueItems: true,
    }),
    maxExpiresIn: Type.Optional(Type.Integer({ minimum: 1 })),
    /** URLs issued under this grant, per principal */
    quota: Type.Optional(QuotaSchema),
    require: Type.Optional(
      Type.Object(
        {
          contentLengthMax: Type.Optional(Type.Integer({ minimum: 0 })),
          contentTypes: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1 }),
          ),
          ip: Type.Optional(IpList),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type GrantInput = Static<typeof GrantSpecSchema>;
