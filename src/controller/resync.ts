import { isTinyforgeCandidate } from '../docker/items.js';
import { ExternalError, tagged } from '../handlers/errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { noopChangeSink, type ChangeSink } from './changes.js';
import type { Controller } from './controller.js';
import type { DesiredStateCache } from './desired-cache.js';
import { planUpsert } from '../handlers/container.handler.js';
import { resolveRow, type ContainerItem, type ObservedRow } from './dispatch.js';
import type { ObservedCache } from './observed-cache.js';
import type { RowIndex } from './row-index.js';

export interface ContainerLister {
  listManaged(): Promise<ContainerItem[]>;
}

export interface PassStore {
  now(): Promise<number>;
  listByHost(host: string): Promise<ObservedRow[]>;
  sweepMissing(host: string, rowIds: readonly string[], listStartedAt: number): Promise<number>;
  /** Current states of these rows (to learn which ones a sweep changed). */
  statesOf(rowIds: readonly string[]): Promise<Array<{ id: string; state: string }>>;
  touchLastSeen(host: string, seenAt: number, listStartedAt: number): Promise<number>;
}

export interface PassReport {
  ok: boolean;
  listed: number;
  errors: number;
  swept: number;
  durationMs: number;
  /** Time spent in each phase, ms (list, desired, snapshot, prefetch, reconcile, sweep, touch). */
  phases?: Record<string, number>;
  error?: string;
}

/** Observes pass boundaries (health, readiness, status recomputation). */
export interface PassObserver {
  passStarted(at: number): void;
  passFinished(report: PassReport, at: number): void;
}

/**
 * The periodic resync, the safety net under the event stream: list everything, enqueue every
 * key, wait until each was reconciled, then sweep rows whose container is gone and refresh
 * `last_seen_at` of the rest in one statement.
 *
 * Sweep invariants (DESIGN.md): only this host's rows; never rows with an empty `container_id`;
 * never a row changed at or after the moment the list began (database time); nothing at all
 * after a failed list.
 */
export class Resync {
  private running: Promise<PassReport> | undefined;
  private queued: Promise<PassReport> | undefined;
  private again = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly host: string,
    private readonly docker: ContainerLister,
    private readonly store: PassStore,
    private readonly observed: ObservedCache,
    private readonly desired: DesiredStateCache,
    private readonly rows: RowIndex,
    private readonly controller: Controller,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly observer: PassObserver,
    private readonly now: () => number = Date.now,
    private readonly changes: ChangeSink = noopChangeSink,
  ) {}

  /**
   * Runs a pass now. If one is running, the returned pass is the next one, started after it
   * ends (callers always get a pass that listed after they asked); concurrent callers share it.
   */
  runPass(): Promise<PassReport> {
    if (!this.running) {
      this.running = this.doPass().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.runPass();
    });
    return this.queued;
  }

  /** Asks the loop for a pass as soon as possible (after a watch reconnect, for example). */
  trigger(): void {
    this.again = true;
    this.wake?.();
  }

  /** Boot pass, then one pass every `intervalMs` (or sooner when triggered), until aborted. */
  async loop(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.again = false;
      await this.runPass();
      if (signal.aborted) break;
      if (this.again) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, intervalMs);
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
      this.wake = undefined;
    }
  }

  private async doPass(): Promise<PassReport> {
    const started = this.now();
    this.observer.passStarted(started);
    const end = this.metrics.tickDuration.startTimer();
    let report: PassReport;
    try {
      report = await this.pass(started);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      report = { ok: false, listed: 0, errors: 0, swept: 0, durationMs: this.now() - started, error: msg };
      this.log.warn({ error: msg, source: err instanceof ExternalError ? err.source : 'internal' }, 'resync pass failed; nothing swept');
    }
    end();
    this.metrics.ticks.inc({ result: report.ok ? 'success' : 'error' });
    if (report.ok) this.metrics.lastSuccessfulTick.set(Date.now() / 1000);
    this.observer.passFinished(report, this.now());
    return report;
  }

  private async pass(started: number): Promise<PassReport> {
    // Database time before the list: rows changed from here on are never swept by this pass.
    const phases: Record<string, number> = {};
    let mark = this.now();
    const lap = (name: string) => {
      const t = this.now();
      phases[name] = t - mark;
      mark = t;
    };
    const listStartedAt = await tagged('database', () => this.store.now());
    const version = this.observed.currentVersion();
    const listedAt = this.now();
    const items = (await tagged('docker', () => this.docker.listManaged())).filter((i) => isTinyforgeCandidate(i.labels));
    lap('list');
    await tagged('database', () => this.desired.refresh({ ifChanged: true }));
    lap('desired');
    const snapshot = await tagged('database', () => this.store.listByHost(this.host));
    this.rows.replace(snapshot);
    this.observed.replaceAll(items, version, listedAt);
    lap('snapshot');

    // Dispatch depends only on the item and the desired state (fixed for this pass): once each.
    const resolved = items.map((item) => resolveRow(item, this.desired, this.host));

    // Rows not in the host snapshot (pre-created by the deployer, new containers): one bulk lookup.
    const unknownContainers: string[] = [];
    const unknownRows: string[] = [];
    items.forEach((item, i) => {
      if (this.rows.boundTo(item.id)) return;
      unknownContainers.push(item.id);
      const r = resolved[i]!;
      if (r.ok && !this.rows.getRow(r.row.id)) unknownRows.push(r.row.id);
    });
    await tagged('database', () => this.rows.prefetch(unknownContainers, unknownRows));
    lap('prefetch');

    // Level-based over every listed container, but only keys that need work go through the
    // queue: an unchanged container costs a comparison in memory, not a round trip through the
    // workers. Keys that are stale (an event came in), being processed, unmatched or changed
    // are enqueued and handled by the workers with the usual guarantees.
    const toQueue: string[] = [];
    const unchanged = new Map<string, number>();
    items.forEach((item, i) => {
      if (this.observed.staleVersion(item.id) !== undefined || this.controller.isBusy(item.id)) {
        toQueue.push(item.id);
        return;
      }
      const r = resolved[i]!;
      if (!r.ok || planUpsert(item.id, r.row, this.rows, this.host).action !== 'unchanged') {
        toQueue.push(item.id);
        return;
      }
      unchanged.set(r.dispatch, (unchanged.get(r.dispatch) ?? 0) + 1);
    });
    for (const [dispatch, n] of unchanged) this.metrics.upsert(dispatch, 'unchanged', n);
    const { errors } = await this.controller.enqueuePass(toQueue);
    lap('reconcile');

    const listed = new Set(items.map((i) => i.id));
    const candidates = snapshot.filter((r) => r.containerId !== '' && r.state !== 'missing' && !listed.has(r.containerId)).map((r) => r.id);
    let swept = 0;
    if (candidates.length > 0) {
      swept = await tagged('database', () => this.store.sweepMissing(this.host, candidates, listStartedAt));
      this.metrics.writeStatements.inc({ kind: 'sweep' });
      this.metrics.missingMarks.inc(swept);
      // The index learns the swept rows' state from the next snapshot; until then a redundant
      // (idempotent) missing mark is the worst that can happen.
      if (swept > 0) {
        const before = new Map(snapshot.map((r) => [r.id, r]));
        const at = this.now();
        const now = await tagged('database', () => this.store.statesOf(candidates));
        this.changes.rowsChanged(
          now
            .filter((r) => r.state === 'missing' && before.get(r.id)?.state !== 'missing')
            .map((r) => ({ rowId: r.id, workloadId: before.get(r.id)!.workloadId, from: before.get(r.id)!.state, to: 'missing' as const, at, reason: 'sweep' as const })),
        );
      }
    }
    lap('sweep');
    await tagged('database', () => this.store.touchLastSeen(this.host, listStartedAt, listStartedAt));
    this.metrics.writeStatements.inc({ kind: 'touch' });
    lap('touch');

    const durationMs = this.now() - started;
    this.log.debug({ listed: items.length, queued: toQueue.length, errors, swept, durationMs, phases }, 'resync pass done');
    return { ok: errors === 0, listed: items.length, errors, swept, durationMs, phases, ...(errors > 0 ? { error: `${errors} keys failed and were requeued` } : {}) };
  }
}
