import { Backoff } from '../util/backoff.js';

/**
 * Per-key retry backoff, as client-go's `ItemExponentialFailureRateLimiter`:
 * the n-th consecutive failure of a key waits `base * 2^(n-1)`, capped at `max`.
 * `forget` resets a key after a success.
 */
export interface RateLimiter<K> {
  /** Records one more failure of `key` and returns how long to wait before retrying it, in ms. */
  when(key: K): number;
  /** Clears the failure history of `key` (call after a success). */
  forget(key: K): void;
  /** How many consecutive failures `key` has had. */
  numRequeues(key: K): number;
}

export class ExponentialFailureRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  private readonly backoff: Backoff;

  constructor(
    baseDelayMs = 5,
    maxDelayMs = 60_000,
  ) {
    if (!(baseDelayMs > 0)) throw new RangeError(`Expected \`baseDelayMs\` to be a number above 0, got ${baseDelayMs}`);
    if (!(maxDelayMs >= baseDelayMs)) throw new RangeError(`Expected \`maxDelayMs\` to be at least baseDelayMs (${baseDelayMs}), got ${maxDelayMs}`);
    this.backoff = new Backoff({ baseMs: baseDelayMs, maxMs: maxDelayMs });
  }

  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return this.backoff.delay(n);
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}
