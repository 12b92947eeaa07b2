import type { Reconciler } from './reconciler.js';
import type { Logger } from '../log.js';
import type { Metrics, ReconcileErrorReason } from '../metrics.js';
import { truncateForLog } from '../domain/dispatch.js';
import { ExternalError, NotLeaderError } from '../domain/errors.js';
import type { WorkQueue } from '../queue/workqueue.js';

/** Keys a pass is waiting for: each must be processed once after it was enqueued. */
class PassTracker {
  private readonly pending: Set<string>;
  private readonly started = new Set<string>();
  errors = 0;
  private resolve!: () => void;
  readonly done: Promise<void>;

  constructor(keys: Iterable<string>) {
    this.pending = new Set(keys);
    this.done = new Promise((r) => (this.resolve = r));
    if (this.pending.size === 0) this.resolve();
  }

  onStart(key: string): void {
    if (this.pending.has(key)) this.started.add(key);
  }

  onFinish(key: string, ok: boolean): void {
    if (!this.started.delete(key)) return;
    this.pending.delete(key);
    if (!ok) this.errors++;
    if (this.pending.size === 0) this.resolve();
  }

  /** Keys that will never be processed (the queue shut down). */
  abandon(): void {
    this.errors += this.pending.size;
    this.pending.clear();
    this.resolve();
  }
}

export interface ControllerOptions {
  workers: number;
  /** Keys whose write is still in flight, at most; workers wait beyond this (backpressure). */
  maxInFlightCommits: number;
}

/**
 * The worker loop (controller-runtime's `processNextWorkItem`): N workers take keys from the
 * queue, call the reconciler, and end every key in exactly one of: success -> forget + done;
 * failure -> rate-limited requeue + done. An exception that is not an external failure is a bug:
 * it is caught, counted as a panic, logged and retried like any failure. A key's processing
 * lasts until its write commits, so it is never handled twice at once.
 */
export class Controller {
  private readonly trackers = new Set<PassTracker>();
  private workers: Promise<void>[] = [];
  private inFlight = 0;
  private slotWaiters: Array<() => void> = [];
  private commitsIdle: Array<() => void> = [];
  private stopping = false;

  constructor(
    private readonly queue: WorkQueue<string>,
    private readonly reconciler: Reconciler,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: ControllerOptions,
  ) {}

  start(): void {
    for (let i = 0; i < this.opts.workers; i++) this.workers.push(this.worker());
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Enqueues `keys` and resolves when each was processed once afterwards, with the failure count. */
  async enqueuePass(keys: readonly string[]): Promise<{ errors: number }> {
    const t = new PassTracker(keys);
    this.trackers.add(t);
    if (this.queue.isShuttingDown()) t.abandon();
    this.queue.addAll(keys);
    try {
      await t.done;
    } finally {
      this.trackers.delete(t);
    }
    return { errors: t.errors };
  }

  /**
   * Stops intake, lets the workers finish the key each one holds and waits for in-flight writes.
   * Keys still queued are dropped: the next start lists everything again.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.shutDown();
    for (const w of this.slotWaiters.splice(0)) w();
    await Promise.all(this.workers);
    if (this.inFlight > 0) await new Promise<void>((r) => this.commitsIdle.push(r));
    for (const t of this.trackers) t.abandon();
  }

  /** Whether `key` is queued or being processed right now. */
  isBusy(key: string): boolean {
    return this.queue.isProcessing(key) || this.queue.isDirty(key);
  }

  inFlightCommits(): number {
    return this.inFlight;
  }

  private async worker(): Promise<void> {
    for (;;) {
      if (this.inFlight >= this.opts.maxInFlightCommits && !this.stopping) await new Promise<void>((r) => this.slotWaiters.push(r));
      if (this.stopping) return;
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.stopping) {
        this.queue.done(key);
        for (const t of this.trackers) t.onFinish(key, false);
        return;
      }
      for (const t of this.trackers) t.onStart(key);
      let outcome;
      try {
        outcome = await this.reconciler.reconcile(key);
      } catch (err) {
        this.fail(key, err);
        continue;
      }
      if (outcome.requeueAfterMs !== undefined) {
        this.queue.forget(key);
        this.queue.addAfter(key, outcome.requeueAfterMs);
        this.queue.done(key);
        for (const t of this.trackers) t.onFinish(key, true);
        continue;
      }
      if (!outcome.commit) {
        this.succeed(key);
        continue;
      }
      this.inFlight++;
      outcome.commit
        .then(
          () => this.succeed(key),
          (err: unknown) => this.fail(key, err),
        )
        .finally(() => {
          this.inFlight--;
          const w = this.slotWaiters.shift();
          if (w) w();
          if (this.inFlight === 0) for (const f of this.commitsIdle.splice(0)) f();
        });
    }
  }

  private succeed(key: string): void {
    this.queue.forget(key);
    this.queue.done(key);
    for (const t of this.trackers) t.onFinish(key, true);
  }

  private fail(key: string, err: unknown): void {
    const reason = classify(err);
    this.metrics.reconcileErrors.inc({ reason });
    if (reason === 'panic') {
      this.metrics.handlerPanics.inc();
      this.log.error({ containerId: key, err }, 'reconcile handler threw unexpectedly; retrying');
    } else {
      this.log.warn({ containerId: key, reason, error: truncateForLog(err instanceof Error ? err.message : String(err), 300), requeues: this.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
    }
    this.queue.addRateLimited(key);
    this.queue.done(key);
    for (const t of this.trackers) t.onFinish(key, false);
  }
}

export function classify(err: unknown): ReconcileErrorReason {
  if (err instanceof ExternalError) return err.source;
  if (err instanceof NotLeaderError) return 'not_leader';
  return 'panic';
}

