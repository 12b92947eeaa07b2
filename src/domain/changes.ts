import type { RowState } from './dispatch.js';

/** Why a row's state changed. */
export type ChangeReason = 'created' | 'observed' | 'container_gone' | 'sweep' | 'superseded';

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
