import type { ObservedRow, RowState } from '../controller/dispatch.js';
import { chunks, formatDbTime, MAX_PARAMS_PER_STATEMENT, multiRowUpsertSql, type Database } from './database.js';

const OBSERVED_COLUMNS = ['id', 'workload_id', 'workload_kind', 'role', 'container_id', 'image_ref', 'host', 'state', 'port'] as const;
/** The observed columns, for a SELECT list. */
export const OBSERVED_SELECT_LIST = '`id`, `workload_id`, `workload_kind`, `role`, `container_id`, `image_ref`, `host`, `state`, `port`';
const SELECT_OBSERVED = `SELECT ${OBSERVED_SELECT_LIST} FROM \`containers\``;

/** The observed columns as the driver returns them. */
export interface RawRow {
  id: string;
  workload_id: string;
  workload_kind: string;
  role: string;
  container_id: string;
  image_ref: string;
  host: string;
  state: string;
  port: number | string;
}

export function toObserved(r: RawRow): ObservedRow {
  return {
    id: r.id,
    workloadId: r.workload_id,
    workloadKind: r.workload_kind,
    role: r.role,
    containerId: r.container_id,
    imageRef: r.image_ref,
    host: r.host,
    state: r.state as RowState,
    port: Number(r.port),
  };
}

/**
 * Set-based access to `containers`: every method is one statement per batch, never one per row.
 * Writes touch only the observed columns (plus `last_seen_at`), so deployer-owned columns and
 * `created_at` are never overwritten.
 */
export class ContainersRepository {
  constructor(private readonly db: Database) {}

  /** Observed columns of every row of `host`. */
  async listByHost(host: string): Promise<ObservedRow[]> {
    const { rows } = await this.db.query<RawRow>(`${SELECT_OBSERVED} WHERE \`host\` = ?`, [host]);
    return rows.map(toObserved);
  }

  /** Rows bound to any of `containerIds` or whose ID is one of `rowIds` (any host). */
  async findByContainerOrRowIds(containerIds: readonly string[], rowIds: readonly string[]): Promise<ObservedRow[]> {
    const out: ObservedRow[] = [];
    const half = MAX_PARAMS_PER_STATEMENT / 2;
    const n = Math.max(containerIds.length, rowIds.length);
    for (let i = 0; i < n; i += half) {
      const c = containerIds.slice(i, i + half);
      const r = rowIds.slice(i, i + half);
      const where: string[] = [];
      if (c.length > 0) where.push(`\`container_id\` IN (${c.map(() => '?').join(',')})`);
      if (r.length > 0) where.push(`\`id\` IN (${r.map(() => '?').join(',')})`);
      if (where.length === 0) continue;
      const { rows } = await this.db.query<RawRow>(`${SELECT_OBSERVED} WHERE ${where.join(' OR ')}`, [...c, ...r]);
      for (const row of rows) out.push(toObserved(row));
    }
    return out;
  }

  /** Current `state` of these rows (one statement per chunk). */
  async statesOf(rowIds: readonly string[]): Promise<Array<{ id: string; state: string }>> {
    const out: Array<{ id: string; state: string }> = [];
    for (const c of chunks(rowIds, MAX_PARAMS_PER_STATEMENT)) {
      const { rows } = await this.db.query<{ id: string; state: string }>(`SELECT \`id\`, \`state\` FROM \`containers\` WHERE \`id\` IN (${c.map(() => '?').join(',')})`, c);
      out.push(...rows);
    }
    return out;
  }

  /**
   * Multi-row upsert of the observed columns, `last_seen_at` = `seenAt`. One statement per
   * `batchSize` rows.
   */
  async upsert(rows: readonly ObservedRow[], seenAt: number, batchSize = 500): Promise<void> {
    if (rows.length === 0) return;
    const seen = formatDbTime(seenAt);
    const cols = [...OBSERVED_COLUMNS, 'last_seen_at'];
    const size = Math.max(1, Math.min(batchSize, Math.floor(MAX_PARAMS_PER_STATEMENT / cols.length)));
    for (const batch of chunks(rows, size)) {
      const params: unknown[] = [];
      for (const r of batch) params.push(r.id, r.workloadId, r.workloadKind, r.role, r.containerId, r.imageRef, r.host, r.state, r.port, seen);
      await this.db.query(multiRowUpsertSql(this.db.dialect, 'containers', cols, batch.length), params);
    }
  }

  /**
   * Marks `missing` the rows of `host` bound to these (vanished) Docker containers. Returns how
   * many rows changed. Idempotent.
   */
  async markMissingByContainerIds(host: string, containerIds: readonly string[]): Promise<number> {
    let changed = 0;
    for (const c of chunks(containerIds, MAX_PARAMS_PER_STATEMENT - 1)) {
      const { affected } = await this.db.query(
        `UPDATE \`containers\` SET \`state\` = 'missing' WHERE \`host\` = ? AND \`state\` <> 'missing' AND \`container_id\` <> '' AND \`container_id\` IN (${c.map(() => '?').join(',')})`,
        [host, ...c],
      );
      changed += affected;
    }
    return changed;
  }

  /**
   * The missing sweep for rows whose container was not in a successful list: only rows of
   * `host`, never unbound rows, never rows changed at or after `listStartedAt` (database time),
   * so a row bound while the pass ran is safe.
   */
  async sweepMissing(host: string, rowIds: readonly string[], listStartedAt: number): Promise<number> {
    let changed = 0;
    const before = formatDbTime(listStartedAt);
    for (const c of chunks(rowIds, MAX_PARAMS_PER_STATEMENT - 2)) {
      const { affected } = await this.db.query(
        `UPDATE \`containers\` SET \`state\` = 'missing' WHERE \`host\` = ? AND \`state\` <> 'missing' AND \`container_id\` <> '' AND \`updated_at\` < ? AND \`id\` IN (${c.map(() => '?').join(',')})`,
        [host, before, ...c],
      );
      changed += affected;
    }
    return changed;
  }

  /**
   * One statement that sets `last_seen_at` for every bound, non-missing row of `host` that was
   * not changed since `listStartedAt` (those were written with a fresh `last_seen_at` already).
   * Run after a successful sweep, so every such row was seen in the list. `updated_at` is kept:
   * seeing a container again is not a change.
   */
  async touchLastSeen(host: string, seenAt: number, listStartedAt: number): Promise<number> {
    const { affected } = await this.db.query(
      `UPDATE \`containers\` SET \`last_seen_at\` = ?, \`updated_at\` = \`updated_at\` WHERE \`host\` = ? AND \`state\` <> 'missing' AND \`container_id\` <> '' AND \`updated_at\` < ?`,
      [formatDbTime(seenAt), host, formatDbTime(listStartedAt)],
    );
    return affected;
  }
}
