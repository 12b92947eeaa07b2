import { performance } from 'node:perf_hooks';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../log.js';
import { jitter } from '../util/backoff.js';
import { sleep, withTimeout } from '../util/timers.js';

export interface LeaseStore {
  tryAcquireOrRenew(name: string, holder: string, durationMs: number): Promise<boolean>;
  release(name: string, holder: string): Promise<boolean>;
}

export interface LeaderElectionConfig {
  leaseName: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  /** Called as soon as this replica may no longer write (deadline missed, lost, or stopping). */
  onStoppedLeading(): void;
  /** Called after every acquire/renew attempt (liveness of the election loop). */
  onAttempt?(leading: boolean): void;
}

/**
 * Leader election with client-go's LeaderElector semantics on a database row: candidates try
 * to acquire every `retryPeriod` (jittered); the holder renews every `retryPeriod` and steps
 * down when it could not renew for `renewDeadline`, which is shorter than `leaseDuration`, so it
 * stops writing before anybody else may take the lease. {@link canWrite} also checks that
 * deadline against a monotonic clock at the moment of each write, so a process that was paused
 * (SIGSTOP, a long GC) past its lease refuses to write when it wakes up, before its timers run.
 */
export class LeaderElector {
  private leading = false;
  /** Monotonic time at which the last successful renew was *sent* (conservative). */
  private lastRenewSentAt = -Infinity;

  constructor(
    private readonly store: LeaseStore,
    private readonly cfg: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly log: Logger,
    private readonly monotonicNow: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {}

  isLeader(): boolean {
    return this.leading;
  }

  /** True only while this replica leads and its last renew is within the renew deadline. */
  canWrite(): boolean {
    if (!this.leading) return false;
    if (this.monotonicNow() - this.lastRenewSentAt >= this.cfg.renewDeadlineMs) {
      this.stepDown('renew deadline passed');
      return false;
    }
    return true;
  }

  /** Campaigns and renews until `signal` aborts, then releases the lease if held. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const sentAt = this.monotonicNow();
      let ok = false;
      let refused = false;
      try {
        ok = await withTimeout(this.store.tryAcquireOrRenew(this.cfg.leaseName, this.cfg.identity, this.cfg.leaseDurationMs), this.attemptTimeoutMs());
        refused = !ok;
      } catch (err) {
        this.log.warn({ error: errorMessage(err), leader: this.leading }, 'lease acquire/renew failed');
      }
      if (signal.aborted) break;
      if (ok) {
        this.lastRenewSentAt = sentAt;
        if (!this.leading) {
          this.leading = true;
          this.log.info({ lease: this.cfg.leaseName, identity: this.cfg.identity }, 'became leader');
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading && this.monotonicNow() - this.lastRenewSentAt >= this.cfg.renewDeadlineMs) {
        this.stepDown('could not renew within the renew deadline');
      } else if (this.leading && refused) {
        // Renew refused outright: somebody else holds the lease now.
        this.stepDown('lease taken by another holder');
      }
      this.callbacks.onAttempt?.(this.leading);
      // Holders renew every retry period; candidates retry with jitter (client-go: factor 1.2).
      const wait = this.leading ? this.cfg.retryPeriodMs : jitter(this.cfg.retryPeriodMs, 0.2, this.random);
      await sleep(wait, signal);
    }
    // Leadership ends with release() (graceful stop), which the owner calls once its writes are
    // flushed; until then canWrite() keeps answering by the renew deadline.
  }

  /** Releases the lease (graceful shutdown), so a standby takes over without waiting for expiry. */
  async release(): Promise<void> {
    this.stepDown('releasing');
    try {
      await this.store.release(this.cfg.leaseName, this.cfg.identity);
      this.log.info({ lease: this.cfg.leaseName }, 'lease released');
    } catch (err) {
      this.log.warn({ error: errorMessage(err) }, 'could not release the lease; it expires on its own');
    }
  }

  /**
   * How long one acquire/renew may take: what is left of the renew deadline (a hung renew must
   * not keep this replica "leader"), but at least the retry period up to 1 s.
   */
  private attemptTimeoutMs(): number {
    const left = Math.max(1, this.cfg.renewDeadlineMs - (this.monotonicNow() - this.lastRenewSentAt));
    return Math.max(left, Math.min(this.cfg.retryPeriodMs, 1000));
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.log.warn({ lease: this.cfg.leaseName, reason: why }, 'stopped leading');
    this.callbacks.onStoppedLeading();
  }
}
