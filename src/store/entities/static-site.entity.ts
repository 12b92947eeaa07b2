import { Column, Entity, PrimaryColumn } from 'typeorm';

/** `static_sites`: owned by the rest of Tinyforge. */
@Entity({ name: 'static_sites' })
export class StaticSiteEntity {
  @PrimaryColumn({ type: 'varchar', length: 191 })
  id!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  name!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
