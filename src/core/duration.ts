import { SignetError } from "./errors.js";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "900", "900s", "15m", "12h", "7d" → seconds. */
export function parseDuration(text: string, field = "expires"): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (match === null)
    throw new SignetError(
      "invalid_request",
      `'${text}' is not a duration like 900, 15m, 12h or 7d`,
      field,
    );
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || "s"]!;
  if (!Number.isSafeInteger(seconds) || seconds <= 0)
    throw new SignetError("invalid_request", `'${text}' is not a positive duration`, field);
  return seconds;
}
