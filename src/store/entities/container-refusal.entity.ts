import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * `container_refusals`: one row per host and container the agent refuses to write a row for
 * (`no_tinyforge_labels`, `unknown_workload`, ..., `conflict`), written only when the set
 * changes. Owned by the reconciler; read by `GET /api/v1/refusals` and the workload `Conflict`
 * condition.
 */
@Entity({ name: 'container_refusals' })
@Index('idx_container_refusals_workload', ['workloadId'])
@Index('idx_container_refusals_reason', ['reason'])
export class ContainerRefusalEntity {
  @PrimaryColumn({ type: 'varchar', length: 255 })
  host!: string;

  @PrimaryColumn({ name: 'container_id', type: 'varchar', length: 128 })
  containerId!: string;

  @Column({ name: 'container_name', type: 'varchar', length: 255, default: '' })
  containerName!: string;

  /** `workload | site | compose | none` */
  @Column({ type: 'varchar', length: 16, default: '' })
  dispatch!: string;

  /** An unmatched reason (`conflict`, `unknown_workload`, ...). */
  @Column({ type: 'varchar', length: 32 })
  reason!: string;

  /** The workload the container names or resolves to ('' when none). */
  @Column({ name: 'workload_id', type: 'varchar', length: 191, default: '' })
  workloadId!: string;

  /** The row the container would get (for `conflict`: the row another live container holds). */
  @Column({ name: 'row_id', type: 'varchar', length: 512, default: '' })
  rowId!: string;

  @Column({ type: 'varchar', length: 1024, default: '' })
  detail!: string;

  /** When the container was first refused for this reason (database clock, UTC). */
  @Column({ type: 'datetime', precision: 3 })
  since!: Date;
}
