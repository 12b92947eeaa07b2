import type { DataSource } from 'typeorm';
import type { DatabaseConfig } from '../config.js';
import { createDataSource, runMigrations, type DataSourceTuning } from './data-source.js';


export type Dialect = 'mysql' | 'sqlite';

export interface QueryOutcome<T> {
  rows: T[];
  affected: number;
}

/**
 * The one handle on the database the rest of the service uses: raw parameterised SQL with
 * structured results, the dialect, and lifecycle. Only `src/store` imports TypeORM.
 */
export class Database {
  readonly dialect: Dialect;
  private closed = false;

  private constructor(private readonly ds: DataSource) {
    this.dialect = ds.options.type === 'better-sqlite3' ? 'sqlite' : 'mysql';
  }

  /** Connects (does not migrate). Errors never carry the password: it is not in any message. */
  static async connect(db: DatabaseConfig, tuning: DataSourceTuning = {}): Promise<Database> {
    const ds = createDataSource(db, tuning);
    await ds.initialize();
    return new Database(ds);
  }

  get dataSource(): DataSource {
    return this.ds;
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<QueryOutcome<T>> {
    const qr = this.ds.createQueryRunner();
    try {
      const r = (await qr.query(sql, params, true)) as { records?: T[]; affected?: number };
      return { rows: r.records ?? [], affected: r.affected ?? 0 };
    } finally {
      await qr.release();
    }
  }

  /** Applies pending migrations (serialised across replicas on MySQL). */
  migrate(): Promise<string[]> {
    return runMigrations(this.ds);
  }

  /** A cheap round trip, for /readyz. */
  async ping(): Promise<void> {
    await this.query('SELECT 1 AS ok');
  }

  /** The current time on the database server, in ms since the epoch (UTC). */
  async now(): Promise<number> {
    const sql = this.dialect === 'sqlite' ? "SELECT strftime('%Y-%m-%d %H:%M:%f','now') AS now" : 'SELECT UTC_TIMESTAMP(3) AS now';
    const { rows } = await this.query<{ now: unknown }>(sql);
    return parseDbTime(rows[0]?.now) ?? Date.now();
  }

  /** SQL for the current UTC time with milliseconds. */
  nowSql(): string {
    return this.dialect === 'sqlite' ? "strftime('%Y-%m-%d %H:%M:%f','now')" : 'UTC_TIMESTAMP(3)';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: the form both databases store and compare. */
export function formatDbTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

/** A datetime read back from either database (Date from mysql2, text from SQLite) -> ms. */
export function parseDbTime(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const ms = Date.parse(v.includes('T') ? v : `${v.replace(' ', 'T')}Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (typeof v === 'number') return v;
  return undefined;
}
