import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { connect, isIP, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { DatabaseConfig, DatabaseTls } from '../config.js';
import { entitiesFor } from './entities/index.js';
import { FailoverPool, type NodePool } from './failover-pool.js';
import { withConflictRetry } from './conflicts.js';
import { MigrationLock, type MigrationLockOptions } from './migration-lock.js';
import { InitialSchema1764000000000 } from './migrations/1764000000000-initial-schema.js';
import { WorkloadStatus1764100000000 } from './migrations/1764100000000-workload-status.js';
import { ExistingTables1764200000000 } from './migrations/1764200000000-existing-tables.js';
import { ContainerRefusals1764300000000 } from './migrations/1764300000000-container-refusals.js';
import { Hosts1764400000000 } from './migrations/1764400000000-hosts.js';
import { bitXorAggregate, crc32 } from './sql.js';

export const MIGRATIONS = [InitialSchema1764000000000, WorkloadStatus1764100000000, ExistingTables1764200000000, ContainerRefusals1764300000000, Hosts1764400000000];

/** The part of a better-sqlite3 connection `prepareDatabase` uses. */
interface SqliteConnection {
  pragma(s: string): unknown;
  function(name: string, opts: { deterministic?: boolean }, fn: (...args: unknown[]) => unknown): unknown;
  aggregate(name: string, opts: { deterministic?: boolean; start: number; step: (acc: number, v: unknown) => number }): unknown;
}

export interface DataSourceTuning {
  /** Told when connections move to another server of a multi-host DATABASE_URL (src/store/failover-pool.ts). */
  onFailover?: (from: string, to: string, reason: string) => void;
  poolSize?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

/** TypeORM options for a database config; shared by the service and `ormconfig.ts`. */
export function dataSourceOptions(db: DatabaseConfig, tuning: DataSourceTuning = {}): DataSourceOptions {
  const common = { entities: entitiesFor(db.kind), migrations: MIGRATIONS, migrationsTableName: 'tinyforge_reconciler_migrations', synchronize: false, logging: false } as const;
  if (db.kind === 'sqlite') {
    return {
      ...common,
      type: 'better-sqlite3',
      database: db.path,
      // WAL: readers never block the writer; NORMAL sync is durable across process crashes.
      prepareDatabase: (conn: SqliteConnection) => {
        conn.pragma('journal_mode = WAL');
        conn.pragma('synchronous = NORMAL');
        conn.pragma('busy_timeout = 5000');
        conn.pragma('foreign_keys = ON');
        // MySQL's CRC32() and BIT_XOR(), so the desired-state fingerprint is one SQL text on both.
        conn.function('crc32', { deterministic: true }, (v) => crc32(v));
        conn.aggregate('bit_xor', { deterministic: true, ...bitXorAggregate });
      },
    };
  }
  return {
    ...common,
    type: 'mysql',
    host: db.host,
    port: db.port,
    username: db.user,
    password: db.password,
    database: db.database,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    connectTimeout: tuning.connectTimeoutMs ?? 10_000,
    poolSize: tuning.poolSize ?? 10,
    supportBigNumbers: true,
    bigNumberStrings: false,
    extra: {
      enableKeepAlive: true,
      keepAliveInitialDelay: 10_000,
      // Bounded: a flood of statements while the database is down fails fast instead of piling up.
      queueLimit: 10_000,
      maxIdle: tuning.poolSize ?? 10,
      idleTimeout: 60_000,
      ...(db.tls.mode === 'DISABLED' ? {} : { ssl: mysqlSsl(db.tls) }),
      ...(db.tls.mode === 'VERIFY_IDENTITY' && [db, ...db.hosts].some((h) => isIP(h.host) !== 0) ? { stream: socketNamingItsAddress } : {}),
    },
  };
}

/**
 * VERIFY_IDENTITY with an IP address for a host: mysql2 sends no TLS server name for an IP, and
 * Node then checks the certificate against the socket's recorded host, which a socket records
 * only after a DNS lookup; for an IP it falls back to "localhost". So a certificate for
 * `DNS:localhost` would pass for 127.0.0.1 and one for `IP:127.0.0.1` would fail. This socket
 * records its IP address, so the check compares the IP with the certificate's IP entries (set
 * when any server of the list is an IP: each gets its own pool, and a name is left as it is).
 * Otherwise what mysql2 does for its own socket: no Nagle delay, keep-alive once connected.
 */
function socketNamingItsAddress(opts: { config: { host: string; port: number; enableKeepAlive?: boolean; keepAliveInitialDelay?: number } }): Socket {
  const { host, port, enableKeepAlive, keepAliveInitialDelay } = opts.config;
  const socket = connect(port, host);
  if (isIP(host) !== 0) (socket as Socket & { _host?: string })._host = host;
  if (enableKeepAlive) socket.once('connect', () => socket.setKeepAlive(true, keepAliveInitialDelay));
  socket.setNoDelay(true);
  return socket;
}

/**
 * mysql2's `ssl` option for a TLS mode (README "Security"). mysql2 (3.x) checks the chain when
 * `rejectUnauthorized` is true and compares the host name with the certificate only when
 * `verifyIdentity` is true; it ignores a `checkServerIdentity` of ours. With neither, a server
 * that offers no TLS fails the handshake ("Server does not support secure connection").
 */
export function mysqlSsl(tls: DatabaseTls): { rejectUnauthorized: boolean; verifyIdentity: boolean; ca?: string; cert?: string; key?: string } {
  const verify = tls.mode === 'VERIFY_CA' || tls.mode === 'VERIFY_IDENTITY';
  return {
    rejectUnauthorized: verify,
    verifyIdentity: tls.mode === 'VERIFY_IDENTITY',
    ...(verify && tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
  };
}

/**
 * Session settings for every new MySQL connection: UTC, strict SQL mode, and a per-statement
 * timeout (MariaDB `max_statement_time`, MySQL `max_execution_time` for SELECTs).
 */
function sessionInitSql(statementTimeoutMs: number): string[] {
  return [
    "SET SESSION time_zone = '+00:00', SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
    `SET SESSION max_statement_time = ${(statementTimeoutMs / 1000).toFixed(3)}`,
  ];
}

/**
 * Builds (does not connect) a DataSource. On MySQL every pooled connection gets the session
 * settings above before its first statement.
 */
export function createDataSource(db: DatabaseConfig, tuning: DataSourceTuning = {}): DataSource {
  if (db.kind === 'sqlite' && db.path !== ':memory:') mkdirSync(dirname(db.path), { recursive: true });
  const ds = new DataSource(dataSourceOptions(db, tuning));
  if (db.kind === 'mysql') {
    const init = sessionInitSql(tuning.statementTimeoutMs ?? 30_000);
    // TypeORM exposes no per-connection init hook: wrap its pool factory to add one.
    const driver = ds.driver as unknown as { createPool(opts: unknown): Promise<unknown>; mysql: { createPool(o: unknown): MysqlPool } };
    driver.createPool = (opts: unknown) => {
      const single = (o: unknown): MysqlPool => {
        const p = driver.mysql.createPool(o);
        p.on('connection', (conn: MysqlConn) => {
          conn.query(init[0]!, () => undefined);
          // MySQL (not MariaDB) has no max_statement_time; ignore that error.
          conn.query(init[1]!, () => undefined);
        });
        return p;
      };
      // Several servers (a Galera cluster): one pool each behind a failover pool that prefers the first.
      const hosts = db.hosts.length > 0 ? db.hosts : [{ host: db.host, port: db.port }];
      const pool: Pick<MysqlPool, 'getConnection' | 'end'> =
        hosts.length === 1
          ? single(opts)
          : new FailoverPool(
              hosts.map((h) => ({ name: `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`, pool: single({ ...(opts as object), host: h.host, port: h.port }) as unknown as NodePool })),
              { ...(tuning.onFailover ? { onSwitch: tuning.onFailover } : {}) },
            );
      return new Promise((ok, fail) => {
        pool.getConnection((err: Error | null, conn?: MysqlConn) => {
          if (err) return pool.end(() => fail(err));
          conn!.release();
          ok(pool);
        });
      });
    };
  }
  return ds;
}

interface MysqlConn {
  query(sql: string, cb: (err: unknown) => void): void;
  release(): void;
}
interface MysqlPool {
  on(ev: 'connection', fn: (c: MysqlConn) => void): void;
  getConnection(cb: (err: Error | null, conn?: MysqlConn) => void): void;
  end(cb: () => void): void;
}

/**
 * Applies pending migrations. On MySQL two locks serialise replicas that start at once, so
 * exactly one applies each migration and the others find it recorded: `GET_LOCK` (per server;
 * what earlier versions take, so they and this one exclude each other on one server) and the
 * cluster-wide row of src/store/migration-lock.ts, which also holds across the nodes of a Galera
 * cluster, where `GET_LOCK` does not.
 */
export async function runMigrations(ds: DataSource, lockOptions: MigrationLockOptions = {}): Promise<string[]> {
  if (ds.options.type !== 'mysql') return (await ds.runMigrations({ transaction: 'each' })).map((m) => m.name);
  // On Galera any statement of the run (the lock row, the migrations table) can lose a
  // certification conflict against a replica on another node: the whole run is retried, which
  // is safe because every migration is idempotent and the applied ones are recorded.
  return withConflictRetry(() => runMigrationsOnce(ds, lockOptions));
}

async function runMigrationsOnce(ds: DataSource, lockOptions: MigrationLockOptions): Promise<string[]> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    const [got] = (await qr.query("SELECT GET_LOCK('tinyforge_reconciler_migrations', 120) AS l")) as Array<{ l: number | null }>;
    if (Number(got?.l) !== 1) throw new Error('could not take the migration lock within 120s (another replica is migrating?)');
    try {
      const lock = new MigrationLock(qr, lockOptions);
      await lock.acquire();
      let applied: string[];
      try {
        applied = (await ds.runMigrations({ transaction: 'none' })).map((m) => m.name);
      } catch (err) {
        await lock.release().catch(() => undefined);
        throw err;
      }
      await lock.release();
      return applied;
    } finally {
      await qr.query("SELECT RELEASE_LOCK('tinyforge_reconciler_migrations')");
    }
  } finally {
    await qr.release();
  }
}
