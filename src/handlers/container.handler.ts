import { type ContainerItem, type DesiredStateView, type ObservedRow, resolveRow, sameObserved, type UnmatchedReason } from '../controller/dispatch.js';
import type { BatchWriter } from '../controller/batch-writer.js';
import { noopChangeSink, type ChangeSink } from '../controller/changes.js';
import type { ObservedCache } from '../controller/observed-cache.js';
import type { RowIndex } from '../controller/row-index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { tagged } from './errors.js';

/** The reconcile contract: one key (a Docker container ID); level-based, it re-reads current state. */
export interface Reconciler {
  reconcile(containerId: string): Promise<ReconcileOutcome>;
}

/**
 * `commit` settles when the key's write is durable; no commit means nothing needed writing.
 * `requeueAfterMs` asks for the key again later (controller-runtime's RequeueAfter).
 */
export interface ReconcileOutcome {
  commit?: Promise<void>;
  requeueAfterMs?: number;
}

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

const RELOADABLE: ReadonlySet<UnmatchedReason> = new Set(['unknown_workload', 'unknown_site', 'unknown_stack', 'unknown_stack_workload']);

export type UpsertPlan =
  | { action: 'unchanged' }
  | { action: 'write'; row: ObservedRow; existing: ObservedRow | undefined }
  | { action: 'refused'; detail: string };

/**
 * Pure: given the resolved row and what the index knows, whether the container needs a write.
 * A row already bound to the container keeps its ID; a row of another host bound to another
 * container is never taken over.
 */
export function planUpsert(containerId: string, resolved: ObservedRow, rows: Pick<RowIndex, 'boundTo' | 'getRow'>, host: string): UpsertPlan {
  const bound = rows.boundTo(containerId);
  const row = bound && bound.id !== resolved.id ? { ...resolved, id: bound.id } : resolved;
  const existing = rows.getRow(row.id);
  if (existing && existing.host !== host && existing.containerId !== '' && existing.containerId !== containerId) {
    return { action: 'refused', detail: `row ${row.id} is bound to another container of host "${existing.host}"` };
  }
  if (existing && sameObserved(existing, row)) return { action: 'unchanged' };
  return { action: 'write', row, existing };
}

/**
 * Reconciles one container: reads what Docker says (the cache, or an inspect when an event made
 * it stale), dispatches it to its workload, and writes its row only when an observed column
 * differs. A container that is gone turns its row `missing` at once.
 */
export class ContainerHandler implements Reconciler {
  constructor(
    private readonly host: string,
    private readonly docker: ContainerInspector,
    private readonly observed: ObservedCache,
    private readonly desired: DesiredStateSource,
    private readonly rows: RowIndex,
    private readonly writer: BatchWriter,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly changes: ChangeSink = noopChangeSink,
  ) {}

  async reconcile(id: string): Promise<ReconcileOutcome> {
    const item = await this.current(id);
    if (!item) return this.gone(id);

    let res = resolveRow(item, this.desired, this.host);
    // A workload the desired state does not know yet: if that state predates what Docker told
    // us, reload it (throttled) or look again once a reload is allowed, rather than give up
    // until the next resync. If it was read after, the label really names nothing.
    const observedAt = this.observed.observedTime(id) ?? -Infinity;
    if (!res.ok && RELOADABLE.has(res.reason) && this.desired.loadedAtMs() < observedAt) {
      if (await tagged('database', () => this.desired.refreshIfStale())) res = resolveRow(item, this.desired, this.host);
      else return { requeueAfterMs: Math.max(1, this.desired.msUntilReloadAllowed()) };
    }
    if (!res.ok) return this.unmatched(id, res.reason, res.detail);

    await tagged('database', () => this.rows.ensure(id, res.row.id));
    const plan = planUpsert(id, res.row, this.rows, this.host);
    if (plan.action === 'refused') return this.unmatched(id, 'row_owned_by_other_host', plan.detail);
    if (plan.action === 'unchanged') {
      this.metrics.upsert(res.dispatch, 'unchanged');
      return {};
    }
    const { row, existing } = plan;
    const result = existing ? 'updated' : 'created';
    const dispatch = res.dispatch;
    const from = existing ? existing.state : null;
    const commit = tagged('database', () => this.writer.upsert(row)).then(
      () => {
        this.rows.put(row);
        this.metrics.upsert(dispatch, result);
        if (from !== row.state) this.changes.rowsChanged([{ rowId: row.id, workloadId: row.workloadId, from, to: row.state, at: Date.now(), reason: from === null ? 'created' : 'observed' }]);
      },
      (err: unknown) => {
        this.metrics.upsert(dispatch, 'error');
        throw err;
      },
    );
    return { commit };
  }

  /** Docker's current view of `id`: the cache, refreshed by an inspect if an event marked it stale. */
  private async current(id: string): Promise<ContainerItem | undefined> {
    const version = this.observed.staleVersion(id);
    if (version === undefined) return this.observed.get(id);
    const inspectedAt = Date.now();
    const fresh = await tagged('docker', () => this.docker.inspect(id));
    this.observed.applyInspect(id, fresh, version, inspectedAt);
    return fresh;
  }

  private async gone(id: string): Promise<ReconcileOutcome> {
    await tagged('database', () => this.rows.ensure(id));
    const bound = this.rows.boundTo(id);
    if (!bound || bound.state === 'missing' || bound.host !== this.host) return {};
    const commit = tagged('database', () => this.writer.markMissing(id)).then((changed) => {
      this.rows.markMissing(id, this.host);
      if (changed > 0) this.changes.rowsChanged([{ rowId: bound.id, workloadId: bound.workloadId, from: bound.state, to: 'missing', at: Date.now(), reason: 'container_gone' }]);
    });
    return { commit };
  }

  private unmatched(id: string, reason: UnmatchedReason, detail: string): ReconcileOutcome {
    this.metrics.unmatched.inc({ reason });
    this.log.debug({ containerId: id, reason, detail }, 'container not written');
    return {};
  }
}
