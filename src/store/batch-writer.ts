import { NotLeaderError } from '../domain/errors.js';
import type { ObservedRow } from '../domain/types.js';
import { keepAliveClock, type Clock } from '../util/clock-source.js';
import { integerOption, numberOption } from '../util/options.js';

export interface RowWriter {
  /** `last_seen_at` is the database's clock at the statement. */
  upsert(rows: readonly ObservedRow[], batchSize?: number): Promise<void>;
  markMissingByContainerIds(host: string, containerIds: readonly string[]): Promise<number>;
}

interface Waiter<T> {
  ok: (v: T) => void;
  fail: (e: unknown) => void;
}

export interface BatchWriterHooks {
  /** One statement was sent (for metrics): `upsert` rows or `mark_missing` ids. */
  statement?(kind: 'upsert' | 'mark_missing', size: number): void;
  /** Rows marked missing by a flush. */
  missingMarked?(count: number): void;
}

export interface BatchWriterOptions {
  /** Rows (or container IDs) per statement, 1 to 5000; default 500. */
  batchSize?: number;
  /** How long a first write waits for company before its batch is sent, 0 to 1000 ms; default 1. */
  lingerMs?: number;
  /** Statements in flight at most, 1 to 64; default 4. */
  maxConcurrentFlushes?: number;
  /** Checked before every statement: false refuses everything pending with {@link NotLeaderError}. */
  canWrite?: () => boolean;
  hooks?: BatchWriterHooks;
  /** Timers for the linger; default the system clock. */
  clock?: Clock;
}

/**
 * Collects the writes of many keys and sends them as multi-row statements: workers hand a write
 * over and go on with the next key, while the key stays "processing" until its write commits
 * (the returned promise). At most `maxConcurrentFlushes` statements (default 4) are in flight;
 * writes arriving meanwhile form the next batch, so batches grow with load and latency stays one
 * statement when idle. A failed statement
 * rejects exactly the writes it carried, so only their keys are retried.
 */
export class BatchWriter {
  private upserts = new Map<string, { row: ObservedRow; waiters: Array<Waiter<void>> }>();
  private missing = new Map<string, Array<Waiter<number>>>();
  /** Flush loops running; each sends one statement at a time. */
  private active = 0;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];

  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly maxConcurrentFlushes: number;
  private readonly hooks: BatchWriterHooks;
  private readonly clock: Clock;

  constructor(
    private readonly writer: RowWriter,
    private readonly host: string,
    private readonly opts: BatchWriterOptions = {},
  ) {
    this.batchSize = integerOption('batchSize', opts.batchSize ?? 500, 1, 5000);
    this.lingerMs = numberOption('lingerMs', opts.lingerMs ?? 1, 0, 1000);
    this.maxConcurrentFlushes = integerOption('maxConcurrentFlushes', opts.maxConcurrentFlushes ?? 4, 1, 64);
    this.hooks = opts.hooks ?? {};
    this.clock = opts.clock ?? keepAliveClock;
  }

  /** Queues an upsert of `row`; resolves when it is committed. A later write of the same row ID in the same batch wins. */
  upsert(row: ObservedRow): Promise<void> {
    return new Promise((ok, fail) => {
      const cur = this.upserts.get(row.id);
      if (cur) {
        cur.row = row;
        cur.waiters.push({ ok, fail });
      } else this.upserts.set(row.id, { row, waiters: [{ ok, fail }] });
      this.schedule();
    });
  }

  /** Queues "rows of this host bound to `containerId` are missing"; resolves with how many rows changed. */
  markMissing(containerId: string): Promise<number> {
    return new Promise((ok, fail) => {
      const cur = this.missing.get(containerId);
      if (cur) cur.push({ ok, fail });
      else this.missing.set(containerId, [{ ok, fail }]);
      this.schedule();
    });
  }

  pendingCount(): number {
    return this.upserts.size + this.missing.size;
  }

  /** Resolves when nothing is pending or being written. */
  idle(): Promise<void> {
    if (this.active === 0 && !this.scheduled && this.pendingCount() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.active >= this.maxConcurrentFlushes) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      // Up to `maxConcurrentFlushes` statements in flight on separate connections: under load
      // the database works on one batch while the next fills; when idle, one statement.
      while (this.active < this.maxConcurrentFlushes && this.pendingCount() > 0) {
        this.active++;
        void this.flushLoop().finally(() => {
          this.active--;
          if (this.pendingCount() > 0) this.schedule();
          else if (this.active === 0 && !this.scheduled) {
            const w = this.idleWaiters;
            this.idleWaiters = [];
            for (const f of w) f();
          }
        });
      }
    };
    if (this.lingerMs <= 0) queueMicrotask(go);
    else this.clock.setTimeout(go, this.lingerMs);
  }

  private async flushLoop(): Promise<void> {
    while (this.pendingCount() > 0) {
      if (this.opts.canWrite && !this.opts.canWrite()) {
        // Not the leader (any more): refuse everything pending; the keys are retried and the
        // next leader's passes write them.
        const err = new NotLeaderError();
        for (const [, v] of this.upserts) for (const w of v.waiters) w.fail(err);
        for (const [, ws] of this.missing) for (const w of ws) w.fail(err);
        this.upserts.clear();
        this.missing.clear();
        return;
      }
      if (this.upserts.size > 0) {
        const batch = takeFirst(this.upserts, this.batchSize);
        // A stable lock order across batches and replicas keeps deadlocks rare.
        const rows = batch.map(([, v]) => v.row).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        try {
          this.hooks.statement?.('upsert', rows.length);
          await this.writer.upsert(rows, rows.length);
          for (const [, v] of batch) for (const w of v.waiters) w.ok();
        } catch (err) {
          for (const [, v] of batch) for (const w of v.waiters) w.fail(err);
        }
        continue;
      }
      const batch = takeFirst(this.missing, this.batchSize);
      try {
        this.hooks.statement?.('mark_missing', batch.length);
        const changed = await this.writer.markMissingByContainerIds(
          this.host,
          batch.map(([id]) => id),
        );
        this.hooks.missingMarked?.(changed);
        // The statement reports a total; each waiter learns whether anything changed at all.
        for (const [, ws] of batch) for (const w of ws) w.ok(changed);
      } catch (err) {
        for (const [, ws] of batch) for (const w of ws) w.fail(err);
      }
    }
  }
}

function takeFirst<V>(m: Map<string, V>, n: number): Array<[string, V]> {
  const out: Array<[string, V]> = [];
  for (const e of m) {
    if (out.length >= n) break;
    out.push(e);
  }
  for (const [k] of out) m.delete(k);
  return out;
}
