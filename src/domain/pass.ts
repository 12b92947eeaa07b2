/** What a resync pass reports, and who listens (health, readiness, status recomputation, tests). */

export interface PassReport {
  ok: boolean;
  listed: number;
  errors: number;
  swept: number;
  durationMs: number;
  /** Time spent in each phase, ms (desired, snapshot, list, prefetch, reconcile, sweep, touch). */
  phases?: Record<string, number>;
  /** Rows of the host bound to a listed container after the pass. */
  boundRows?: number;
  /** Rows whose `last_seen_at` the pass refreshed. */
  refreshed?: number;
  error?: string;
}

/** Observes pass boundaries (health, readiness, status recomputation). */
export interface PassObserver {
  passStarted(at: number): void;
  passFinished(report: PassReport, at: number): void;
}
