import { EntitySchema } from 'typeorm';
import { COLUMN_LENGTHS } from '../../domain/columns.js';
import type { Dialect } from '../database.js';
import { timestamp, varchar } from './columns.js';

const L = COLUMN_LENGTHS.workloads;

/** A `workloads` row. */
export interface WorkloadEntityRow {
  id: string;
  /** `project | stack | site` */
  kind: string;
  refId: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/** `workloads`: owned by the rest of Tinyforge; read by the reconciler to resolve labels. */
export function workloadEntity(dialect: Dialect): EntitySchema<WorkloadEntityRow> {
  return new EntitySchema<WorkloadEntityRow>({
    name: 'WorkloadEntity',
    tableName: 'workloads',
    columns: {
      id: varchar('id', L.id, { primary: true }),
      kind: varchar('kind', L.kind),
      refId: varchar('ref_id', L.refId),
      name: varchar('name', L.name, { default: '' }),
      createdAt: timestamp(dialect, 'created_at', { defaultNow: true }),
      updatedAt: timestamp(dialect, 'updated_at', { defaultNow: true, onUpdateNow: true }),
    },
    indices: [{ name: 'uq_workloads_kind_ref', columns: ['kind', 'refId'], unique: true }],
  });
}
