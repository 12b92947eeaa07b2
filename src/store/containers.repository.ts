import type { ObservedRow, RowState } from '../domain/types.js';
import { parseDbTime, type Database, type Dialect } from './database.js';
import { chunks, MAX_PARAMS_PER_STATEMENT, placeholders, rowChecksum, rowChecksumSql, valuesList } from './sql.js';

const OBSERVED_COLUMNS = ['id', 'workload_id', 'workload_kind', 'role', 'container_id', 'image_ref', 'host', 'state', 'port'] as const;
/** The observed columns, for a SELECT list. */
export const OBSERVED_SELECT_LIST = '`id`, `workload_id`, `workload_kind`, `role`, `container_id`, `image_ref`, `host`, `state`, `port`';
const SELECT_STORED = `SELECT ${OBSERVED_SELECT_LIST}, \`last_seen_at\` FROM \`containers\``;
/** The host view: rows of the host, and bound rows that carry no host yet. */
const HOST_VIEW = "`host` = ? OR (`host` = '' AND `container_id` <> '')";

/** A row as read, with `last_seen_at` (database clock, ms; null when never set). */
export type StoredRow = ObservedRow & { lastSeenAt?: number | null };

/** Count, sum and XOR of the per-row CRC32 of the observed columns over a set of rows. */
export interface ViewChecksum {
  count: number;
  sum: number;
  xor: number;
}

/**
 * The CRC32 of a row's observed columns exactly as {@link ContainersRepository.hostChecksum}
 * computes it in SQL (same columns, same order, same bytes; `port` as its decimal text).
 */
export function observedRowChecksum(r: ObservedRow): number {
  return rowChecksum([r.id, r.workloadId, r.workloadKind, r.role, r.containerId, r.imageRef, r.host, r.state, r.port]);
}

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

function toStored(r: RawRow & { last_seen_at?: unknown }): StoredRow {
  const row: StoredRow = toObserved(r);
  row.lastSeenAt = parseDbTime(r.last_seen_at) ?? null;
  return row;
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

  /**
   * Observed columns and `last_seen_at` of every row of `host`, plus the bound rows that carry
   * no host yet (the deployer may leave `host` empty; the agent whose container it names adopts
   * them): the host view.
   */
  async listForHost(host: string): Promise<StoredRow[]> {
    const { rows } = await this.db.query<RawRow>(`${SELECT_STORED} WHERE ${HOST_VIEW}`, [host]);
    return rows.map(toStored);
  }

  /**
   * The checksum of the host view computed by the database (one statement, one row back): the
   * row index keeps the same figure for what it holds, so equal figures mean nobody else changed
   * the host's rows since the index last read or wrote them. `last_seen_at` is not part of it.
   */
  async hostChecksum(host: string): Promise<ViewChecksum> {
    const crc = rowChecksumSql(this.db.dialect, OBSERVED_COLUMNS.map((c) => (c === 'port' ? 'COALESCE(`port`, 0)' : `\`${c}\``)));
    const { rows } = await this.db.query<{ n: unknown; s: unknown; x: unknown }>(
      `SELECT COUNT(*) AS \`n\`, COALESCE(SUM(${crc}), 0) AS \`s\`, COALESCE(BIT_XOR(${crc}), 0) AS \`x\` FROM \`containers\` WHERE ${HOST_VIEW}`,
      [host],
    );
    const r = rows[0];
    return { count: Number(r?.n ?? 0), sum: Number(r?.s ?? 0), xor: Number(r?.x ?? 0) >>> 0 };
  }

  /** Rows bound to any of `containerIds` or whose ID is one of `rowIds` (any host). */
  async findByContainerOrRowIds(containerIds: readonly string[], rowIds: readonly string[]): Promise<StoredRow[]> {
    const out: StoredRow[] = [];
    const half = MAX_PARAMS_PER_STATEMENT / 2;
    const n = Math.max(containerIds.length, rowIds.length);
    for (let i = 0; i < n; i += half) {
      const c = containerIds.slice(i, i + half);
      const r = rowIds.slice(i, i + half);
      const where: string[] = [];
      if (c.length > 0) where.push(`\`container_id\` IN (${placeholders(c.length)})`);
      if (r.length > 0) where.push(`\`id\` IN (${placeholders(r.length)})`);
      if (where.length === 0) continue;
      const { rows } = await this.db.query<RawRow>(`${SELECT_STORED} WHERE ${where.join(' OR ')}`, [...c, ...r]);
      for (const row of rows) out.push(toStored(row));
    }
    return out;
  }

  /** Current `state` of these rows (one statement per chunk). */
  async statesOf(rowIds: readonly string[]): Promise<Array<{ id: string; state: string }>> {
    const out: Array<{ id: string; state: string }> = [];
    for (const c of chunks(rowIds, MAX_PARAMS_PER_STATEMENT)) {
      const { rows } = await this.db.query<{ id: string; state: string }>(`SELECT \`id\`, \`state\` FROM \`containers\` WHERE \`id\` IN (${placeholders(c.length)})`, c);
      out.push(...rows);
    }
    return out;
  }

  /**
   * Multi-row upsert of the observed columns, `last_seen_at` = the database's clock. One
   * statement per `batchSize` rows. A row that exists with another non-empty `host` is left
   * exactly as it is (the host guard is part of the statement, not only of the plan), so an
   * agent never overwrites another host's row whatever its in-memory view says.
   */
  async upsert(rows: readonly ObservedRow[], batchSize = 500): Promise<void> {
    if (rows.length === 0) return;
    const size = Math.max(1, Math.min(batchSize, Math.floor(MAX_PARAMS_PER_STATEMENT / OBSERVED_COLUMNS.length)));
    for (const batch of chunks(rows, size)) {
      const params: unknown[] = [];
      for (const r of batch) params.push(r.id, r.workloadId, r.workloadKind, r.role, r.containerId, r.imageRef, r.host, r.state, r.port);
      await this.db.query(guardedUpsertSql(this.db.dialect, this.db.nowSql(), batch.length), params);
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
        `UPDATE \`containers\` SET \`state\` = 'missing' WHERE \`host\` = ? AND \`state\` <> 'missing' AND \`container_id\` <> '' AND \`container_id\` IN (${placeholders(c.length)})`,
        [host, ...c],
      );
      changed += affected;
    }
    return changed;
  }

  /**
   * Compare-and-set: marks `missing` each row of `host` that still holds the container the
   * caller saw in it (`id` and `container_id` both match, state not yet `missing`). A row the
   * deployer bound or rebound since is left alone, whatever any clock says. Returns how many
   * rows changed. Used by the missing sweep and to retire a row superseded by the deployer's.
   */
  async markMissingIfBound(host: string, seen: ReadonlyArray<{ id: string; containerId: string }>): Promise<number> {
    return this.updateIfBound(host, seen, "`state` = 'missing'");
  }

  /**
   * Compare-and-set refresh of `last_seen_at` (database clock): for each row of `host` that still
   * names the container the pass just listed in it and is not `missing`. One statement per chunk;
   * the pass sends only the rows whose `last_seen_at` is due (docs/architecture.md, "What
   * last_seen_at means"). `updated_at` is kept: seeing a container again is not a change.
   */
  async touchSeen(host: string, seen: ReadonlyArray<{ id: string; containerId: string }>): Promise<number> {
    return this.updateIfBound(host, seen, `\`last_seen_at\` = ${this.db.nowSql()}, \`updated_at\` = \`updated_at\``);
  }

  /**
   * `UPDATE ... SET <assignments>` on each row of `host` that still holds the container the
   * caller saw in it (`(id, container_id)` both match) and is not `missing`: one statement per
   * chunk of pairs; returns how many rows changed.
   */
  private async updateIfBound(host: string, seen: ReadonlyArray<{ id: string; containerId: string }>, assignments: string): Promise<number> {
    let changed = 0;
    const bound = seen.filter((s) => s.containerId !== '');
    for (const c of chunks(bound, Math.floor((MAX_PARAMS_PER_STATEMENT - 1) / 3))) {
      const pairs = valuesList('(?,?)', c.length);
      const rowValues = this.db.dialect === 'sqlite' ? `(VALUES ${pairs})` : `(${pairs})`;
      const params: unknown[] = [host, ...c.map((s) => s.id)];
      for (const s of c) params.push(s.id, s.containerId);
      const { affected } = await this.db.query(
        `UPDATE \`containers\` SET ${assignments} WHERE \`host\` = ? AND \`state\` <> 'missing' AND \`id\` IN (${placeholders(c.length)}) AND (\`id\`, \`container_id\`) IN ${rowValues}`,
        params,
      );
      changed += affected;
    }
    return changed;
  }
}

/**
 * `INSERT ... VALUES (..., <now>) ... ON DUPLICATE KEY UPDATE` (SQLite: `ON CONFLICT DO UPDATE
 * ... WHERE`) that updates an existing row only when its `host` is the new one or empty. On
 * MySQL each assignment is guarded and `host` is assigned last (MySQL evaluates the assignments
 * in order, so the guard must see the old host).
 */
export function guardedUpsertSql(dialect: Dialect, nowSql: string, rows: number): string {
  const cols = [...OBSERVED_COLUMNS, 'last_seen_at'];
  const colList = cols.map((c) => `\`${c}\``).join(', ');
  const values = valuesList(`(${placeholders(OBSERVED_COLUMNS.length)},${nowSql})`, rows);
  const updated = cols.filter((c) => c !== 'id' && c !== 'host');
  if (dialect === 'mysql') {
    const guard = "`host` IN (VALUES(`host`), '')";
    const sets = [...updated, 'host'].map((c) => `\`${c}\` = IF(${guard}, VALUES(\`${c}\`), \`${c}\`)`).join(', ');
    return `INSERT INTO \`containers\` (${colList}) VALUES ${values} ON DUPLICATE KEY UPDATE ${sets}`;
  }
  const sets = [...updated, 'host'].map((c) => `\`${c}\` = excluded.\`${c}\``).join(', ');
  return `INSERT INTO \`containers\` (${colList}) VALUES ${values} ON CONFLICT(\`id\`) DO UPDATE SET ${sets} WHERE \`containers\`.\`host\` IN (excluded.\`host\`, '')`;
}
