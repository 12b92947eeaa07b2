import type { QueryRunner, TableColumnOptions } from 'typeorm';

/** Whether a migration runs on the embedded SQLite database. */
export function isSqlite(qr: QueryRunner): boolean {
  return qr.connection.options.type === 'better-sqlite3';
}

/** A `datetime(3)` column; `defaultNow` gives it the database's current UTC time as default. */
export function timeColumn(qr: QueryRunner, name: string, opts: { nullable?: boolean; defaultNow?: boolean; onUpdateNow?: boolean } = {}): TableColumnOptions {
  const sqlite = isSqlite(qr);
  const col: TableColumnOptions = { name, type: 'datetime', isNullable: opts.nullable ?? false };
  if (!sqlite) col.precision = 3;
  if (opts.defaultNow) col.default = sqlite ? "(strftime('%Y-%m-%d %H:%M:%f','now'))" : 'CURRENT_TIMESTAMP(3)';
  if (opts.onUpdateNow && !sqlite) col.onUpdate = 'CURRENT_TIMESTAMP(3)';
  return col;
}

export function str(name: string, length: number, opts: { primary?: boolean; default?: string } = {}): TableColumnOptions {
  const col: TableColumnOptions = { name, type: 'varchar', length: String(length), isNullable: false };
  if (opts.primary) col.isPrimary = true;
  if (opts.default !== undefined) col.default = `'${opts.default}'`;
  return col;
}

/** SQLite has no ON UPDATE: a trigger keeps `updated_at` moving when another column changes. */
export async function sqliteUpdatedAtTrigger(qr: QueryRunner, table: string, columns: string[], key = 'id'): Promise<void> {
  if (!isSqlite(qr)) return;
  await qr.query(
    `CREATE TRIGGER IF NOT EXISTS trg_${table}_updated_at AFTER UPDATE OF ${columns.join(', ')} ON ${table} ` +
      `FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at ` +
      `BEGIN UPDATE ${table} SET updated_at = strftime('%Y-%m-%d %H:%M:%f','now') WHERE ${key} = NEW.${key}; END`,
  );
}

/**
 * The exact, binary, no-pad utf8mb4 collation of this server: identifiers (row IDs, roles,
 * Docker IDs, hosts) must compare byte for byte, as the controller's in-memory maps do. With a
 * `_ci` or PAD SPACE collation `web`, `Web`, `wéb` and `web ` (and all emoji) are one key, and
 * distinct containers would overwrite each other's row.
 */
export async function exactCollation(qr: QueryRunner): Promise<string> {
  for (const c of ['utf8mb4_0900_bin', 'utf8mb4_nopad_bin']) {
    const rows = (await qr.query(`SHOW COLLATION LIKE '${c}'`)) as unknown[];
    if (rows.length > 0) return c;
  }
  return 'utf8mb4_bin';
}

/** MySQL table options: utf8mb4 throughout, exact comparison. */
export async function mysqlTableCharset(qr: QueryRunner, table: string): Promise<void> {
  if (isSqlite(qr)) return;
  await qr.query(`ALTER TABLE \`${table}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE ${await exactCollation(qr)}`);
}
