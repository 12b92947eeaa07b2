import type { ChangeSink, RowChange } from '../domain/changes.js';
import { errorMessage } from '../domain/errors.js';
import { PHASES, type Phase } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { ContainerEventRecord, ContainerQuery, ContainerRecord, EventQuery, RefusalQuery, StoredRefusal, StatusRepository, StoredStatus } from '../store/status.repository.js';
import { Backoff } from '../util/backoff.js';
import { computeStatus, statusChanged } from './phase.js';

/** Where the per-phase workload counts go (the `tinyforge_reconciler_workloads{phase}` gauge). */
export interface PhaseGauge {
  set(labels: { phase: Phase }, value: number): void;
}

export interface WorkloadStatusOptions {
  /** How long transitions are kept (EVENT_RETENTION). */
  eventRetentionMs: number;
  /** Changes are written at most this long after they arrive (one flush per window). Default 50 ms. */
  debounceMs?: number;
  /** How often old transitions are pruned. Default: a tenth of the retention, between 1 min and 1 h. */
  pruneEveryMs?: number;
  /**
   * How often every workload is recomputed, as a safety net for rows other programs change (a
   * deployer pre-creating or deleting slots sends no change). 0 = only at start. Default 10 min.
   */
  fullRecomputeEveryMs?: number;
  /** Workloads per statement. Default 500. */
  batchSize?: number;
  /** Transitions held while the database is down; the oldest are dropped beyond this. Default 100,000. */
  maxPendingEvents?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** The read side the HTTP API uses (see src/http/api.ts). */
export interface StatusReader {
  /** `undefined` for an unknown workload. Computes (and stores) the status if none exists yet. */
  getStatus(workloadId: string): Promise<StoredStatus | undefined>;
  /** `undefined` for an unknown workload. */
  listEvents(workloadId: string, q: EventQuery): Promise<ContainerEventRecord[] | undefined>;
  listContainers(q: ContainerQuery): Promise<ContainerRecord[]>;
  listRefusals(q: RefusalQuery): Promise<StoredRefusal[]>;
}

/** Retries of a failed flush: 0.5 s doubling to 30 s. */
const FLUSH_RETRY = { baseMs: 500, maxMs: 30_000 };
/** Retries of a failed recompute at start: 2 s doubling to 30 s. */
const START_RETRY = { baseMs: 2_000, maxMs: 30_000 };
/** Rows remembered for duplicate suppression; the memory is dropped (not trimmed) beyond this. */
const MAX_REMEMBERED_ROWS = 500_000;

/**
 * Keeps `workload_status` and `container_events` up to date from the controller's committed
 * transitions ({@link ChangeSink}), and serves them to the API.
 *
 * - {@link rowsChanged} only buffers (it never throws and never waits): a flush at most
 *   `debounceMs` later writes every buffered transition in one multi-row INSERT and recomputes
 *   the workloads they touched, `batchSize` workloads per statement: one grouped SELECT (counts,
 *   names of slots not running, previous status), one SELECT of their `conflict` refusals and
 *   one multi-row upsert. Flushes never
 *   overlap. A failed flush keeps its work and retries with backoff.
 * - {@link refusalsChanged} marks workloads whose `container_refusals` rows changed (their
 *   `Conflict` condition) dirty, for the same debounced flush.
 * - {@link start} recomputes every workload (so the table is complete), prunes old transitions
 *   and starts the prune and safety-net timers; {@link stop} ends them and writes what is left.
 * - A transition into the state this service last recorded for the same row is not recorded
 *   again (a pass's sweep can report a row the event path already marked missing).
 */
export class WorkloadStatusService implements ChangeSink, StatusReader {
  private pendingEvents: RowChange[] = [];
  private dirty = new Set<string>();
  private readonly lastTo = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly intervals: NodeJS.Timeout[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly flushRetry = new Backoff(FLUSH_RETRY);
  private fullPending = false;
  private started = false;
  /** Changes are ignored after {@link stop} until the next {@link start}. */
  private stopped = false;
  private readonly debounceMs: number;
  private readonly batchSize: number;
  private readonly maxPendingEvents: number;
  private readonly now: () => number;

  constructor(
    private readonly repo: StatusRepository,
    private readonly log: Logger,
    private readonly opts: WorkloadStatusOptions,
    private readonly gauge?: PhaseGauge,
  ) {
    if (!(opts.eventRetentionMs > 0)) throw new Error(`Expected \`eventRetentionMs\` to be a number greater than 0, got ${opts.eventRetentionMs}`);
    this.debounceMs = opts.debounceMs ?? 50;
    this.batchSize = opts.batchSize ?? 500;
    this.maxPendingEvents = opts.maxPendingEvents ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Recomputes every workload, prunes old transitions, then starts the periodic prune (and the
   * safety-net recompute) and accepts changes. Resolves once the table is complete (a failure is
   * logged and retried in the background, never thrown). May be called again after {@link stop}
   * (a new leadership term); a call while started does nothing.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    const full = () => this.recomputeAll().catch((err: unknown) => this.log.warn({ error: errorMessage(err) }, 'recomputing every workload status failed; retrying later'));
    const prune = () => this.prune().catch((err: unknown) => this.log.warn({ error: errorMessage(err) }, 'pruning container events failed; retrying later'));
    await this.recomputeAll().catch((err: unknown) => {
      // Not fatal: changed workloads are still recomputed, a reader gets a status computed on
      // demand, and the full recompute is retried until it succeeds once.
      this.log.warn({ error: errorMessage(err) }, 'recomputing every workload status at start failed; retrying');
      const backoff = new Backoff(START_RETRY);
      const retry = () => {
        const t = setTimeout(() => {
          if (!this.started) return;
          this.recomputeAll().catch(retry);
        }, backoff.next());
        t.unref();
      };
      retry();
    });
    await prune();
    if (!this.started) return; // stopped meanwhile
    const pruneEvery = this.opts.pruneEveryMs ?? Math.min(3_600_000, Math.max(60_000, Math.floor(this.opts.eventRetentionMs / 10)));
    this.intervals.push(setInterval(() => void prune(), pruneEvery).unref());
    const fullEvery = this.opts.fullRecomputeEveryMs ?? 600_000;
    if (fullEvery > 0) this.intervals.push(setInterval(() => void full(), fullEvery).unref());
  }

  /** ChangeSink: buffers committed transitions and schedules a flush. Never throws. */
  rowsChanged(changes: readonly RowChange[]): void {
    if (this.stopped) return;
    try {
      for (const c of changes) {
        this.dirty.add(c.workloadId);
        if (c.from === c.to || this.lastTo.get(c.rowId) === c.to) continue;
        if (this.lastTo.size >= MAX_REMEMBERED_ROWS) this.lastTo.clear();
        this.lastTo.set(c.rowId, c.to);
        this.pendingEvents.push(c);
      }
      this.trimPending();
      this.schedule(this.debounceMs);
    } catch (err) {
      this.log.error({ error: errorMessage(err) }, 'recording row changes failed');
    }
  }

  /**
   * The refusals of these workloads changed (a container was refused or stopped being refused):
   * recomputes their status (the `Conflict` condition) in the next flush, like {@link rowsChanged}
   * but without a transition to record. Never throws; ignored while stopped.
   */
  refusalsChanged(workloadIds: readonly string[]): void {
    if (this.stopped) return;
    try {
      let added = false;
      for (const id of workloadIds) {
        if (typeof id !== 'string' || id === '') continue;
        this.dirty.add(id);
        added = true;
      }
      if (added) this.schedule(this.debounceMs);
    } catch (err) {
      this.log.error({ error: errorMessage(err) }, 'recording refusal changes failed');
    }
  }

  /** Writes everything buffered and recomputes the dirty workloads now; resolves when done (or failed). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return this.enqueue(() => this.doFlush());
  }

  /**
   * Recomputes every workload in `workloads` (batched) and drops status rows of workloads that
   * no longer exist. Serialised with flushes.
   */
  recomputeAll(): Promise<void> {
    if (this.fullPending) return this.chain;
    this.fullPending = true;
    return this.enqueue(async () => {
      this.fullPending = false;
      // Page by page (keyset on the workload ID), so memory holds one batch whatever the
      // number of workloads: at 100,000 workloads a single read of all of them was the largest
      // burst of garbage of the service's life.
      let after: string | undefined;
      for (;;) {
        const ids = await this.repo.workloadIdsAfter(after, this.batchSize);
        if (ids.length === 0) break;
        await this.writeStatuses(await this.repo.observe(ids));
        if (ids.length < this.batchSize) break;
        after = ids[ids.length - 1];
      }
      await this.repo.deleteOrphanStatuses();
      await this.refreshGauge();
    });
  }

  /** Deletes transitions older than the retention (one statement). Returns how many. */
  async prune(): Promise<number> {
    const n = await this.repo.pruneEvents(this.now() - this.opts.eventRetentionMs);
    if (n > 0) this.log.debug({ deleted: n }, 'pruned old container events');
    return n;
  }

  /**
   * Stops the timers and the intake of changes, then writes what is buffered. Call before the
   * database closes. The read side keeps working.
   */
  async stop(): Promise<void> {
    this.started = false;
    this.stopped = true;
    for (const t of this.intervals) clearInterval(t);
    this.intervals.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.enqueue(() => this.doFlush());
  }

  // ---- read side (API) ----

  async getStatus(workloadId: string): Promise<StoredStatus | undefined> {
    const s = await this.repo.getStatus(workloadId);
    if (s !== null) return s;
    // The workload exists but was added after the last full recompute and none of its
    // containers changed since: compute it now (stored, like any recompute).
    await this.enqueue(() => this.recompute([workloadId]));
    return (await this.repo.getStatus(workloadId)) ?? undefined;
  }

  async listEvents(workloadId: string, q: EventQuery): Promise<ContainerEventRecord[] | undefined> {
    const [exists, events] = await Promise.all([this.repo.workloadExists(workloadId), this.repo.listEvents(workloadId, q)]);
    return exists ? events : undefined;
  }

  listContainers(q: ContainerQuery): Promise<ContainerRecord[]> {
    return this.repo.listContainers(q);
  }

  listRefusals(q: RefusalQuery): Promise<StoredRefusal[]> {
    return this.repo.listRefusals(q);
  }

  // ---- internals ----

  private schedule(delayMs: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(() => this.doFlush());
    }, delayMs);
    this.timer.unref?.();
  }

  /** Runs `fn` after every earlier flush/recompute; never rejects the chain. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async doFlush(): Promise<void> {
    const events = this.pendingEvents;
    const dirty = this.dirty;
    this.pendingEvents = [];
    this.dirty = new Set();
    if (events.length === 0 && dirty.size === 0) return;
    let step = 'events';
    try {
      if (events.length > 0) await this.repo.insertEvents(events);
      step = 'status';
      if (dirty.size > 0) await this.recompute([...dirty]);
      this.flushRetry.reset();
    } catch (err) {
      // Keep the work: events not written yet go back in front, every dirty workload stays dirty.
      if (step === 'events') this.pendingEvents = events.concat(this.pendingEvents);
      for (const id of dirty) this.dirty.add(id);
      this.trimPending();
      const delay = this.flushRetry.next();
      this.log.warn({ error: errorMessage(err), step, events: this.pendingEvents.length, workloads: this.dirty.size, retryInMs: delay }, 'writing workload status failed; retrying');
      this.schedule(delay);
    }
  }

  /** Recomputes these workloads: per batch one grouped SELECT, one SELECT of conflicts and one upsert, then the gauge. */
  private async recompute(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += this.batchSize) {
      const batch = ids.slice(i, i + this.batchSize);
      const observed = await this.repo.observe(batch);
      await this.writeStatuses(observed);
      const gone = batch.filter((id) => !observed.has(id));
      if (gone.length > 0) await this.repo.deleteStatuses(gone);
    }
    await this.refreshGauge();
  }

  private async writeStatuses(observed: Awaited<ReturnType<StatusRepository['observe']>>): Promise<void> {
    const at = this.now();
    const out: StoredStatus[] = [];
    for (const [workloadId, o] of observed) {
      const next = computeStatus(o.observation, o.previous, at);
      const gen = (o.previous?.observedGeneration ?? 0) + (statusChanged(o.previous, next) ? 1 : 0);
      out.push({ workloadId, ...next, observedGeneration: gen, observedAt: at });
    }
    await this.repo.upsertStatuses(out, this.batchSize);
  }

  private async refreshGauge(): Promise<void> {
    if (!this.gauge) return;
    const counts = await this.repo.phaseCounts();
    for (const phase of PHASES) this.gauge.set({ phase }, counts[phase] ?? 0);
  }

  private trimPending(): void {
    const over = this.pendingEvents.length - this.maxPendingEvents;
    if (over <= 0) return;
    this.pendingEvents.splice(0, over);
    this.log.warn({ dropped: over }, 'too many container events pending while the database is unavailable; dropped the oldest');
  }
}
