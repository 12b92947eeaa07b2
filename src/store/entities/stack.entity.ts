import { Column, Entity, PrimaryColumn } from 'typeorm';

/** `stacks`: docker compose workloads; `compose_project_name` is unique and indexed for dispatch. */
@Entity({ name: 'stacks' })
export class StackEntity {
  @PrimaryColumn({ type: 'varchar', length: 191 })
  id!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  name!: string;

  @Column({ name: 'compose_project_name', type: 'varchar', length: 191, unique: true })
  composeProjectName!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
