/** Options of a {@link Backoff}. */
export interface BackoffOptions {
  /** The first delay, ms (> 0). */
  baseMs: number;
  /** No delay is longer, ms (>= baseMs). */
  maxMs: number;
  /**
   * The random share of each delay, from 0 (none, the default) to 1: with 0.5 a delay lies
   * between half and all of `min(max, base * 2^attempt)`, so clients that failed together do not
   * retry together.
   */
  jitter?: number;
  /** Random numbers in [0, 1) (tests pin them). */
  random?: () => number;
}

/**
 * Exponential backoff, the one the service uses wherever it retries: the n-th consecutive
 * failure (n from 0) waits `min(maxMs, baseMs * 2^n)`, less a random share when `jitter` is set.
 * {@link next} counts a failure and returns its delay, {@link reset} starts over after a
 * success; {@link delay} computes a delay without counting (for callers that keep the count
 * themselves, like a per-key rate limiter).
 */
export class Backoff {
  private failures = 0;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    if (!(opts.baseMs > 0)) throw new RangeError(`Expected \`baseMs\` to be a number above 0, got ${opts.baseMs}`);
    if (!(opts.maxMs >= opts.baseMs)) throw new RangeError(`Expected \`maxMs\` to be at least baseMs (${opts.baseMs}), got ${opts.maxMs}`);
    this.jitter = opts.jitter ?? 0;
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new RangeError(`Expected \`jitter\` to be a number from 0 to 1, got ${opts.jitter}`);
    this.random = opts.random ?? Math.random;
  }

  /** The delay after failure number `attempt` (0 = the first), ms. Does not count it. */
  delay(attempt: number): number {
    // 2^n overflows to Infinity past n = 1023; min() then yields the cap.
    const ceiling = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.max(0, attempt));
    if (this.jitter === 0) return ceiling;
    return Math.round(ceiling * (1 - this.jitter) + this.random() * ceiling * this.jitter);
  }

  /** Counts one more failure and returns how long to wait before the next try, ms. */
  next(): number {
    return this.delay(this.failures++);
  }

  /** Consecutive failures counted since the last {@link reset}. */
  get attempts(): number {
    return this.failures;
  }

  /** Starts over (after a success). */
  reset(): void {
    this.failures = 0;
  }
}

/**
 * `ms` stretched by a random factor of up to `maxFactor` (client-go's `wait.Jitter`): periodic
 * callers spread out instead of arriving in lockstep.
 */
export function jitter(ms: number, maxFactor: number, random: () => number = Math.random): number {
  return ms * (1 + random() * maxFactor);
}
