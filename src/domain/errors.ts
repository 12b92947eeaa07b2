/**
 * The failures the pipeline tells apart: an external system failed (retried with backoff), this
 * replica may not write (leadership), or anything else (a bug: counted as a panic).
 */

/**
 * The message of anything thrown: an Error's `message` (with `stack`, its stack trace, which
 * starts with the message), anything else as text.
 */
export function errorMessage(err: unknown, opts: { stack?: boolean } = {}): string {
  if (!(err instanceof Error)) return String(err);
  return opts.stack ? (err.stack ?? err.message) : err.message;
}

/** A write was refused because this replica does not hold the lease (or its renew deadline passed). */
export class NotLeaderError extends Error {
  constructor() {
    super('not the leader: writes are disabled');
    this.name = 'NotLeaderError';
  }
}

/** Where a reconcile failed: decides the error metric's reason and tells a bug from an outage. */
export type FailureSource = 'docker' | 'database';

/** A failure of an external system (retried with backoff); anything else thrown is a bug ("panic"). */
export class ExternalError extends Error {
  constructor(
    readonly source: FailureSource,
    override readonly cause: unknown,
  ) {
    super(`${source}: ${errorMessage(cause)}`);
    this.name = 'ExternalError';
  }
}

/** Runs `fn`, tagging any failure as coming from `source` (a refused write stays what it is). */
export async function tagged<T>(source: FailureSource, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof ExternalError || err instanceof NotLeaderError ? err : new ExternalError(source, err);
  }
}
