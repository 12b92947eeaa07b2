import { COLUMN_LENGTHS } from '../domain/columns.js';
import { clip } from '../domain/text.js';
import { formatDbTime, parseDbTime, type Database } from './database.js';

const L = COLUMN_LENGTHS.hosts;

/** What an agent reports at the end of a pass. */
export interface Heartbeat {
  host: string;
  agent: string;
  version: string;
  /** When the agent started (database clock, ms). */
  startedAt: number;
  ok: boolean;
  /** Why the pass failed (ignored when ok). */
  error?: string;
  /** Containers listed and bound rows after the pass (kept as they were when the pass failed). */
  containers: number;
  boundRows: number;
  intervalMs: number;
  lastSeenMaxAgeMs: number;
}

/** A `hosts` row as read back (times: database clock, ms). */
export interface HostRecord {
  host: string;
  agent: string;
  version: string;
  startedAt: number | null;
  heartbeatAt: number | null;
  lastSuccessAt: number | null;
  lastError: string;
  containers: number;
  boundRows: number;
  passes: number;
  intervalMs: number;
  lastSeenMaxAgeMs: number;
}

const COLUMNS = ['host', 'agent', 'version', 'started_at', 'heartbeat_at', 'last_success_at', 'last_error', 'containers', 'bound_rows', 'passes', 'interval_ms', 'last_seen_max_age_ms'];

/**
 * The `hosts` heartbeat: one row per host, one statement per pass whatever the number of
 * containers. `heartbeat_at` and `last_success_at` are the database's clock, so readers compare
 * them with the same clock (`UTC_TIMESTAMP(3) - heartbeat_at`), never with their own.
 */
export class HostsRepository {
  constructor(private readonly db: Pick<Database, 'query' | 'dialect' | 'nowSql'>) {}

  async heartbeat(b: Heartbeat): Promise<void> {
    const now = this.db.nowSql();
    const ok = b.ok ? 1 : 0;
    const error = b.ok ? '' : clip(b.error ?? 'pass failed', L.lastError);
    const params = [clip(b.host, L.host), clip(b.agent, L.agent), clip(b.version, L.version), formatDbTime(b.startedAt), error, b.containers, b.boundRows, b.intervalMs, b.lastSeenMaxAgeMs];
    const values = `(?, ?, ?, ?, ${now}, ${b.ok ? now : 'NULL'}, ?, ?, ?, 1, ?, ?)`;
    const cols = COLUMNS.map((c) => `\`${c}\``).join(', ');
    if (this.db.dialect === 'mysql') {
      const keep = (c: string) => (ok ? `VALUES(\`${c}\`)` : `\`${c}\``);
      await this.db.query(
        `INSERT INTO \`hosts\` (${cols}) VALUES ${values} ON DUPLICATE KEY UPDATE ` +
          '`agent` = VALUES(`agent`), `version` = VALUES(`version`), `started_at` = VALUES(`started_at`), `heartbeat_at` = VALUES(`heartbeat_at`), ' +
          `\`last_success_at\` = ${keep('last_success_at')}, \`last_error\` = VALUES(\`last_error\`), \`containers\` = ${keep('containers')}, \`bound_rows\` = ${keep('bound_rows')}, ` +
          '`passes` = `passes` + 1, `interval_ms` = VALUES(`interval_ms`), `last_seen_max_age_ms` = VALUES(`last_seen_max_age_ms`)',
        params,
      );
      return;
    }
    const keep = (c: string) => (ok ? `excluded.\`${c}\`` : `\`hosts\`.\`${c}\``);
    await this.db.query(
      `INSERT INTO \`hosts\` (${cols}) VALUES ${values} ON CONFLICT(\`host\`) DO UPDATE SET ` +
        '`agent` = excluded.`agent`, `version` = excluded.`version`, `started_at` = excluded.`started_at`, `heartbeat_at` = excluded.`heartbeat_at`, ' +
        `\`last_success_at\` = ${keep('last_success_at')}, \`last_error\` = excluded.\`last_error\`, \`containers\` = ${keep('containers')}, \`bound_rows\` = ${keep('bound_rows')}, ` +
        '`passes` = `hosts`.`passes` + 1, `interval_ms` = excluded.`interval_ms`, `last_seen_max_age_ms` = excluded.`last_seen_max_age_ms`',
      params,
    );
  }

  /** Every host's heartbeat, by host. */
  async list(): Promise<HostRecord[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(`SELECT ${COLUMNS.map((c) => `\`${c}\``).join(', ')} FROM \`hosts\` ORDER BY \`host\``);
    return rows.map((r) => ({
      host: String(r.host),
      agent: String(r.agent),
      version: String(r.version),
      startedAt: parseDbTime(r.started_at) ?? null,
      heartbeatAt: parseDbTime(r.heartbeat_at) ?? null,
      lastSuccessAt: parseDbTime(r.last_success_at) ?? null,
      lastError: String(r.last_error),
      containers: Number(r.containers),
      boundRows: Number(r.bound_rows),
      passes: Number(r.passes),
      intervalMs: Number(r.interval_ms),
      lastSeenMaxAgeMs: Number(r.last_seen_max_age_ms),
    }));
  }
}
