import type { StackRef, WorkloadRef } from '../controller/dispatch.js';
import type { Database } from './database.js';

export interface DesiredStateSnapshot {
  workloads: WorkloadRef[];
  stacks: StackRef[];
}

/** Reads the desired state dispatch needs, whole, in two statements. */
export class DesiredStateRepository {
  constructor(private readonly db: Database) {}

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
