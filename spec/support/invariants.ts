/**
 * The global invariant of the `containers` table against the daemons' real containers, and a
 * database session of "another program" (Tinyforge itself, its deployer) that reads and writes
 * either database the way such a program would.
 *
 *   const s = await OtherSession.open(url);              // sqlite:/path or mysql://...
 *   const problems = checkInvariants(await readContainerRows(s), { local: await engineContainerIds(docker.dockerHost) });
 *
 * Written out here on purpose rather than taken from src/: a test must not agree with the code
 * because it is the code.
 */
import * as http from 'node:http';
import Sqlite from 'better-sqlite3';
import { createConnection, type Connection } from 'mysql2/promise';
import { rowStateOf as truthRowStateOf, type DbRow } from './truth.js';

/** A `containers` row as another program reads it; times in ms since the epoch (read as UTC). */
export interface ContainerRow extends DbRow {
  last_seen_at: number | null;
  created_at: number | null;
  updated_at: number | null;
  /** The raw `updated_at` text as stored (server-zone values of other sessions stay visible). */
  updated_at_raw: string | null;
}

/** Container IDs that exist (any state) per `host` column value. */
export type LiveContainers = ReadonlyMap<string, ReadonlySet<string>> | Readonly<Record<string, Iterable<string>>>;

function toMap(live: LiveContainers): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const entries = live instanceof Map ? [...live.entries()] : Object.entries(live as Record<string, Iterable<string>>);
  for (const [host, ids] of entries) out.set(host, new Set(ids as Iterable<string>));
  return out;
}

const short = (id: string) => (id === '' ? '(none)' : id.slice(0, 12));

/**
 * The global invariant, as human-readable problems (empty = holds):
 * - no container has two live rows: no two rows with a non-empty `container_id` and a state other
 *   than `missing` name the same container;
 * - no live row names a container that no daemon has; a live row of a host whose daemon is in
 *   `liveContainerIdsByHost` must name a container of that daemon (not of another host's).
 */
export function checkInvariants(rows: ReadonlyArray<Pick<ContainerRow, 'id' | 'container_id' | 'state' | 'host'>>, liveContainerIdsByHost: LiveContainers): string[] {
  const problems: string[] = [];
  const byHost = toMap(liveContainerIdsByHost);
  const everywhere = new Set<string>();
  for (const ids of byHost.values()) for (const id of ids) everywhere.add(id);

  const liveRowsByContainer = new Map<string, string[]>();
  for (const r of rows) {
    if (r.container_id === '' || r.state === 'missing') continue;
    const list = liveRowsByContainer.get(r.container_id) ?? [];
    list.push(`${JSON.stringify(r.id)} (host ${JSON.stringify(r.host)}, ${r.state})`);
    liveRowsByContainer.set(r.container_id, list);
    if (!everywhere.has(r.container_id)) {
      problems.push(`live row ${JSON.stringify(r.id)} (host ${JSON.stringify(r.host)}, state ${r.state}) names container ${short(r.container_id)}, which no daemon has`);
      continue;
    }
    const own = byHost.get(r.host);
    if (own && !own.has(r.container_id)) {
      const where = [...byHost.entries()].filter(([, ids]) => ids.has(r.container_id)).map(([h]) => JSON.stringify(h));
      problems.push(`live row ${JSON.stringify(r.id)} of host ${JSON.stringify(r.host)} names container ${short(r.container_id)}, which only host ${where.join(', ')} has`);
    }
  }
  for (const [cid, list] of liveRowsByContainer) {
    if (list.length > 1) problems.push(`container ${short(cid)} has ${list.length} live rows: ${list.join(', ')}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Another program's database session
// ---------------------------------------------------------------------------------------------

/**
 * "Another program" on the database: on MySQL/MariaDB a plain mysql2 connection that never sets
 * `time_zone` (so `CURRENT_TIMESTAMP` and `NOW()` are in the server's zone, as in Tinyforge's
 * own sessions) and reads datetimes as the raw text stored; on SQLite its own better-sqlite3
 * connection to the same file.
 */
export class OtherSession {
  private constructor(
    readonly dialect: 'mysql' | 'sqlite',
    private readonly mysql: Connection | undefined,
    private readonly sqlite: Sqlite.Database | undefined,
  ) {}

  /** `url`: `sqlite:/path/to/file.db` or `mysql://user:pass@host:port/db` (a DATABASE_URL). */
  static async open(url: string): Promise<OtherSession> {
    if (url.startsWith('sqlite:')) {
      const db = new Sqlite(url.slice('sqlite:'.length));
      db.pragma('busy_timeout = 10000');
      return new OtherSession('sqlite', undefined, db);
    }
    const u = new URL(url);
    const conn = await createConnection({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.slice(1)),
      dateStrings: true,
      multipleStatements: true,
      charset: 'utf8mb4_unicode_ci',
      connectTimeout: 10_000,
    });
    return new OtherSession('mysql', conn, undefined);
  }

  /** Rows of a SELECT. Use `?` placeholders on both databases. */
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (this.sqlite) return this.sqlite.prepare(sql).all(...(params as unknown[])) as T[];
    const [rows] = await this.mysql!.query(sql, params);
    return rows as T[];
  }

  /** One write statement; returns the affected row count. */
  async run(sql: string, params: unknown[] = []): Promise<number> {
    if (this.sqlite) return this.sqlite.prepare(sql).run(...(params as unknown[])).changes;
    const [res] = await this.mysql!.query(sql, params);
    return (res as { affectedRows?: number }).affectedRows ?? 0;
  }

  /** Several statements without parameters (a schema script). */
  async exec(sql: string): Promise<void> {
    if (this.sqlite) this.sqlite.exec(sql);
    else await this.mysql!.query(sql);
  }

  /** The database's own UTC clock, ms (MariaDB `UTC_TIMESTAMP(3)`; SQLite `strftime('now')` in this process). */
  async nowUtc(): Promise<number> {
    const sql = this.dialect === 'sqlite' ? "SELECT strftime('%Y-%m-%d %H:%M:%f','now') AS now" : 'SELECT UTC_TIMESTAMP(3) AS now';
    const [r] = await this.query<{ now: string }>(sql);
    return parseUtcText(r!.now)!;
  }

  /** The server's zone as this session sees it (`@@session.time_zone`; 'UTC' on SQLite). */
  async timeZone(): Promise<{ zone: string; offsetMinutes: number }> {
    if (this.dialect === 'sqlite') return { zone: 'UTC', offsetMinutes: 0 };
    const [r] = await this.query<{ zone: string; off: number | string }>('SELECT @@session.time_zone AS zone, TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW()) AS off');
    return { zone: r!.zone, offsetMinutes: Number(r!.off) };
  }

  /** SQL for "now" as another program writes it (server zone on MySQL, UTC text on SQLite). */
  nowSql(): string {
    return this.dialect === 'sqlite' ? 'CURRENT_TIMESTAMP' : 'CURRENT_TIMESTAMP(3)';
  }

  async close(): Promise<void> {
    if (this.sqlite) this.sqlite.close();
    if (this.mysql) await this.mysql.end().catch(() => this.mysql!.destroy());
  }
}

/** `YYYY-MM-DD HH:MM:SS[.fff]` (or a Date) read as UTC -> ms; null for null. */
export function parseUtcText(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  const s = String(v).trim();
  const ms = Date.parse(s.includes('T') ? (/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`) : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? null : ms;
}

/** Every `containers` row (optionally of one host), ordered by ID, through `session`. */
export async function readContainerRows(session: OtherSession, host?: string): Promise<ContainerRow[]> {
  const raw = await session.query<Record<string, unknown>>(
    'SELECT id, workload_id, workload_kind, role, container_id, image_ref, host, state, port, last_seen_at, created_at, updated_at FROM containers' +
      (host === undefined ? '' : ' WHERE host = ?') +
      ' ORDER BY id',
    host === undefined ? [] : [host],
  );
  const rows = raw.map((r) => ({
    id: String(r.id),
    workload_id: String(r.workload_id ?? ''),
    workload_kind: String(r.workload_kind ?? ''),
    role: String(r.role ?? ''),
    container_id: String(r.container_id ?? ''),
    image_ref: String(r.image_ref ?? ''),
    host: String(r.host ?? ''),
    state: String(r.state ?? ''),
    port: Number(r.port ?? 0),
    last_seen_at: parseUtcText(r.last_seen_at),
    created_at: parseUtcText(r.created_at),
    updated_at: parseUtcText(r.updated_at),
    updated_at_raw: r.updated_at === null || r.updated_at === undefined ? null : String(r.updated_at),
  }));
  // Byte order on both databases (MariaDB's ORDER BY follows the column collation).
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// What the daemons really have
// ---------------------------------------------------------------------------------------------

/** One Engine API GET over `unix://` or `tcp://`, JSON answer. Works for dockerd and Podman's compat API. */
export function engineGet<T = unknown>(dockerHost: string, pathname: string, timeoutMs = 10_000): Promise<T> {
  const target = dockerHost.startsWith('unix://') ? { socketPath: dockerHost.slice('unix://'.length) } : (() => {
    const u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port) };
  })();
  return new Promise<T>((resolve, reject) => {
    const req = http.request({ ...target, path: pathname, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) return reject(new Error(`GET ${pathname} on ${dockerHost}: ${res.statusCode} ${body.slice(0, 300)}`));
        try {
          resolve(JSON.parse(body) as T);
        } catch (e) {
          reject(new Error(`GET ${pathname} on ${dockerHost}: not JSON: ${String(e)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${pathname} on ${dockerHost} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Every container the daemon has, in any state (`GET /containers/json?all=1`): full IDs. */
export async function engineContainerIds(dockerHost: string): Promise<Set<string>> {
  const list = await engineGet<Array<{ Id: string }>>(dockerHost, '/containers/json?all=1');
  return new Set(list.map((c) => c.Id));
}

/** The daemon's state of one container (`running`, `exited`, ...), or undefined when it does not exist. */
export async function engineState(dockerHost: string, id: string): Promise<string | undefined> {
  try {
    const d = await engineGet<{ State?: { Status?: string } }>(dockerHost, `/containers/${encodeURIComponent(id)}/json`);
    return d.State?.Status;
  } catch (e) {
    if (/: 404 /.test(String(e))) return undefined;
    throw e;
  }
}

/** Docker state -> row state (`exited`, `dead` -> `stopped`), as normalizeState in src/domain/dispatch.ts fixes it (docs/architecture.md, "Invariants"). */
export function rowStateOf(dockerState: string | undefined): string {
  if (dockerState === undefined) return 'missing';
  return truthRowStateOf(dockerState) ?? dockerState.toLowerCase();
}
