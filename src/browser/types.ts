/**
 * Shapes of Signet's API replies and inputs as the browser sees them: the wire types of
 * src/api/types.ts, the one definition the server, the Node SDK and this SDK share (built beside
 * dist/browser as dist/api/types.d.ts; types only, so no byte of it reaches a bundle).
 */
import type { PresignInput, UploadInput } from "../api/types.js";

export type {
  Action,
  AuditQuery,
  AuditRecord,
  BatchResult,
  BucketConfig,
  BucketInfo,
  Enforcer,
  FileInfo,
  FileListQuery,
  Grant,
  GrantInput,
  Intent,
  KeyRetirement,
  KeyRotation,
  Listing,
  Method,
  MultipartUpload,
  Page,
  PartPlan,
  PartPlanInput,
  PartRequest,
  RevokeResult,
  RevokeTarget,
  Share,
  ShareInput,
  SignedRequest,
} from "../api/types.js";

/** What one signed URL permits (POST /v1/presign); the API's `PresignInput`. */
export type PresignRequest = PresignInput;

/** POST /v1/uploads's input; the API's `UploadInput`. */
export type IntentInput = UploadInput;
