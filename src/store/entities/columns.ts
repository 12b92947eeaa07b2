import type { EntitySchemaColumnOptions } from 'typeorm';
import type { Dialect } from '../database.js';

/**
 * Column builders for the entities, one per kind of column the schema uses. They describe a
 * column exactly as the migrations create it on each database, so TypeORM's schema builder finds
 * nothing to change after the migrations ran (spec/store/schema.spec.ts): on MySQL a timestamp is
 * `datetime(3)` defaulting to `CURRENT_TIMESTAMP(3)`; SQLite has no precision and no ON UPDATE
 * (a trigger moves `updated_at` there) and takes its default from `strftime`.
 */

/** `varchar(length) NOT NULL`, with a default when given. */
export function varchar(name: string, length: number, opts: { default?: string; primary?: boolean } = {}): EntitySchemaColumnOptions {
  return { name, type: 'varchar', length, nullable: false, ...(opts.primary ? { primary: true } : {}), ...(opts.default !== undefined ? { default: opts.default } : {}) };
}

/** `varchar(length) NULL`. */
export function nullableVarchar(name: string, length: number): EntitySchemaColumnOptions {
  return { name, type: 'varchar', length, nullable: true };
}

/** `int NOT NULL DEFAULT <value>`. */
export function int(name: string, defaultValue: number): EntitySchemaColumnOptions {
  return { name, type: 'int', nullable: false, default: defaultValue };
}

/** `text NOT NULL`. */
export function text(name: string): EntitySchemaColumnOptions {
  return { name, type: 'text', nullable: false };
}

/** An auto-increment 64-bit key (SQLite only auto-increments an `INTEGER PRIMARY KEY`). */
export function autoIncrementId(dialect: Dialect, name: string): EntitySchemaColumnOptions {
  return { name, type: dialect === 'sqlite' ? 'integer' : 'bigint', primary: true, generated: 'increment' };
}

/** The database's current UTC time with milliseconds, as a column default. */
const NOW_DEFAULT: Record<Dialect, string> = { mysql: 'CURRENT_TIMESTAMP(3)', sqlite: "(strftime('%Y-%m-%d %H:%M:%f','now'))" };

/**
 * A UTC timestamp with milliseconds: `datetime(3)` on MySQL, `datetime` text on SQLite.
 * `defaultNow` defaults it to the database's clock; `onUpdateNow` (MySQL) moves it on every update.
 */
export function timestamp(dialect: Dialect, name: string, opts: { nullable?: boolean; defaultNow?: boolean; onUpdateNow?: boolean } = {}): EntitySchemaColumnOptions {
  const col: EntitySchemaColumnOptions = { name, type: 'datetime', nullable: opts.nullable ?? false };
  if (dialect === 'mysql') col.precision = 3;
  if (opts.defaultNow) col.default = () => NOW_DEFAULT[dialect];
  if (opts.onUpdateNow && dialect === 'mysql') col.onUpdate = NOW_DEFAULT.mysql;
  return col;
}
