import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * `container_events`: one row per committed state transition of a `containers` row (from-state
 * `null` when the row was created). Kept for EVENT_RETENTION, then pruned.
 */
@Entity({ name: 'container_events' })
@Index('idx_container_events_workload', ['workloadId', 'id'])
@Index('idx_container_events_at', ['at'])
export class ContainerEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  @Column({ name: 'row_id', type: 'varchar', length: 512 })
  rowId!: string;

  @Column({ name: 'workload_id', type: 'varchar', length: 191 })
  workloadId!: string;

  @Column({ name: 'from_state', type: 'varchar', length: 32, nullable: true })
  fromState!: string | null;

  @Column({ name: 'to_state', type: 'varchar', length: 32 })
  toState!: string;

  /** `created | observed | container_gone | sweep` */
  @Column({ type: 'varchar', length: 32 })
  reason!: string;

  @Column({ type: 'datetime', precision: 3 })
  at!: Date;
}
