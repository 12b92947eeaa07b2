import { expect } from 'chai';
import type { WorkloadStatusService } from '../../src/status/workload-status.service.js';
import { counter, eventually, startTestApp, type TestApp } from '../support/app.js';
import { sharedDockerd, type PrivateDockerd } from '../support/dockerd.js';
import { sharedMariaDb, type MariaDbServer } from '../support/mariadb.js';

// The original row IDs (host `local`): the messages below name rows.
const HOST = 'local';

interface StatusBody {
  workloadId: string;
  phase: string;
  conditions: Array<{ type: string; status: string; reason: string; message: string; lastTransitionTime: string }>;
  counts: Record<string, number>;
  observedAt: string;
}
interface EventBody {
  id: number;
  rowId: string;
  from: string | null;
  to: string;
  reason: string;
  at: string;
}

/**
 * Issue 8 end to end: the real service (real dockerd, real MariaDB, events and passes) keeps a
 * compose stack's workload status and transition history, read over HTTP.
 *
 * Expects the composition root to expose the status service as `app.status` (wired by the
 * lead: `WorkloadStatusService` as the ChangeSink of the handler and the resync, its router
 * mounted at /api).
 */
describe('workload status end to end (real dockerd + MariaDB)', function () {
  this.timeout(240_000);
  let docker: PrivateDockerd;
  let maria: MariaDbServer;
  let db: string;
  let t: TestApp;

  const service = (): WorkloadStatusService => {
    const s = t.app.status;
    if (!s) throw new Error('App does not expose the status service as `app.status` (see AppOptions and App in src/main.ts)');
    return s;
  };
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${t.baseUrl}/api${path}`);
    expect(res.status, path).to.equal(200);
    return (await res.json()) as T;
  };
  const statusOf = () => api<StatusBody>('/v1/workloads/wl-stack/status');
  const ready = (s: StatusBody) => s.conditions.find((c) => c.type === 'Ready')!;
  const events = async (): Promise<EventBody[]> => {
    const out: EventBody[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: EventBody[]; nextCursor: string | null } = await api(`/v1/workloads/wl-stack/events?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  };
  const containerOf = async (rowId: string): Promise<string> => {
    const r = (await maria.query(`SELECT container_id FROM \`${db}\`.containers WHERE id = ?`, [rowId])) as Array<{ container_id: string }>;
    return r[0]!.container_id;
  };
  /** A pass, then the status writes it caused: nothing the pass reported can still be buffered. */
  const settle = async () => {
    const r = await t.app.runPassNow();
    expect(r.ok, `pass failed: ${r.error}`).to.equal(true);
    await service().flush();
  };
  const phaseIs = (phase: string) => eventually(async () => ((await statusOf()).phase === phase ? statusOf() : undefined), `phase ${phase}`, 10_000, 25);
  const transitions = (evs: EventBody[]) => evs.map((e) => `${e.rowId} ${e.from}->${e.to}`);

  before(async () => {
    [docker, maria] = await Promise.all([sharedDockerd(), sharedMariaDb()]);
    await docker.removeAllContainers();
    const url = await maria.createDatabase('it_status');
    db = new URL(url).pathname.slice(1);
    t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: HOST });
    await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ('wl-stack','stack','stack-1','blog')`);
    await maria.query(`INSERT INTO \`${db}\`.stacks (id, name, compose_project_name) VALUES ('stack-1','blog','tinyforge-blog')`);
  });
  after(async () => {
    await t?.stop();
    await docker?.removeAllContainers();
  });

  it('two replicas: Running, one stopped -> Degraded naming it, started -> Running with a new transition time, all removed -> Missing; each transition recorded once', async () => {
    await docker.compose('tinyforge-blog', composeYaml(['web']), ['up', '-d', '--scale', 'web=2']);
    await settle();
    const running = await phaseIs('Running');
    expect(running.counts).to.include({ desired: 2, running: 2, unbound: 0 });
    expect(ready(running).status).to.equal('True');
    await service().flush(); // the gauge is refreshed right after the status rows
    expect(await counter(t, 'tinyforge_reconciler_workloads{phase="Running"}')).to.equal(1);
    const web2 = await containerOf('wl-stack:web:2');
    expect(web2).to.not.equal('');

    // Stop one replica: the event stream alone turns the stack Degraded.
    let before = (await events()).length;
    await docker.docker(['stop', '-t', '1', web2]);
    const degraded = await phaseIs('Degraded');
    expect(ready(degraded)).to.include({ status: 'False', reason: 'ReplicasNotRunning', message: '1 of 2 not running: wl-stack:web:2 (stopped)' });
    expect(degraded.conditions.find((c) => c.type === 'Available')).to.include({ status: 'True' });
    expect(Date.parse(ready(degraded).lastTransitionTime)).to.be.greaterThan(Date.parse(ready(running).lastTransitionTime));
    await service().flush();
    expect(await counter(t, 'tinyforge_reconciler_workloads{phase="Degraded"}')).to.equal(1);
    expect(await counter(t, 'tinyforge_reconciler_workloads{phase="Running"}')).to.equal(0);
    await settle(); // a full pass must not record anything again
    expect(transitions((await events()).slice(before))).to.deep.equal(['wl-stack:web:2 running->stopped']);

    // Start it again: Running, and Ready's lastTransitionTime moves.
    before = (await events()).length;
    await docker.docker(['start', web2]);
    const back = await phaseIs('Running');
    expect(ready(back).status).to.equal('True');
    expect(Date.parse(ready(back).lastTransitionTime)).to.be.greaterThan(Date.parse(ready(degraded).lastTransitionTime));
    expect(back.conditions.find((c) => c.type === 'Available')!.lastTransitionTime, 'Available never flipped').to.equal(running.conditions.find((c) => c.type === 'Available')!.lastTransitionTime);
    await settle();
    expect(transitions((await events()).slice(before))).to.deep.equal(['wl-stack:web:2 stopped->running']);

    // Remove everything: Missing.
    before = (await events()).length;
    const web1 = await containerOf('wl-stack:web');
    await docker.docker(['rm', '-f', web1, web2]);
    const missing = await phaseIs('Missing');
    expect(missing.counts).to.include({ desired: 2, missing: 2, running: 0 });
    expect(ready(missing)).to.include({ status: 'False', reason: 'ReplicasMissing' });
    expect(missing.conditions.find((c) => c.type === 'Available')).to.include({ status: 'False' });
    await settle();
    await settle();
    const removal = (await events()).slice(before);
    for (const row of ['wl-stack:web', 'wl-stack:web:2']) {
      // A forced removal may be seen directly as running -> missing, or pass through the
      // states Docker reports on the way (stopped, removing); each step is recorded once.
      const evs = removal.filter((e) => e.rowId === row);
      const chain = transitions(evs).map((s) => s.slice(row.length + 1));
      expect(evs.length, `${row}: ${chain.join(', ')}`).to.be.within(1, 3);
      expect(evs[0]!.from, chain.join(', ')).to.equal('running');
      expect(evs[evs.length - 1]!.to, chain.join(', ')).to.equal('missing');
      for (const e of evs.slice(0, -1)) expect(['stopped', 'removing'], chain.join(', ')).to.include(e.to);
      expect(new Set(chain).size, `no step twice: ${chain.join(', ')}`).to.equal(chain.length);
    }

    // The whole history: per row a consistent chain, no transition twice in a row, none to the same state.
    const all = await events();
    for (const row of ['wl-stack:web', 'wl-stack:web:2']) {
      const evs = all.filter((e) => e.rowId === row);
      expect(evs[0]!.from, `${row} starts with its creation`).to.equal(null);
      for (let i = 0; i < evs.length; i++) {
        expect(evs[i]!.from, `${row} #${i}`).to.not.equal(evs[i]!.to);
        if (i > 0) expect(evs[i]!.from, `${row} #${i} continues from the previous state`).to.equal(evs[i - 1]!.to);
      }
      expect(evs[evs.length - 1]!.to).to.equal('missing');
    }
    expect(all.map((e) => e.id)).to.deep.equal([...all.map((e) => e.id)].sort((a, b) => a - b));
    const stored = (await maria.query(`SELECT COUNT(*) AS n FROM \`${db}\`.container_events WHERE workload_id = 'wl-stack'`)) as Array<{ n: number }>;
    expect(Number(stored[0]!.n)).to.equal(all.length);
  });
});

function composeYaml(services: string[]): string {
  return `version: "2.4"\nservices:\n${services.map((s) => `  ${s}:\n    image: tinyforge-busybox:latest\n    command: ["sleep", "3600"]\n    network_mode: none\n    stop_grace_period: 1s\n`).join('')}`;
}
