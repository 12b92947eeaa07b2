/**
 * Steady state per hour at the production interval, from figures measured at bench speed: how
 * many passes (or ticks) and list requests an hour holds, and the CPU they cost. Pure arithmetic,
 * used by bench/report.ts and specified in spec/unit/bench-hourly.spec.ts.
 *
 * Schedules (the measured pass times go in, so a slow pass holds fewer passes an hour):
 *  - the service (src/resync/resync.ts `loop`): a pass, then RECONCILE_INTERVAL of waiting, so one
 *    pass every interval + pass time; with RELIST_INTERVAL above it, one list every RELIST_INTERVAL
 *    (the loop wakes for it) and passes from the cache in between;
 *  - the Go original (docs/architecture.md, "The Go original"): a ticker, one tick every interval,
 *    back to back when a tick takes longer than the interval (a ticker drops the ticks it missed).
 */

export const HOUR_MS = 3_600_000;
/** The production RECONCILE_INTERVAL (the Go original's default too). */
export const INTERVAL_MS = 30_000;
/** The RELIST_INTERVAL the report models for the cache-only setting. */
export const RELIST_MS = 5 * 60_000;

/** One kind of pass in an hour: how many, how long each takes (wall) and the CPU each costs. */
export interface HourPart {
  count: number;
  passMs: number;
  cpuMs: number;
}

/** The service with a list every pass (RELIST_INTERVAL=0): one pass every interval + pass. */
export function servicePassesPerHour(passMs: number, intervalMs = INTERVAL_MS): number {
  return HOUR_MS / (intervalMs + Math.max(0, passMs));
}

/** The Go original's ticker: one tick every interval, or back to back when a tick is slower. */
export function tickerTicksPerHour(tickMs: number, intervalMs = INTERVAL_MS): number {
  return HOUR_MS / Math.max(intervalMs, tickMs);
}

/**
 * The service with RELIST_INTERVAL above the interval: `lists` passes that list (one every
 * relist interval), and as many passes from the cache as the rest of the hour holds, each
 * followed by the interval's wait.
 */
export function relistSchedule(o: { listPassMs: number; cachePassMs: number; intervalMs?: number; relistMs?: number }): { lists: number; cache: number } {
  const interval = o.intervalMs ?? INTERVAL_MS;
  const lists = HOUR_MS / (o.relistMs ?? RELIST_MS);
  const cache = Math.max(0, (HOUR_MS - lists * (o.listPassMs + interval)) / (Math.max(0, o.cachePassMs) + interval));
  return { lists, cache };
}

/**
 * CPU seconds an hour: the passes' CPU, plus the idle rate (CPU ms per wall second, measured over
 * an idle window) over the time no pass runs.
 */
export function cpuSecondsPerHour(parts: readonly HourPart[], idleCpuMsPerS: number): number {
  let cpuMs = 0;
  let busyMs = 0;
  for (const p of parts) {
    cpuMs += p.count * p.cpuMs;
    busyMs += p.count * p.passMs;
  }
  const idleS = Math.max(0, HOUR_MS - busyMs) / 1000;
  return (cpuMs + idleCpuMsPerS * idleS) / 1000;
}

/** The daemon's list CPU an hour, estimated as requests x its answer time (seconds). */
export function daemonListSecondsPerHour(requestsPerHour: number, answerMsPerRequest: number): number {
  return (requestsPerHour * answerMsPerRequest) / 1000;
}

/** CPU ms per wall second over a window (the idle rate). */
export function cpuRate(cpuMs: number, wallMs: number): number {
  return wallMs > 0 ? (cpuMs / wallMs) * 1000 : NaN;
}

/**
 * CPU of each pass of a segment of back-to-back passes, from the process's CPU over the whole
 * segment (so work a pass leaves behind, finished before the segment ends, counts): the idle
 * rate over the time between and after the passes is taken off.
 */
export function cpuPerPass(segment: { cpuMs: number; wallMs: number; passWallMs: number; passes: number }, idleCpuMsPerS: number): number {
  if (segment.passes <= 0) return NaN;
  const idle = (Math.max(0, segment.wallMs - segment.passWallMs) / 1000) * (Number.isFinite(idleCpuMsPerS) ? idleCpuMsPerS : 0);
  return Math.max(0, segment.cpuMs - idle) / segment.passes;
}
