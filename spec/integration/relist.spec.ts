import { expect } from 'chai';
import { counter, eventually, startTestApp, type TestApp } from '../support/app.js';
import { DockerSimulator, type SimContainer, type SimState } from '../support/docker-sim.js';
import { sharedMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { compareToTruth, dbNameOf, readRows, simClaims, sleep, waitForTruth } from '../support/truth.js';

const HOST = 'relist-host';
const N = 300;
const WORKLOADS = Array.from({ length: 20 }, (_, i) => `wl-r-${i}`);
const known = new Set(WORKLOADS);
const labelsFor = (wid: string, role: string): Record<string, string> => ({ 'tinyforge.managed': 'true', 'tinyforge.workload.id': wid, 'tinyforge.role': role });
const STATES: SimState[] = ['running', 'running', 'running', 'exited', 'created'];
const make = (i: number): Partial<SimContainer> => ({ name: `r-${i}`, image: 'img:1', labels: labelsFor(WORKLOADS[i % WORKLOADS.length]!, `r${i}`), state: STATES[i % STATES.length]!, ports: [] });
/** One list of the service is two requests: the managed containers, and the compose ones. */
const LIST_REQUESTS = 'GET /containers/json';

interface Agent {
  name: string;
  sim: DockerSimulator;
  t: TestApp;
  db: string;
  gone: Set<string>;
}

/**
 * RELIST_INTERVAL against the Engine API simulator and MariaDB: two agents side by side for one
 * minute of the same events, RECONCILE_INTERVAL=5s each, one listing at every pass (the default),
 * one every 5 minutes. The second asks the daemon for no list in that minute and its rows are as
 * right, because the event stream keeps its cache (docs/architecture.md, "Relist").
 */
describe('RELIST_INTERVAL: the daemon left alone between relists (simulator + MariaDB)', function () {
  this.timeout(240_000);
  let maria: MariaDbServer;
  const agents: Agent[] = [];

  const rowState = async (a: Agent, containerId: string): Promise<string | undefined> => (await readRows(maria, a.db, HOST)).find((r) => r.container_id === containerId)?.state;
  const truth = async (a: Agent) => compareToTruth(await readRows(maria, a.db), simClaims(a.sim, known), a.gone, HOST);
  const lists = (a: Agent, reason: string) => counter(a.t, `tinyforge_reconciler_docker_lists_total{reason="${reason}"}`);

  before(async () => {
    maria = await sharedMariaDb();
    for (const [name, env] of [
      ['default', {}],
      ['relist-5m', { RELIST_INTERVAL: '5m' }],
    ] as const) {
      const sim = await DockerSimulator.start();
      sim.populate(N, make);
      const url = await maria.createDatabase(`it_relist_${name.replace('-', '_')}`);
      const db = dbNameOf(url);
      const t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: HOST, RECONCILE_INTERVAL: '5s', ...env });
      await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ${WORKLOADS.map(() => '(?,?,?,?)').join(',')}`, WORKLOADS.flatMap((w, i) => [w, 'project', `ref-${i}`, w]));
      agents.push({ name, sim, t, db, gone: new Set() });
    }
    // The workloads were seeded after the first passes: the next passes (from the cache, for the
    // second agent) write every row.
    for (const a of agents) {
      const r = await waitForTruth(() => truth(a), 30_000);
      expect(r.problems, a.name).to.deep.equal([]);
    }
  });

  after(async () => {
    for (const a of agents) {
      await a.t.stop();
      await a.sim.stop();
    }
  });

  it('one minute of create, stop and rm events: the default lists at every pass, RELIST_INTERVAL=5m not once; both keep every row right within 2 seconds', async () => {
    const before = await Promise.all(agents.map(async (a) => ({ interval: await lists(a, 'interval'), ticks: await counter(a.t, 'tinyforge_reconciler_ticks_total{result="success"}') })));
    for (const a of agents) a.sim.resetRequests();
    const t0 = Date.now();
    const at = async (s: number) => sleep(Math.max(0, t0 + s * 1000 - Date.now()));
    /** Does the same to both daemons, then waits until each agent's row says `want`. */
    const step = async (what: string, act: (a: Agent, i: number) => string, want: string) => {
      const ids = agents.map((a, i) => act(a, i));
      await Promise.all(agents.map((a, i) => eventually(async () => (await rowState(a, ids[i]!)) === want, `${a.name}: ${what} -> ${want}`, 2000, 20)));
    };

    await at(5);
    const fresh: string[] = [];
    await step(
      'docker run',
      (a, i) => {
        fresh[i] = a.sim.add({ ...make(N), name: 'fresh' }).id;
        return fresh[i];
      },
      'running',
    );
    await at(15);
    await step(
      'docker stop',
      (a, i) => {
        a.sim.setState(fresh[i]!, 'exited');
        return fresh[i]!;
      },
      'stopped',
    );
    await at(25);
    await step(
      'docker rm -f',
      (a) => {
        const victim = a.sim.list().find((c) => c.name === 'r-0')!.id;
        a.sim.remove(victim);
        a.gone.add(victim);
        return victim;
      },
      'missing',
    );
    await at(35);
    const late: string[] = [];
    await step(
      'docker create',
      (a, i) => {
        late[i] = a.sim.add({ ...make(N + 1), name: 'late', state: 'created' }).id;
        return late[i];
      },
      'created',
    );
    await at(42);
    await step(
      'docker start',
      (a, i) => {
        a.sim.setState(late[i]!, 'running');
        return late[i]!;
      },
      'running',
    );
    await at(50);
    await step(
      'docker rm -f',
      (a, i) => {
        a.sim.remove(late[i]!);
        a.gone.add(late[i]!);
        return late[i]!;
      },
      'missing',
    );
    await at(60);

    const perMinute = await Promise.all(
      agents.map(async (a, i) => ({
        agent: a.name,
        listRequests: a.sim.countRequests(LIST_REQUESTS),
        inspects: a.sim.countRequests('GET /containers/{id}/json'),
        intervalLists: (await lists(a, 'interval')) - before[i]!.interval,
        passes: (await counter(a.t, 'tinyforge_reconciler_ticks_total{result="success"}')) - before[i]!.ticks,
      })),
    );
    console.log(`      daemon calls in one minute (RECONCILE_INTERVAL=5s): ${JSON.stringify(perMinute)}`);
    const [def, relist] = perMinute as [(typeof perMinute)[0], (typeof perMinute)[0]];
    // A pass every 5 s: about 12 in the minute for both.
    for (const p of perMinute) expect(p.passes, p.agent).to.be.within(10, 14);
    expect(def.intervalLists, 'default: a list at every pass').to.equal(def.passes);
    expect(def.listRequests).to.equal(2 * def.intervalLists);
    expect(relist.intervalLists).to.equal(0);
    expect(relist.listRequests, 'RELIST_INTERVAL=5m: no list in the minute').to.equal(0);
    // Events cost the same inspects either way.
    expect(relist.inspects).to.be.at.most(def.inspects + 2);
    for (const a of agents) expect(await truth(a), a.name).to.deep.equal([]);
  });

  it('a reopened event stream makes the next pass list at once (reason reconnect), then the cache again', async () => {
    const a = agents[1]!;
    const reconnects = await lists(a, 'reconnect');
    a.sim.resetRequests();
    a.sim.cutEventStreams();
    await eventually(async () => (await lists(a, 'reconnect')) === reconnects + 1, 'a relist after the reconnect', 5000);
    // At least the relist's two requests (managed and compose); a pass the cut stream also
    // triggered may have listed once more.
    await eventually(async () => a.sim.countRequests(LIST_REQUESTS) >= 2, 'the list answered', 5000);
    // While the stream was away a container went: the relist finds it.
    const victim = a.sim.list().find((c) => c.name === 'r-1')!.id;
    a.sim.cutEventStreams();
    a.sim.remove(victim);
    a.gone.add(victim);
    await eventually(async () => (await rowState(a, victim)) === 'missing', 'the container removed while the stream was cut', 10_000);
    const settled = a.sim.countRequests(LIST_REQUESTS);
    await sleep(11_000);
    expect(a.sim.countRequests(LIST_REQUESTS), 'two passes from the cache').to.equal(settled);
    expect(await truth(a)).to.deep.equal([]);
  });
});
