import type { RowChange } from '../domain/changes.js';
import { COUNT_KEYS, MAX_NAMED, type Condition, type ConflictClaim, type NotRunningSlot, type Phase, type RowGroup, type StatusCounts, type WorkloadObservation, type WorkloadStatus } from '../status/phase.js';
import type { ObservedRow } from '../domain/types.js';
import { OBSERVED_SELECT_LIST, toObserved, type RawRow } from './containers.repository.js';
import { formatDbTime, parseDbTime, type Database } from './database.js';
import { chunks, MAX_PARAMS_PER_STATEMENT, multiRowUpsertSql, placeholders, sqlFor, valuesList, type Sql } from './sql.js';

/** The part of {@link Database} this repository uses (tests wrap it to count statements). */
export type Queryable = Pick<Database, 'query' | 'dialect'>;

/** A `workload_status` row. */
export interface StoredStatus extends WorkloadStatus {
  workloadId: string;
  observedGeneration: number;
  /** ms since the epoch. */
  observedAt: number;
}

/** What {@link StatusRepository.observe} returns per existing workload. */
export interface Observed {
  observation: WorkloadObservation;
  previous: (WorkloadStatus & { observedGeneration: number }) | undefined;
}

/** A `container_events` row. */
export interface ContainerEventRecord {
  id: number;
  rowId: string;
  workloadId: string;
  from: string | null;
  to: string;
  reason: string;
  /** ms since the epoch. */
  at: number;
}

/** A `containers` row as the API serves it (the observed columns and the timestamps). */
export interface ContainerRecord extends ObservedRow {
  lastSeenAt: number | null;
  createdAt: number | null;
  updatedAt: number | null;
  /** The row's `workload_id` names no row of `workloads` (the workload was deleted). */
  orphaned: boolean;
}

/** A `container_refusals` row. */
export interface StoredRefusal {
  host: string;
  containerId: string;
  containerName: string;
  dispatch: string;
  reason: string;
  workloadId: string;
  rowId: string;
  detail: string;
  /** ms since the epoch. */
  since: number;
}

/** The keyset of `container_refusals` (its primary key). */
export interface RefusalKey {
  host: string;
  containerId: string;
}

export interface RefusalQuery {
  host?: string;
  reason?: string;
  workload?: string;
  /** Only refusals whose (host, container ID) sorts after this one. */
  afterKey?: RefusalKey;
  limit: number;
}

export interface ContainerQuery {
  workload?: string;
  state?: string;
  host?: string;
  /** Only rows whose ID sorts after this one. */
  afterId?: string;
  limit: number;
}

export interface EventQuery {
  afterId?: number;
  limit: number;
  order: 'asc' | 'desc';
}

const EVENT_COLUMNS = ['row_id', 'workload_id', 'from_state', 'to_state', 'reason', 'at'];

const COUNT_COLUMNS = COUNT_KEYS.map((k) => `${k}_count`);
const STATUS_COLUMNS = ['workload_id', 'phase', ...COUNT_COLUMNS, 'conditions', 'observed_generation', 'observed_at'];

/** The observed columns of `containers` c, for a SELECT list with a join. */
const CONTAINER_SELECT_LIST = OBSERVED_SELECT_LIST.split(', ')
  .map((col) => `c.${col}`)
  .join(', ');

const UNBOUND_SQL = "CASE WHEN c.`container_id` = '' THEN 1 ELSE 0 END";
/** Non-running (or unbound) rows form a group each, so their IDs can be named; running rows are counted. */
const NAMED_ROW_SQL = "CASE WHEN c.`state` <> 'running' OR c.`container_id` = '' THEN c.`id` ELSE '' END";

interface ObserveRaw {
  workload_id: string;
  state: string | null;
  unbound: number | string;
  row_id: string | null;
  n: number | string;
  phase: string | null;
  conditions: string | null;
  observed_generation: number | string | null;
  [count: string]: unknown;
}

interface RefusalRaw {
  host: string;
  container_id: string;
  container_name: string;
  dispatch: string;
  reason: string;
  workload_id: string;
  row_id: string;
  detail: string;
  since: unknown;
}

interface StatusRaw {
  workload_id: string;
  phase: string;
  conditions: string;
  observed_generation: number | string;
  observed_at: unknown;
  [count: string]: unknown;
}

function countsFrom(r: Record<string, unknown>): StatusCounts {
  const c = {} as StatusCounts;
  for (const k of COUNT_KEYS) c[k] = Number(r[`${k}_count`] ?? 0);
  return c;
}

function parseConditions(raw: string | null): Condition[] {
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? (v as Condition[]) : [];
  } catch {
    return [];
  }
}

function toStored(r: StatusRaw): StoredStatus {
  return {
    workloadId: r.workload_id,
    phase: r.phase as Phase,
    counts: countsFrom(r),
    conditions: parseConditions(r.conditions),
    observedGeneration: Number(r.observed_generation),
    observedAt: parseDbTime(r.observed_at) ?? 0,
  };
}

/**
 * Set-based access to `workload_status` and `container_events` (and read-only listing of
 * `containers` for the API). Every write is one statement per batch, never one per row or
 * workload.
 */
export class StatusRepository {
  constructor(private readonly db: Queryable) {}

  /** Appends transitions: one multi-row INSERT per 1,000 changes. */
  async insertEvents(changes: readonly RowChange[]): Promise<void> {
    const cols = EVENT_COLUMNS.map((c) => `\`${c}\``).join(', ');
    for (const batch of chunks(changes, Math.floor(MAX_PARAMS_PER_STATEMENT / EVENT_COLUMNS.length))) {
      const params: unknown[] = [];
      for (const c of batch) params.push(c.rowId, c.workloadId, c.from, c.to, c.reason, formatDbTime(c.at));
      await this.db.query(`INSERT INTO \`container_events\` (${cols}) VALUES ${valuesList(`(${placeholders(EVENT_COLUMNS.length)})`, batch.length)}`, params);
    }
  }

  /**
   * Reads what status derivation needs for these workloads, per chunk in two statements: one
   * grouped SELECT (row counts grouped by state and binding, the IDs of slots that are not
   * running, and the previous status) and one SELECT of the workloads' `conflict` refusals (how
   * many, and the first {@link MAX_NAMED} of each).
   * Workloads absent from `workloads` are not in the result. Joins across tables name the exact
   * collation, so Tinyforge's tables may use any utf8mb4 collation.
   */
  async observe(ids: readonly string[]): Promise<Map<string, Observed>> {
    const sql = await this.sql();
    const out = new Map<string, Observed>();
    const run = async (where: string, params: unknown[]) => {
      const stmt =
        'SELECT g.`workload_id`, g.`state`, g.`unbound`, g.`row_id`, g.`n`, s.`phase`, ' +
        `${COUNT_COLUMNS.map((c) => `s.\`${c}\``).join(', ')}, s.\`conditions\`, s.\`observed_generation\` ` +
        'FROM (' +
        `SELECT w.\`id\` AS \`workload_id\`, c.\`state\` AS \`state\`, ${UNBOUND_SQL} AS \`unbound\`, ${NAMED_ROW_SQL} AS \`row_id\`, COUNT(c.\`id\`) AS \`n\` ` +
        `FROM \`workloads\` w LEFT JOIN \`containers\` c ON ${sql.eq('c.`workload_id`', 'w.`id`')} ` +
        `${where} GROUP BY w.\`id\`, c.\`state\`, ${UNBOUND_SQL}, ${NAMED_ROW_SQL}` +
        `) g LEFT JOIN \`workload_status\` s ON ${sql.eq('s.`workload_id`', 'g.`workload_id`')}`;
      const { rows } = await this.db.query<ObserveRaw>(stmt, params);
      for (const r of rows) {
        let o = out.get(r.workload_id);
        if (!o) {
          const previous = r.phase === null || r.phase === undefined ? undefined : { phase: r.phase as Phase, counts: countsFrom(r), conditions: parseConditions(r.conditions), observedGeneration: Number(r.observed_generation ?? 0) };
          o = { observation: { groups: [], notRunning: [] }, previous };
          out.set(r.workload_id, o);
        }
        const n = Number(r.n);
        const unbound = Number(r.unbound) === 1;
        (o.observation.groups as RowGroup[]).push({ state: r.state, unbound, n });
        if (r.row_id) (o.observation.notRunning as NotRunningSlot[]).push({ rowId: r.row_id, state: unbound ? 'unbound' : (r.state ?? '') });
      }
    };
    const conflicts = async (where: string, params: unknown[]) => {
      for (const [workloadId, c] of await this.conflicts(where, params)) {
        const o = out.get(workloadId);
        if (o) o.observation.conflicts = c;
      }
    };
    for (const c of chunks([...new Set(ids)], MAX_PARAMS_PER_STATEMENT)) {
      const list = placeholders(c.length);
      await run(`WHERE w.\`id\` IN (${list})`, c);
      await conflicts(` AND \`workload_id\` IN (${list})`, c);
    }
    return out;
  }

  /**
   * `conflict` refusals per workload, in one statement: the count and the first
   * {@link MAX_NAMED} in (row ID, host, container ID) order. `where` extends the reason filter.
   */
  private async conflicts(where: string, params: unknown[]): Promise<Map<string, { total: number; first: ConflictClaim[] }>> {
    const { rows } = await this.db.query<{ workload_id: string; host: string; container_id: string; row_id: string; total: number | string }>(
      'SELECT r.`workload_id`, r.`host`, r.`container_id`, r.`row_id`, r.`total` FROM (' +
        'SELECT `workload_id`, `host`, `container_id`, `row_id`, ' +
        'ROW_NUMBER() OVER (PARTITION BY `workload_id` ORDER BY `row_id`, `host`, `container_id`) AS `k`, ' +
        'COUNT(*) OVER (PARTITION BY `workload_id`) AS `total` ' +
        `FROM \`container_refusals\` WHERE \`reason\` = 'conflict'${where}` +
        `) r WHERE r.\`k\` <= ${MAX_NAMED} ORDER BY r.\`workload_id\`, r.\`k\``,
      params,
    );
    const out = new Map<string, { total: number; first: ConflictClaim[] }>();
    for (const r of rows) {
      let c = out.get(r.workload_id);
      if (!c) out.set(r.workload_id, (c = { total: Number(r.total), first: [] }));
      c.first.push({ host: r.host, containerId: r.container_id, rowId: r.row_id });
    }
    return out;
  }

  /** Writes statuses: one multi-row upsert per 500 workloads. */
  async upsertStatuses(statuses: readonly StoredStatus[], batchSize = 500): Promise<void> {
    const size = Math.max(1, Math.min(batchSize, Math.floor(MAX_PARAMS_PER_STATEMENT / STATUS_COLUMNS.length)));
    for (const batch of chunks(statuses, size)) {
      const params: unknown[] = [];
      for (const s of batch) {
        params.push(s.workloadId, s.phase, ...COUNT_KEYS.map((k) => s.counts[k]), JSON.stringify(s.conditions), s.observedGeneration, formatDbTime(s.observedAt));
      }
      await this.db.query(multiRowUpsertSql(this.db.dialect, 'workload_status', STATUS_COLUMNS, batch.length), params);
    }
  }

  /** Removes status rows of these workloads (they left `workloads`). */
  async deleteStatuses(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (const c of chunks(ids, MAX_PARAMS_PER_STATEMENT)) n += (await this.db.query(`DELETE FROM \`workload_status\` WHERE \`workload_id\` IN (${placeholders(c.length)})`, c)).affected;
    return n;
  }

  /** Up to `limit` workload IDs after `after` (all from the first), in the column's order: one page of a keyset walk. */
  async workloadIdsAfter(after: string | undefined, limit: number): Promise<string[]> {
    const n = Math.max(1, Math.floor(limit));
    const { rows } =
      after === undefined
        ? await this.db.query<{ id: string }>(`SELECT \`id\` FROM \`workloads\` ORDER BY \`id\` LIMIT ${n}`)
        : await this.db.query<{ id: string }>(`SELECT \`id\` FROM \`workloads\` WHERE \`id\` > ? ORDER BY \`id\` LIMIT ${n}`, [after]);
    return rows.map((r) => r.id);
  }

  /** Removes status rows whose workload no longer exists (one statement). */
  async deleteOrphanStatuses(): Promise<number> {
    const sql = await this.sql();
    return (await this.db.query(`DELETE FROM \`workload_status\` WHERE NOT EXISTS (SELECT 1 FROM \`workloads\` w WHERE ${sql.eq('w.`id`', '`workload_status`.`workload_id`')})`)).affected;
  }

  /** Workloads per phase, from the status table (one grouped SELECT). */
  async phaseCounts(): Promise<Record<string, number>> {
    const { rows } = await this.db.query<{ phase: string; n: number | string }>('SELECT `phase`, COUNT(*) AS `n` FROM `workload_status` GROUP BY `phase`');
    return Object.fromEntries(rows.map((r) => [r.phase, Number(r.n)]));
  }

  /** Deletes transitions older than `before` (ms); one statement. */
  async pruneEvents(before: number): Promise<number> {
    return (await this.db.query('DELETE FROM `container_events` WHERE `at` < ?', [formatDbTime(before)])).affected;
  }

  /** Whether the workload exists in `workloads`. */
  async workloadExists(id: string): Promise<boolean> {
    const sql = await this.sql();
    const params: unknown[] = [];
    const { rows } = await this.db.query(`SELECT 1 AS \`ok\` FROM \`workloads\` WHERE ${sql.eqValue('`id`', id, params)}`, params);
    return rows.length > 0;
  }

  /**
   * The stored status of one workload: `undefined` when the workload does not exist, `null`
   * when it exists but no status was computed yet.
   */
  async getStatus(id: string): Promise<StoredStatus | null | undefined> {
    const sql = await this.sql();
    const params: unknown[] = [];
    const { rows } = await this.db.query<StatusRaw & { wid: string }>(
      `SELECT w.\`id\` AS \`wid\`, s.\`workload_id\`, s.\`phase\`, ${COUNT_COLUMNS.map((c) => `s.\`${c}\``).join(', ')}, s.\`conditions\`, s.\`observed_generation\`, s.\`observed_at\` ` +
        `FROM \`workloads\` w LEFT JOIN \`workload_status\` s ON ${sql.eq('s.`workload_id`', 'w.`id`')} WHERE ${sql.eqValue('w.`id`', id, params)}`,
      params,
    );
    const r = rows[0];
    if (!r) return undefined;
    if (r.workload_id === null || r.workload_id === undefined) return null;
    return toStored(r);
  }

  /** Every status row (tests, diagnostics). */
  async listStatuses(): Promise<StoredStatus[]> {
    const { rows } = await this.db.query<StatusRaw>(`SELECT ${STATUS_COLUMNS.map((c) => `\`${c}\``).join(', ')} FROM \`workload_status\` ORDER BY \`workload_id\``);
    return rows.map(toStored);
  }

  /** One page of a workload's transitions, keyed by event ID (stable under inserts and prunes). */
  async listEvents(workloadId: string, q: EventQuery): Promise<ContainerEventRecord[]> {
    const params: unknown[] = [workloadId];
    let where = '`workload_id` = ?';
    if (q.afterId !== undefined) {
      where += q.order === 'asc' ? ' AND `id` > ?' : ' AND `id` < ?';
      params.push(q.afterId);
    }
    const limit = Math.max(1, Math.floor(q.limit));
    const { rows } = await this.db.query<{ id: number | string; row_id: string; workload_id: string; from_state: string | null; to_state: string; reason: string; at: unknown }>(
      `SELECT \`id\`, \`row_id\`, \`workload_id\`, \`from_state\`, \`to_state\`, \`reason\`, \`at\` FROM \`container_events\` WHERE ${where} ORDER BY \`id\` ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => ({ id: Number(r.id), rowId: r.row_id, workloadId: r.workload_id, from: r.from_state, to: r.to_state, reason: r.reason, at: parseDbTime(r.at) ?? 0 }));
  }

  /** Every transition, oldest first (tests, diagnostics). */
  async allEvents(): Promise<ContainerEventRecord[]> {
    const { rows } = await this.db.query<{ id: number | string; row_id: string; workload_id: string; from_state: string | null; to_state: string; reason: string; at: unknown }>(
      'SELECT `id`, `row_id`, `workload_id`, `from_state`, `to_state`, `reason`, `at` FROM `container_events` ORDER BY `id`',
    );
    return rows.map((r) => ({ id: Number(r.id), rowId: r.row_id, workloadId: r.workload_id, from: r.from_state, to: r.to_state, reason: r.reason, at: parseDbTime(r.at) ?? 0 }));
  }

  /**
   * One page of `containers`, ordered by row ID (the primary key, so the order is total and a
   * row never appears on two pages while it exists). Filters are exact matches. `orphaned` comes
   * from a LEFT JOIN on `workloads` (collation-safe).
   */
  async listContainers(q: ContainerQuery): Promise<ContainerRecord[]> {
    const sql = await this.sql();
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [col, v] of [['workload_id', q.workload], ['state', q.state], ['host', q.host]] as const) {
      if (v !== undefined) where.push(sql.eqValue(`c.\`${col}\``, v, params));
    }
    if (q.afterId !== undefined) {
      where.push('c.`id` > ?');
      params.push(q.afterId);
    }
    const limit = Math.max(1, Math.floor(q.limit));
    const { rows } = await this.db.query<RawRow & Record<string, unknown>>(
      `SELECT ${CONTAINER_SELECT_LIST}, c.\`last_seen_at\`, c.\`created_at\`, c.\`updated_at\`, CASE WHEN w.\`id\` IS NULL THEN 1 ELSE 0 END AS \`orphaned\` ` +
        `FROM \`containers\` c LEFT JOIN \`workloads\` w ON ${sql.eq('w.`id`', 'c.`workload_id`')}` +
        `${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY c.\`id\` LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => ({
      ...toObserved(r),
      lastSeenAt: parseDbTime(r.last_seen_at) ?? null,
      createdAt: parseDbTime(r.created_at) ?? null,
      updatedAt: parseDbTime(r.updated_at) ?? null,
      orphaned: Number(r.orphaned) === 1,
    }));
  }

  /**
   * One page of `container_refusals`, in primary-key order (host, container ID): keyset
   * pagination, so a refusal that exists for the whole walk is returned exactly once. Filters
   * are exact matches.
   */
  async listRefusals(q: RefusalQuery): Promise<StoredRefusal[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [col, v] of [['host', q.host], ['reason', q.reason], ['workload_id', q.workload]] as const) {
      if (v === undefined) continue;
      where.push(`\`${col}\` = ?`);
      params.push(v);
    }
    if (q.afterKey !== undefined) {
      where.push('(`host` > ? OR (`host` = ? AND `container_id` > ?))');
      params.push(q.afterKey.host, q.afterKey.host, q.afterKey.containerId);
    }
    const limit = Math.max(1, Math.floor(q.limit));
    const { rows } = await this.db.query<RefusalRaw>(
      'SELECT `host`, `container_id`, `container_name`, `dispatch`, `reason`, `workload_id`, `row_id`, `detail`, `since` FROM `container_refusals`' +
        `${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY \`host\`, \`container_id\` LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => ({
      host: r.host,
      containerId: r.container_id,
      containerName: r.container_name,
      dispatch: r.dispatch,
      reason: r.reason,
      workloadId: r.workload_id,
      rowId: r.row_id,
      detail: r.detail,
      since: parseDbTime(r.since) ?? 0,
    }));
  }

  /** The collation-safe SQL of this database (detected once). */
  private sql(): Promise<Sql> {
    return sqlFor(this.db);
  }
}
