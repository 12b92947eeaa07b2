import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { mysqlTableCharset, str, timeColumn } from './dialect.js';

/**
 * `hosts` (owned by this service): one heartbeat row per agent host, written once per pass, so a
 * fleet's database learns which hosts are alive from one small row each instead of from every
 * row's `last_seen_at` (docs/architecture.md, "Heartbeat").
 */
export class Hosts1764400000000 implements MigrationInterface {
  name = 'Hosts1764400000000';

  async up(qr: QueryRunner): Promise<void> {
    if (await qr.hasTable('hosts')) return;
    const int = (name: string) => ({ name, type: 'int', isNullable: false, default: 0 });
    await qr.createTable(
      new Table({
        name: 'hosts',
        columns: [
          str('host', 255, { primary: true }),
          str('agent', 255, { default: '' }),
          str('version', 64, { default: '' }),
          timeColumn(qr, 'started_at', { nullable: true }),
          timeColumn(qr, 'heartbeat_at', { defaultNow: true }),
          timeColumn(qr, 'last_success_at', { nullable: true }),
          str('last_error', 512, { default: '' }),
          int('containers'),
          int('bound_rows'),
          int('passes'),
          int('interval_ms'),
          int('last_seen_max_age_ms'),
        ],
      }),
    );
    await mysqlTableCharset(qr, 'hosts');
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('hosts', true);
  }
}
