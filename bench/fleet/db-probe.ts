/**
 * What the database did in a window, measured on the server: MariaDB's global status counters
 * (statements; rows from `Rows_read` and `Handler_*`, MariaDB 10.11 has no `Innodb_rows_*`), the
 * server-side statement latency histogram of the QUERY_RESPONSE_TIME plugin (shipped with
 * MariaDB, loaded at run time, buckets at powers of 2), mariadbd's CPU from /proc, and the leases
 * table. The probe's own statements are counted and subtracted.
 */
import { readFileSync } from 'node:fs';
import { createConnection, type Connection } from 'mysql2/promise';
import type { MariaDbServer } from '../../spec/support/mariadb.js';

const STATUS_KEYS = [
  'Questions',
  'Com_select',
  'Com_insert',
  'Com_update',
  'Com_delete',
  'Com_set_option',
  'Rows_read',
  'Rows_sent',
  'Handler_write',
  'Handler_update',
  'Handler_delete',
  'Innodb_data_fsyncs',
  'Innodb_row_lock_waits',
  'Innodb_row_lock_time',
  'Innodb_deadlocks',
  'Innodb_os_log_written',
  'Threads_connected',
  'Threads_running',
  'Max_used_connections',
  'Aborted_clients',
  'Aborted_connects',
  'Connections',
] as const;
export type StatusKey = (typeof STATUS_KEYS)[number];

export interface ServerSnapshot {
  at: number;
  status: Record<StatusKey, number>;
  /** Statements this probe had sent before the snapshot (subtracted from Questions). */
  own: number;
  /** Of which SELECTs (subtracted from Com_select). */
  ownSelects: number;
  /** mariadbd utime + stime, clock ticks. */
  cpuTicks: number;
  /** The whole machine: busy and total jiffies (/proc/stat). */
  machine: { busy: number; total: number };
  leases: Map<string, { holder: string; transitions: number }>;
}

export interface ServerWindow {
  seconds: number;
  statements: number;
  com: { select: number; insert: number; update: number; delete: number; other: number };
  /** Rows read (`Rows_read`: row reads by the storage engines, temporary tables excluded), sent to clients, and written (`Handler_write` / `_update` / `_delete`). */
  rows: { read: number; sent: number; inserted: number; updated: number; deleted: number };
  fsyncs: number;
  redoBytes: number;
  /** InnoDB row lock waits, their total time (ms) and deadlocks in the window. */
  locks: { waits: number; waitMs: number; deadlocks: number };
  /** Server-side statement latency (QUERY_RESPONSE_TIME): p50 / p99 as bucket upper bounds, ms. */
  latency: { n: number; p50Ms: number; p99Ms: number; p999Ms: number; buckets: Array<{ leMs: number; count: number }> };
  /** mariadbd CPU as % of one core. */
  mariadbCpuPct: number;
  /** The whole machine's CPU busy, % of all cores. */
  machineCpuPct: number;
  threadsConnected: number;
  maxUsedConnections: number;
  abortedClients: number;
  leases: { transitions: number; holderChanges: number; held: number };
}

const CLK_TCK = 100;

function procCpuTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
  } catch {
    return NaN;
  }
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = line.reduce((a, b) => a + b, 0);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  return { busy: total - idle, total };
}

export class DbProbe {
  private own = 0;
  private ownSelects = 0;
  private hasQrt = false;

  private constructor(
    private readonly conn: Connection,
    private readonly server: MariaDbServer,
  ) {}

  static async open(server: MariaDbServer): Promise<DbProbe> {
    return new DbProbe(await createConnection(server.connectionOptions()), server);
  }

  private async q<T = Record<string, unknown>>(sql: string, select = false): Promise<T[]> {
    this.own++;
    if (select) this.ownSelects++;
    const [rows] = await this.conn.query(sql);
    return rows as T[];
  }

  /** Loads the QUERY_RESPONSE_TIME plugin (powers-of-2 buckets); false if this server lacks it. */
  async enableLatencyHistogram(): Promise<boolean> {
    try {
      const have = await this.q<{ n: number }>("SELECT COUNT(*) AS n FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'QUERY_RESPONSE_TIME' AND PLUGIN_STATUS = 'ACTIVE'", true);
      if (Number(have[0]?.n) === 0) await this.q("INSTALL SONAME 'query_response_time'");
      await this.q('SET GLOBAL query_response_time_stats = ON, GLOBAL query_response_time_range_base = 2');
      await this.q('SET GLOBAL query_response_time_flush = 1');
      this.hasQrt = true;
    } catch {
      this.hasQrt = false;
    }
    return this.hasQrt;
  }

  /** Resets the server-side latency histogram (start of a window). */
  async resetLatency(): Promise<void> {
    if (this.hasQrt) await this.q('SET GLOBAL query_response_time_flush = 1');
  }

  async snapshot(leaseDb?: string): Promise<ServerSnapshot> {
    const rows = await this.q<{ Variable_name: string; Value: string }>(`SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS_KEYS.map((k) => `'${k}'`).join(',')})`);
    const status = Object.fromEntries(STATUS_KEYS.map((k) => [k, 0])) as Record<StatusKey, number>;
    for (const r of rows) if ((STATUS_KEYS as readonly string[]).includes(r.Variable_name)) status[r.Variable_name as StatusKey] = Number(r.Value);
    const leases = new Map<string, { holder: string; transitions: number }>();
    if (leaseDb) {
      const ls = await this.q<{ name: string; holder: string; transitions: number }>(`SELECT \`name\`, \`holder\`, \`transitions\` FROM \`${leaseDb}\`.\`leases\``, true);
      for (const l of ls) leases.set(l.name, { holder: l.holder, transitions: Number(l.transitions) });
    }
    // `own` as of now includes the statements above; the SHOW that read Questions counted itself.
    return { at: performance.now(), status, own: this.own, ownSelects: this.ownSelects, cpuTicks: procCpuTicks(this.server.pid), machine: machineTicks(), leases };
  }

  private async latency(): Promise<ServerWindow['latency']> {
    if (!this.hasQrt) return { n: 0, p50Ms: NaN, p99Ms: NaN, p999Ms: NaN, buckets: [] };
    const rows = await this.q<{ TIME: string; COUNT: number }>('SELECT `TIME`, `COUNT` FROM information_schema.QUERY_RESPONSE_TIME', true);
    const buckets = rows
      .map((r) => ({ leMs: r.TIME.trim() === 'TOO LONG' ? Infinity : Number(r.TIME) * 1000, count: Number(r.COUNT) }))
      .filter((b) => b.count > 0)
      .sort((a, b) => a.leMs - b.leMs);
    const n = buckets.reduce((a, b) => a + b.count, 0);
    const at = (p: number) => {
      const rank = Math.max(1, Math.ceil((p / 100) * n));
      let seen = 0;
      for (const b of buckets) {
        seen += b.count;
        if (seen >= rank) return b.leMs;
      }
      return NaN;
    };
    return { n, p50Ms: n ? at(50) : NaN, p99Ms: n ? at(99) : NaN, p999Ms: n ? at(99.9) : NaN, buckets };
  }

  /** The window from `a` to now (reads the latency histogram and a closing snapshot). */
  async windowSince(a: ServerSnapshot, leaseDb?: string): Promise<ServerWindow> {
    const latency = await this.latency();
    const b = await this.snapshot(leaseDb);
    const d = (k: StatusKey) => b.status[k] - a.status[k];
    const seconds = (b.at - a.at) / 1000;
    // Statements of this probe between the two readings: those after `a` was taken up to and
    // including the SHOW of `b` (the SHOW of `a` counted itself in `a`).
    const own = b.own - a.own;
    const ownSelects = b.ownSelects - a.ownSelects;
    let transitions = 0;
    let holderChanges = 0;
    for (const [name, l] of b.leases) {
      const before = a.leases.get(name);
      if (!before) continue;
      transitions += l.transitions - before.transitions;
      if (before.holder !== l.holder) holderChanges++;
    }
    const select = d('Com_select') - ownSelects;
    const insert = d('Com_insert');
    const update = d('Com_update');
    const del = d('Com_delete');
    const statements = d('Questions') - own;
    const mt = { busy: b.machine.busy - a.machine.busy, total: b.machine.total - a.machine.total };
    return {
      seconds,
      statements,
      com: { select, insert, update, delete: del, other: Math.max(0, statements - select - insert - update - del) },
      // The probe's own read of the leases table at `a` falls in the window (the one at `b` does not).
      rows: { read: d('Rows_read') - a.leases.size, sent: d('Rows_sent'), inserted: d('Handler_write'), updated: d('Handler_update'), deleted: d('Handler_delete') },
      fsyncs: d('Innodb_data_fsyncs'),
      locks: { waits: d('Innodb_row_lock_waits'), waitMs: d('Innodb_row_lock_time'), deadlocks: d('Innodb_deadlocks') },
      redoBytes: d('Innodb_os_log_written'),
      latency,
      mariadbCpuPct: ((b.cpuTicks - a.cpuTicks) / CLK_TCK / seconds) * 100,
      machineCpuPct: mt.total > 0 ? (mt.busy / mt.total) * 100 : NaN,
      threadsConnected: b.status.Threads_connected,
      maxUsedConnections: b.status.Max_used_connections,
      abortedClients: d('Aborted_clients'),
      leases: { transitions, holderChanges, held: [...b.leases.values()].filter((l) => l.holder !== '').length },
    };
  }

  close(): Promise<void> {
    return this.conn.end();
  }
}
