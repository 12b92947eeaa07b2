import { EntitySchema } from 'typeorm';
import { COLUMN_LENGTHS } from '../../domain/columns.js';
import type { Dialect } from '../database.js';
import { timestamp, varchar } from './columns.js';

const L = COLUMN_LENGTHS.staticSites;

/** A `static_sites` row. */
export interface StaticSiteEntityRow {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/** `static_sites`: owned by the rest of Tinyforge. */
export function staticSiteEntity(dialect: Dialect): EntitySchema<StaticSiteEntityRow> {
  return new EntitySchema<StaticSiteEntityRow>({
    name: 'StaticSiteEntity',
    tableName: 'static_sites',
    columns: {
      id: varchar('id', L.id, { primary: true }),
      name: varchar('name', L.name, { default: '' }),
      createdAt: timestamp(dialect, 'created_at', { defaultNow: true }),
      updatedAt: timestamp(dialect, 'updated_at', { defaultNow: true, onUpdateNow: true }),
    },
  });
}
