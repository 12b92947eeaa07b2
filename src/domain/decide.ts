/**
 * Pure: which `containers` row a container gets, and what must be written for it. The rules are
 * in docs/architecture.md ("Which row a container gets"); in short: a row already bound to the
 * container wins over the derived ID and the deployer's row wins over a derived one; a row bound
 * to a live container is never rebound to another live container; another host's row is never
 * written; only creating a row needs a known workload.
 */
import { observedRow, resolveRow, routeByLabels, sameObserved } from './dispatch.js';
import { truncateForLog } from './text.js';
import type { ContainerItem, DesiredStateView, DispatchKind, ObservedRow, UnmatchedReason } from './types.js';

/** What decide needs to know about the `containers` table. */
export interface RowLookup {
  /** Every known row whose `container_id` is this Docker ID (any host, any state). */
  boundTo(containerId: string): readonly ObservedRow[];
  getRow(id: string): ObservedRow | undefined;
  /** The container a write in flight is binding `rowId` to, if any (not yet committed). */
  claimedBy?(rowId: string): string | undefined;
}

export interface DecideContext {
  /** This agent's `HOST_NAME`. */
  host: string;
  desired: DesiredStateView;
  rows: RowLookup;
  /** Whether a container exists in Docker now (the holder of a row this container derives). */
  isLive(containerId: string): boolean;
}

/** A container that gets no row, and why. */
export interface Refused {
  ok: false;
  dispatch: DispatchKind | 'none';
  reason: UnmatchedReason;
  detail: string;
  /** The workload the labels name ('' when none). */
  workloadId: string;
  /** The row the container would have had ('' when dispatch failed before one was derived). */
  rowId: string;
  /** The row that stands in the way (`conflict`, `row_owned_by_other_host`). */
  holder?: ObservedRow;
}

export interface Accepted {
  ok: true;
  dispatch: DispatchKind;
  /** The row as it should be. */
  row: ObservedRow;
  /** The row as the index knows it now (undefined: it does not exist yet). */
  existing: ObservedRow | undefined;
  /** Whether `row` differs from `existing` in an observed column. */
  changed: boolean;
  /** Other live rows of this host bound to the same container: to be marked missing. */
  supersede: ObservedRow[];
  /** The row's workload no longer exists (the row is kept true from the container alone). */
  orphaned: boolean;
  /** The ID dispatch derives for this container ('' when its workload is unknown). */
  derivedId: string;
}

export type Decision = Refused | Accepted;

/** The shared empty list of rows to supersede (never mutated). */
const NO_ROWS: ObservedRow[] = [];

/** Whether this agent may write `row`: its own host's rows, or rows the deployer left without a host. */
export function isOwnRow(row: ObservedRow, host: string): boolean {
  return row.host === host || row.host === '';
}

/**
 * Orders the rows bound to one container: live rows before missing ones, the deployer's rows
 * (any ID other than the derived one) before the derived row, then by ID. The first is the
 * container's row.
 */
export function rankBound(bound: readonly ObservedRow[], derivedId: string): ObservedRow[] {
  const key = (r: ObservedRow) => (r.state === 'missing' ? 2 : 0) + (r.id === derivedId ? 1 : 0);
  return [...bound].sort((a, b) => key(a) - key(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The row ID dispatch derives for `item` on `host`, if its workload is known (for lookups). */
export function derivedRowId(item: ContainerItem, desired: DesiredStateView, host: string): string | undefined {
  const r = resolveRow(item, desired, host);
  return r.ok ? r.row.id : undefined;
}

export function decide(item: ContainerItem, ctx: DecideContext): Decision {
  const { host } = ctx;
  const target = resolveRow(item, ctx.desired, host);
  const derivedId = target.ok ? target.row.id : '';
  // Hot path (every container of every pass): most containers have exactly one bound row.
  const all = ctx.rows.boundTo(item.id);
  let owner: ObservedRow | undefined;
  let supersede: ObservedRow[] = NO_ROWS;
  if (all.length === 1) {
    if (isOwnRow(all[0]!, host)) owner = all[0];
  } else if (all.length > 1) {
    const bound = rankBound(
      all.filter((r) => isOwnRow(r, host)),
      derivedId,
    );
    owner = bound[0];
    supersede = bound.slice(1).filter((r) => r.state !== 'missing' && r.host === host);
  }
  const labelWorkload = () => {
    const route = routeByLabels(item.labels);
    return route.path === 'workload' ? route.workloadId : '';
  };

  if (!owner) {
    if (!target.ok) return refuse(target.dispatch, target.reason, target.detail, labelWorkload(), '');
    const existing = ctx.rows.getRow(derivedId);
    if (existing && !isOwnRow(existing, host)) {
      return refuse(target.dispatch, 'row_owned_by_other_host', `row ${truncateForLog(derivedId)} belongs to host "${truncateForLog(existing.host)}"`, target.row.workloadId, derivedId, existing);
    }
    const claimant = ctx.rows.claimedBy?.(derivedId);
    if (claimant !== undefined && claimant !== item.id) {
      return refuse(target.dispatch, 'conflict', `row ${truncateForLog(derivedId)} is being bound to container ${claimant.slice(0, 12)}`, target.row.workloadId, derivedId, existing);
    }
    if (existing && existing.containerId !== '' && existing.containerId !== item.id && existing.state !== 'missing' && ctx.isLive(existing.containerId)) {
      return refuse(target.dispatch, 'conflict', `row ${truncateForLog(derivedId)} is held by live container ${existing.containerId.slice(0, 12)}`, target.row.workloadId, derivedId, existing);
    }
    return accept(target.dispatch, target.row, existing, supersede, false, derivedId);
  }

  // A row is already bound to this container: it stays the container's row.
  if (target.ok) {
    const row = owner.id === target.row.id ? target.row : { ...target.row, id: owner.id };
    return accept(target.dispatch, row, owner, supersede, false, derivedId);
  }
  if (target.reason === 'unknown_state' || target.reason === 'value_too_long') {
    return refuse(target.dispatch, target.reason, target.detail, labelWorkload(), owner.id, owner);
  }
  // The workload is gone (or the labels name none): the bound row stays true from Docker alone.
  const dispatch: DispatchKind = target.dispatch === 'none' ? 'workload' : target.dispatch;
  const kept = observedRow({ id: owner.id, workloadId: owner.workloadId, workloadKind: owner.workloadKind, role: owner.role }, item, host, dispatch);
  if (!kept.ok) return refuse(dispatch, kept.reason, kept.detail, owner.workloadId, owner.id, owner);
  return accept(dispatch, kept.row, owner, supersede, true, '');
}

function refuse(dispatch: DispatchKind | 'none', reason: UnmatchedReason, detail: string, workloadId: string, rowId: string, holder?: ObservedRow): Refused {
  return holder ? { ok: false, dispatch, reason, detail, workloadId, rowId, holder } : { ok: false, dispatch, reason, detail, workloadId, rowId };
}

function accept(dispatch: DispatchKind, row: ObservedRow, existing: ObservedRow | undefined, supersede: ObservedRow[], orphaned: boolean, derivedId: string): Accepted {
  return { ok: true, dispatch, row, existing, changed: !existing || !sameObserved(existing, row), supersede, orphaned, derivedId };
}

/** Whether an accepted decision needs any write. */
export function needsWrite(d: Accepted): boolean {
  return d.changed || d.supersede.length > 0;
}
