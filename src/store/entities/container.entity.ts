import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * `containers`: one row per Tinyforge container slot. The deployer pre-creates rows (with an
 * empty `container_id`) and may add columns of its own; the reconciler writes only the observed
 * columns declared here. Timestamps have database defaults so other programs can insert rows
 * naming only the observed columns.
 */
@Entity({ name: 'containers' })
@Index('idx_containers_host_state', ['host', 'state'])
export class ContainerEntity {
  @PrimaryColumn({ type: 'varchar', length: 512 })
  id!: string;

  @Column({ name: 'workload_id', type: 'varchar', length: 191, default: '' })
  workloadId!: string;

  @Column({ name: 'workload_kind', type: 'varchar', length: 32, default: '' })
  workloadKind!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  role!: string;

  @Index('idx_containers_container_id')
  @Column({ name: 'container_id', type: 'varchar', length: 128, default: '' })
  containerId!: string;

  @Column({ name: 'image_ref', type: 'varchar', length: 1024, default: '' })
  imageRef!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  host!: string;

  @Column({ type: 'varchar', length: 32, default: '' })
  state!: string;

  @Column({ type: 'int', default: 0 })
  port!: number;

  @Column({ name: 'last_seen_at', type: 'datetime', precision: 3, nullable: true })
  lastSeenAt!: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
