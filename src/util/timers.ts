// The module object, not its named exports: a fake clock replaces `setTimeout` on it, and only a
// lookup at call time sees the replacement. (sinon's CommonJS build does that; its ES module
// build fakes only the globals: specs that drive these timers load sinon with `createRequire`.)
import timers from 'node:timers/promises';

/** Resolves after `ms`, or at once when `signal` aborts (never rejects on abort). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  try {
    await timers.setTimeout(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
}

/** A {@link withTimeout} deadline passed. */
export class TimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${Math.round(timeoutMs)}ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Settles as `work` does, or rejects with a {@link TimeoutError} once `ms` passed. For work that
 * takes no signal of its own (a query, a lease renewal): the work itself goes on, its result is
 * ignored. The timer is cancelled as soon as `work` settles, so nothing is left scheduled. (Work
 * that does take a signal gets `AbortSignal.timeout(ms)` instead, which cancels it.)
 */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  const cancel = new AbortController();
  const deadline = timers.setTimeout(ms, undefined, { signal: cancel.signal }).then(() => {
    throw new TimeoutError(ms);
  });
  // Cancelled once `work` settled: that rejection is expected and goes nowhere.
  deadline.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => cancel.abort());
}
