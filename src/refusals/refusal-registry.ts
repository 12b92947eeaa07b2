import type { Refused } from '../domain/decide.js';
import type { UnmatchedReason } from '../domain/types.js';
import { realClock, type Clock } from '../util/clock-source.js';
import { integerOption, numberOption } from '../util/options.js';

/** One refused container as the registry holds it. */
export interface Refusal {
  containerId: string;
  containerName: string;
  dispatch: string;
  reason: UnmatchedReason;
  workloadId: string;
  rowId: string;
  detail: string;
}

/** Where the registry persists refusals (`container_refusals`, rows of this host only). */
export interface RefusalSink {
  upsert(refusals: readonly Refusal[]): Promise<void>;
  remove(containerIds: readonly string[]): Promise<void>;
  /** Removes every persisted refusal of this host except these containers'. */
  removeAllExcept(containerIds: readonly string[]): Promise<void>;
}

export interface RefusalHooks {
  /** A container was refused for a reason it was not refused for before (counted, logged once). */
  refused?(r: Refusal): void;
  /** A refusal ended (the container got its row, or it is gone). */
  resolved?(r: Refusal): void;
  /** The workloads whose refusals changed in the last flush (their status is recomputed). */
  workloadsChanged?(workloadIds: readonly string[]): void;
  /** Current refusals by reason, after every flush. */
  counts?(byReason: ReadonlyMap<UnmatchedReason, number>): void;
}

export interface RefusalRegistryOptions {
  /** Refusals kept (and persisted) at most; beyond, new ones are counted and logged only. */
  maxEntries?: number;
  /** Delay between a change and its write (changes in between share one flush), 0 to 60,000 ms; default 250. */
  flushDelayMs?: number;
  /** Timers for the delayed flush; default the system clock (the timer does not hold the process). */
  clock?: Clock;
}

const DEFAULT_MAX_ENTRIES = 5000;

/**
 * The containers this agent currently refuses to write a row for, and why. Decisions report
 * here on every reconcile; the registry persists only what changed (a flush writes the new or
 * changed refusals in one statement and deletes the ended ones in another), so a refusal that
 * holds pass after pass costs nothing. The first flush of a term also removes refusals an
 * earlier term left behind.
 */
export class RefusalRegistry {
  private readonly current = new Map<string, Refusal & { seq: number }>();
  private readonly dirty = new Set<string>();
  /** Workloads of refusals that changed since the last flush. */
  private readonly touched = new Set<string>();
  private seq = 0;
  private synced = false;
  private timer: unknown;
  private flushing: Promise<void> | undefined;
  private readonly maxEntries: number;
  private readonly flushDelayMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly sink: RefusalSink,
    private readonly hooks: RefusalHooks = {},
    opts: RefusalRegistryOptions = {},
  ) {
    this.maxEntries = integerOption('maxEntries', opts.maxEntries ?? DEFAULT_MAX_ENTRIES, 1, 9000);
    this.flushDelayMs = numberOption('flushDelayMs', opts.flushDelayMs ?? 250, 0, 60_000);
    this.clock = opts.clock ?? realClock;
  }

  /** Records that `container` gets no row for `d.reason`. */
  refuse(container: { id: string; name: string }, d: Refused): void {
    const prev = this.current.get(container.id);
    const next = { containerId: container.id, containerName: container.name, dispatch: d.dispatch, reason: d.reason, workloadId: d.workloadId, rowId: d.rowId, detail: d.detail, seq: ++this.seq };
    if (prev && prev.reason === next.reason && prev.rowId === next.rowId && prev.detail === next.detail && prev.workloadId === next.workloadId) {
      prev.seq = next.seq;
      return;
    }
    if (!prev && this.current.size >= this.maxEntries) {
      // Still counted and logged, never held: memory stays bounded whatever tenants do.
      this.hooks.refused?.(next);
      return;
    }
    this.current.set(container.id, next);
    this.dirty.add(container.id);
    if (prev) this.touched.add(prev.workloadId);
    this.touched.add(next.workloadId);
    if (!prev || prev.reason !== next.reason) this.hooks.refused?.(next);
    this.schedule();
  }

  /** `containerId` got its row or is gone: its refusal, if any, ends. */
  clear(containerId: string): void {
    const prev = this.current.get(containerId);
    if (!prev) return;
    this.current.delete(containerId);
    this.dirty.add(containerId);
    this.touched.add(prev.workloadId);
    this.hooks.resolved?.(prev);
    this.schedule();
  }

  /** A marker to pass to {@link retainOnly}: refusals recorded after it are kept. */
  mark(): number {
    return this.seq;
  }

  /** Ends the refusals of containers not in `live`, unless recorded after `since`. */
  retainOnly(live: ReadonlySet<string>, since: number): void {
    for (const [id, r] of this.current) if (!live.has(id) && r.seq <= since) this.clear(id);
  }

  get(containerId: string): Refusal | undefined {
    const r = this.current.get(containerId);
    if (!r) return undefined;
    const { seq: _seq, ...rest } = r;
    return rest;
  }

  size(): number {
    return this.current.size;
  }

  /** Writes what changed since the last flush. A failed write keeps its work for the next one. */
  flush(): Promise<void> {
    this.cancelScheduled();
    const run = async (): Promise<void> => {
      const ids = [...this.dirty];
      const workloads = [...this.touched];
      this.dirty.clear();
      this.touched.clear();
      const present: Refusal[] = [];
      const gone: string[] = [];
      for (const id of ids) {
        const r = this.get(id);
        if (r) present.push(r);
        else gone.push(id);
      }
      try {
        if (present.length > 0) await this.sink.upsert(present);
        if (!this.synced) {
          await this.sink.removeAllExcept([...this.current.keys()]);
          this.synced = true;
        } else if (gone.length > 0) await this.sink.remove(gone);
      } catch (err) {
        for (const id of ids) this.dirty.add(id);
        for (const w of workloads) this.touched.add(w);
        throw err;
      }
      const changed = workloads.filter((w) => w !== '');
      if (changed.length > 0) this.hooks.workloadsChanged?.(changed);
      if (this.hooks.counts) {
        const byReason = new Map<UnmatchedReason, number>();
        for (const r of this.current.values()) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
        this.hooks.counts(byReason);
      }
    };
    // One flush at a time; a flush asked for meanwhile runs after it (and sees its changes).
    const next: Promise<void> = (this.flushing ?? Promise.resolve()).catch(() => undefined).then(run);
    this.flushing = next;
    void next.finally(() => {
      if (this.flushing === next) this.flushing = undefined;
    }).catch(() => undefined);
    return next;
  }

  /** Stops the delayed flush (shutdown); call {@link flush} afterwards to write what is left. */
  cancelScheduled(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.flushDelayMs === 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      // Errors are kept for the next flush (the pass flushes too).
      this.flush().catch(() => undefined);
    }, this.flushDelayMs);
  }
}
