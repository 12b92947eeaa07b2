import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowChange } from '../../src/domain/changes.js';
import type { RowState } from '../../src/domain/types.js';
import type { Phase } from '../../src/status/phase.js';
import type { Database, QueryOutcome } from '../../src/store/database.js';
import type { Queryable } from '../../src/store/status.repository.js';
import { sharedMariaDb } from '../support/mariadb.js';

/** A database to run the same spec against. */
export interface DbTarget {
  name: string;
  url: () => Promise<string>;
}

let sqliteDir: string | undefined;
export const DB_TARGETS: DbTarget[] = [
  {
    name: 'SQLite',
    url: async () => {
      sqliteDir ??= mkdtempSync(join(tmpdir(), 'tf-status-'));
      return `sqlite:${join(sqliteDir, `s${Math.random().toString(36).slice(2)}.db`)}`;
    },
  },
  { name: 'MariaDB', url: async () => (await sharedMariaDb()).createDatabase('status') },
];

/**
 * A recording wrapper around the real database: every statement is logged, and the next
 * statement matching `failNext` throws once (an outage seen by one statement).
 */
export class RecordingDb implements Queryable {
  statements: string[] = [];
  failNext: RegExp | undefined;

  constructor(private readonly db: Database) {}

  get dialect() {
    return this.db.dialect;
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<QueryOutcome<T>> {
    this.statements.push(sql);
    if (this.failNext?.test(sql)) {
      this.failNext = undefined;
      throw new Error('injected failure');
    }
    return this.db.query<T>(sql, params);
  }

  /** Statements since the last call, as short labels (`INSERT container_events`, ...). */
  take(): string[] {
    const out = this.statements.map(label);
    this.statements = [];
    return out;
  }
}

function label(sql: string): string {
  const verb = sql.trim().split(/\s+/)[0]!.toUpperCase();
  const table = /(?:INTO|FROM|UPDATE)\s+`([a-z_]+)`/i.exec(sql)?.[1] ?? '?';
  return `${verb} ${table}`;
}

/** Records every gauge value set, like `tinyforge_reconciler_workloads{phase}`. */
export class RecordingGauge {
  values: Record<string, number> = {};
  set(labels: { phase: Phase }, value: number): void {
    this.values[labels.phase] = value;
  }
}

/** Applies a state change to a real row and returns the RowChange the controller would report. */
export async function transition(db: Database, rowId: string, workloadId: string, from: RowState | null, to: RowState, reason: RowChange['reason'] = 'observed', at = Date.now()): Promise<RowChange> {
  await db.query('UPDATE `containers` SET `state` = ? WHERE `id` = ?', [to, rowId]);
  return { rowId, workloadId, from, to, at, reason };
}

export async function insertWorkloads(db: Database, ids: string[], kind = 'project'): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`INSERT INTO \`workloads\` (\`id\`, \`kind\`, \`ref_id\`, \`name\`) VALUES ${ids.map(() => '(?,?,?,?)').join(',')}`, ids.flatMap((id) => [id, kind, `ref-${id}`, id]));
}

/** Inserts container rows: `[rowId, workloadId, state, containerId]` (container '' = unbound slot). */
export async function insertRows(db: Database, rows: Array<[string, string, string, string]>, host = 'h1'): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO \`containers\` (\`id\`, \`workload_id\`, \`workload_kind\`, \`role\`, \`container_id\`, \`host\`, \`state\`) VALUES ${rows.map(() => '(?,?,?,?,?,?,?)').join(',')}`,
    rows.flatMap(([id, wl, state, cid]) => [id, wl, 'project', id.split(':')[1] ?? '', cid, host, state]),
  );
}

/** A `container_refusals` row as the specs write it (the lead's writer is not needed to read them). */
export interface RefusalRow {
  host?: string;
  containerId: string;
  containerName?: string;
  dispatch?: string;
  reason: string;
  workloadId?: string;
  rowId?: string;
  detail?: string;
}

export async function insertRefusals(db: Pick<Database, 'query'>, rows: RefusalRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO \`container_refusals\` (\`host\`, \`container_id\`, \`container_name\`, \`dispatch\`, \`reason\`, \`workload_id\`, \`row_id\`, \`detail\`) VALUES ${rows.map(() => '(?,?,?,?,?,?,?,?)').join(',')}`,
    rows.flatMap((r) => [r.host ?? 'h1', r.containerId, r.containerName ?? '', r.dispatch ?? 'workload', r.reason, r.workloadId ?? '', r.rowId ?? '', r.detail ?? '']),
  );
}
