import { EntitySchema } from 'typeorm';
import { COLUMN_LENGTHS } from '../../domain/columns.js';
import type { Dialect } from '../database.js';
import { int, timestamp, varchar } from './columns.js';

const L = COLUMN_LENGTHS.leases;

/** A `leases` row. */
export interface LeaseEntityRow {
  name: string;
  holder: string;
  acquiredAt: Date | null;
  renewedAt: Date | null;
  leaseDurationMs: number;
  transitions: number;
}

/**
 * `leases`: one row per lease name, Kubernetes Lease semantics. A row rather than GET_LOCK so
 * election also works on MySQL-compatible clusters (Vitess, TiDB).
 */
export function leaseEntity(dialect: Dialect): EntitySchema<LeaseEntityRow> {
  return new EntitySchema<LeaseEntityRow>({
    name: 'LeaseEntity',
    tableName: 'leases',
    columns: {
      name: varchar('name', L.name, { primary: true }),
      holder: varchar('holder', L.holder, { default: '' }),
      acquiredAt: timestamp(dialect, 'acquired_at', { nullable: true }),
      renewedAt: timestamp(dialect, 'renewed_at', { nullable: true }),
      leaseDurationMs: int('lease_duration_ms', 0),
      transitions: int('transitions', 0),
    },
  });
}
