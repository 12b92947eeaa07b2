import { EntitySchema } from 'typeorm';
import { COLUMN_LENGTHS } from '../../domain/columns.js';
import type { Dialect } from '../database.js';
import { int, timestamp, varchar } from './columns.js';

const L = COLUMN_LENGTHS.containers;

/** A `containers` row. */
export interface ContainerEntityRow {
  id: string;
  workloadId: string;
  workloadKind: string;
  role: string;
  containerId: string;
  imageRef: string;
  host: string;
  state: string;
  port: number;
  lastSeenAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * `containers`: one row per Tinyforge container slot. The deployer pre-creates rows (with an
 * empty `container_id`) and may add columns of its own; the reconciler writes only the observed
 * columns declared here. Timestamps have database defaults so other programs can insert rows
 * naming only the observed columns. The indexes serve the lookups by container, the host's rows
 * by state (snapshot, sweep) and the status joins by workload.
 */
export function containerEntity(dialect: Dialect): EntitySchema<ContainerEntityRow> {
  return new EntitySchema<ContainerEntityRow>({
    name: 'ContainerEntity',
    tableName: 'containers',
    columns: {
      id: varchar('id', L.id, { primary: true }),
      workloadId: varchar('workload_id', L.workloadId, { default: '' }),
      workloadKind: varchar('workload_kind', L.workloadKind, { default: '' }),
      role: varchar('role', L.role, { default: '' }),
      containerId: varchar('container_id', L.containerId, { default: '' }),
      imageRef: varchar('image_ref', L.imageRef, { default: '' }),
      host: varchar('host', L.host, { default: '' }),
      state: varchar('state', L.state, { default: '' }),
      port: int('port', 0),
      lastSeenAt: timestamp(dialect, 'last_seen_at', { nullable: true }),
      createdAt: timestamp(dialect, 'created_at', { defaultNow: true }),
      updatedAt: timestamp(dialect, 'updated_at', { defaultNow: true, onUpdateNow: true }),
    },
    indices: [
      { name: 'idx_containers_container_id', columns: ['containerId'] },
      { name: 'idx_containers_host_state', columns: ['host', 'state'] },
      { name: 'idx_containers_workload', columns: ['workloadId'] },
    ],
  });
}
