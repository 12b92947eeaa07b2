import { EntitySchema } from 'typeorm';
import { COLUMN_LENGTHS } from '../../domain/columns.js';
import type { Dialect } from '../database.js';
import { timestamp, varchar } from './columns.js';

const L = COLUMN_LENGTHS.containerRefusals;

/** A `container_refusals` row. */
export interface ContainerRefusalEntityRow {
  host: string;
  containerId: string;
  containerName: string;
  /** `workload | site | compose | none` */
  dispatch: string;
  /** An `UnmatchedReason` (`conflict`, `unknown_workload`, ...). */
  reason: string;
  /** The workload the container names or resolves to ('' when none). */
  workloadId: string;
  /** The row the container would get (for `conflict`: the row another live container holds). */
  rowId: string;
  detail: string;
  /** When the container was first refused for this reason (database clock, UTC). */
  since: Date;
}

/**
 * `container_refusals`: one row per host and container the agent refuses to write a row for
 * (`no_tinyforge_labels`, `unknown_workload`, ..., `conflict`), written only when the set
 * changes. Owned by the reconciler; read by `GET /api/v1/refusals` and the workload `Conflict`
 * condition.
 */
export function containerRefusalEntity(dialect: Dialect): EntitySchema<ContainerRefusalEntityRow> {
  return new EntitySchema<ContainerRefusalEntityRow>({
    name: 'ContainerRefusalEntity',
    tableName: 'container_refusals',
    columns: {
      host: varchar('host', L.host, { primary: true }),
      containerId: varchar('container_id', L.containerId, { primary: true }),
      containerName: varchar('container_name', L.containerName, { default: '' }),
      dispatch: varchar('dispatch', L.dispatch, { default: '' }),
      reason: varchar('reason', L.reason),
      workloadId: varchar('workload_id', L.workloadId, { default: '' }),
      rowId: varchar('row_id', L.rowId, { default: '' }),
      detail: varchar('detail', L.detail, { default: '' }),
      since: timestamp(dialect, 'since', { defaultNow: true }),
    },
    indices: [
      { name: 'idx_container_refusals_workload', columns: ['workloadId'] },
      { name: 'idx_container_refusals_reason', columns: ['reason'] },
    ],
  });
}
