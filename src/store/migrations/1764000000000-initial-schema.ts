import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { mysqlTableCharset, sqliteUpdatedAtTrigger, str, timeColumn } from './dialect.js';

/**
 * The tables of the contract with Tinyforge (docs/architecture.md, "Contracts with Tinyforge's
 * tables"), compatible with Tinyforge's own: `containers`, `workloads`, `stacks`, `static_sites`,
 * and the service's `leases`. Tables that already exist (created by Tinyforge itself)
 * are left as they are.
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(qr: QueryRunner): Promise<void> {
    const created = (t: string) => qr.hasTable(t).then((has) => !has);

    if (await created('containers')) {
      await qr.createTable(
        new Table({
          name: 'containers',
          columns: [
            str('id', 512, { primary: true }),
            str('workload_id', 191, { default: '' }),
            str('workload_kind', 32, { default: '' }),
            str('role', 255, { default: '' }),
            str('container_id', 128, { default: '' }),
            str('image_ref', 1024, { default: '' }),
            str('host', 255, { default: '' }),
            str('state', 32, { default: '' }),
            { name: 'port', type: 'int', default: 0, isNullable: false },
            timeColumn(qr, 'last_seen_at', { nullable: true }),
            timeColumn(qr, 'created_at', { defaultNow: true }),
            timeColumn(qr, 'updated_at', { defaultNow: true, onUpdateNow: true }),
          ],
          indices: [
            new TableIndex({ name: 'idx_containers_container_id', columnNames: ['container_id'] }),
            new TableIndex({ name: 'idx_containers_host_state', columnNames: ['host', 'state'] }),
            new TableIndex({ name: 'idx_containers_workload', columnNames: ['workload_id'] }),
          ],
        }),
      );
      await mysqlTableCharset(qr, 'containers');
      await sqliteUpdatedAtTrigger(qr, 'containers', ['workload_id', 'workload_kind', 'role', 'container_id', 'image_ref', 'host', 'state', 'port']);
    }

    if (await created('workloads')) {
      await qr.createTable(
        new Table({
          name: 'workloads',
          columns: [
            str('id', 191, { primary: true }),
            str('kind', 16),
            str('ref_id', 191),
            str('name', 255, { default: '' }),
            timeColumn(qr, 'created_at', { defaultNow: true }),
            timeColumn(qr, 'updated_at', { defaultNow: true, onUpdateNow: true }),
          ],
          indices: [new TableIndex({ name: 'uq_workloads_kind_ref', columnNames: ['kind', 'ref_id'], isUnique: true })],
        }),
      );
      await mysqlTableCharset(qr, 'workloads');
      await sqliteUpdatedAtTrigger(qr, 'workloads', ['kind', 'ref_id', 'name']);
    }

    if (await created('stacks')) {
      await qr.createTable(
        new Table({
          name: 'stacks',
          columns: [
            str('id', 191, { primary: true }),
            str('name', 255, { default: '' }),
            str('compose_project_name', 191),
            timeColumn(qr, 'created_at', { defaultNow: true }),
            timeColumn(qr, 'updated_at', { defaultNow: true, onUpdateNow: true }),
          ],
          indices: [new TableIndex({ name: 'uq_stacks_compose_project_name', columnNames: ['compose_project_name'], isUnique: true })],
        }),
      );
      await mysqlTableCharset(qr, 'stacks');
      await sqliteUpdatedAtTrigger(qr, 'stacks', ['name', 'compose_project_name']);
    }

    if (await created('static_sites')) {
      await qr.createTable(
        new Table({
          name: 'static_sites',
          columns: [
            str('id', 191, { primary: true }),
            str('name', 255, { default: '' }),
            timeColumn(qr, 'created_at', { defaultNow: true }),
            timeColumn(qr, 'updated_at', { defaultNow: true, onUpdateNow: true }),
          ],
        }),
      );
      await mysqlTableCharset(qr, 'static_sites');
      await sqliteUpdatedAtTrigger(qr, 'static_sites', ['name']);
    }

    if (await created('leases')) {
      await qr.createTable(
        new Table({
          name: 'leases',
          columns: [
            str('name', 191, { primary: true }),
            str('holder', 255, { default: '' }),
            timeColumn(qr, 'acquired_at', { nullable: true }),
            timeColumn(qr, 'renewed_at', { nullable: true }),
            { name: 'lease_duration_ms', type: 'int', default: 0, isNullable: false },
            { name: 'transitions', type: 'int', default: 0, isNullable: false },
          ],
        }),
      );
      await mysqlTableCharset(qr, 'leases');
    }
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of ['leases', 'static_sites', 'stacks', 'workloads', 'containers']) await qr.dropTable(t, true);
  }
}
