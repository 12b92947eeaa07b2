import { expect } from 'chai';
import { sharedDockerd, startDockerd, type PrivateDockerd } from '../support/dockerd.js';
import { sharedMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { counter, eventually, startTestApp, type TestApp } from '../support/app.js';

const HOST = 'ev-host';
const LABELS = (role: string) => ({ 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-ev', 'tinyforge.role': role });

/**
 * Events, not polling: the resync interval is 5 minutes, so only the event stream can explain
 * a row that follows a change within 2 seconds.
 */
describe('docker events drive rows (real dockerd, RECONCILE_INTERVAL=5m)', function () {
  this.timeout(240_000);
  let maria: MariaDbServer;

  async function setupDb(prefix: string): Promise<{ url: string; db: string }> {
    const url = await maria.createDatabase(prefix);
    return { url, db: new URL(url).pathname.slice(1) };
  }
  async function seed(db: string) {
    await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id) VALUES ('wl-ev','project','p-ev'),('wl-stack','stack','s-ev')`);
    await maria.query(`INSERT INTO \`${db}\`.stacks (id, name, compose_project_name) VALUES ('s-ev','ev','tinyforge-ev')`);
  }
  const stateOf = async (db: string, containerId: string): Promise<string | undefined> => {
    const r = (await maria.query(`SELECT state FROM \`${db}\`.containers WHERE container_id = ?`, [containerId])) as Array<{ state: string }>;
    return r[0]?.state;
  };
  const within2s = <T>(fn: () => Promise<T | undefined | false>, what: string) => eventually(fn, what, 2000, 10);

  before(async () => {
    maria = await sharedMariaDb();
  });

  describe('on the shared engine', () => {
    let docker: PrivateDockerd;
    let t: TestApp;
    let db: string;

    before(async () => {
      docker = await sharedDockerd();
      await docker.removeAllContainers();
      const d = await setupDb('it_events');
      db = d.db;
      t = await startTestApp({ DATABASE_URL: d.url, DOCKER_HOST: docker.dockerHost, HOST_NAME: HOST });
      await seed(db);
      await eventually(async () => t.passes.some((p) => p.ok), 'the first pass', 20_000);
      // Let the boot pass and the relist after the watch connected settle.
      let n = -1;
      while (n !== t.passes.length) {
        n = t.passes.length;
        await new Promise((r) => setTimeout(r, 400));
      }
    });
    after(async () => {
      await t?.stop();
      await docker?.removeAllContainers();
    });

    it('docker run, stop, start and rm -f each reach the row within 2 seconds', async () => {
      const passesBefore = t.passes.length;
      const id = await docker.runContainer({ labels: LABELS('a') });
      await within2s(async () => (await stateOf(db, id)) === 'running', 'docker run -> running');
      await docker.docker(['stop', '-t', '1', id]);
      await within2s(async () => (await stateOf(db, id)) === 'stopped', 'docker stop -> stopped');
      await docker.docker(['start', id]);
      await within2s(async () => (await stateOf(db, id)) === 'running', 'docker start -> running');
      await docker.docker(['pause', id]);
      await within2s(async () => (await stateOf(db, id)) === 'paused', 'docker pause -> paused');
      await docker.docker(['unpause', id]);
      await within2s(async () => (await stateOf(db, id)) === 'running', 'docker unpause -> running');
      await docker.docker(['rm', '-f', id]);
      await within2s(async () => (await stateOf(db, id)) === 'missing', 'docker rm -f -> missing');
      expect(t.passes.length, 'no resync pass explains these changes').to.be.at.most(passesBefore + 0);
      expect(await counter(t, 'tinyforge_reconciler_docker_events_total{action="destroy"}')).to.be.at.least(1);
    });

    it('a compose up --scale reaches one row per replica within 2 seconds', async () => {
      const yaml = 'version: "2.4"\nservices:\n  web:\n    image: tinyforge-busybox:latest\n    command: ["sleep", "3600"]\n    network_mode: none\n    stop_grace_period: 1s\n';
      await docker.compose('tinyforge-ev', yaml, ['up', '-d', '--scale', 'web=3']);
      const ids = (await docker.docker(['ps', '-q', '--no-trunc', '--filter', 'label=com.docker.compose.project=tinyforge-ev'])).stdout.trim().split('\n');
      expect(ids).to.have.length(3);
      await within2s(async () => {
        const rows = (await maria.query(`SELECT id, state FROM \`${db}\`.containers WHERE workload_id = 'wl-stack' ORDER BY id`)) as Array<{ id: string; state: string }>;
        const want = ['wl-stack:web', 'wl-stack:web:2', 'wl-stack:web:3'].map((id) => `${id}@${HOST}`).sort();
        return rows.length === 3 && rows.every((r) => r.state === 'running') && rows.map((r) => r.id).sort().join(',') === want.join(',');
      }, 'three replica rows');
      await docker.compose('tinyforge-ev', yaml, ['up', '-d', '--scale', 'web=1']);
      await within2s(async () => {
        const rows = (await maria.query(`SELECT id, state FROM \`${db}\`.containers WHERE workload_id = 'wl-stack' ORDER BY id`)) as Array<{ id: string; state: string }>;
        const want = [`wl-stack:web@${HOST}=running`, `wl-stack:web:2@${HOST}=missing`, `wl-stack:web:3@${HOST}=missing`].sort();
        return rows.map((r) => `${r.id}=${r.state}`).sort().join(',') === want.join(',');
      }, 'scaled-down replicas missing');
      await docker.compose('tinyforge-ev', yaml, ['down']);
    });

    it('a burst of events for one container costs far fewer reconciles than events', async () => {
      const id = await docker.runContainer({ labels: LABELS('burst') });
      await within2s(async () => (await stateOf(db, id)) === 'running', 'burst container running');
      // Let the run's own events (create, start) finish their reconciles before counting.
      await new Promise((r) => setTimeout(r, 500));
      const unchangedBefore = await counter(t, 'tinyforge_reconciler_upserts_total{dispatch="workload",result="unchanged"}');
      const eventsBefore = await counter(t, 'tinyforge_reconciler_docker_events_total{action="update"}');
      const passesBefore = t.passes.length;
      // 30 `docker update`s: each emits an `update` event; none changes an observed column.
      for (let i = 0; i < 30; i++) await docker.docker(['update', '--cpu-shares', String(512 + i), id]);
      await eventually(async () => (await counter(t, 'tinyforge_reconciler_docker_events_total{action="update"}')) - eventsBefore >= 30, 'update events', 5000);
      await new Promise((r) => setTimeout(r, 200));
      const reconciles = (await counter(t, 'tinyforge_reconciler_upserts_total{dispatch="workload",result="unchanged"}')) - unchangedBefore;
      // A pass that ran meanwhile (a relist after a lost line, say) counts every container it decided as unchanged too.
      const byPasses = t.passes.slice(passesBefore).reduce((n, p) => n + p.listed, 0);
      expect(reconciles).to.be.at.least(1).and.at.most(30 + byPasses);
      expect(await stateOf(db, id)).to.equal('running');
    });
  });

  describe('across a dockerd restart', () => {
    let docker: PrivateDockerd;
    let t: TestApp;
    let db: string;

    before(async () => {
      docker = await startDockerd({ name: 'events-restart' });
      const d = await setupDb('it_restart');
      db = d.db;
      t = await startTestApp({ DATABASE_URL: d.url, DOCKER_HOST: docker.dockerHost, HOST_NAME: HOST });
      await seed(db);
    });
    after(async () => {
      await t?.stop();
      await docker?.dispose();
    });

    it('comes back on its own: stopped containers show stopped, one removed right after shows missing, the service never exits', async () => {
      const keep = await docker.runContainer({ labels: LABELS('keep') });
      const doomed = await docker.runContainer({ labels: LABELS('doomed') });
      await eventually(async () => (await stateOf(db, keep)) === 'running' && (await stateOf(db, doomed)) === 'running', 'both running', 5000);
      const restartsBefore = await counter(t, 'tinyforge_reconciler_docker_watch_restarts_total');

      await docker.kill9();
      await new Promise((r) => setTimeout(r, 500));
      expect((await fetch(`${t.baseUrl}/healthz`)).status, 'still alive while Docker is gone').to.equal(200);
      await docker.start();
      await docker.docker(['rm', '-f', doomed]);

      await eventually(async () => (await stateOf(db, keep)) === 'stopped', 'keep -> stopped after the daemon restart', 10_000);
      await eventually(async () => (await stateOf(db, doomed)) === 'missing', 'doomed -> missing', 10_000);
      expect(await counter(t, 'tinyforge_reconciler_docker_watch_restarts_total')).to.be.greaterThan(restartsBefore);

      // The watch is live again: a new container shows up by event alone.
      const fresh = await docker.runContainer({ labels: LABELS('fresh') });
      await within2s(async () => (await stateOf(db, fresh)) === 'running', 'a container started after the restart');
      expect((await fetch(`${t.baseUrl}/healthz`)).status).to.equal(200);
    });
  });
});
