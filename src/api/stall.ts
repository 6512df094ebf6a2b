/**
 * The stall timeout both SDKs take (`stallTimeout`, in seconds), turned into a timer's
 * milliseconds. No `node:` import (the browser bundle carries it).
 */

/** Seconds a transfer may go without sending or receiving a byte, by default (aria2c's too). */
export const STALL_TIMEOUT = 60;

/**
 * The longest timer JavaScript keeps, 2^31 - 1 ms (24.8 days): a longer one fires at once in
 * browsers (and Infinity is 0 there), and warns and is cut to this in Node.
 */
const TIMER_MAX = 2 ** 31 - 1;

/**
 * `stallTimeout` seconds (default STALL_TIMEOUT) in milliseconds: 0 for never (0 or Infinity),
 * else 1 … TIMER_MAX. A negative number, NaN or anything not a number throws a RangeError, which
 * callers let out before anything is sent (a retry would not change it).
 */
export function stallMsOf(seconds: number | undefined): number {
  if (seconds === undefined) return STALL_TIMEOUT * 1000;
  if (typeof seconds !== "number" || !(seconds >= 0))
    throw new RangeError(`stallTimeout must be seconds ≥ 0 (0: never), not ${String(seconds)}`);
  if (seconds === 0 || seconds === Infinity) return 0;
  return Math.min(TIMER_MAX, Math.max(1, Math.round(seconds * 1000)));
}
