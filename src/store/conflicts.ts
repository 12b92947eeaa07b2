import { Backoff } from '../util/backoff.js';
import { sleep } from '../util/timers.js';

/** MySQL's ER_LOCK_DEADLOCK. */
const DEADLOCK = 1213;
/** MySQL's ER_DUP_ENTRY. */
const DUPLICATE_KEY = 1062;

function errnoOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { errno?: unknown; driverError?: { errno?: unknown } };
  const n = e.errno ?? e.driverError?.errno;
  return typeof n === 'number' ? n : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : typeof err === 'string' ? err : '';
}

/**
 * True when a statement failed because a concurrent one won, and the server rolled it back whole,
 * so running it again is the same as running it later: errno 1213 (ER_LOCK_DEADLOCK, "Deadlock
 * found when trying to get lock; try restarting transaction"). That covers an InnoDB deadlock and,
 * on a Galera cluster, a certification failure at commit (this write set lost to one committed
 * first on another node) or a brute-force abort by a replicated write ("WSREP detected
 * deadlock/conflict and aborted the transaction"). Only for statements that run alone
 * (autocommit): inside an explicit transaction the whole transaction must be replayed.
 */
export function isRetryableConflict(err: unknown): boolean {
  if (errnoOf(err) === DEADLOCK) return true;
  const e = err as { code?: unknown } | null;
  if (e && typeof e === 'object' && e.code === 'ER_LOCK_DEADLOCK') return true;
  return /WSREP detected deadlock\/conflict/i.test(messageOf(err));
}

/** True for a duplicate key (1062). */
export function isDuplicateKey(err: unknown): boolean {
  return errnoOf(err) === DUPLICATE_KEY;
}

export interface ConflictRetryOptions {
  /** Tries after the first, 0 to 20; default 5. */
  retries?: number;
  /** First pause, ms; doubles up to `maxDelayMs`, half of it random. Default 5. */
  baseDelayMs?: number;
  /** Default 250. */
  maxDelayMs?: number;
  /** Told before each retry (counting, logging). */
  onRetry?: (err: unknown, attempt: number) => void;
  /** Random numbers in [0, 1) for the jitter (tests pin them). */
  random?: () => number;
}

/**
 * Runs `fn` (one autocommit statement) and runs it again, after a short jittered pause, while it
 * fails with a {@link isRetryableConflict retryable conflict}, at most `retries` more times. Any
 * other error, or the last conflict, is thrown as is.
 */
export async function withConflictRetry<T>(fn: () => Promise<T>, opts: ConflictRetryOptions = {}): Promise<T> {
  const retries = opts.retries ?? 5;
  if (!Number.isInteger(retries) || retries < 0 || retries > 20) throw new RangeError(`Expected \`retries\` to be an integer from 0 to 20, got ${retries}`);
  const backoff = new Backoff({ baseMs: opts.baseDelayMs ?? 5, maxMs: opts.maxDelayMs ?? 250, jitter: 0.5, ...(opts.random ? { random: opts.random } : {}) });
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retries || !isRetryableConflict(err)) throw err;
      opts.onRetry?.(err, attempt + 1);
      await sleep(backoff.delay(attempt));
    }
  }
}
