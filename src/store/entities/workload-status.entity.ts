import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * `workload_status`: the status this service derives per workload (phase, counts by state,
 * conditions, when it was computed). Owned by the reconciler; written by
 * `StatusRepository.upsertStatuses`, one multi-row statement per batch.
 */
@Entity({ name: 'workload_status' })
@Index('idx_workload_status_phase', ['phase'])
export class WorkloadStatusEntity {
  @PrimaryColumn({ name: 'workload_id', type: 'varchar', length: 191 })
  workloadId!: string;

  /** `Pending | Running | Degraded | Stopped | Missing` */
  @Column({ type: 'varchar', length: 16 })
  phase!: string;

  @Column({ name: 'desired_count', type: 'int', default: 0 })
  desiredCount!: number;

  @Column({ name: 'unbound_count', type: 'int', default: 0 })
  unboundCount!: number;

  @Column({ name: 'running_count', type: 'int', default: 0 })
  runningCount!: number;

  @Column({ name: 'stopped_count', type: 'int', default: 0 })
  stoppedCount!: number;

  @Column({ name: 'created_count', type: 'int', default: 0 })
  createdCount!: number;

  @Column({ name: 'restarting_count', type: 'int', default: 0 })
  restartingCount!: number;

  @Column({ name: 'paused_count', type: 'int', default: 0 })
  pausedCount!: number;

  @Column({ name: 'removing_count', type: 'int', default: 0 })
  removingCount!: number;

  @Column({ name: 'missing_count', type: 'int', default: 0 })
  missingCount!: number;

  @Column({ name: 'unknown_count', type: 'int', default: 0 })
  unknownCount!: number;

  /** JSON array of `{type, status, reason, message, lastTransitionTime}`. */
  @Column({ type: 'text' })
  conditions!: string;

  /** Incremented by every recomputation that changed what a reader sees. */
  @Column({ name: 'observed_generation', type: 'int', default: 0 })
  observedGeneration!: number;

  @Column({ name: 'observed_at', type: 'datetime', precision: 3 })
  observedAt!: Date;
}
