/**
 * The simulator's one clock: wall time with sub-millisecond precision, so events get distinct, increasing
 * `timeNano` values and RFC 3339 times carry nanoseconds as the daemon's do.
 */

const clockBase = Date.now() - performance.now();

/** Wall clock in fractional milliseconds (sub-ms precision). */
export function nowMs(): number {
  return clockBase + performance.now();
}
