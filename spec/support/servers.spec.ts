import { expect } from 'chai';
import * as fs from 'node:fs';
import { createConnection } from 'mysql2/promise';
import { sharedMariaDb, startMariaDb, type MariaDbServer } from './mariadb.js';
import { startDockerd, type PrivateDockerd } from './dockerd.js';
import { mountsUnder, processAlive } from './proc.js';

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected the promise to reject, but it resolved');
}

describe('test servers (spec/support)', function () {
  this.timeout(120_000);

  describe('startMariaDb()', () => {
    let db: MariaDbServer;

    before(async () => {
      db = await startMariaDb({ name: 'servers-spec' });
    });

    after(async () => {
      await db?.dispose();
    });

    it('serves root over TCP with a password on its own port', async () => {
      expect(db.port).to.be.a('number').and.not.equal(3306);
      expect(db.url('abc')).to.equal(`mysql://root:tf-secret-pw@127.0.0.1:${db.port}/abc`);
      expect(processAlive(db.pid)).to.equal(true);
      const rows = await db.query('SELECT 1 + ? AS two', [1]);
      expect(rows).to.deep.equal([{ two: 2 }]);

      const denied = await rejection(
        createConnection({ host: '127.0.0.1', port: db.port, user: 'root', password: 'wrong' }),
      );
      expect(denied.code).to.equal('ER_ACCESS_DENIED_ERROR');
    });

    it('creates unique utf8mb4 databases and runs in strict mode with UTC', async () => {
      const url1 = await db.createDatabase('spec');
      const url2 = await db.createDatabase('spec');
      expect(url1).to.not.equal(url2);
      const name = new URL(url1).pathname.slice(1);
      expect(name).to.match(/^spec_/);
      const [schema] = await db.query(
        'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [name],
      );
      expect(schema).to.deep.equal({ cs: 'utf8mb4', co: 'utf8mb4_unicode_ci' });

      await db.query(`CREATE TABLE \`${name}\`.t (id INT PRIMARY KEY, s VARCHAR(3))`);
      const tooLong = await rejection(db.query(`INSERT INTO \`${name}\`.t VALUES (1, 'abcd')`));
      expect(tooLong.code).to.equal('ER_DATA_TOO_LONG');
      await db.query(`INSERT INTO \`${name}\`.t VALUES (2, '🐳')`);
      expect(await db.query(`SELECT s FROM \`${name}\`.t`)).to.deep.equal([{ s: '🐳' }]);

      const [vars] = await db.query('SELECT @@global.time_zone AS tz, @@global.max_connections AS mc, @@log_bin AS lb');
      expect(vars).to.deep.equal({ tz: '+00:00', mc: 500, lb: 0 });
    });

    it('kill9() then start(): same port and datadir, committed rows survive', async () => {
      const name = new URL(await db.createDatabase('crash')).pathname.slice(1);
      await db.query(`CREATE TABLE \`${name}\`.t (id INT PRIMARY KEY)`);
      await db.query(`INSERT INTO \`${name}\`.t VALUES (1), (2), (3)`);
      const { port, pid, datadir } = db;

      await db.kill9();
      expect(processAlive(pid)).to.equal(false);
      expect(db.running).to.equal(false);
      const down = await rejection(db.query('SELECT 1'));
      expect(down.code).to.equal('ECONNREFUSED');

      await db.start();
      expect(db.port).to.equal(port);
      expect(db.datadir).to.equal(datadir);
      expect(db.pid).to.not.equal(pid);
      expect(await db.query(`SELECT COUNT(*) AS n FROM \`${name}\`.t`)).to.deep.equal([{ n: 3 }]);
    });

    it('stop() then start()', async () => {
      const pid = db.pid;
      await db.stop();
      expect(processAlive(pid)).to.equal(false);
      await db.start();
      expect(await db.query('SELECT 1 AS one')).to.deep.equal([{ one: 1 }]);
    });

    it('dispose() leaves no process and no files', async () => {
      const { pid, rootDir } = db;
      await db.dispose();
      expect(processAlive(pid)).to.equal(false);
      expect(fs.existsSync(rootDir)).to.equal(false);
      await db.dispose(); // idempotent
    });
  });

  describe('sharedMariaDb()', () => {
    it('is one lazily started server', async () => {
      const [a, b] = await Promise.all([sharedMariaDb(), sharedMariaDb()]);
      expect(a).to.equal(b);
      expect(await a.query('SELECT 2 AS two')).to.deep.equal([{ two: 2 }]);
    });
  });

  describe('startDockerd()', () => {
    let d: PrivateDockerd;
    const label = 'tinyforge.test';

    before(async () => {
      d = await startDockerd({ name: 'servers-spec' });
    });

    after(async () => {
      await d?.dispose();
    });

    async function inspect(id: string): Promise<any> {
      return JSON.parse((await d.docker(['inspect', id])).stdout)[0];
    }

    async function idsWithLabel(value: string): Promise<string[]> {
      const res = await d.docker(['ps', '-a', '--no-trunc', '--filter', `label=${label}=${value}`, '--format', '{{.ID}}']);
      return res.stdout.split('\n').filter(Boolean).sort();
    }

    it('has a short socket, the test image and a working storage driver', async () => {
      expect(Buffer.byteLength(d.socketPath)).to.be.below(108);
      expect(d.dockerHost).to.equal(`unix://${d.socketPath}`);
      expect(['overlay2', 'vfs']).to.include(d.storageDriver);
      const info = JSON.parse((await d.docker(['info', '--format', '{{json .}}'])).stdout);
      expect(info.Driver).to.equal(d.storageDriver);
      expect(info.DockerRootDir).to.equal(d.dataRoot);
      const img = await d.docker(['image', 'inspect', '--format', '{{json .Config.Cmd}}', d.image]);
      expect(JSON.parse(img.stdout)).to.deep.equal(['sleep', '3600']);
    });

    it('runs labelled containers (network none) that ps --filter label finds', async () => {
      const id = await d.runContainer({ name: 'tf-spec-one', labels: { [label]: 'one' } });
      expect(id).to.match(/^[0-9a-f]{64}$/);
      expect(await idsWithLabel('one')).to.deep.equal([id]);
      const c = await inspect(id);
      expect(c.Name).to.equal('/tf-spec-one');
      expect(c.HostConfig.NetworkMode).to.equal('none');
      expect(c.State.Running).to.equal(true);
    });

    it('stops (fast), starts and removes containers', async () => {
      const id = await d.runContainer({ labels: { [label]: 'lifecycle' } });
      const t0 = Date.now();
      await d.docker(['stop', id]);
      expect(Date.now() - t0).to.be.below(5_000);
      expect((await inspect(id)).State.Running).to.equal(false);
      await d.docker(['start', id]);
      expect((await inspect(id)).State.Running).to.equal(true);
      await d.docker(['rm', '-f', id]);
      expect(await idsWithLabel('lifecycle')).to.deep.equal([]);
    });

    it('creates without starting, and runs in the foreground to an exit code', async () => {
      const created = await d.runContainer({ createOnly: true, labels: { [label]: 'created' } });
      expect((await inspect(created)).State.Status).to.equal('created');
      const done = await d.runContainer({ detach: false, cmd: ['sh', '-c', 'exit 3'] });
      const st = (await inspect(done)).State;
      expect(st.Status).to.equal('exited');
      expect(st.ExitCode).to.equal(3);
    });

    it('runs a compose project with --scale and refuses a service without network_mode none', async () => {
      const yaml = [
        'version: "2.4"',
        'services:',
        '  web:',
        `    image: ${d.image}`,
        '    command: ["sleep", "3600"]',
        '    network_mode: none',
        '  worker:',
        `    image: ${d.image}`,
        '    network_mode: none',
        '',
      ].join('\n');
      await d.compose('specproj', yaml, ['up', '-d', '--scale', 'web=2']);
      const res = await d.docker([
        'ps', '--filter', 'label=com.docker.compose.project=specproj',
        '--format', '{{.Label "com.docker.compose.service"}}',
      ]);
      expect(res.stdout.split('\n').filter(Boolean).sort()).to.deep.equal(['web', 'web', 'worker']);
      await d.compose('specproj', yaml, ['down']);
      const after = await d.docker(['ps', '-a', '-q', '--filter', 'label=com.docker.compose.project=specproj']);
      expect(after.stdout.trim()).to.equal('');

      const bad = await rejection(d.compose('badproj', `services:\n  web:\n    image: ${d.image}\n`, ['up', '-d']));
      expect(bad.message).to.match(/network_mode: none/);
    });

    it('kill9() then start(): same socket, containers that were running come back as exited', async () => {
      const id = await d.runContainer({ labels: { [label]: 'survivor' } });
      const { pid, socketPath } = d;

      await d.kill9();
      expect(processAlive(pid)).to.equal(false);
      const down = await d.docker(['ps'], { allowFail: true });
      expect(down.code).to.not.equal(0);

      await d.start();
      expect(d.socketPath).to.equal(socketPath);
      expect(d.pid).to.not.equal(pid);
      expect(await idsWithLabel('survivor')).to.deep.equal([id]);
      const st = (await inspect(id)).State;
      expect(st.Running).to.equal(false);
      expect(st.Status).to.equal('exited');
      // and it can run again
      await d.docker(['start', id]);
      expect((await inspect(id)).State.Running).to.equal(true);
    });

    it('removeAllContainers() empties the engine', async () => {
      await d.runContainer({});
      await d.removeAllContainers();
      expect((await d.docker(['ps', '-a', '-q'])).stdout.trim()).to.equal('');
    });

    it('dispose() leaves no process, mount or file', async () => {
      await d.runContainer({ labels: { [label]: 'left-running' } });
      const { pid, rootDir } = d;
      await d.dispose();
      expect(processAlive(pid)).to.equal(false);
      expect(mountsUnder(rootDir)).to.deep.equal([]);
      expect(fs.existsSync(rootDir)).to.equal(false);
      const strays = fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(rootDir + '/');
          } catch {
            return false;
          }
        });
      expect(strays).to.deep.equal([]);
    });
  });
});
