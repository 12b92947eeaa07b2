import type { PassObserver, PassReport } from './domain/pass.js';

/**
 * What a check of a probe says, in fixed words: `ok`, or what is wrong. Probe answers are open to
 * anyone who reaches the port, so they carry only these words, never error text (socket paths,
 * database host names, errno strings); the error text goes to the log.
 */
export const CHECK_STATES = ['ok', 'unreachable', 'timeout', 'connecting', 'pending', 'stale', 'wedged', 'stalled'] as const;
export type CheckState = (typeof CHECK_STATES)[number];

/** The `status` of a probe answer: /readyz says ready or not ready, /healthz and /livez live or not live. */
export const PROBE_STATUSES = ['ready', 'not ready', 'live', 'not live'] as const;
export type ProbeStatus = (typeof PROBE_STATUSES)[number];

/** The checks of a probe by name (readiness: database, docker, firstPass; liveness: passes or election). */
export type ProbeChecks = Record<string, CheckState>;

export interface Probe {
  ok: boolean;
  /** The answer body: fixed words only (see {@link CHECK_STATES}). */
  body: { status: ProbeStatus; role?: 'standby'; checks: ProbeChecks };
  /** Why a check is not `ok`, by check name, with error text: for the log, never for the answer. */
  detail?: Record<string, string>;
}

/** A liveness answer: `live` when every check is `ok`, with `detail` for those that are not. */
export function livenessProbe(checks: ProbeChecks, detail: Record<string, string> = {}, role?: 'standby'): Probe {
  const ok = Object.values(checks).every((c) => c === 'ok');
  return { ok, body: { status: ok ? 'live' : 'not live', ...(role ? { role } : {}), checks }, ...(ok ? {} : { detail }) };
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

  /**
   * The /healthz answer: check `passes` (`ok`, `stale`, `wedged`) on a replica that reconciles,
   * `election` (`ok`, `stalled`) on a standby. The last pass error is only in `detail`.
   */
  liveness(): Probe {
    const now = this.now();
    const threshold = `threshold ${this.maxPassAgeMs / 1000}s`;
    if (this.standbyTickAt !== undefined) {
      const age = now - this.standbyTickAt;
      if (age > this.maxPassAgeMs) return livenessProbe({ election: 'stalled' }, { election: `the election loop has not ticked for ${Math.round(age / 1000)}s (${threshold})` }, 'standby');
      return livenessProbe({ election: 'ok' }, {}, 'standby');
    }
    if (this.passStartedAt !== undefined && now - this.passStartedAt > this.maxPassAgeMs) {
      return livenessProbe({ passes: 'wedged' }, { passes: `a resync pass has been running for ${Math.round((now - this.passStartedAt) / 1000)}s (${threshold}): the loop looks wedged` });
    }
    const ref = this.lastSuccessAt ?? this.startedAt;
    const age = now - ref;
    if (age > this.maxPassAgeMs) {
      const what = this.lastSuccessAt === undefined ? 'no pass has succeeded since start' : 'the last successful pass';
      return livenessProbe({ passes: 'stale' }, { passes: `${what} ${Math.round(age / 1000)}s ago exceeds the threshold of ${this.maxPassAgeMs / 1000}s${this.lastFailure ? `; last failure: ${this.lastFailure}` : ''}` });
    }
    return livenessProbe({ passes: 'ok' });
  }
}
