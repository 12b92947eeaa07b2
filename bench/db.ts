/** Database helpers for the benchmarks: schema, desired-state seeding, statement counting. */
import { createConnection, type Connection } from 'mysql2/promise';
import type { MariaDbServer } from '../spec/support/mariadb.js';
import { loadConfig } from '../src/config.js';
import { Database } from '../src/store/database.js';
import { desiredRows } from './fleet.js';

/** A fresh database with the service's schema (its own migrations), so baseline and service write the same table. */
export async function createSchema(server: MariaDbServer, prefix: string): Promise<{ url: string; name: string }> {
  const url = await server.createDatabase(prefix);
  const db = await Database.connect(loadConfig({ DATABASE_URL: url }).database, { poolSize: 2 });
  try {
    await db.migrate();
  } finally {
    await db.close();
  }
  return { url, name: decodeURIComponent(new URL(url).pathname.slice(1)) };
}

export async function dropDatabase(server: MariaDbServer, name: string): Promise<void> {
  await server.query(`DROP DATABASE IF EXISTS \`${name}\``);
}

async function insertChunks(conn: Connection, sqlHead: string, rows: unknown[][], chunk = 5000): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    await conn.query(`${sqlHead} VALUES ?`, [part]);
  }
}

/** Inserts the workloads and stacks that make fleet containers [0, upTo) resolvable. */
export async function seedDesired(server: MariaDbServer, dbName: string, upTo: number): Promise<{ workloads: number; stacks: number }> {
  const d = desiredRows(0, upTo);
  const conn = await createConnection(server.connectionOptions(dbName));
  try {
    await insertChunks(conn, 'INSERT INTO workloads (id, kind, ref_id, name)', d.workloads);
    await insertChunks(conn, 'INSERT INTO stacks (id, name, compose_project_name)', d.stacks);
  } finally {
    await conn.end();
  }
  return { workloads: d.workloads.length, stacks: d.stacks.length };
}

/**
 * Counts statements the server executed (MariaDB's global `Questions`), on a dedicated
 * connection; the reading statement itself is subtracted (calibrated at open).
 */
export class StatementCounter {
  private overhead = 1;
  private constructor(private readonly conn: Connection) {}

  static async open(server: MariaDbServer): Promise<StatementCounter> {
    const c = new StatementCounter(await createConnection(server.connectionOptions()));
    const a = await c.raw();
    const b = await c.raw();
    const d = await c.raw();
    c.overhead = Math.min(b - a, d - b);
    return c;
  }

  private async raw(): Promise<number> {
    const [rows] = await this.conn.query("SHOW GLOBAL STATUS LIKE 'Questions'");
    return Number((rows as Array<{ Value: string }>)[0]!.Value);
  }

  /** A reading; `since(mark)` gives the statements executed by others in between. */
  async mark(): Promise<number> {
    return this.raw();
  }

  async since(mark: number): Promise<number> {
    const now = await this.raw();
    return now - mark - this.overhead;
  }

  get readOverhead(): number {
    return this.overhead;
  }

  close(): Promise<void> {
    return this.conn.end();
  }
}

/**
 * The reference for the cold pass: one multi-row INSERT ... ON DUPLICATE KEY UPDATE of `rows`
 * into an empty `containers` table (statements of at most `maxRows` rows: 10,000 fits MariaDB's
 * default 16 MB packet). Returns ms and the number of statements.
 */
export async function bulkUpsert(server: MariaDbServer, dbName: string, rows: unknown[][], maxRows = 10_000): Promise<{ ms: number; statements: number }> {
  const conn = await createConnection(server.connectionOptions(dbName));
  try {
    const seen = new Date().toISOString().replace('T', ' ').slice(0, 23);
    const cols = ['id', 'workload_id', 'workload_kind', 'role', 'container_id', 'image_ref', 'host', 'state', 'port', 'last_seen_at'];
    const upd = cols.slice(1).map((c) => `\`${c}\` = VALUES(\`${c}\`)`).join(', ');
    const t = performance.now();
    let statements = 0;
    for (let i = 0; i < rows.length; i += maxRows) {
      const part = rows.slice(i, i + maxRows);
      const tuple = `(${cols.map(() => '?').join(',')})`;
      const params: unknown[] = [];
      for (const r of part) params.push(...r, seen);
      await conn.query(`INSERT INTO containers (${cols.map((c) => `\`${c}\``).join(', ')}) VALUES ${part.map(() => tuple).join(',')} ON DUPLICATE KEY UPDATE ${upd}`, params);
      statements++;
    }
    return { ms: performance.now() - t, statements };
  } finally {
    await conn.end();
  }
}
