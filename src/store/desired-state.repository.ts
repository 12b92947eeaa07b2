import type { StackRef, WorkloadRef } from '../domain/types.js';
import type { Database, Dialect } from './database.js';
import { rowChecksumSql } from './sql.js';

export interface DesiredStateSnapshot {
  workloads: WorkloadRef[];
  stacks: StackRef[];
}

/** The columns `load()` reads, per table: exactly what the fingerprint covers. */
const WORKLOAD_COLUMNS = ['`id`', '`kind`', '`ref_id`'];
const STACK_COLUMNS = ['`id`', '`compose_project_name`'];

/** Reads the desired state dispatch needs, whole, in two statements. */
export class DesiredStateRepository {
  private fingerprintSql: string | undefined;

  constructor(private readonly db: Database) {}

  /**
   * A checksum of exactly the columns {@link load} reads, in one statement: per table the row
   * count, the XOR and the sum of a CRC32 of each row's columns. Any change of a read column
   * (including values swapped between rows) changes it; a change of any other column does not.
   * It needs no `updated_at` (Tinyforge's tables have none) and no clock.
   */
  async fingerprint(): Promise<string> {
    this.fingerprintSql ??= fingerprintSql(this.db.dialect);
    const { rows } = await this.db.query<Record<string, unknown>>(this.fingerprintSql);
    const r = rows[0] ?? {};
    return [r.wn, r.wx, r.ws, r.sn, r.sx, r.ss].map((v) => (v === null || v === undefined ? '' : String(v))).join('|');
  }

  async load(): Promise<DesiredStateSnapshot> {
    const [w, s] = await Promise.all([
      this.db.query<{ id: string; kind: string; ref_id: string }>('SELECT `id`, `kind`, `ref_id` FROM `workloads`'),
      this.db.query<{ id: string; compose_project_name: string }>('SELECT `id`, `compose_project_name` FROM `stacks`'),
    ]);
    return {
      workloads: w.rows.map((r) => ({ id: r.id, kind: r.kind, refId: r.ref_id })),
      stacks: s.rows.map((r) => ({ id: r.id, composeProjectName: r.compose_project_name })),
    };
  }
}

/** The fingerprint statement: one scan of each table, no collation involved (bytes only). */
export function fingerprintSql(dialect: Dialect): string {
  const part = (table: string, columns: string[], p: string) => {
    const h = rowChecksumSql(dialect, columns);
    return `(SELECT COUNT(*) AS \`${p}n\`, BIT_XOR(${h}) AS \`${p}x\`, SUM(${h}) AS \`${p}s\` FROM \`${table}\`) ${p}`;
  };
  return `SELECT w.\`wn\`, w.\`wx\`, w.\`ws\`, s.\`sn\`, s.\`sx\`, s.\`ss\` FROM ${part('workloads', WORKLOAD_COLUMNS, 'w')} CROSS JOIN ${part('stacks', STACK_COLUMNS, 's')}`;
}
