import type { Logger } from '../log.js';
import { REFUSAL_REASONS, type RefusalReason } from './allow-list.js';

/** Options of a {@link RefusalLog}. */
export interface RefusalLogOptions {
  /** Refusals logged one by one per window; the rest are counted and summed up once. */
  burst?: number;
  /** Length of a window, ms. */
  windowMs?: number;
  /** The clock (tests pin it). */
  now?: () => number;
}

/** One refused request, as logged. */
export interface Refusal {
  method: string;
  /** The request target, cut to a loggable length. */
  target: string;
  reason: RefusalReason;
}

const LOGGED_TARGET_CHARS = 200;

/**
 * Logs refused requests without letting a client flood the log: the first `burst` refusals of
 * each window are logged one by one (warn), the others only counted; the first refusal of a later
 * window first logs how many were suppressed. Counts every refusal by reason, for the stop summary
 * and the proxy's stats.
 */
export class RefusalLog {
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private suppressed = 0;
  private readonly byReason = new Map<RefusalReason, number>(REFUSAL_REASONS.map((r) => [r, 0]));

  constructor(
    private readonly log: Logger,
    opts: RefusalLogOptions = {},
  ) {
    this.burst = opts.burst ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Counts one refusal and logs it unless this window's burst is spent. */
  record(r: Refusal): void {
    this.byReason.set(r.reason, (this.byReason.get(r.reason) ?? 0) + 1);
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = t;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.burst) {
      this.suppressed++;
      return;
    }
    this.inWindow++;
    const target = r.target.length > LOGGED_TARGET_CHARS ? `${r.target.slice(0, LOGGED_TARGET_CHARS)}...(${r.target.length} chars)` : r.target;
    this.log.warn({ method: r.method.slice(0, 16), target, reason: r.reason }, 'docker-proxy: request refused');
  }

  /** Logs the count of refusals not logged one by one, if any. */
  flush(): void {
    if (this.suppressed === 0) return;
    this.log.warn({ suppressed: this.suppressed, refusedByReason: this.counts() }, 'docker-proxy: more requests refused (not logged one by one)');
    this.suppressed = 0;
  }

  /** Refusals so far, by reason (every reason present, zeros included). */
  counts(): Record<RefusalReason, number> {
    return Object.fromEntries(this.byReason) as Record<RefusalReason, number>;
  }
}
