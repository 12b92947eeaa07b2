import { crc32 as zlibCrc32 } from 'node:zlib';
import type { Dialect, QueryOutcome } from './database.js';

/**
 * Bound parameters per statement, at most: every batched statement is cut to fit (SQLite's
 * limit is 32,766, MySQL's 65,535; this also keeps MySQL packets small).
 */
export const MAX_PARAMS_PER_STATEMENT = 10_000;

/** Splits `xs` into slices of at most `size`. */
export function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** `?,?,?`: `n` bound parameters, for an `IN (...)` list or a `VALUES` tuple ('' for none). */
export function placeholders(n: number): string {
  return n > 0 ? `?${',?'.repeat(n - 1)}` : '';
}

/** `tuple,tuple,...`: `rows` copies of one `VALUES` tuple, e.g. `valuesList('(?,?)', 2)` = `(?,?),(?,?)`. */
export function valuesList(tuple: string, rows: number): string {
  return rows > 0 ? `${tuple}${`,${tuple}`.repeat(rows - 1)}` : '';
}

/**
 * `INSERT INTO table (columns) VALUES (...), ... <on conflict update every non-key column>` for
 * `rows` tuples, in the dialect's upsert form. The first column is the conflict key.
 */
export function multiRowUpsertSql(dialect: Dialect, table: string, columns: readonly string[], rows: number): string {
  const colList = columns.map((c) => `\`${c}\``).join(', ');
  const updates = columns.slice(1);
  const onConflict =
    dialect === 'mysql'
      ? `ON DUPLICATE KEY UPDATE ${updates.map((c) => `\`${c}\` = VALUES(\`${c}\`)`).join(', ')}`
      : `ON CONFLICT(\`${columns[0]}\`) DO UPDATE SET ${updates.map((c) => `\`${c}\` = excluded.\`${c}\``).join(', ')}`;
  return `INSERT INTO \`${table}\` (${colList}) VALUES ${valuesList(`(${placeholders(columns.length)})`, rows)} ${onConflict}`;
}

/** What the helpers need of a database handle (a `Database`, or a test wrapper around one). */
export interface SqlQueryable {
  readonly dialect: Dialect;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryOutcome<T>>;
}

/**
 * The exact (binary, no-pad) utf8mb4 collations, best first; `utf8mb4_bin` when the server has
 * neither. The same order as `exactCollation` in migrations/dialect.ts, so the collation found
 * here is the one the service's own tables were created with.
 */
export const EXACT_COLLATIONS = ['utf8mb4_0900_bin', 'utf8mb4_nopad_bin'] as const;
export const FALLBACK_EXACT_COLLATION = 'utf8mb4_bin';

/**
 * SQL fragments that depend on the server. Tinyforge's tables may use any utf8mb4 collation
 * (`utf8mb4_bin`, `utf8mb4_unicode_ci`, ...), the service's own tables use the exact one. MySQL and
 * MariaDB refuse to compare columns of some pairs of collations (`utf8mb4_bin` with
 * `utf8mb4_nopad_bin`: "Illegal mix of collations") and silently pick one for others (a `_ci`
 * with a `_bin`), so every comparison across tables names the exact collation explicitly (an
 * explicit COLLATE wins over both columns' own). Identifiers then compare byte for byte, as the
 * controller's maps do. SQLite compares text as bytes (BINARY) already: nothing is added there.
 */
export class Sql {
  private constructor(
    readonly dialect: Dialect,
    /** The server's exact utf8mb4 collation (MySQL only). */
    readonly exactCollation: string | undefined,
  ) {}

  static sqlite(): Sql {
    return new Sql('sqlite', undefined);
  }

  static mysql(exactCollation: string): Sql {
    if (!/^utf8mb4_[A-Za-z0-9_]+$/.test(exactCollation)) throw new Error(`not a utf8mb4 collation: ${exactCollation}`);
    return new Sql('mysql', exactCollation);
  }

  /** `expr COLLATE <exact>` on MySQL; `expr` on SQLite. */
  exact(expr: string): string {
    return this.exactCollation === undefined ? expr : `${expr} COLLATE ${this.exactCollation}`;
  }

  /**
   * An equality between columns of two tables, exact and collation-safe: `probe = other COLLATE
   * <exact>`. Give the column whose index the join should use as `probe` (the COLLATE goes on the
   * other side, so the probe column's index stays usable when it has the exact collation).
   */
  eq(probe: string, other: string): string {
    return `${probe} = ${this.exact(other)}`;
  }

  /**
   * An exact equality of a column with a bound value, pushing the value onto `params`. On MySQL
   * `(col = ? AND col = ? COLLATE <exact>)`: the first half lets an index in the column's own
   * collation find the candidates (under any collation, equal bytes compare equal), the second
   * keeps only the exact matches, so `wl-a` never finds `WL-A` or `wl-a ` in a Tinyforge table
   * with a case-insensitive or PAD SPACE collation.
   */
  eqValue(column: string, value: unknown, params: unknown[]): string {
    if (this.exactCollation === undefined) {
      params.push(value);
      return `${column} = ?`;
    }
    params.push(value, value);
    return `(${column} = ? AND ${column} = ? COLLATE ${this.exactCollation})`;
  }

  /** See {@link bytesSql}. */
  bytes(expr: string): string {
    return bytesSql(this.dialect, expr);
  }

  /** See {@link rowChecksumSql}. */
  rowChecksum(columns: readonly string[]): string {
    return rowChecksumSql(this.dialect, columns);
  }
}

/** The bytes of a text expression (MySQL: a binary string, so concatenations never mix collations). */
export function bytesSql(dialect: Dialect, expr: string): string {
  return dialect === 'mysql' ? `CAST(${expr} AS BINARY)` : expr;
}

/**
 * A per-row checksum of `columns`: CRC32 of their UTF-8 bytes joined by U+001F, NULL written as
 * U+001E. MySQL's CRC32 and the `crc32` function the service registers on every SQLite connection
 * (data-source.ts) hash the same bytes, so both give the same number. No collation is involved.
 */
export function rowChecksumSql(dialect: Dialect, columns: readonly string[]): string {
  const parts = columns.map((c) => `COALESCE(${bytesSql(dialect, c)}, CHAR(30))`);
  return `CRC32(CONCAT_WS(CHAR(31), ${parts.join(', ')}))`;
}

/**
 * The twin of {@link rowChecksumSql} in the service: the same CRC32 of the same bytes, for values
 * as the driver returns them (text, numbers as their decimal text, NULL). The row index keeps
 * the checksum of what it holds with it, and one query tells whether the database still agrees.
 */
export function rowChecksum(values: readonly unknown[]): number {
  let text = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) text += '\x1f';
    text += v === null || v === undefined ? '\x1e' : String(v);
  }
  return zlibCrc32(Buffer.from(text, 'utf8'));
}

const detected = new WeakMap<object, Promise<Sql>>();

/**
 * The {@link Sql} of this database handle, detected once per handle (one `information_schema`
 * query on MySQL). A failed detection is not remembered: the next call tries again.
 */
export function sqlFor(db: SqlQueryable): Promise<Sql> {
  if (db.dialect === 'sqlite') return Promise.resolve(Sql.sqlite());
  let p = detected.get(db);
  if (!p) {
    p = detectExactCollation(db).then((c) => Sql.mysql(c));
    detected.set(db, p);
    p.catch(() => detected.delete(db));
  }
  return p;
}

/** The server's exact utf8mb4 collation (see {@link EXACT_COLLATIONS}). */
export async function detectExactCollation(db: SqlQueryable): Promise<string> {
  const { rows } = await db.query<{ c: string }>(
    `SELECT \`COLLATION_NAME\` AS \`c\` FROM \`information_schema\`.\`COLLATIONS\` WHERE \`COLLATION_NAME\` IN (${placeholders(EXACT_COLLATIONS.length)})`,
    [...EXACT_COLLATIONS],
  );
  const have = new Set(rows.map((r) => String(r.c).toLowerCase()));
  return EXACT_COLLATIONS.find((c) => have.has(c)) ?? FALLBACK_EXACT_COLLATION;
}

/**
 * MySQL's CRC32() for SQLite: the CRC-32 (ISO-HDLC, as zlib) of the UTF-8 bytes of a text, of a
 * blob's bytes, or of a number's decimal text; NULL for NULL. Registered as a deterministic SQL
 * function on every SQLite connection.
 */
export function crc32(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return zlibCrc32(value);
  return zlibCrc32(Buffer.from(String(value), 'utf8'));
}

/** MySQL's BIT_XOR() aggregate for SQLite, over unsigned 32-bit values (CRC32 results). */
export const bitXorAggregate = {
  start: 0,
  step: (acc: number, v: unknown): number => (v === null || v === undefined ? acc : (acc ^ Number(v)) >>> 0),
};
