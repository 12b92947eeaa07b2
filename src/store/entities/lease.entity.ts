import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * `leases`: one row per lease name, Kubernetes Lease semantics. A row rather than GET_LOCK so
 * election also works on MySQL-compatible clusters (Vitess, TiDB).
 */
@Entity({ name: 'leases' })
export class LeaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 191 })
  name!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  holder!: string;

  @Column({ name: 'acquired_at', type: 'datetime', precision: 3, nullable: true })
  acquiredAt!: Date | null;

  @Column({ name: 'renewed_at', type: 'datetime', precision: 3, nullable: true })
  renewedAt!: Date | null;

  @Column({ name: 'lease_duration_ms', type: 'int', default: 0 })
  leaseDurationMs!: number;

  @Column({ type: 'int', default: 0 })
  transitions!: number;
}
