/**
 * Pure dispatch: which workload a container belongs to, which row it owns and what that row
 * should say. No I/O here; the desired state comes in through {@link DesiredStateView}.
 *
 * Precedence (as the Go original; docs/architecture.md, "Row IDs"):
 *  1. `tinyforge.workload.id` (canonical)
 *  2. `tinyforge.static-site` (legacy site, joins via workloads kind=site, ref_id)
 *  3. `com.docker.compose.project` starting with `tinyforge-` (stack, joins via stacks.compose_project_name)
 */
import { COLUMN_LIMITS } from './columns.js';
import {
  COMPOSE_PROJECT_PREFIX,
  LABEL_COMPOSE_NUMBER,
  LABEL_COMPOSE_PROJECT,
  LABEL_COMPOSE_SERVICE,
  LABEL_ROLE,
  LABEL_STATIC_SITE,
  LABEL_WORKLOAD_ID,
  LABEL_WORKLOAD_KIND,
} from './labels.js';
import { charLength, truncateForLog } from './text.js';
import type { ContainerItem, DesiredStateView, DispatchKind, ObservedRow, RowIdentity, RowState, UnmatchedReason } from './types.js';


/** Which path the labels select, before any database lookup. */
export type LabelRoute =
  | { path: 'workload'; workloadId: string; kind: string; role: string }
  | { path: 'site'; siteId: string }
  | { path: 'compose'; project: string; service: string; number: number }
  | { path: 'none'; reason: 'no_tinyforge_labels' | 'compose_project_not_tinyforge' };

/** Reads the labels in the Go original's precedence (the module comment). */
export function routeByLabels(labels: Readonly<Record<string, string>>): LabelRoute {
  const workloadId = labels[LABEL_WORKLOAD_ID] ?? '';
  if (workloadId !== '') {
    return { path: 'workload', workloadId, kind: labels[LABEL_WORKLOAD_KIND] ?? '', role: labels[LABEL_ROLE] ?? '' };
  }
  const siteId = labels[LABEL_STATIC_SITE] ?? '';
  if (siteId !== '') return { path: 'site', siteId };
  const project = labels[LABEL_COMPOSE_PROJECT] ?? '';
  if (project !== '') {
    if (!project.startsWith(COMPOSE_PROJECT_PREFIX)) return { path: 'none', reason: 'compose_project_not_tinyforge' };
    return { path: 'compose', project, service: labels[LABEL_COMPOSE_SERVICE] ?? '', number: parseContainerNumber(labels[LABEL_COMPOSE_NUMBER]) };
  }
  return { path: 'none', reason: 'no_tinyforge_labels' };
}

/** `com.docker.compose.container-number`: a positive integer; anything else counts as 1. */
export function parseContainerNumber(raw: string | undefined): number {
  if (raw === undefined || !/^\d{1,9}$/.test(raw.trim())) return 1;
  const n = Number(raw.trim());
  return n >= 1 ? n : 1;
}

/**
 * The Go original's row ID for a workload-labelled container: `workloadID:role`, else
 * `workloadID:site` for sites, else `workloadID:containerID`.
 */
export function workloadRowId(workloadId: string, kind: string, role: string, containerId: string): string {
  if (role !== '') return `${workloadId}:${role}`;
  if (kind === 'site') return `${workloadId}:site`;
  return `${workloadId}:${containerId}`;
}

/** Row ID of a compose replica: `workloadID:service`, and `workloadID:service:N` for replica N >= 2. */
export function composeRowId(workloadId: string, role: string, number: number): string {
  return number > 1 ? `${workloadId}:${role}:${number}` : `${workloadId}:${role}`;
}

/**
 * Docker state -> row state: `exited` and `dead` become `stopped`; the other documented states
 * keep their name. Unknown states return undefined: the caller refuses to write a row it cannot
 * describe truthfully (counted as `unknown_state`).
 */
export function normalizeState(dockerState: string): Exclude<RowState, 'missing'> | undefined {
  switch (dockerState) {
    case 'running':
      return 'running';
    case 'exited':
    case 'dead':
    case 'stopped':
      return 'stopped';
    case 'created':
    case 'restarting':
    case 'paused':
    case 'removing':
      return dockerState;
    default:
      return undefined;
  }
}

const COLUMN_LIMIT_ENTRIES = Object.entries(COLUMN_LIMITS) as Array<[keyof typeof COLUMN_LIMITS, number]>;

/** Names each observed column that is longer than its database column. */
export function oversizedColumns(row: ObservedRow): string[] {
  const out: string[] = [];
  for (const [col, limit] of COLUMN_LIMIT_ENTRIES) {
    const v = row[col];
    // Fast path: a string with at most `limit` UTF-16 units has at most `limit` characters.
    if (v.length > limit && charLength(v) > limit) out.push(`${col} (${charLength(v)} > ${limit} characters)`);
  }
  return out;
}

export type Resolution =
  | { ok: true; dispatch: DispatchKind; row: ObservedRow }
  | { ok: false; dispatch: DispatchKind | 'none'; reason: UnmatchedReason; detail: string };

/**
 * Decides the row a container should have. `existingRowId` is the ID of a row already bound to
 * this Docker container ID, if any: it wins over the derived ID so deployer-assigned IDs are kept.
 */
export function resolveRow(item: ContainerItem, desired: DesiredStateView, host: string, existingRowId?: string): Resolution {
  const route = routeByLabels(item.labels);
  if (route.path === 'none') return { ok: false, dispatch: 'none', reason: route.reason, detail: 'not a Tinyforge workload container' };

  let dispatch: DispatchKind;
  let workloadId: string;
  let workloadKind: string;
  let role: string;
  let derivedId: string;
  switch (route.path) {
    case 'workload': {
      dispatch = 'workload';
      const w = desired.workloadById(route.workloadId);
      if (!w) return { ok: false, dispatch, reason: 'unknown_workload', detail: `label ${LABEL_WORKLOAD_ID} names no workload` };
      workloadId = w.id;
      // The row ID takes the kind from the label only (as the Go original): a site workload's
      // container without kind and role labels gets `W:<container ID>`, never the `W:site` row
      // of the legacy static-site container. The column says what the workload is.
      workloadKind = route.kind !== '' ? route.kind : w.kind;
      role = route.role;
      derivedId = workloadRowId(w.id, route.kind, role, item.id);
      break;
    }
    case 'site': {
      dispatch = 'site';
      const w = desired.workloadByRef('site', route.siteId);
      if (!w) return { ok: false, dispatch, reason: 'unknown_site', detail: `label ${LABEL_STATIC_SITE} names no site workload` };
      workloadId = w.id;
      workloadKind = 'site';
      role = '';
      derivedId = `${w.id}:site`;
      break;
    }
    case 'compose': {
      dispatch = 'compose';
      const stack = desired.stackByComposeProject(route.project);
      if (!stack) return { ok: false, dispatch, reason: 'unknown_stack', detail: 'compose project matches no stack' };
      const w = desired.workloadByRef('stack', stack.id);
      if (!w) return { ok: false, dispatch, reason: 'unknown_stack_workload', detail: 'stack has no workload' };
      workloadId = w.id;
      workloadKind = 'stack';
      role = route.service !== '' ? route.service : item.name;
      derivedId = composeRowId(w.id, role, route.number);
      break;
    }
  }

  return observedRow({ id: existingRowId ?? hostScopedRowId(derivedId, host), workloadId, workloadKind, role }, item, host, dispatch);
}

/**
 * The row that tells the truth about `item` under `identity`: state, image and port from Docker.
 * Refuses a state it cannot describe (`unknown_state`) and values longer than their column.
 */
export function observedRow(identity: RowIdentity, item: ContainerItem, host: string, dispatch: DispatchKind): Resolution {
  const state = normalizeState(item.state);
  if (state === undefined) return { ok: false, dispatch, reason: 'unknown_state', detail: `unknown Docker state "${truncateForLog(item.state)}"` };
  const row: ObservedRow = {
    ...identity,
    containerId: item.id,
    imageRef: item.image,
    host,
    state,
    port: item.ports[0] ?? 0,
  };
  const tooLong = oversizedColumns(row);
  if (tooLong.length > 0) return { ok: false, dispatch, reason: 'value_too_long', detail: `value longer than its column: ${tooLong.join(', ')}` };
  return { ok: true, dispatch, row };
}

/** The host whose agents keep the Go original's row IDs (a single-host install). */
export const ORIGINAL_HOST = 'local';

/**
 * Derived row IDs are scoped by host, so one workload on several hosts sharing a database gets
 * one row per container per host: `W:role@node-b`. Agents whose host is `local` keep the
 * original IDs (`W:role`), so a single-host install upgrades without renaming a row.
 */
export function hostScopedRowId(derivedId: string, host: string): string {
  return host === ORIGINAL_HOST ? derivedId : `${derivedId}@${host}`;
}

/** True when the observed columns of two rows are equal (last_seen_at is not an observed change). */
export function sameObserved(a: ObservedRow, b: ObservedRow): boolean {
  return (
    a.id === b.id &&
    a.workloadId === b.workloadId &&
    a.workloadKind === b.workloadKind &&
    a.role === b.role &&
    a.containerId === b.containerId &&
    a.imageRef === b.imageRef &&
    a.host === b.host &&
    a.state === b.state &&
    a.port === b.port
  );
}
