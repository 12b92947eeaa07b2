import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import type { ObservedRow } from '../../src/domain/types.js';
import { ContainersRepository, observedRowChecksum } from '../../src/store/containers.repository.js';
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
      await repo.upsert(rows, 500);
      const got = await all();
      expect(got).to.have.length(1200);
      const a = got.find((r) => r.id === 'a')!;
      expect(a).to.include({ container_id: 'c-a', state: 'running', role: 'web', host: 'h1' });
      expect(parseDbTime(a.created_at), 'created_at is never overwritten').to.equal(parseDbTime(created));
      expect(a.last_seen_at).to.not.equal(null);
      const dbNow = await db.now();
      expect(Math.abs(parseDbTime(a.last_seen_at)! - dbNow), 'last_seen_at is the database clock').to.be.lessThan(5_000);
    });

    it("never overwrites another host's row, but adopts a row the deployer left without a host", async () => {
      await repo.upsert([row('theirs', { host: 'h2', containerId: 'c-theirs', state: 'running' })]);
      await db.query("INSERT INTO `containers` (`id`, `workload_id`, `container_id`, `host`, `state`) VALUES ('hostless', 'w1', 'c-hl', '', 'created')");
      await repo.upsert([row('theirs', { host: 'h1', containerId: 'c-mine', state: 'stopped' }), row('hostless', { containerId: 'c-hl' })]);
      const got = Object.fromEntries((await all()).map((r) => [r.id, r]));
      expect(got.theirs).to.include({ host: 'h2', container_id: 'c-theirs', state: 'running' });
      expect(got.hostless).to.include({ host: 'h1', container_id: 'c-hl', state: 'running' });
      const mine = (await repo.listForHost('h1')).map((r) => r.id).sort();
      expect(mine).to.deep.equal(['hostless']);
    });

    it('round-trips unicode and SQL metacharacters verbatim', async () => {
      const nasty = "'); DROP TABLE containers;-- 🚀 東京 \\ % _ \" `";
      await repo.upsert([row('u', { role: nasty, imageRef: 'ü:1' })]);
      const [r] = await repo.findByContainerOrRowIds([], ['u']);
      expect(r!.role).to.equal(nasty);
      expect(r!.imageRef).to.equal('ü:1');
      expect((await repo.findByContainerOrRowIds(['c-u'], []))[0]!.id).to.equal('u');
    });

    it('sweeps by compare-and-set: only this host, never unbound rows, never a row rebound since the snapshot', async () => {
      await repo.upsert([row('old'), row('other-host', { host: 'h2' }), row('rebound')]);
      await db.query("INSERT INTO `containers` (`id`, `container_id`, `host`, `state`) VALUES ('unbound', '', 'h1', 'created')");
      const snapshot = await repo.listForHost('h1');
      // Another program rebinds a row after the snapshot (whatever its session's clock says).
      await db.query("UPDATE `containers` SET `container_id` = 'new-container' WHERE `id` = 'rebound'");
      const seen = [...snapshot, row('other-host', { host: 'h2' })].map((r) => ({ id: r.id, containerId: r.containerId }));
      const n = await repo.markMissingIfBound('h1', seen);
      expect(n).to.equal(1);
      const states = Object.fromEntries((await all()).map((r) => [r.id, r.state]));
      expect(states).to.deep.equal({ old: 'missing', 'other-host': 'running', rebound: 'running', unbound: 'created' });
      expect(await repo.markMissingIfBound('h1', [{ id: 'old', containerId: 'c-old' }]), 'idempotent').to.equal(0);
    });

    it('the compare-and-set sweep handles thousands of rows in chunks', async () => {
      const rows = Array.from({ length: 4000 }, (_, i) => row(`s${i}`));
      await repo.upsert(rows, 1000);
      const seen = rows.map((r, i) => ({ id: r.id, containerId: i % 2 === 0 ? r.containerId : 'someone-else' }));
      expect(await repo.markMissingIfBound('h1', seen)).to.equal(2000);
    });

    it('marks missing by container ID on this host only', async () => {
      await repo.upsert([row('x'), row('y', { host: 'h2', containerId: 'c-x2' })]);
      expect(await repo.markMissingByContainerIds('h1', ['c-x', 'c-x2', 'nope'])).to.equal(1);
      expect(await repo.markMissingByContainerIds('h1', ['c-x'])).to.equal(0);
      expect((await all()).map((r) => r.state)).to.deep.equal(['missing', 'running']);
    });

    it('touches last_seen_at by compare-and-set with the database clock, without moving updated_at; skips missing, rebound and other hosts\' rows', async () => {
      await repo.upsert([row('t1'), row('t2', { state: 'missing' }), row('t4'), row('t5', { host: 'h2' }), row('t6')]);
      await db.query("UPDATE `containers` SET `last_seen_at` = '2001-01-01 00:00:00.000'");
      // Another program rebinds t4 after the pass listed it.
      await db.query("UPDATE `containers` SET `container_id` = 'c-other' WHERE `id` = 't4'");
      const before = await all();
      await sleep(30);
      const seen = ['t1', 't2', 't4', 't5'].map((id) => ({ id, containerId: `c-${id}` }));
      const n = await repo.touchSeen('h1', seen);
      const now = await db.now();
      expect(n).to.equal(1);
      const after = Object.fromEntries((await all()).map((r) => [r.id, r]));
      const t1b = before.find((r) => r.id === 't1')!;
      expect(now - parseDbTime(after.t1!.last_seen_at)!).to.be.within(0, 5_000);
      expect(parseDbTime(after.t1!.updated_at), 'seeing again is not a change').to.equal(parseDbTime(t1b.updated_at));
      for (const id of ['t2', 't4', 't5', 't6']) expect(parseDbTime(after[id]!.last_seen_at), `${id} untouched`).to.equal(Date.parse('2001-01-01T00:00:00Z'));
      expect(await repo.touchSeen('h1', []), 'nothing to touch: no statement').to.equal(0);
    });

    it('reads last_seen_at with the host view (null when never set)', async () => {
      await repo.upsert([row('ls1', { host: 'h7' })]);
      await db.query("INSERT INTO `containers` (`id`, `container_id`, `host`, `state`) VALUES ('ls2', 'c-ls2', 'h7', 'created')");
      const got = Object.fromEntries((await repo.listForHost('h7')).map((r) => [r.id, r.lastSeenAt]));
      expect(Math.abs(got.ls1! - (await db.now()))).to.be.lessThan(5_000);
      expect(got.ls2).to.equal(null);
    });

    it("the host view's checksum equals the service's for the same rows, and changes with any observed column (not with last_seen_at)", async () => {
      const h = 'ck-host';
      const rows = [row('ck1', { host: h, role: "wéb 🚀 '\\" }), row('ck2', { host: h, state: 'stopped', port: 0 }), row('ck3', { host: '', containerId: 'c-ck3' })];
      await repo.upsert(rows);
      // A hostless bound row is part of every host's view, as the deployer leaves it.
      await db.query("UPDATE `containers` SET `host` = '' WHERE `id` = 'ck3'");
      const view = await repo.listForHost(h);
      const ours = { count: 0, sum: 0, xor: 0 };
      for (const r of view) {
        const crc = observedRowChecksum(r);
        ours.count++;
        ours.sum += crc;
        ours.xor = (ours.xor ^ crc) >>> 0;
      }
      const theirs = await repo.hostChecksum(h);
      expect(theirs).to.deep.equal(ours);
      expect(theirs.count).to.be.at.least(3);
      await db.query("UPDATE `containers` SET `last_seen_at` = '2002-02-02 00:00:00.000' WHERE `id` = 'ck1'");
      expect(await repo.hostChecksum(h), 'last_seen_at is not part of it').to.deep.equal(theirs);
      for (const [col, value] of [['image_ref', 'img:2'], ['state', 'running'], ['port', 81], ['role', 'web'], ['container_id', 'c-moved']] as const) {
        await db.query(`UPDATE \`containers\` SET \`${col}\` = ? WHERE \`id\` = 'ck2'`, [value]);
        const now = await repo.hostChecksum(h);
        expect(now, `a change of ${col} shows`).to.not.deep.equal(theirs);
      }
      expect((await repo.hostChecksum('nobody-here')).count, 'hostless bound rows only').to.be.at.least(1);
    });

    it('moves updated_at when another program changes an observed column', async () => {
      await repo.upsert([row('m')]);
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
