import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** `workloads`: owned by the rest of Tinyforge; read by the reconciler to resolve labels. */
@Entity({ name: 'workloads' })
@Index('uq_workloads_kind_ref', ['kind', 'refId'], { unique: true })
export class WorkloadEntity {
  @PrimaryColumn({ type: 'varchar', length: 191 })
  id!: string;

  /** `project | stack | site` */
  @Column({ type: 'varchar', length: 16 })
  kind!: string;

  @Column({ name: 'ref_id', type: 'varchar', length: 191 })
  refId!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  name!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
