/**
 * The service on tables Tinyforge created before it: `workloads`, `stacks`, `static_sites`
 * without `updated_at`, identifier columns in Tinyforge's collation (utf8mb4_bin,
 * utf8mb4_unicode_ci, utf8mb4_general_ci on MariaDB), `containers` without the service's
 * trigger and with indexes of other names. The migrations must leave Tinyforge's columns as they
 * are, add what the service needs, be idempotent, and every statement must work (no "Illegal mix
 * of collations", no `updated_at`).
 */
import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createApiRouter } from '../../src/http/api.js';
import { createHttpApp, HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/log.js';
import { WorkloadStatusService } from '../../src/status/workload-status.service.js';
import { Database, parseDbTime } from '../../src/store/database.js';
import { DesiredStateRepository } from '../../src/store/desired-state.repository.js';
import { ContainerRefusals1764300000000 } from '../../src/store/migrations/1764300000000-container-refusals.js';
import { Hosts1764400000000 } from '../../src/store/migrations/1764400000000-hosts.js';
import { ExistingTables1764200000000, tableIndexes } from '../../src/store/migrations/1764200000000-existing-tables.js';
import { InitialSchema1764000000000 } from '../../src/store/migrations/1764000000000-initial-schema.js';
import { WorkloadStatus1764100000000 } from '../../src/store/migrations/1764100000000-workload-status.js';
import { StatusRepository, type StoredStatus } from '../../src/store/status.repository.js';
import { sharedMariaDb } from '../support/mariadb.js';
import { insertRefusals, insertRows, transition } from '../status/support.js';

const TINYFORGE_TABLES = ['workloads', 'stacks', 'static_sites', 'containers'];
const ALL_MIGRATIONS = ['InitialSchema1764000000000', 'WorkloadStatus1764100000000', 'ExistingTables1764200000000', 'ContainerRefusals1764300000000', 'Hosts1764400000000'];

interface Variant {
  name: string;
  /** MariaDB: the collation of Tinyforge's tables and columns; undefined: SQLite. */
  collation?: string;
  /** `containers.host` longer than an InnoDB key allows in (host, state): the index needs a prefix. */
  longHost?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'SQLite' },
  { name: 'MariaDB, Tinyforge tables in utf8mb4_bin', collation: 'utf8mb4_bin' },
  { name: 'MariaDB, Tinyforge tables in utf8mb4_unicode_ci', collation: 'utf8mb4_unicode_ci', longHost: true },
  { name: 'MariaDB, Tinyforge tables in utf8mb4_general_ci', collation: 'utf8mb4_general_ci' },
];

function sqliteDdl(opts: { updatedAt?: boolean } = {}): string {
  const now = "(strftime('%Y-%m-%d %H:%M:%f','now'))";
  return `
    CREATE TABLE workloads (id VARCHAR(191) NOT NULL PRIMARY KEY, kind VARCHAR(16) NOT NULL, ref_id VARCHAR(191) NOT NULL, name VARCHAR(255) NOT NULL DEFAULT '');
    CREATE UNIQUE INDEX workloads_kind_ref ON workloads (kind, ref_id);
    CREATE TABLE stacks (id VARCHAR(191) NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL DEFAULT '', compose_project_name VARCHAR(191) NOT NULL UNIQUE);
    CREATE TABLE static_sites (id VARCHAR(191) NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL DEFAULT '');
    CREATE TABLE containers (
      id VARCHAR(512) NOT NULL PRIMARY KEY, workload_id VARCHAR(191) NOT NULL DEFAULT '', workload_kind VARCHAR(32) NOT NULL DEFAULT '',
      role VARCHAR(255) NOT NULL DEFAULT '', container_id VARCHAR(128) NOT NULL DEFAULT '', image_ref VARCHAR(1024) NOT NULL DEFAULT '',
      host VARCHAR(255) NOT NULL DEFAULT '', state VARCHAR(32) NOT NULL DEFAULT '', port INTEGER NOT NULL DEFAULT 0, last_seen_at DATETIME NULL,
      created_at DATETIME NOT NULL DEFAULT ${now}${opts.updatedAt === false ? '' : `, updated_at DATETIME NOT NULL DEFAULT ${now}`});
    CREATE INDEX tf_containers_container_host ON containers (container_id, host);
    CREATE INDEX idx_containers_host_state ON containers (state);
  `;
}

function mariaDdl(c: string, longHost = false): string {
  const col = (type: string, rest = "NOT NULL DEFAULT ''") => `${type} CHARACTER SET utf8mb4 COLLATE ${c} ${rest}`;
  return `
    CREATE TABLE workloads (id ${col('varchar(191)', 'NOT NULL')} PRIMARY KEY, kind ${col('varchar(16)', 'NOT NULL')}, ref_id ${col('varchar(191)', 'NOT NULL')}, name ${col('varchar(255)')},
      UNIQUE KEY workloads_kind_ref (kind, ref_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${c};
    CREATE TABLE stacks (id ${col('varchar(191)', 'NOT NULL')} PRIMARY KEY, name ${col('varchar(255)')}, compose_project_name ${col('varchar(191)', 'NOT NULL')},
      UNIQUE KEY stacks_project (compose_project_name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${c};
    CREATE TABLE static_sites (id ${col('varchar(191)', 'NOT NULL')} PRIMARY KEY, name ${col('varchar(255)')}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${c};
    CREATE TABLE containers (
      id ${col('varchar(512)', 'NOT NULL')} PRIMARY KEY, workload_id ${col('varchar(191)')}, workload_kind ${col('varchar(32)')}, role ${col('varchar(255)')},
      container_id ${col('varchar(128)')}, image_ref ${col('varchar(1024)')}, host ${col(longHost ? 'varchar(1024)' : 'varchar(255)')}, state ${col('varchar(32)')},
      port int NOT NULL DEFAULT 0, last_seen_at datetime(3) NULL DEFAULT NULL,
      created_at datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), updated_at datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      KEY tf_containers_container_host (container_id, ${longHost ? 'host(64)' : 'host'}), KEY idx_containers_host_state (state)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${c};
  `;
}

let sqliteDir: string | undefined;
const sqlitePath = () => join((sqliteDir ??= mkdtempSync(join(tmpdir(), 'tf-tinyforge-'))), `t${Math.random().toString(36).slice(2)}.db`);

after(() => {
  if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
});

/** Creates Tinyforge's tables in a fresh database and returns its DATABASE_URL. */
async function tinyforgeDatabase(v: Variant): Promise<string> {
  if (!v.collation) {
    const path = sqlitePath();
    const raw = new BetterSqlite3(path);
    try {
      raw.exec(sqliteDdl());
    } finally {
      raw.close();
    }
    return `sqlite:${path}`;
  }
  const m = await sharedMariaDb();
  const url = await m.createDatabase('tinyforge');
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  await m.query(`USE \`${name}\`; ${mariaDdl(v.collation, v.longHost)}`);
  return url;
}

/** Tinyforge's tables as the database describes them (every column attribute; SQLite: the DDL). */
async function describeTinyforgeTables(db: Database): Promise<unknown[]> {
  if (db.dialect === 'sqlite') {
    return (await db.query(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN (${TINYFORGE_TABLES.map(() => '?').join(',')}) ORDER BY name`, TINYFORGE_TABLES)).rows;
  }
  return (
    await db.query(
      'SELECT `TABLE_NAME`, `COLUMN_NAME`, `COLUMN_TYPE`, `CHARACTER_SET_NAME`, `COLLATION_NAME`, `IS_NULLABLE`, `COLUMN_DEFAULT`, `EXTRA` FROM `information_schema`.`COLUMNS` ' +
        `WHERE \`TABLE_SCHEMA\` = DATABASE() AND \`TABLE_NAME\` IN (${TINYFORGE_TABLES.map(() => '?').join(',')}) ORDER BY \`TABLE_NAME\`, \`ORDINAL_POSITION\``,
      TINYFORGE_TABLES,
    )
  ).rows;
}

/** Indexes and triggers: what the existing-tables migration may add. */
async function schemaObjects(db: Database): Promise<unknown[]> {
  if (db.dialect === 'sqlite') return (await db.query("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name")).rows;
  return (
    await db.query(
      'SELECT `TABLE_NAME`, `INDEX_NAME`, `SEQ_IN_INDEX`, `COLUMN_NAME`, `SUB_PART` FROM `information_schema`.`STATISTICS` WHERE `TABLE_SCHEMA` = DATABASE() ORDER BY `TABLE_NAME`, `INDEX_NAME`, `SEQ_IN_INDEX`',
    )
  ).rows;
}

async function withQueryRunner<T>(db: Database, fn: (qr: ReturnType<Database['dataSource']['createQueryRunner']>) => Promise<T>): Promise<T> {
  const qr = db.dataSource.createQueryRunner();
  try {
    return await fn(qr);
  } finally {
    await qr.release();
  }
}

for (const v of VARIANTS) {
  describe(`the service on Tinyforge's pre-existing tables: ${v.name}`, function () {
    this.timeout(120_000);
    let db: Database;
    let described: unknown[];
    let applied: string[];

    const seed = async () => {
      await db.query(
        "INSERT INTO `workloads` (`id`, `kind`, `ref_id`, `name`) VALUES ('wl-a', 'project', 'proj-a', 'A'), ('wl-s', 'stack', 'st-1', 'S'), ('wl-site', 'site', 'site-1', 'Site'), ('wl-gone', 'project', 'proj-gone', '')",
      );
      await db.query("INSERT INTO `stacks` (`id`, `name`, `compose_project_name`) VALUES ('st-1', 'one', 'tinyforge-one')");
      await db.query("INSERT INTO `static_sites` (`id`, `name`) VALUES ('site-1', 'Site')");
      await insertRows(db, [
        ['wl-a:web', 'wl-a', 'running', 'c1'],
        ['wl-a:db', 'wl-a', 'stopped', 'c2'],
        ['wl-s:web', 'wl-s', 'running', 'c3'],
        ['wl-s:web:2', 'wl-s', 'created', ''],
        ['wl-gone:web', 'wl-gone', 'running', 'c4'],
        ['ghost:web', 'ghost', 'running', 'c9'],
        // Equal to `wl-a` only case-insensitively, or with PAD SPACE: another workload for the service.
        ['case-row', 'WL-A', 'running', 'c5'],
        ['pad-row', 'wl-a ', 'running', 'c6'],
      ]);
      await insertRefusals(db, [
        { host: 'h1', containerId: 'c-dup', containerName: 'web-copy', reason: 'conflict', workloadId: 'wl-a', rowId: 'wl-a:web', detail: 'row bound to live container c1' },
        { host: 'h1', containerId: 'c-forged', reason: 'unknown_workload', workloadId: 'nope' },
      ]);
    };

    before(async () => {
      const url = await tinyforgeDatabase(v);
      db = await Database.connect(loadConfig({ DATABASE_URL: url }).database);
      described = await describeTinyforgeTables(db);
      expect(described, 'Tinyforge tables exist before the service').to.have.length.greaterThan(3);
      applied = await db.migrate();
      await seed();
    });
    after(async () => {
      await db?.close();
    });

    // Two binary collations of utf8mb4 (utf8mb4_bin vs utf8mb4_nopad_bin) cannot be mixed: an
    // error. A _ci collation mixed with a _bin one silently compares as _bin on MariaDB (what the
    // exactness checks below cover), and is an error with other pairs on MySQL 8.
    if (v.collation === 'utf8mb4_bin') {
      it('is a real trap: a join across Tinyforge and service tables without a collation fails on this server', async () => {
        let err: unknown;
        await db.query('SELECT COUNT(*) AS n FROM `workloads` w JOIN `container_refusals` r ON r.`workload_id` = w.`id`').catch((e: unknown) => (err = e));
        expect(String(err)).to.match(/Illegal mix of collations/);
        const { rows } = await db.query<{ c: string }>("SELECT `COLLATION_NAME` AS c FROM `information_schema`.`COLUMNS` WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = 'workloads' AND `COLUMN_NAME` = 'id'");
        expect(rows[0]!.c).to.equal(v.collation);
      });
    }

    it("applies every migration and leaves Tinyforge's tables exactly as they were", async () => {
      expect(applied).to.deep.equal(ALL_MIGRATIONS);
      expect(await describeTinyforgeTables(db)).to.deep.equal(described);
      const { rows } = await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM `container_refusals`');
      expect(Number(rows[0]!.n)).to.equal(2);
      if (db.dialect === 'mysql') {
        const cols = (await db.query<{ c: string | null }>("SELECT `COLLATION_NAME` AS c FROM `information_schema`.`COLUMNS` WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` IN ('container_refusals', 'workload_status', 'hosts') AND `DATA_TYPE` = 'varchar'")).rows;
        expect(new Set(cols.map((r) => r.c)), "the service's own tables use the exact collation").to.deep.equal(new Set(['utf8mb4_nopad_bin']));
        const pk = (await db.query<{ col: string }>("SELECT `COLUMN_NAME` AS col FROM `information_schema`.`STATISTICS` WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = 'container_refusals' AND `INDEX_NAME` = 'PRIMARY' ORDER BY `SEQ_IN_INDEX`")).rows;
        expect(pk.map((r) => r.col)).to.deep.equal(['host', 'container_id']);
      }
    });

    it('is idempotent: a second migrate applies nothing, and re-running the migrations changes nothing', async () => {
      const objects = await schemaObjects(db);
      expect(await db.migrate()).to.deep.equal([]);
      await withQueryRunner(db, async (qr) => {
        for (const m of [new InitialSchema1764000000000(), new WorkloadStatus1764100000000(), new ExistingTables1764200000000(), new ContainerRefusals1764300000000(), new Hosts1764400000000()]) await m.up(qr);
        for (const m of [new ExistingTables1764200000000(), new ContainerRefusals1764300000000(), new Hosts1764400000000()]) await m.up(qr);
      });
      expect(await schemaObjects(db)).to.deep.equal(objects);
      expect(await describeTinyforgeTables(db)).to.deep.equal(described);
    });

    it('gives containers the indexes the service needs, recognising existing ones by their columns', async () => {
      const idx = await withQueryRunner(db, (qr) => tableIndexes(qr, 'containers'));
      const starting = (cols: string[]) => idx.filter((i) => cols.every((c, k) => i.columns[k] === c));
      expect(starting(['container_id']).map((i) => i.name), "Tinyforge's (container_id, host) index serves container_id lookups: none added").to.deep.equal(['tf_containers_container_host']);
      expect(starting(['host', 'state']).map((i) => i.name), 'the name was taken by an index on other columns').to.deep.equal(['idx_containers_host_state_2']);
      expect(starting(['workload_id']).map((i) => i.name)).to.deep.equal(['idx_containers_workload']);
      expect(idx.find((i) => i.name === 'idx_containers_host_state')!.columns, "Tinyforge's index is left alone").to.deep.equal(['state']);
      if (v.longHost) {
        const { rows } = await db.query<{ col: string; sub: number | null }>(
          "SELECT `COLUMN_NAME` AS col, `SUB_PART` AS sub FROM `information_schema`.`STATISTICS` WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = 'containers' AND `INDEX_NAME` = 'idx_containers_host_state_2' ORDER BY `SEQ_IN_INDEX`",
        );
        expect(rows.map((r) => [r.col, r.sub === null ? null : Number(r.sub)]), 'host(1024) is too long for a key: a prefix').to.deep.equal([['host', 191], ['state', null]]);
      }
    });

    if (!v.collation) {
      it("keeps containers.updated_at moving when another program changes an observed column (the migration's trigger)", async () => {
        const read = async () => parseDbTime((await db.query<{ u: unknown }>("SELECT `updated_at` AS u FROM `containers` WHERE `id` = 'wl-a:web'")).rows[0]!.u)!;
        const t0 = read();
        await new Promise((r) => setTimeout(r, 20));
        await db.query("UPDATE `containers` SET `state` = 'paused' WHERE `id` = 'wl-a:web'");
        expect(await read()).to.be.greaterThan(await t0);
        await db.query("UPDATE `containers` SET `state` = 'running' WHERE `id` = 'wl-a:web'");
      });
    }

    it('fingerprints the desired state without updated_at, and sees every change of what it reads', async () => {
      const repo = new DesiredStateRepository(db);
      const fp0 = await repo.fingerprint();
      expect(fp0.startsWith('4|')).to.equal(true);
      await db.query("UPDATE `workloads` SET `name` = 'renamed' WHERE `id` = 'wl-a'");
      expect(await repo.fingerprint(), 'an unread column').to.equal(fp0);
      await db.query("UPDATE `workloads` SET `ref_id` = 'PROJ-A' WHERE `id` = 'wl-a'");
      const fp1 = await repo.fingerprint();
      expect(fp1, 'a change of case only, even in a case-insensitive table').to.not.equal(fp0);
      await db.query("UPDATE `workloads` SET `ref_id` = 'proj-a' WHERE `id` = 'wl-a'");
      expect(await repo.fingerprint()).to.equal(fp0);
      await db.query("UPDATE `stacks` SET `compose_project_name` = 'tinyforge-two' WHERE `id` = 'st-1'");
      expect(await repo.fingerprint()).to.not.equal(fp0);
      await db.query("UPDATE `stacks` SET `compose_project_name` = 'tinyforge-one' WHERE `id` = 'st-1'");
      expect(await repo.fingerprint()).to.equal(fp0);
      const snap = await repo.load();
      expect(snap.workloads.map((w) => w.id).sort()).to.deep.equal(['wl-a', 'wl-gone', 'wl-s', 'wl-site']);
    });

    it('computes, recomputes and serves workload status with no collation error, comparing IDs exactly', async () => {
      const repo = new StatusRepository(db);
      const svc = new WorkloadStatusService(repo, silentLogger(), { eventRetentionMs: 86_400_000, debounceMs: 10, fullRecomputeEveryMs: 0 });
      const status = async (id: string): Promise<StoredStatus> => (await repo.listStatuses()).find((s) => s.workloadId === id)!;
      const cond = (s: StoredStatus, type: string) => s.conditions.find((c) => c.type === type)!;
      try {
        await svc.start();
        expect((await repo.listStatuses()).map((s) => [s.workloadId, s.phase])).to.deep.equal([
          ['wl-a', 'Degraded'],
          ['wl-gone', 'Running'],
          ['wl-s', 'Running'],
          ['wl-site', 'Pending'],
        ]);
        const a = await status('wl-a');
        expect(a.counts, "rows of 'WL-A' and 'wl-a ' are not wl-a's").to.deep.include({ desired: 2, running: 1, stopped: 1 });
        expect(cond(a, 'Ready').message).to.equal('1 of 2 not running: wl-a:db (stopped)');
        expect(cond(a, 'Conflict')).to.include({ status: 'True', reason: 'DuplicateClaim', message: '1 container refused: container c-dup claims row wl-a:web' });
        expect(cond(await status('wl-s'), 'Conflict').status).to.equal('False');

        svc.rowsChanged([await transition(db, 'wl-a:db', 'wl-a', 'stopped', 'running')]);
        await db.query("DELETE FROM `container_refusals` WHERE `container_id` = 'c-dup'");
        svc.refusalsChanged(['wl-a']);
        await svc.flush();
        const a2 = await status('wl-a');
        expect(a2.phase).to.equal('Running');
        expect(cond(a2, 'Conflict').status).to.equal('False');
        expect((await repo.allEvents()).map((e) => `${e.rowId} ${e.from}->${e.to}`)).to.deep.equal(['wl-a:db stopped->running']);

        expect((await svc.getStatus('wl-a'))?.phase).to.equal('Running');
        expect(await svc.getStatus('WL-A'), 'IDs compare exactly, whatever the table collation').to.equal(undefined);

        await db.query("DELETE FROM `workloads` WHERE `id` = 'wl-gone'");
        await svc.recomputeAll();
        expect((await repo.listStatuses()).map((s) => s.workloadId), 'the status of a deleted workload is dropped').to.deep.equal(['wl-a', 'wl-s', 'wl-site']);
        expect(await repo.deleteOrphanStatuses()).to.equal(0);
      } finally {
        await svc.stop();
        await db.query("INSERT INTO `workloads` (`id`, `kind`, `ref_id`, `name`) VALUES ('wl-gone', 'project', 'proj-gone', '')").catch(() => undefined);
        await insertRefusals(db, [{ host: 'h1', containerId: 'c-dup', containerName: 'web-copy', reason: 'conflict', workloadId: 'wl-a', rowId: 'wl-a:web', detail: 'row bound to live container c1' }]).catch(() => undefined);
      }
    });

    it('serves containers (with orphaned), refusals and workload status over HTTP', async () => {
      await db.query("DELETE FROM `workloads` WHERE `id` = 'wl-gone'");
      const svc = new WorkloadStatusService(new StatusRepository(db), silentLogger(), { eventRetentionMs: 86_400_000, debounceMs: 10, fullRecomputeEveryMs: 0 });
      await svc.start();
      const app = createHttpApp({
        liveness: () => ({ ok: true, body: { status: 'live', checks: {} } }),
        readiness: async () => ({ ok: true, body: { status: 'ready', checks: {} } }),
        metrics: async () => ({ contentType: 'text/plain', body: '' }),
        log: silentLogger(),
        api: createApiRouter({ apiToken: '', reader: () => svc }),
      });
      const server = await HttpServer.listen(app, 0, '127.0.0.1');
      const get = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${server.address().port}/api${path}`);
        return { status: res.status, body: (await res.json()) as any };
      };
      try {
        const c = await get('/v1/containers?limit=500');
        expect(c.status, JSON.stringify(c.body)).to.equal(200);
        const orphaned = (c.body.items as Array<{ id: string; orphaned: boolean }>).filter((i) => i.orphaned).map((i) => i.id).sort();
        expect(orphaned).to.deep.equal(['case-row', 'ghost:web', 'pad-row', 'wl-gone:web']);
        expect(c.body.items).to.have.length(8);
        const byWorkload = await get('/v1/containers?workload=wl-a&limit=1');
        expect(byWorkload.body.items.map((i: { id: string }) => i.id)).to.deep.equal(['wl-a:db']);
        expect(byWorkload.body.nextCursor).to.be.a('string');

        const r = await get('/v1/refusals?reason=conflict');
        expect(r.status, JSON.stringify(r.body)).to.equal(200);
        expect(r.body.items).to.have.length(1);
        expect(r.body.items[0]).to.deep.include({ host: 'h1', containerId: 'c-dup', containerName: 'web-copy', reason: 'conflict', workloadId: 'wl-a', rowId: 'wl-a:web' });
        expect((await get('/v1/refusals?workload=nope')).body.items.map((i: { containerId: string }) => i.containerId)).to.deep.equal(['c-forged']);

        const s = await get('/v1/workloads/wl-a/status');
        expect(s.status, JSON.stringify(s.body)).to.equal(200);
        expect(s.body.conditions.map((x: { type: string; status: string }) => `${x.type}=${x.status}`)).to.deep.equal(['Ready=True', 'Available=True', 'Conflict=True']);
        expect((await get('/v1/workloads/wl-gone/status')).status).to.equal(404);
        expect((await get('/v1/workloads/WL-A/status')).status, 'IDs compare exactly').to.equal(404);
        expect((await get('/v1/workloads/WL-A/events')).status).to.equal(404);
        expect((await get('/v1/workloads/wl-s/events')).status).to.equal(200);
      } finally {
        await server.close();
        await svc.stop();
      }
    });
  });
}

describe("the service on a SQLite Tinyforge schema whose containers table has no updated_at", function () {
  this.timeout(60_000);

  it('migrates without a trigger, idempotently', async () => {
    const path = sqlitePath();
    const raw = new BetterSqlite3(path);
    raw.exec(sqliteDdl({ updatedAt: false }));
    raw.close();
    const db = await Database.connect(loadConfig({ DATABASE_URL: `sqlite:${path}` }).database);
    try {
      expect(await db.migrate()).to.deep.equal(ALL_MIGRATIONS);
      expect(await db.migrate()).to.deep.equal([]);
      const triggers = (await db.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'containers'")).rows;
      expect(triggers).to.deep.equal([]);
      const idx = (await db.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'containers' ORDER BY name")).rows.map((r) => r.name);
      expect(idx).to.include.members(['idx_containers_host_state_2', 'idx_containers_workload', 'tf_containers_container_host']);
      expect(await new DesiredStateRepository(db).fingerprint()).to.match(/^0\|0\|\|0\|0\|$/);
    } finally {
      await db.close();
    }
  });
});
