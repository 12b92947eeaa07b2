import type { StackRef, WorkloadRef } from '../controller/dispatch.js';
import { parseDbTime, type Database } from './database.js';

export interface DesiredStateSnapshot {
  workloads: WorkloadRef[];
  stacks: StackRef[];
}

/** Reads the desired state dispatch needs, whole, in two statements. */
export class DesiredStateRepository {
  constructor(private readonly db: Database) {}

  /** Row counts and latest change times of both tables, in one statement. */
  async fingerprint(): Promise<string> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      'SELECT (SELECT COUNT(*) FROM `workloads`) AS wn, (SELECT MAX(`updated_at`) FROM `workloads`) AS wm, (SELECT COUNT(*) FROM `stacks`) AS sn, (SELECT MAX(`updated_at`) FROM `stacks`) AS sm',
    );
    const r = rows[0] ?? {};
    return [r.wn, parseDbTime(r.wm), r.sn, parseDbTime(r.sm)].map(String).join('|');
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
