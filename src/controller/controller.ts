import type { Reconciler } from './reconciler.js';
import type { Logger } from '../log.js';
import type { ReconcileErrorReason } from '../metrics.js';
import { truncateForLog } from '../domain/text.js';
import { errorMessage, ExternalError, NotLeaderError } from '../domain/errors.js';
import { integerOption } from '../util/options.js';
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

/** What the worker loop uses of the queue ({@link WorkQueue} satisfies it). */
export type ControllerQueue = Pick<
  WorkQueue<string>,
  'add' | 'addAll' | 'get' | 'done' | 'forget' | 'addRateLimited' | 'addAfter' | 'numRequeues' | 'shutDown' | 'isShuttingDown' | 'isProcessing' | 'isDirty'
>;

/** The counters the worker loop feeds (`Metrics` satisfies it). */
export interface ControllerMetrics {
  reconcileErrors: { inc(labels: { reason: ReconcileErrorReason }): void };
  handlerPanics: { inc(): void };
}

export interface ControllerDeps {
  queue: ControllerQueue;
  reconciler: Reconciler;
  metrics: ControllerMetrics;
  log: Pick<Logger, 'warn' | 'error'>;
  /** Concurrent workers, 1 to 256. */
  workers: number;
  /** Keys whose write is still in flight, at most (1 to 1,000,000); workers wait beyond this (backpressure). */
  maxInFlightCommits: number;
}

/**
 * The worker loop (controller-runtime's `processNextWorkItem`): N workers take keys from the
 * queue, call the reconciler, and end every key in exactly one of: success -> forget + done;
 * requeue-after -> forget + add-after + done; failure -> rate-limited requeue + done, counted in
 * `reconcile_errors{reason}` (`docker`, `database`, `not_leader`). An exception that is neither
 * an external failure nor a refused write is a bug: it is caught, counted as a `panic`, logged
 * and retried like any failure. A key's processing lasts until its write commits, so it is never
 * handled twice at once; at most `maxInFlightCommits` writes wait at a time.
 */
export class Controller {
  private readonly trackers = new Set<PassTracker>();
  private workers: Promise<void>[] = [];
  private inFlight = 0;
  private slotWaiters: Array<() => void> = [];
  private commitsIdle: Array<() => void> = [];
  private stopping = false;

  constructor(private readonly d: ControllerDeps) {
    integerOption('workers', d.workers, 1, 256);
    integerOption('maxInFlightCommits', d.maxInFlightCommits, 1, 1_000_000);
  }

  /** Starts the workers (once). */
  start(): void {
    for (let i = 0; i < this.d.workers; i++) this.workers.push(this.worker());
  }

  /** Queues `key` (duplicates collapse; a key being processed is queued again when it is done). */
  enqueue(key: string): void {
    this.d.queue.add(key);
  }

  /** Enqueues `keys` and resolves when each was processed once afterwards, with the failure count. */
  async enqueuePass(keys: readonly string[]): Promise<{ errors: number }> {
    const t = new PassTracker(keys);
    this.trackers.add(t);
    if (this.d.queue.isShuttingDown()) t.abandon();
    this.d.queue.addAll(keys);
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
    this.d.queue.shutDown();
    for (const w of this.slotWaiters.splice(0)) w();
    await Promise.all(this.workers);
    if (this.inFlight > 0) await new Promise<void>((r) => this.commitsIdle.push(r));
    for (const t of this.trackers) t.abandon();
  }

  /** Whether `key` is queued or being processed right now. */
  isBusy(key: string): boolean {
    return this.d.queue.isProcessing(key) || this.d.queue.isDirty(key);
  }

  private async worker(): Promise<void> {
    for (;;) {
      if (this.inFlight >= this.d.maxInFlightCommits && !this.stopping) await new Promise<void>((r) => this.slotWaiters.push(r));
      if (this.stopping) return;
      const key = await this.d.queue.get();
      if (key === undefined) return;
      if (this.stopping) {
        this.d.queue.done(key);
        for (const t of this.trackers) t.onFinish(key, false);
        return;
      }
      for (const t of this.trackers) t.onStart(key);
      let outcome;
      try {
        outcome = await this.d.reconciler.reconcile(key);
      } catch (err) {
        this.fail(key, err);
        continue;
      }
      if (outcome.requeueAfterMs !== undefined) {
        this.d.queue.forget(key);
        this.d.queue.addAfter(key, outcome.requeueAfterMs);
        this.d.queue.done(key);
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
    this.d.queue.forget(key);
    this.d.queue.done(key);
    for (const t of this.trackers) t.onFinish(key, true);
  }

  private fail(key: string, err: unknown): void {
    const reason = classify(err);
    this.d.metrics.reconcileErrors.inc({ reason });
    if (reason === 'panic') {
      this.d.metrics.handlerPanics.inc();
      this.d.log.error({ containerId: key, err }, 'reconcile handler threw unexpectedly; retrying');
    } else {
      this.d.log.warn({ containerId: key, reason, error: truncateForLog(errorMessage(err), 300), requeues: this.d.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
    }
    this.d.queue.addRateLimited(key);
    this.d.queue.done(key);
    for (const t of this.trackers) t.onFinish(key, false);
  }
}

export function classify(err: unknown): ReconcileErrorReason {
  if (err instanceof ExternalError) return err.source;
  if (err instanceof NotLeaderError) return 'not_leader';
  return 'panic';
}

