import { NotLeaderError } from '../domain/errors.js';

/** Where a reconcile failed: decides the error metric's reason and tells a bug from an outage. */
export type FailureSource = 'docker' | 'database';

/** A failure of an external system (retried with backoff); anything else thrown is a bug ("panic"). */
export class ExternalError extends Error {
  constructor(
    readonly source: FailureSource,
    override readonly cause: unknown,
  ) {
    super(`${source}: ${cause instanceof Error ? cause.message : String(cause)}`);
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
