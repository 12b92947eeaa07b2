import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app.js';
import { DockerSimulator, type SimContainer, type SimState } from '../support/docker-sim.js';
import { sharedGalera, type GaleraCluster } from '../support/galera.js';
import { compareToTruth, readRows, simClaims, sleep, waitForTruth } from '../support/truth.js';

/**
 * Failover on a real 3-node MariaDB Galera cluster (spec/support/galera.ts): the service gets a
 * DATABASE_URL naming all three servers (src/store/failover-pool.ts sends every connection to the
 * first that is up). The server it writes through is killed in the middle of a pass, and again
 * under churn; the service must carry on through the next server within seconds, with no row lost
 * or wrong, and go back to the first server once it rejoined and is Synced.
 */
describe('Galera: failover between servers', function () {
  this.timeout(300_000);
  const HOST = 'fo-host';
  const N = 1500;
  const WORKLOADS = 10;
  const states: SimState[] = ['running', 'running', 'running', 'exited', 'created'];
  const make = (i: number): Partial<SimContainer> => ({
    name: `fo-${i}`,
    image: `img-${i % 3}:1`,
    labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': `wl-fo-${i % WORKLOADS}`, 'tinyforge.role': `r${i}` },
    state: states[i % states.length]!,
    ports: [],
  });
  const known = new Set(Array.from({ length: WORKLOADS }, (_, i) => `wl-fo-${i}`));
  let cluster: GaleraCluster;
  let sim: DockerSimulator;
  let db: string;
  let app: TestApp | undefined;

  /** The port of the server the service's pool hands out now. */
  const servingPort = async (): Promise<number> => {
    const { rows } = await app!.app.database!.query<{ p: number }>('SELECT @@port AS p');
    return Number(rows[0]!.p);
  };
  /** The table against the simulator: a row naming a container the simulator no longer has must be `missing` (it never reuses IDs). */
  const truth = () => async () => {
    const rows = await readRows(cluster.nodes[2]!, db, HOST);
    const live = new Set(sim.list().map((c) => c.id));
    const gone = new Set(rows.map((r) => r.container_id).filter((id) => id !== '' && !live.has(id)));
    return compareToTruth(rows, simClaims(sim, known), gone, HOST);
  };
  /** Passes until one succeeds; how long that took. */
  const untilAPassSucceeds = async (timeoutMs: number): Promise<number> => {
    const t0 = Date.now();
    for (;;) {
      const r = await app!.app.runPassNow();
      if (r.ok) return Date.now() - t0;
      if (Date.now() - t0 > timeoutMs) throw new Error(`no successful pass within ${timeoutMs} ms: ${r.error}`);
      await sleep(100);
    }
  };

  before(async () => {
    cluster = await sharedGalera();
    await cluster.startAll();
    await cluster.waitSynced(60_000);
    sim = await DockerSimulator.start();
    sim.populate(N, make);
    db = await cluster.createDatabase('g_fo');
    app = await startTestApp({ DATABASE_URL: cluster.appUrl(db), DOCKER_HOST: sim.dockerHost, HOST_NAME: HOST, WORKERS: '8', DB_CONNECT_TIMEOUT: '2s' });
    const ids = [...known];
    await cluster.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ${ids.map(() => "(?, 'project', ?, 'fo')").join(',')}`, ids.flatMap((id) => [id, `ref-${id}`]));
    await app.app.runPassNow();
    const boot = await waitForTruth(truth(), 60_000);
    expect(boot.problems.slice(0, 5), 'after the boot passes').to.deep.equal([]);
  });

  after(async () => {
    await app?.stop();
    await sim?.stop();
    // Leave the shared cluster whole for whoever comes next.
    if (cluster) {
      await cluster.startAll();
      await cluster.waitSynced(120_000);
    }
  });

  it('the server in use is killed in the middle of a pass: the next pass runs on the next server, rows stay right; it comes back to the first once it rejoined', async () => {
    const [first, second] = [cluster.nodes[0]!, cluster.nodes[1]!];
    expect(await servingPort(), 'the first server of the list is preferred').to.equal(first.port);
    // Something for the pass to write while the server dies.
    for (const c of sim.list().slice(0, 300)) sim.setState(c.id, c.state === 'running' ? 'exited' : 'running');
    const during = app!.app.runPassNow();
    await sleep(40);
    const killedAt = Date.now();
    await first.kill();
    const interrupted = await during;
    const recoveredMs = await untilAPassSucceeds(20_000);
    console.log(`      [galera failover] pass in flight when killed: ${interrupted.ok ? 'finished' : `failed (${interrupted.error})`}; first successful pass ${Date.now() - killedAt} ms after the kill (${recoveredMs} ms of retries)`);
    expect(Date.now() - killedAt, 'converges within seconds').to.be.lessThan(15_000);
    expect(await servingPort()).to.equal(second.port);
    const conv = await waitForTruth(truth(), 30_000);
    expect(conv.problems.slice(0, 10), `${conv.problems.length} rows wrong after failover`).to.deep.equal([]);

    await first.start();
    await cluster.waitSynced(120_000);
    const t0 = Date.now();
    for (;;) {
      await app!.app.runPassNow();
      if ((await servingPort()) === first.port) break;
      if (Date.now() - t0 > 30_000) throw new Error('the service did not go back to the first server after it rejoined');
      await sleep(250);
    }
    const back = await waitForTruth(truth(), 30_000);
    expect(back.problems.slice(0, 10)).to.deep.equal([]);
  });

  it('under churn: the server in use is killed while Docker changes 100 containers a second; no row lost or wrong once the churn ends', async () => {
    const first = cluster.nodes[0]!;
    expect(await servingPort()).to.equal(first.port);
    const churn = sim.churn({ perSecond: 100, mix: { create: 0.3, stateChange: 0.5, remove: 0.2 }, make });
    const stopAt = Date.now() + 8_000;
    const passes = (async () => {
      while (Date.now() < stopAt) {
        await app!.app.runPassNow();
        await sleep(200);
      }
    })();
    await sleep(2_500);
    await first.kill();
    await passes;
    churn.stop();
    await untilAPassSucceeds(20_000);
    const conv = await waitForTruth(truth(), 30_000);
    expect(conv.problems.slice(0, 10), `${conv.problems.length} rows wrong after failover under churn`).to.deep.equal([]);
    await first.start();
    await cluster.waitSynced(120_000);
  });
});
