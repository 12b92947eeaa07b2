import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { isSqlite, mysqlTableCharset, str, timeColumn } from './dialect.js';

const COUNT_COLUMNS = ['desired', 'unbound', 'running', 'stopped', 'created', 'restarting', 'paused', 'removing', 'missing', 'unknown'];

/**
 * Tables owned by this service for workload status: `workload_status` (one derived status per workload;
 * the rest of Tinyforge owns `workloads`, so nothing is added there) and `container_events` (the
 * history of row state transitions, pruned by EVENT_RETENTION).
 */
export class WorkloadStatus1764100000000 implements MigrationInterface {
  name = 'WorkloadStatus1764100000000';

  async up(qr: QueryRunner): Promise<void> {
    if (!(await qr.hasTable('workload_status'))) {
      await qr.createTable(
        new Table({
          name: 'workload_status',
          columns: [
            str('workload_id', 191, { primary: true }),
            str('phase', 16),
            ...COUNT_COLUMNS.map((c) => ({ name: `${c}_count`, type: 'int', default: 0, isNullable: false })),
            // JSON array of conditions in the Kubernetes shape.
            { name: 'conditions', type: 'text', isNullable: false },
            { name: 'observed_generation', type: 'int', default: 0, isNullable: false },
            timeColumn(qr, 'observed_at'),
          ],
          indices: [new TableIndex({ name: 'idx_workload_status_phase', columnNames: ['phase'] })],
        }),
      );
      await mysqlTableCharset(qr, 'workload_status');
    }

    if (!(await qr.hasTable('container_events'))) {
      await qr.createTable(
        new Table({
          name: 'container_events',
          columns: [
            // SQLite only auto-increments an INTEGER PRIMARY KEY.
            { name: 'id', type: isSqlite(qr) ? 'integer' : 'bigint', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
            str('row_id', 512),
            str('workload_id', 191),
            { name: 'from_state', type: 'varchar', length: '32', isNullable: true },
            str('to_state', 32),
            str('reason', 32),
            timeColumn(qr, 'at'),
          ],
          indices: [
            new TableIndex({ name: 'idx_container_events_workload', columnNames: ['workload_id', 'id'] }),
            new TableIndex({ name: 'idx_container_events_at', columnNames: ['at'] }),
          ],
        }),
      );
      await mysqlTableCharset(qr, 'container_events');
    }
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('container_events', true);
    await qr.dropTable('workload_status', true);
  }
}
