import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isSqlite, sqliteUpdatedAtTrigger } from './dialect.js';

/** The indexes the service needs on `containers`: name, columns. */
export const CONTAINERS_INDEXES: ReadonlyArray<{ name: string; columns: readonly string[] }> = [
  { name: 'idx_containers_container_id', columns: ['container_id'] },
  { name: 'idx_containers_host_state', columns: ['host', 'state'] },
  { name: 'idx_containers_workload', columns: ['workload_id'] },
];

/** The observed columns whose change moves `updated_at` (as the initial migration's trigger). */
const TRIGGER_COLUMNS = ['workload_id', 'workload_kind', 'role', 'container_id', 'image_ref', 'host', 'state', 'port'];

/** MySQL: too long a key (1071), or a TEXT/BLOB column without a prefix length (1170). */
const KEY_TOO_LONG = new Set([1071, 1170]);
/** Prefix length for an index on a long text column (191 utf8mb4 characters = 764 bytes). */
const KEY_PREFIX = 191;

/**
 * Makes tables that existed before the service (created by Tinyforge itself) usable, without
 * altering any of their columns: on SQLite the `updated_at` trigger of `containers` (when the
 * table has that column), and on both databases the indexes the service's statements need on
 * `containers`. An index counts as present when some index (any name, not partial) starts with
 * the needed columns. Idempotent: on a fresh database, or run again, it changes nothing.
 */
export class ExistingTables1764200000000 implements MigrationInterface {
  name = 'ExistingTables1764200000000';

  async up(qr: QueryRunner): Promise<void> {
    if (!(await qr.hasTable('containers'))) return;
    const columns = await tableColumns(qr, 'containers');

    if (isSqlite(qr) && columns.has('updated_at') && columns.has('id')) {
      await sqliteUpdatedAtTrigger(qr, 'containers', TRIGGER_COLUMNS.filter((c) => columns.has(c)));
    }

    const existing = await tableIndexes(qr, 'containers');
    const names = new Set(existing.map((i) => i.name.toLowerCase()));
    for (const want of CONTAINERS_INDEXES) {
      if (!want.columns.every((c) => columns.has(c))) continue;
      if (existing.some((i) => !i.partial && startsWith(i.columns, want.columns))) continue;
      let name = want.name;
      for (let n = 2; names.has(name.toLowerCase()); n++) name = `${want.name}_${n}`;
      await createIndex(qr, name, want.columns);
      names.add(name.toLowerCase());
      existing.push({ name, columns: [...want.columns], partial: false });
    }
  }

  /** Nothing to undo: the trigger and indexes are what the initial migration creates on a fresh database. */
  async down(): Promise<void> {}
}

interface IndexInfo {
  name: string;
  /** Lower-case column names in index order. */
  columns: string[];
  partial: boolean;
}

function startsWith(have: readonly string[], want: readonly string[]): boolean {
  return want.length <= have.length && want.every((c, i) => have[i] === c.toLowerCase());
}

/** Lower-case column names of `table`. */
export async function tableColumns(qr: QueryRunner, table: string): Promise<Set<string>> {
  if (isSqlite(qr)) {
    const rows = (await qr.query(`SELECT name FROM pragma_table_info('${table}')`)) as Array<{ name: string }>;
    return new Set(rows.map((r) => r.name.toLowerCase()));
  }
  const rows = (await qr.query('SELECT `COLUMN_NAME` AS `c` FROM `information_schema`.`COLUMNS` WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = ?', [table])) as Array<{ c: string }>;
  return new Set(rows.map((r) => String(r.c).toLowerCase()));
}

/** Every index of `table` (the primary key included) with its columns in order. */
export async function tableIndexes(qr: QueryRunner, table: string): Promise<IndexInfo[]> {
  const byName = new Map<string, IndexInfo>();
  if (isSqlite(qr)) {
    // An expression column has no name (cid -2): it matches no wanted column.
    const rows = (await qr.query(
      `SELECT il.name AS idx, il.partial AS partial, ii.seqno AS seq, ii.name AS col FROM pragma_index_list('${table}') il JOIN pragma_index_info(il.name) ii ORDER BY il.name, ii.seqno`,
    )) as Array<{ idx: string; partial: number; seq: number; col: string | null }>;
    for (const r of rows) {
      let i = byName.get(r.idx);
      if (!i) byName.set(r.idx, (i = { name: r.idx, columns: [], partial: Number(r.partial) === 1 }));
      i.columns.push((r.col ?? '').toLowerCase());
    }
    // A rowid alias or a WITHOUT ROWID primary key is not in index_list: the primary key column(s).
    const pk = (await qr.query(`SELECT name, pk FROM pragma_table_info('${table}') WHERE pk > 0 ORDER BY pk`)) as Array<{ name: string }>;
    if (pk.length > 0) byName.set('<primary key>', { name: '<primary key>', columns: pk.map((r) => r.name.toLowerCase()), partial: false });
    return [...byName.values()];
  }
  const rows = (await qr.query(
    'SELECT `INDEX_NAME` AS `idx`, `SEQ_IN_INDEX` AS `seq`, `COLUMN_NAME` AS `col` FROM `information_schema`.`STATISTICS` WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = ? ORDER BY `INDEX_NAME`, `SEQ_IN_INDEX`',
    [table],
  )) as Array<{ idx: string; seq: number; col: string | null }>;
  for (const r of rows) {
    let i = byName.get(r.idx);
    if (!i) byName.set(r.idx, (i = { name: r.idx, columns: [], partial: false }));
    i.columns.push((r.col ?? '').toLowerCase());
  }
  return [...byName.values()];
}

async function createIndex(qr: QueryRunner, name: string, columns: readonly string[]): Promise<void> {
  const sql = (prefixed: ReadonlySet<string>) =>
    `CREATE INDEX \`${name}\` ON \`containers\` (${columns.map((c) => `\`${c}\`${prefixed.has(c) ? `(${KEY_PREFIX})` : ''}`).join(', ')})`;
  if (isSqlite(qr)) {
    await qr.query(sql(new Set()).replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS'));
    return;
  }
  try {
    await qr.query(sql(new Set()));
  } catch (err) {
    const e = err as { errno?: unknown; driverError?: { errno?: unknown } };
    if (!KEY_TOO_LONG.has(Number(e.errno ?? e.driverError?.errno))) throw err;
    // Tinyforge's column is longer than an InnoDB key allows: a prefix index serves the same
    // lookups (the row is re-checked against the full value).
    const rows = (await qr.query(
      `SELECT \`COLUMN_NAME\` AS \`c\`, \`DATA_TYPE\` AS \`t\`, \`CHARACTER_MAXIMUM_LENGTH\` AS \`n\` FROM \`information_schema\`.\`COLUMNS\` WHERE \`TABLE_SCHEMA\` = DATABASE() AND \`TABLE_NAME\` = 'containers'`,
    )) as Array<{ c: string; t: string; n: number | string | null }>;
    const long = new Set(
      rows.filter((r) => /text|blob/i.test(r.t) || (/char|binary/i.test(r.t) && Number(r.n) > KEY_PREFIX)).map((r) => columns.find((c) => c.toLowerCase() === String(r.c).toLowerCase())).filter((c): c is string => c !== undefined),
    );
    await qr.query(sql(long));
  }
}
