/**
 * Workload status, derived from the `containers` rows of one workload: the counts, the phase and
 * the Kubernetes-style conditions. Pure functions only (no I/O, no clock): the service feeds them
 * what the database holds and the current time.
 *
 * A workload's rows are its desired slots. A row with an empty `container_id` was pre-created by
 * the deployer and is not bound to a container yet ("unbound"); every other row is "bound" and
 * its `state` is what Docker last said (or `missing`).
 *
 * Phase rules, evaluated top to bottom, first match wins (B = bound rows, R = running rows):
 *
 * | # | rows of the workload                                                      | phase    |
 * |---|---------------------------------------------------------------------------|----------|
 * | 1 | none at all                                                               | Pending  |
 * | 2 | only unbound slots (B = 0)                                                | Pending  |
 * | 3 | every bound row `missing`                                                 | Missing  |
 * | 4 | every bound row `running` (unbound slots may remain)                      | Running  |
 * | 5 | some bound row `running`, some not                                        | Degraded |
 * | 6 | none running; some bound row stopped, paused, restarting, removing or of an unknown state | Stopped |
 * | 7 | none running; the rest are `created` (never started) or `missing`         | Pending  |
 *
 * Conditions (`status` is "True" or "False"; "Unknown" is reserved for a status never computed):
 *
 * | type      | True when                                   | reason when True / False                                   |
 * |-----------|---------------------------------------------|------------------------------------------------------------|
 * | Ready     | every slot is bound and running (R = rows > 0) | `AllReplicasRunning` / `NoReplicas`, `ReplicasPending`, `ReplicasNotRunning`, `ReplicasStopped`, `ReplicasMissing` |
 * | Available | at least one container runs (R >= 1)         | `MinimumReplicasAvailable` / `MinimumReplicasUnavailable`  |
 * | Conflict  | some container of the workload is refused with reason `conflict` (it claims a row bound to another live container) | `DuplicateClaim` / `NoConflicts` |
 *
 * The Ready message names the slots that are not running, in row-ID order, for example
 * `1 of 2 not running: wl-stack:web:2 (stopped)`; at most {@link MAX_NAMED} are named. The
 * Conflict message names the refused claims in (row ID, host, container ID) order, for example
 * `1 container refused: container 0123456789ab claims row wl-a:web`; at most {@link MAX_NAMED}.
 * Conflict does not change the phase: the row keeps describing the container bound to it.
 * `lastTransitionTime` moves only when a condition's `status` flips; a new reason or message
 * alone keeps it ({@link carryTransitionTimes}).
 */

import { ellipsize } from '../domain/text.js';
import { ROW_STATES, type Phase, type RowState } from '../domain/types.js';

// The phases and row states are the model's (src/domain/types.ts); re-exported for the readers
// of this module.
export { PHASES, ROW_STATES, type Phase } from '../domain/types.js';
/** The row states the service writes: {@link RowState}. */
export type KnownRowState = RowState;

export const CONDITION_TYPES = ['Ready', 'Available', 'Conflict'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  /** ISO 8601 UTC. */
  lastTransitionTime: string;
}

/** Counts of a workload's rows. `desired` = every row; state counts cover bound rows only. */
export interface StatusCounts {
  desired: number;
  unbound: number;
  running: number;
  stopped: number;
  created: number;
  restarting: number;
  paused: number;
  removing: number;
  missing: number;
  /** Bound rows whose state is none of the known ones (written by another program). */
  unknown: number;
}
export const COUNT_KEYS = ['desired', 'unbound', 'running', 'stopped', 'created', 'restarting', 'paused', 'removing', 'missing', 'unknown'] as const satisfies readonly (keyof StatusCounts)[];

/** One group of rows as the database reports them. */
export interface RowGroup {
  /** The row state (`null` only for the LEFT JOIN row of a workload without rows). */
  state: string | null;
  unbound: boolean;
  /** How many rows. */
  n: number;
}

/** A slot that is not running (bound and not `running`, or unbound), for the message. */
export interface NotRunningSlot {
  rowId: string;
  /** `unbound`, or the row state. */
  state: string;
}

/** A container refused with reason `conflict`: it claims a row another live container holds. */
export interface ConflictClaim {
  host: string;
  containerId: string;
  rowId: string;
}

/** The workload's `conflict` refusals: how many, and the first few in (row ID, host, container ID) order. */
export interface ConflictObservation {
  total: number;
  first: readonly ConflictClaim[];
}

/** What the database holds for one workload. */
export interface WorkloadObservation {
  groups: readonly RowGroup[];
  notRunning: readonly NotRunningSlot[];
  /** Absent: no conflicts. */
  conflicts?: ConflictObservation;
}

/** The derived status, before transition times are assigned. */
export interface DerivedStatus {
  phase: Phase;
  counts: StatusCounts;
  conditions: Array<Omit<Condition, 'lastTransitionTime'>>;
}

/** The status as stored and served. */
export interface WorkloadStatus {
  phase: Phase;
  counts: StatusCounts;
  conditions: Condition[];
}

/** At most this many slots are named in a message. */
export const MAX_NAMED = 5;
/** Messages are cut to this many characters (the column is wider). */
export const MAX_MESSAGE = 1000;

const KNOWN: ReadonlySet<string> = new Set(ROW_STATES);

export function zeroCounts(): StatusCounts {
  return { desired: 0, unbound: 0, running: 0, stopped: 0, created: 0, restarting: 0, paused: 0, removing: 0, missing: 0, unknown: 0 };
}

/** Sums row groups into counts. Unbound rows count as `unbound`, whatever their state column says. */
export function countRows(groups: readonly RowGroup[]): StatusCounts {
  const c = zeroCounts();
  for (const g of groups) {
    if (g.n <= 0 || g.state === null) continue;
    c.desired += g.n;
    if (g.unbound) c.unbound += g.n;
    else if (KNOWN.has(g.state)) c[g.state as KnownRowState] += g.n;
    else c.unknown += g.n;
  }
  return c;
}

/** The phase table above. */
export function phaseOf(c: StatusCounts): Phase {
  const bound = c.desired - c.unbound;
  if (bound === 0) return 'Pending';
  if (c.missing === bound) return 'Missing';
  if (c.running === bound) return 'Running';
  if (c.running > 0) return 'Degraded';
  if (c.stopped + c.paused + c.restarting + c.removing + c.unknown > 0) return 'Stopped';
  return 'Pending';
}

const READY_FALSE_REASON: Record<Phase, string> = {
  Pending: 'ReplicasPending',
  Running: 'ReplicasPending', // all bound rows run, but unbound slots remain
  Degraded: 'ReplicasNotRunning',
  Stopped: 'ReplicasStopped',
  Missing: 'ReplicasMissing',
};

/** Derives phase, counts and conditions (without transition times) from one observation. */
export function deriveStatus(obs: WorkloadObservation): DerivedStatus {
  const counts = countRows(obs.groups);
  const phase = phaseOf(counts);
  const notRunning = counts.desired - counts.running;

  let ready: Omit<Condition, 'lastTransitionTime'>;
  if (counts.desired === 0) ready = { type: 'Ready', status: 'False', reason: 'NoReplicas', message: 'the workload has no container rows' };
  else if (notRunning === 0) ready = { type: 'Ready', status: 'True', reason: 'AllReplicasRunning', message: `${counts.running} of ${counts.desired} running` };
  else ready = { type: 'Ready', status: 'False', reason: READY_FALSE_REASON[phase], message: notRunningMessage(notRunning, counts.desired, obs.notRunning) };

  const available: Omit<Condition, 'lastTransitionTime'> =
    counts.running > 0
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: `${counts.running} of ${counts.desired} running` }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: `0 of ${counts.desired} running` };

  return { phase, counts, conditions: [ready, available, conflictCondition(obs.conflicts)] };
}

/** The Conflict condition: True while some container of the workload is refused for a conflicting claim. */
export function conflictCondition(c: ConflictObservation | undefined): Omit<Condition, 'lastTransitionTime'> {
  if (!c || c.total <= 0) return { type: 'Conflict', status: 'False', reason: 'NoConflicts', message: 'no container of this workload is refused for a conflicting claim' };
  return { type: 'Conflict', status: 'True', reason: 'DuplicateClaim', message: conflictMessage(c) };
}

/** `2 containers refused: container 0123456789ab claims row w:web, ...`, at most {@link MAX_NAMED} named. */
export function conflictMessage(c: ConflictObservation): string {
  const sorted = [...c.first].sort((a, b) => cmp(a.rowId, b.rowId) || cmp(a.host, b.host) || cmp(a.containerId, b.containerId));
  const named = sorted.slice(0, MAX_NAMED).map((x) => `container ${shortId(x.containerId)} claims row ${x.rowId}`);
  const rest = c.total - named.length;
  let msg = `${c.total} container${c.total === 1 ? '' : 's'} refused`;
  if (named.length > 0) msg += `: ${named.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
  return ellipsize(msg, MAX_MESSAGE);
}

/** Docker's short form of a 64-hex container ID; anything else as is. */
function shortId(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `2 of 3 not running: a (stopped), b (unbound)`, naming at most {@link MAX_NAMED} slots in row-ID order. */
export function notRunningMessage(notRunning: number, desired: number, slots: readonly NotRunningSlot[]): string {
  const sorted = [...slots].sort((a, b) => (a.rowId < b.rowId ? -1 : a.rowId > b.rowId ? 1 : 0));
  const named = sorted.slice(0, MAX_NAMED).map((s) => `${s.rowId} (${s.state})`);
  const rest = notRunning - named.length;
  let msg = `${notRunning} of ${desired} not running`;
  if (named.length > 0) msg += `: ${named.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
  return ellipsize(msg, MAX_MESSAGE);
}

/**
 * Assigns transition times: a condition keeps the previous `lastTransitionTime` while its
 * `status` is unchanged, and gets `nowIso` when it flips or is new.
 */
export function carryTransitionTimes(previous: readonly Condition[] | undefined, next: DerivedStatus['conditions'], nowIso: string): Condition[] {
  return next.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : nowIso };
  });
}

/** The full status of one workload given the previous one (if any) and the current time. */
export function computeStatus(obs: WorkloadObservation, previous: WorkloadStatus | undefined, nowMs: number): WorkloadStatus {
  const d = deriveStatus(obs);
  return { phase: d.phase, counts: d.counts, conditions: carryTransitionTimes(previous?.conditions, d.conditions, new Date(nowMs).toISOString()) };
}

/** Whether anything a reader sees (phase, counts, condition status, reason, message or time) differs. */
export function statusChanged(a: WorkloadStatus | undefined, b: WorkloadStatus): boolean {
  if (!a) return true;
  if (a.phase !== b.phase) return true;
  for (const k of COUNT_KEYS) if (a.counts[k] !== b.counts[k]) return true;
  if (a.conditions.length !== b.conditions.length) return true;
  return b.conditions.some((c, i) => {
    const p = a.conditions[i]!;
    return p.type !== c.type || p.status !== c.status || p.reason !== c.reason || p.message !== c.message || p.lastTransitionTime !== c.lastTransitionTime;
  });
}
