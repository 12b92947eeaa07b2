/**
 * Entities and migrations are one truth: on a fresh database, once the migrations ran, TypeORM's
 * schema builder (what `synchronize` would do) has nothing left to do. Column types, lengths,
 * precision, defaults, nullability, primary keys and indexes all agree, on SQLite and on MariaDB.
 *
 * TypeORM 1.1 reads two things back differently from how it compares them; the comparison below
 * neutralises exactly these two and nothing else:
 * - SQLite: the driver compares an entity's `int` column as `integer` but reads a column created
 *   as `int` back as `int` (SQLite gives both the same INTEGER affinity), so no entity could ever
 *   match a migration's `int` column.
 * - MariaDB: the `mysql` driver type takes MariaDB's `COLUMN_DEFAULT` of a nullable column
 *   (`NULL`) for a literal and would "fix" every nullable column; the `mariadb` type reads it
 *   right, so the comparison runs as `mariadb` (the service connects as `mysql` to serve MySQL 8
 *   and MariaDB alike; the schema is the same).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, type ColumnType, type DataSourceOptions } from 'typeorm';
import { loadConfig, type DatabaseConfig } from '../../src/config.js';
import { dataSourceOptions } from '../../src/store/data-source.js';
import { Database } from '../../src/store/database.js';
import { sharedMariaDb } from '../support/mariadb.js';

interface Target {
  name: string;
  url: () => Promise<string>;
  /** A DataSource that reads this database's schema the way TypeORM reads it right. */
  inspector: (cfg: DatabaseConfig, migrated: Database) => Promise<{ ds: DataSource; close: () => Promise<void> }>;
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'tf-schema-'));

const TARGETS: Target[] = [
  {
    name: 'SQLite',
    url: async () => `sqlite:${join(sqliteDir, `s${Math.random().toString(36).slice(2)}.db`)}`,
    inspector: async (_cfg, migrated) => {
      const ds = migrated.dataSource;
      const driver = ds.driver as unknown as { normalizeType(c: { type?: ColumnType }): string };
      const normalizeType = driver.normalizeType.bind(driver);
      driver.normalizeType = (c) => (c.type === 'int' ? 'int' : normalizeType(c));
      return { ds, close: async () => undefined };
    },
  },
  {
    name: 'MariaDB',
    url: async () => (await sharedMariaDb()).createDatabase('schema'),
    inspector: async (cfg) => {
      const ds = new DataSource({ ...dataSourceOptions(cfg), type: 'mariadb' } as DataSourceOptions);
      await ds.initialize();
      return { ds, close: () => ds.destroy() };
    },
  },
];

/** The statements TypeORM's schema builder would run to make the database match the entities. */
async function pendingSchemaChanges(ds: DataSource): Promise<string[]> {
  const sql = await ds.driver.createSchemaBuilder().log();
  return sql.upQueries.map((q) => q.query);
}

for (const target of TARGETS) {
  describe(`entities and migrations agree on ${target.name}`, function () {
    this.timeout(120_000);
    let db: Database;
    let inspector: { ds: DataSource; close: () => Promise<void> };

    before(async () => {
      const cfg = loadConfig({ DATABASE_URL: await target.url() }).database;
      db = await Database.connect(cfg);
      await db.migrate();
      inspector = await target.inspector(cfg, db);
    });
    after(async () => {
      await inspector?.close();
      await db?.close();
    });

    it('after the migrations, the schema builder has nothing to do (columns and indexes)', async () => {
      expect(await pendingSchemaChanges(inspector.ds)).to.deep.equal([]);
    });

    it('the comparison sees a difference: an index the migrations create but the database lacks', async () => {
      await db.query(db.dialect === 'sqlite' ? 'DROP INDEX `idx_containers_workload`' : 'DROP INDEX `idx_containers_workload` ON `containers`');
      try {
        const pending = await pendingSchemaChanges(inspector.ds);
        expect(pending.join('\n')).to.match(/CREATE INDEX [`"]idx_containers_workload[`"]/);
      } finally {
        await db.query('CREATE INDEX `idx_containers_workload` ON `containers` (`workload_id`)');
      }
      expect(await pendingSchemaChanges(inspector.ds)).to.deep.equal([]);
    });
  });
}

after(() => rmSync(sqliteDir, { recursive: true, force: true }));
