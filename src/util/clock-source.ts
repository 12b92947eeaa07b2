/**
 * Time source and timers, injected into every part that reads the time or waits, so tests drive
 * time (sinon's fake timers through the globals, or a clock of their own).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The system clock; its timers do not keep the process alive (`unref`): for delays that only
 * matter while something else runs (retries, delayed flushes, the resync interval).
 */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The system clock with timers that keep the process alive until they fire (work in flight). */
export const keepAliveClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
