import type { RowState } from './types.js';

/**
 * Why a row's state changed (`container_events.reason`): `created` (the row was created),
 * `observed` (Docker reported a new state), `container_gone` (the container was removed),
 * `sweep` (a pass found it gone), `superseded` (the deployer's row took over the container).
 */
export const CHANGE_REASONS = ['created', 'observed', 'container_gone', 'sweep', 'superseded'] as const;
export type ChangeReason = (typeof CHANGE_REASONS)[number];

/** One committed state transition of a `containers` row. */
export interface RowChange {
  rowId: string;
  workloadId: string;
  /** null when the row was created. */
  from: RowState | null;
  to: RowState;
  /** Commit time, ms since the epoch. */
  at: number;
  reason: ChangeReason;
}

/** Receives committed transitions (workload status, event history). Must not throw. */
export interface ChangeSink {
  rowsChanged(changes: readonly RowChange[]): void;
}

export const noopChangeSink: ChangeSink = { rowsChanged() {} };
