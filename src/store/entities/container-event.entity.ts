import { EntitySchema } from 'typeorm';
import { COLUMN_LENGTHS } from '../../domain/columns.js';
import type { Dialect } from '../database.js';
import { autoIncrementId, nullableVarchar, timestamp, varchar } from './columns.js';

const L = COLUMN_LENGTHS.containerEvents;

/** A `container_events` row. */
export interface ContainerEventEntityRow {
  id: string;
  rowId: string;
  workloadId: string;
  fromState: string | null;
  toState: string;
  /** A `ChangeReason` (src/domain/changes.ts). */
  reason: string;
  at: Date;
}

/**
 * `container_events`: one row per committed state transition of a `containers` row (from-state
 * `null` when the row was created). Kept for EVENT_RETENTION, then pruned.
 */
export function containerEventEntity(dialect: Dialect): EntitySchema<ContainerEventEntityRow> {
  return new EntitySchema<ContainerEventEntityRow>({
    name: 'ContainerEventEntity',
    tableName: 'container_events',
    columns: {
      id: autoIncrementId(dialect, 'id'),
      rowId: varchar('row_id', L.rowId),
      workloadId: varchar('workload_id', L.workloadId),
      fromState: nullableVarchar('from_state', L.fromState),
      toState: varchar('to_state', L.toState),
      reason: varchar('reason', L.reason),
      at: timestamp(dialect, 'at'),
    },
    indices: [
      { name: 'idx_container_events_workload', columns: ['workloadId', 'id'] },
      { name: 'idx_container_events_at', columns: ['at'] },
    ],
  });
}
