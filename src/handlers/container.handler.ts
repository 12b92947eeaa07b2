import type { BatchWriter } from '../store/batch-writer.js';
import { noopChangeSink, type ChangeSink } from '../domain/changes.js';
import { decide, derivedRowId, needsWrite, type Decision, type DecideContext } from '../domain/decide.js';
import type { ContainerItem, DesiredStateView, ObservedRow, UnmatchedReason } from '../domain/types.js';
import type { ObservedCache } from '../cache/observed-cache.js';
import type { RefusalRegistry } from '../refusals/refusal-registry.js';
import type { RowIndex } from '../cache/row-index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Reconciler, ReconcileOutcome } from '../controller/reconciler.js';
import { tagged } from '../domain/errors.js';

export interface ContainerInspector {
  inspect(id: string): Promise<ContainerItem | undefined>;
}

export interface DesiredStateSource extends DesiredStateView {
  refreshIfStale(): Promise<boolean>;
  /** How long until {@link refreshIfStale} would reload again. */
  msUntilReloadAllowed(): number;
  /** When the held snapshot was asked for (ms). */
  loadedAtMs(): number;
}

/** Refusals a reload of the desired state may lift (the workload may have been created since it was read). */
export const RELOADABLE: ReadonlySet<UnmatchedReason> = new Set(['unknown_workload', 'unknown_site', 'unknown_stack', 'unknown_stack_workload']);

/** Marks rows missing by compare-and-set on (row ID, container ID); returns how many changed. */
export type RowRetirer = (host: string, rows: ReadonlyArray<{ id: string; containerId: string }>) => Promise<number>;

export interface ContainerHandlerDeps {
  host: string;
  docker: ContainerInspector;
  observed: Pick<ObservedCache, 'staleVersion' | 'get' | 'has' | 'observedTime' | 'applyInspect' | 'takeRowRecheck'>;
  desired: DesiredStateSource;
  rows: Pick<RowIndex, 'ensure' | 'boundTo' | 'getRow' | 'claimedBy' | 'claim' | 'release' | 'put' | 'markMissing' | 'writing'>;
  writer: Pick<BatchWriter, 'upsert' | 'markMissing'>;
  /** Retires rows superseded by the deployer's (leadership-guarded by the caller). */
  retire: RowRetirer;
  refusals: Pick<RefusalRegistry, 'refuse' | 'clear'>;
  metrics: Pick<Metrics, 'upsert'>;
  log: Pick<Logger, 'info'>;
  changes?: ChangeSink;
  /** The database's clock, for transition times; defaults to the local clock. */
  clock?: () => number;
  /** The local clock that stamps observations (compared with the desired state's load time). */
  now?: () => number;
}

/**
 * Reconciles one container: reads what Docker says (the cache, or an inspect when an event made
 * it stale), decides its row ({@link decide}), and writes only what differs. A container that is
 * gone turns its rows `missing` at once. A container that gets no row is reported to the refusal
 * registry with its reason.
 */
export class ContainerHandler implements Reconciler {
  private readonly changes: ChangeSink;
  private readonly clock: () => number;
  private readonly now: () => number;

  constructor(private readonly d: ContainerHandlerDeps) {
    this.changes = d.changes ?? noopChangeSink;
    this.clock = d.clock ?? Date.now;
    this.now = d.now ?? Date.now;
  }

  async reconcile(id: string): Promise<ReconcileOutcome> {
    const { observed, desired, rows, host } = this.d;
    const recheck = observed.takeRowRecheck(id);
    const item = await this.current(id);
    if (!item) return this.gone(id);

    // After an event, read the rows bound to the container again rather than trust the index:
    // the deployer binds its row between `docker create` and `docker start`.
    await tagged('database', () => rows.ensure(id, derivedRowId(item, desired, host), recheck));
    let d = decide(item, this.context());
    // A workload the desired state does not know yet: if that state predates what Docker told
    // us, reload it (throttled) or look again once a reload is allowed, rather than give up
    // until the next resync. If it was read after, the label really names nothing.
    const observedAt = observed.observedTime(id) ?? -Infinity;
    if (!d.ok && RELOADABLE.has(d.reason) && desired.loadedAtMs() < observedAt) {
      if (!(await tagged('database', () => desired.refreshIfStale()))) return { requeueAfterMs: Math.max(1, desired.msUntilReloadAllowed()) };
      await tagged('database', () => rows.ensure(id, derivedRowId(item, desired, host)));
      d = decide(item, this.context());
    }
    return this.apply(item, d);
  }

  /** The decision context over the current caches. */
  context(): DecideContext {
    return { host: this.d.host, desired: this.d.desired, rows: this.d.rows, isLive: (cid) => this.d.observed.has(cid) };
  }

  /**
   * Carries out a decision for `item`: records a refusal, or writes the row and retires the
   * rows it supersedes. The resync calls it for the refusals it decides itself.
   */
  apply(item: ContainerItem, d: Decision): ReconcileOutcome {
    const { rows, writer, metrics, refusals } = this.d;
    if (!d.ok) {
      refusals.refuse(item, d);
      return {};
    }
    refusals.clear(item.id);
    if (!needsWrite(d)) {
      metrics.upsert(d.dispatch, 'unchanged');
      return {};
    }
    const { row, existing, dispatch, supersede, changed } = d;
    // Another container's write to this row is in flight: decide again once it committed.
    if (changed && !rows.claim(row.id, item.id)) return { requeueAfterMs: 5 };
    // While the write and the index update that follows it run, the two may disagree: the pass
    // does not judge the host's checksum meanwhile (RowIndex.writing).
    const commit = rows.writing(async () => {
      try {
        if (supersede.length > 0) await this.retire(item.id, supersede);
        if (!changed) {
          metrics.upsert(dispatch, 'unchanged');
          return;
        }
        try {
          await tagged('database', () => writer.upsert(row));
        } catch (err) {
          metrics.upsert(dispatch, 'error');
          throw err;
        }
        rows.put(row);
        metrics.upsert(dispatch, existing ? 'updated' : 'created');
        const from = existing ? existing.state : null;
        if (from !== row.state) {
          this.changes.rowsChanged([{ rowId: row.id, workloadId: row.workloadId, from, to: row.state, at: this.clock(), reason: from === null ? 'created' : 'observed' }]);
        }
      } finally {
        if (changed) rows.release(row.id, item.id);
      }
    });
    return { commit };
  }

  /** Marks `superseded` rows missing where they still name `containerId`; records each that changed. */
  private async retire(containerId: string, superseded: readonly ObservedRow[]): Promise<void> {
    const { rows, host, log } = this.d;
    for (const s of superseded) {
      const n = await tagged('database', () => this.d.retire(host, [{ id: s.id, containerId }]));
      rows.put({ ...s, state: 'missing' });
      if (n > 0) {
        log.info({ containerId, rowId: s.id }, "row superseded by the deployer's row for the same container; marked missing");
        this.changes.rowsChanged([{ rowId: s.id, workloadId: s.workloadId, from: s.state, to: 'missing', at: this.clock(), reason: 'superseded' }]);
      }
    }
  }

  /** Docker's current view of `id`: the cache, refreshed by an inspect if an event marked it stale. */
  private async current(id: string): Promise<ContainerItem | undefined> {
    const { observed, docker } = this.d;
    const version = observed.staleVersion(id);
    if (version === undefined) return observed.get(id);
    const inspectedAt = this.now();
    const fresh = await tagged('docker', () => docker.inspect(id));
    observed.applyInspect(id, fresh, version, inspectedAt);
    return fresh;
  }

  private async gone(id: string): Promise<ReconcileOutcome> {
    const { rows, host, writer, refusals } = this.d;
    refusals.clear(id);
    await tagged('database', () => rows.ensure(id));
    const live = rows.boundTo(id).filter((r) => r.host === host && r.state !== 'missing');
    if (live.length === 0) return {};
    const commit = rows.writing(() =>
      tagged('database', () => writer.markMissing(id)).then((changed) => {
        rows.markMissing(id, host);
        if (changed > 0) {
          const at = this.clock();
          this.changes.rowsChanged(live.map((b) => ({ rowId: b.id, workloadId: b.workloadId, from: b.state, to: 'missing' as const, at, reason: 'container_gone' as const })));
        }
      }),
    );
    return { commit };
  }
}
