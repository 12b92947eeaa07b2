import type { PassObserver, PassReport } from './domain/pass.js';

export interface Probe {
  ok: boolean;
  reason: string;
  details?: Record<string, unknown>;
}

/**
 * Liveness in the spirit of kubelet's PLEG health: the process is healthy while a pass has
 * succeeded recently (within `maxPassAgeMs`) and no pass has been running for longer than that
 * (a wedged loop). A database that is briefly down does not fail it: only passes failing for
 * longer than the threshold do. Until the first success, the start time counts as the reference.
 */
export class HealthState implements PassObserver {
  private lastSuccessAt: number | undefined;
  private lastFailure: string | undefined;
  private passStartedAt: number | undefined;
  private firstPassDone = false;
  private readonly startedAt: number;

  constructor(
    private readonly maxPassAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  passStarted(at: number): void {
    this.passStartedAt = at;
  }

  passFinished(report: PassReport, at: number): void {
    this.passStartedAt = undefined;
    if (report.ok) {
      this.lastSuccessAt = at;
      this.firstPassDone = true;
      this.lastFailure = undefined;
    } else this.lastFailure = report.error ?? 'pass failed';
  }

  /** Whether a full pass has completed successfully at least once. */
  hasCompletedFirstPass(): boolean {
    return this.firstPassDone;
  }

  lastSuccessfulPassAt(): number | undefined {
    return this.lastSuccessAt;
  }

  private standbyTickAt: number | undefined;

  /**
   * A standby replica runs no passes; it is live while its election loop keeps ticking. Call on
   * every election attempt while not leading; `leading` ends standby (passes count again, with
   * the staleness clock restarted).
   */
  electionTick(leading: boolean): void {
    if (leading) {
      if (this.standbyTickAt !== undefined) this.lastSuccessAt = this.now();
      this.standbyTickAt = undefined;
    } else this.standbyTickAt = this.now();
  }

  liveness(): Probe {
    const now = this.now();
    if (this.standbyTickAt !== undefined) {
      const age = now - this.standbyTickAt;
      if (age > this.maxPassAgeMs) return { ok: false, reason: `standby, but the election loop has not ticked for ${Math.round(age / 1000)}s (threshold ${this.maxPassAgeMs / 1000}s)` };
      return { ok: true, reason: 'standby: another replica holds the lease for this host' };
    }
    if (this.passStartedAt !== undefined && now - this.passStartedAt > this.maxPassAgeMs) {
      return { ok: false, reason: `a resync pass has been running for ${Math.round((now - this.passStartedAt) / 1000)}s (threshold ${this.maxPassAgeMs / 1000}s): the loop looks wedged` };
    }
    const ref = this.lastSuccessAt ?? this.startedAt;
    const age = now - ref;
    if (age > this.maxPassAgeMs) {
      const what = this.lastSuccessAt === undefined ? 'no pass has succeeded since start' : 'the last successful pass';
      return { ok: false, reason: `${what} ${Math.round(age / 1000)}s ago exceeds the threshold of ${this.maxPassAgeMs / 1000}s${this.lastFailure ? `; last failure: ${this.lastFailure}` : ''}` };
    }
    return { ok: true, reason: 'ok', details: { lastSuccessfulPassAgeSeconds: this.lastSuccessAt === undefined ? null : age / 1000 } };
  }
}
