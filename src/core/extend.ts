/**
 * `{ ...base, ...extra }` for paths run per signed URL or per request, keys in the same order
 * (`base` may be undefined, as in a spread). Why not the spread itself: on Node 20 (V8 11.3)
 * an object that starts as a copy by spread takes each key it does not already have through a
 * slow path, about 0.5 µs a key, several per signed URL; `Object.assign` onto a fresh literal
 * does not (Node 22 and 24 have no such cliff). Measured in BENCHMARKS.md, issue 17, session 5.
 */
export function extend<T extends object, U extends object>(
  base: T | undefined,
  extra: U,
): Omit<T, keyof U> & U {
  return Object.assign({}, base, extra);
}
