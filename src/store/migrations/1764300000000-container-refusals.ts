import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { mysqlTableCharset, str, timeColumn } from './dialect.js';

/**
 * `container_refusals` (owned by this service): the containers an agent refuses to write a row
 * for, one row per (host, container), with the reason and, for a `conflict`, the row the
 * container claims. Read by `GET /api/v1/refusals` and by the workload `Conflict` condition.
 */
export class ContainerRefusals1764300000000 implements MigrationInterface {
  name = 'ContainerRefusals1764300000000';

  async up(qr: QueryRunner): Promise<void> {
    if (await qr.hasTable('container_refusals')) return;
    await qr.createTable(
      new Table({
        name: 'container_refusals',
        columns: [
          str('host', 255, { primary: true }),
          str('container_id', 128, { primary: true }),
          str('container_name', 255, { default: '' }),
          str('dispatch', 16, { default: '' }),
          str('reason', 32),
          str('workload_id', 191, { default: '' }),
          str('row_id', 512, { default: '' }),
          str('detail', 1024, { default: '' }),
          timeColumn(qr, 'since', { defaultNow: true }),
        ],
        indices: [
          new TableIndex({ name: 'idx_container_refusals_workload', columnNames: ['workload_id'] }),
          new TableIndex({ name: 'idx_container_refusals_reason', columnNames: ['reason'] }),
        ],
      }),
    );
    await mysqlTableCharset(qr, 'container_refusals');
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('container_refusals', true);
  }
}
