import { EntitySchema } from 'typeorm';
import { COLUMN_LENGTHS } from '../../domain/columns.js';
import type { Dialect } from '../database.js';
import { int, timestamp, varchar } from './columns.js';

const L = COLUMN_LENGTHS.hosts;

/** A `hosts` row. */
export interface HostEntityRow {
  host: string;
  /** The agent instance that wrote the last heartbeat (its leader-election identity). */
  agent: string;
  version: string;
  /** When that agent started (database clock, UTC). */
  startedAt: Date | null;
  /** The end of the agent's last pass, successful or not (database clock, UTC). */
  heartbeatAt: Date;
  lastSuccessAt: Date | null;
  /** Why the last pass failed ('' after a success). */
  lastError: string;
  /** Containers listed by the last successful pass. */
  containers: number;
  /** Rows of the host bound to a container and not `missing` after the last successful pass. */
  boundRows: number;
  passes: number;
  intervalMs: number;
  lastSeenMaxAgeMs: number;
}

/**
 * `hosts`: one heartbeat row per agent host, written at the end of every pass. A host is alive
 * while `heartbeat_at` is within a few `interval_ms` of the database's clock.
 */
export function hostEntity(dialect: Dialect): EntitySchema<HostEntityRow> {
  return new EntitySchema<HostEntityRow>({
    name: 'HostEntity',
    tableName: 'hosts',
    columns: {
      host: varchar('host', L.host, { primary: true }),
      agent: varchar('agent', L.agent, { default: '' }),
      version: varchar('version', L.version, { default: '' }),
      startedAt: timestamp(dialect, 'started_at', { nullable: true }),
      heartbeatAt: timestamp(dialect, 'heartbeat_at', { defaultNow: true }),
      lastSuccessAt: timestamp(dialect, 'last_success_at', { nullable: true }),
      lastError: varchar('last_error', L.lastError, { default: '' }),
      containers: int('containers', 0),
      boundRows: int('bound_rows', 0),
      passes: int('passes', 0),
      intervalMs: int('interval_ms', 0),
      lastSeenMaxAgeMs: int('last_seen_max_age_ms', 0),
    },
  });
}
