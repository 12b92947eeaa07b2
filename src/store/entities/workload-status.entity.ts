import { EntitySchema, type EntitySchemaColumnOptions } from 'typeorm';
import { COLUMN_LENGTHS } from '../../domain/columns.js';
import { COUNT_KEYS } from '../../status/phase.js';
import type { Dialect } from '../database.js';
import { int, text, timestamp, varchar } from './columns.js';

const L = COLUMN_LENGTHS.workloadStatus;

/** A `workload_status` row. */
export type WorkloadStatusEntityRow = {
  workloadId: string;
  /** `Pending | Running | Degraded | Stopped | Missing` */
  phase: string;
  /** JSON array of `{type, status, reason, message, lastTransitionTime}`. */
  conditions: string;
  /** Incremented by every recomputation that changed what a reader sees. */
  observedGeneration: number;
  observedAt: Date;
} & Record<`${(typeof COUNT_KEYS)[number]}Count`, number>;

/**
 * `workload_status`: one `<key>_count` column per key of `StatusCounts` (src/status/phase.ts),
 * and the status this service derives per workload (phase, counts by state,
 * conditions, when it was computed). Owned by the reconciler; written by
 * `StatusRepository.upsertStatuses`, one multi-row statement per batch.
 */
export function workloadStatusEntity(dialect: Dialect): EntitySchema<WorkloadStatusEntityRow> {
  const counts: Record<string, EntitySchemaColumnOptions> = Object.fromEntries(COUNT_KEYS.map((k) => [`${k}Count`, int(`${k}_count`, 0)]));
  return new EntitySchema<WorkloadStatusEntityRow>({
    name: 'WorkloadStatusEntity',
    tableName: 'workload_status',
    columns: {
      workloadId: varchar('workload_id', L.workloadId, { primary: true }),
      phase: varchar('phase', L.phase),
      ...counts,
      conditions: text('conditions'),
      observedGeneration: int('observed_generation', 0),
      observedAt: timestamp(dialect, 'observed_at'),
    },
    indices: [{ name: 'idx_workload_status_phase', columns: ['phase'] }],
  });
}
