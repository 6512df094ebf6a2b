/** The embedded store's bucket config: only the fields every bucket has. */
import { type Static, Type } from "@sinclair/typebox";
import { COMMON_BUCKET_FIELDS } from "../../core/config-schema.js";

export const LocalBucketConfigSchema = Type.Object(
  { backend: Type.Literal("local"), ...COMMON_BUCKET_FIELDS },
  { additionalProperties: false },
);
export type LocalBucketConfig = Static<typeof LocalBucketConfigSchema>;
