import type { DataSource } from 'typeorm';
import type { DatabaseConfig } from '../config.js';
import { withConflictRetry, type ConflictRetryOptions } from './conflicts.js';
import { createDataSource, runMigrations, type DataSourceTuning } from './data-source.js';
import type { MigrationLockOptions } from './migration-lock.js';


export type Dialect = 'mysql' | 'sqlite';

export interface QueryOutcome<T> {
  rows: T[];
  affected: number;
}

/** How {@link Database} treats conflicts and migrations; the defaults suit the service. */
export interface DatabaseOptions {
  /** Retries of a statement that lost a conflict (deadlock, Galera certification failure); see src/store/conflicts.ts. */
  conflicts?: ConflictRetryOptions;
  /** The cluster-wide migration lock (src/store/migration-lock.ts). */
  migrationLock?: MigrationLockOptions;
}

/**
 * The one handle on the database the rest of the service uses: raw parameterised SQL with
 * structured results, the dialect, and lifecycle. Only `src/store` imports TypeORM.
 */
export class Database {
  readonly dialect: Dialect;
  private closed = false;
  private retried = 0;
  private readonly conflictOptions: ConflictRetryOptions;

  private constructor(
    private readonly ds: DataSource,
    private readonly opts: DatabaseOptions,
  ) {
    this.dialect = ds.options.type === 'better-sqlite3' ? 'sqlite' : 'mysql';
    const onRetry = opts.conflicts?.onRetry;
    this.conflictOptions = {
      ...opts.conflicts,
      onRetry: (err, attempt) => {
        this.retried++;
        onRetry?.(err, attempt);
      },
    };
  }

  /** Connects (does not migrate). Errors never carry the password: it is not in any message. */
  static async connect(db: DatabaseConfig, tuning: DataSourceTuning = {}, opts: DatabaseOptions = {}): Promise<Database> {
    const ds = createDataSource(db, tuning);
    await ds.initialize();
    return new Database(ds, opts);
  }

  get dataSource(): DataSource {
    return this.ds;
  }

  /** Statements run again because they lost a conflict, since connect. */
  get conflictRetries(): number {
    return this.retried;
  }

  /**
   * One statement, run alone (autocommit; never `BEGIN` through here). A statement that loses a
   * conflict (errno 1213: an InnoDB deadlock, or on a Galera cluster a certification failure
   * against a write committed first on another node) was rolled back whole, so it runs again
   * after a short jittered pause, a few times, before its error reaches the caller.
   */
  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<QueryOutcome<T>> {
    return withConflictRetry(() => this.queryOnce<T>(sql, params), this.conflictOptions);
  }

  private async queryOnce<T>(sql: string, params: unknown[]): Promise<QueryOutcome<T>> {
    const qr = this.ds.createQueryRunner();
    try {
      const r = (await qr.query(sql, params, true)) as { records?: T[]; affected?: number };
      return { rows: r.records ?? [], affected: r.affected ?? 0 };
    } finally {
      await qr.release();
    }
  }

  /** Applies pending migrations (serialised across replicas, and across the nodes of a cluster, on MySQL). */
  migrate(): Promise<string[]> {
    return runMigrations(this.ds, this.opts.migrationLock);
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
