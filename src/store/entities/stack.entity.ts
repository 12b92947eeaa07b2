import { EntitySchema } from 'typeorm';
import { COLUMN_LENGTHS } from '../../domain/columns.js';
import type { Dialect } from '../database.js';
import { timestamp, varchar } from './columns.js';

const L = COLUMN_LENGTHS.stacks;

/** A `stacks` row. */
export interface StackEntityRow {
  id: string;
  name: string;
  composeProjectName: string;
  createdAt: Date;
  updatedAt: Date;
}

/** `stacks`: docker compose workloads; `compose_project_name` is unique and indexed for dispatch. */
export function stackEntity(dialect: Dialect): EntitySchema<StackEntityRow> {
  return new EntitySchema<StackEntityRow>({
    name: 'StackEntity',
    tableName: 'stacks',
    columns: {
      id: varchar('id', L.id, { primary: true }),
      name: varchar('name', L.name, { default: '' }),
      composeProjectName: varchar('compose_project_name', L.composeProjectName),
      createdAt: timestamp(dialect, 'created_at', { defaultNow: true }),
      updatedAt: timestamp(dialect, 'updated_at', { defaultNow: true, onUpdateNow: true }),
    },
    // A named unique index, as the migration creates it (a `unique` column would be a constraint
    // with a generated name).
    indices: [{ name: 'uq_stacks_compose_project_name', columns: ['composeProjectName'], unique: true }],
  });
}
