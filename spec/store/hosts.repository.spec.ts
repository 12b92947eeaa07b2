import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { Database } from '../../src/store/database.js';
import { HostsRepository, type Heartbeat } from '../../src/store/hosts.repository.js';
import { sharedMariaDb } from '../support/mariadb.js';

const sqliteDir = mkdtempSync(join(tmpdir(), 'tf-hosts-'));
const targets = [
  { name: 'SQLite', url: async () => `sqlite:${join(sqliteDir, 'h.db')}` },
  { name: 'MariaDB', url: async () => (await sharedMariaDb()).createDatabase('hosts') },
];

const beat = (over: Partial<Heartbeat> = {}): Heartbeat => ({
  host: 'node-a',
  agent: 'pod-1',
  version: '1.2.3',
  startedAt: Date.parse('2026-12-01T10:00:00Z'),
  ok: true,
  containers: 10,
  boundRows: 9,
  intervalMs: 30_000,
  lastSeenMaxAgeMs: 300_000,
  ...over,
});

for (const target of targets) {
  describe(`hosts heartbeat on ${target.name}`, function () {
    this.timeout(60_000);
    let db: Database;
    let repo: HostsRepository;
    before(async () => {
      db = await Database.connect(loadConfig({ DATABASE_URL: await target.url() }).database);
      await db.migrate();
      repo = new HostsRepository(db);
    });
    after(async () => {
      await db?.close();
      if (target.name === 'SQLite') rmSync(sqliteDir, { recursive: true, force: true });
    });

    it('one row per host, one statement per beat: the database clock in heartbeat_at, counts after a success, the error after a failure', async () => {
      await repo.heartbeat(beat());
      const [first] = await repo.list();
      const now = await db.now();
      expect(first).to.include({ host: 'node-a', agent: 'pod-1', version: '1.2.3', containers: 10, boundRows: 9, passes: 1, lastError: '', intervalMs: 30_000, lastSeenMaxAgeMs: 300_000 });
      expect(first!.startedAt).to.equal(Date.parse('2026-12-01T10:00:00Z'));
      expect(Math.abs(now - first!.heartbeatAt!)).to.be.lessThan(5_000);
      expect(first!.lastSuccessAt).to.equal(first!.heartbeatAt);

      await new Promise((r) => setTimeout(r, 20));
      await repo.heartbeat(beat({ ok: false, error: 'docker: connect ENOENT', containers: 0, boundRows: 0, agent: 'pod-2' }));
      const [second] = await repo.list();
      expect(second).to.include({ agent: 'pod-2', passes: 2, lastError: 'docker: connect ENOENT', containers: 10, boundRows: 9 });
      expect(second!.heartbeatAt!).to.be.greaterThan(first!.heartbeatAt!);
      expect(second!.lastSuccessAt, 'the last success stays').to.equal(first!.lastSuccessAt);

      await repo.heartbeat(beat({ containers: 11, boundRows: 11 }));
      const [third] = await repo.list();
      expect(third).to.include({ passes: 3, lastError: '', containers: 11, boundRows: 11 });
      expect(third!.lastSuccessAt).to.equal(third!.heartbeatAt);

      await repo.heartbeat(beat({ host: 'node-b' }));
      expect((await repo.list()).map((h) => h.host)).to.deep.equal(['node-a', 'node-b']);
    });

    it('clips an over-long error instead of failing', async () => {
      await repo.heartbeat(beat({ host: 'node-c', ok: false, error: 'x'.repeat(5000) }));
      const c = (await repo.list()).find((h) => h.host === 'node-c')!;
      expect(c.lastError.length).to.be.at.most(512);
      expect(c.lastSuccessAt).to.equal(null);
    });
  });
}
