import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import type { ObservedRow } from '../../src/controller/dispatch.js';
import { ContainersRepository } from '../../src/store/containers.repository.js';
import { Database, parseDbTime } from '../../src/store/database.js';
import { DesiredStateRepository } from '../../src/store/desired-state.repository.js';
import { sharedMariaDb } from '../support/mariadb.js';

interface Target {
  name: string;
  url: () => Promise<string>;
  cleanup?: () => void;
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'tf-sqlite-'));
const targets: Target[] = [
  { name: 'SQLite (embedded default)', url: async () => `sqlite:${join(sqliteDir, `t${Math.random().toString(36).slice(2)}.db`)}` },
  { name: 'MariaDB (mysql2)', url: async () => (await sharedMariaDb()).createDatabase('store') },
];

function row(id: string, over: Partial<ObservedRow> = {}): ObservedRow {
  return { id, workloadId: 'w1', workloadKind: 'project', role: 'web', containerId: `c-${id}`, imageRef: 'img:1', host: 'h1', state: 'running', port: 80, ...over };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const target of targets) {
  describe(`store on ${target.name}`, function () {
    this.timeout(120_000);
    let db: Database;
    let repo: ContainersRepository;

    before(async () => {
      const cfg = loadConfig({ DATABASE_URL: await target.url() });
      db = await Database.connect(cfg.database);
      expect(await db.migrate()).to.have.length.greaterThan(0);
      expect(await db.migrate(), 'migrations are idempotent').to.deep.equal([]);
      repo = new ContainersRepository(db);
    });
    after(async () => {
      await db?.close();
      if (target.name.startsWith('SQLite')) rmSync(sqliteDir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await db.query('DELETE FROM `containers`');
    });

    const all = async () => (await db.query<Record<string, unknown>>('SELECT * FROM `containers` ORDER BY `id`')).rows;

    it('upserts many rows in one call and writes only observed columns', async () => {
      await db.query("INSERT INTO `containers` (`id`, `workload_id`, `container_id`, `host`, `state`) VALUES ('a', 'w1', '', 'h1', 'created')");
      const created = (await all())[0]!.created_at;
      const rows = Array.from({ length: 1200 }, (_, i) => row(i === 0 ? 'a' : `r${String(i).padStart(4, '0')}`));
      await repo.upsert(rows, Date.now(), 500);
      const got = await all();
      expect(got).to.have.length(1200);
      const a = got.find((r) => r.id === 'a')!;
      expect(a).to.include({ container_id: 'c-a', state: 'running', role: 'web', host: 'h1' });
      expect(parseDbTime(a.created_at), 'created_at is never overwritten').to.equal(parseDbTime(created));
      expect(a.last_seen_at).to.not.equal(null);
    });

    it('round-trips unicode and SQL metacharacters verbatim', async () => {
      const nasty = "'); DROP TABLE containers;-- 🚀 東京 \\ % _ \" `";
      await repo.upsert([row('u', { role: nasty, imageRef: 'ü:1' })], Date.now());
      const [r] = await repo.findByContainerOrRowIds([], ['u']);
      expect(r!.role).to.equal(nasty);
      expect(r!.imageRef).to.equal('ü:1');
      expect((await repo.findByContainerOrRowIds(['c-u'], []))[0]!.id).to.equal('u');
    });

    it('sweeps only this host, never unbound rows, never rows changed after the list began', async () => {
      await repo.upsert([row('old'), row('other-host', { host: 'h2' })], Date.now());
      await db.query("INSERT INTO `containers` (`id`, `container_id`, `host`, `state`) VALUES ('unbound', '', 'h1', 'created')");
      await sleep(20);
      const listStartedAt = await db.now();
      await sleep(20);
      await repo.upsert([row('late')], Date.now()); // bound after the list began
      const n = await repo.sweepMissing('h1', ['old', 'other-host', 'unbound', 'late'], listStartedAt);
      expect(n).to.equal(1);
      const states = Object.fromEntries((await all()).map((r) => [r.id, r.state]));
      expect(states).to.deep.equal({ late: 'running', old: 'missing', 'other-host': 'running', unbound: 'created' });
      expect(await repo.sweepMissing('h1', ['old'], await db.now()), 'idempotent').to.equal(0);
    });

    it('a row rebound by another program after the list began is not swept', async () => {
      await repo.upsert([row('slot')], Date.now());
      await sleep(20);
      const listStartedAt = await db.now();
      await sleep(20);
      await db.query("UPDATE `containers` SET `container_id` = 'new-container' WHERE `id` = 'slot'");
      expect(await repo.sweepMissing('h1', ['slot'], listStartedAt)).to.equal(0);
    });

    it('marks missing by container ID on this host only', async () => {
      await repo.upsert([row('x'), row('y', { host: 'h2', containerId: 'c-x2' })], Date.now());
      expect(await repo.markMissingByContainerIds('h1', ['c-x', 'c-x2', 'nope'])).to.equal(1);
      expect(await repo.markMissingByContainerIds('h1', ['c-x'])).to.equal(0);
      expect((await all()).map((r) => r.state)).to.deep.equal(['missing', 'running']);
    });

    it('touches last_seen_at without moving updated_at, and skips missing or unbound rows', async () => {
      await repo.upsert([row('t1'), row('t2', { state: 'missing' })], Date.now() - 60_000);
      await db.query("INSERT INTO `containers` (`id`, `container_id`, `host`, `state`) VALUES ('t3', '', 'h1', 'created')");
      const before = await all();
      await sleep(30);
      const now = await db.now();
      const n = await repo.touchLastSeen('h1', now, now);
      expect(n).to.equal(1);
      const after = await all();
      const t1b = before.find((r) => r.id === 't1')!;
      const t1a = after.find((r) => r.id === 't1')!;
      expect(parseDbTime(t1a.last_seen_at)).to.equal(now);
      expect(parseDbTime(t1a.updated_at), 'seeing again is not a change').to.equal(parseDbTime(t1b.updated_at));
      expect(after.find((r) => r.id === 't2')!.last_seen_at).to.deep.equal(before.find((r) => r.id === 't2')!.last_seen_at);
      expect(after.find((r) => r.id === 't3')!.last_seen_at).to.equal(null);
    });

    it('moves updated_at when another program changes an observed column', async () => {
      await repo.upsert([row('m')], Date.now());
      const before = parseDbTime((await all())[0]!.updated_at)!;
      await sleep(20);
      await db.query("UPDATE `containers` SET `state` = 'stopped' WHERE `id` = 'm'");
      expect(parseDbTime((await all())[0]!.updated_at)!).to.be.greaterThan(before);
    });

    it('reads the desired state in two statements', async () => {
      await db.query('DELETE FROM `workloads`');
      await db.query('DELETE FROM `stacks`');
      await db.query("INSERT INTO `workloads` (`id`, `kind`, `ref_id`) VALUES ('w1', 'stack', 's1'), ('w2', 'site', 'site-1')");
      await db.query("INSERT INTO `stacks` (`id`, `compose_project_name`) VALUES ('s1', 'tinyforge-a')");
      const snap = await new DesiredStateRepository(db).load();
      expect(snap.workloads).to.deep.include({ id: 'w2', kind: 'site', refId: 'site-1' });
      expect(snap.stacks).to.deep.equal([{ id: 's1', composeProjectName: 'tinyforge-a' }]);
    });

    it('uses UTC database time', async () => {
      const t = await db.now();
      expect(Math.abs(t - Date.now())).to.be.lessThan(5_000);
    });
  });
}
