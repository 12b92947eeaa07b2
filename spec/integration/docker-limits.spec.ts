/**
 * The real CLI process against the Engine API simulator, when the daemon (or a tenant) sends too
 * much or too slowly: a foreign compose container with a 40 MB label neither stops a pass nor
 * grows the service's memory; a list dripping one byte a second fails at DOCKER_LIST_TIMEOUT
 * without sweeping and the next pass recovers; SIGTERM while the list drips exits 0 at once.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DockerSimulator } from '../support/docker-sim.js';
import { OtherSession } from '../support/invariants.js';
import { runCli, startService, type ServiceProcess } from '../support/service-process.js';

const MB = 1 << 20;

/** Peak and current resident set of a process, from /proc (bytes). */
function memoryOf(pid: number): { hwm: number; rss: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

const ticks = async (svc: ServiceProcess, result: 'success' | 'error') => (await svc.metric('tinyforge_reconciler_ticks_total', { result })) ?? 0;

/** Waits until `n` more passes ended with `result` than `from`. */
async function morePasses(svc: ServiceProcess, result: 'success' | 'error', from: number, n: number, timeoutMs: number): Promise<number> {
  return svc.waitFor(async () => {
    const v = await ticks(svc, result);
    return v >= from + n ? v : undefined;
  }, `${n} more ${result} passes (from ${from})`, timeoutMs, 100);
}

describe('Docker limits through the real CLI (simulator, SQLite)', function () {
  this.timeout(180_000);
  let sim: DockerSimulator;
  let dir: string;
  let svc: ServiceProcess | undefined;
  let url: string;

  beforeEach(async () => {
    sim = await DockerSimulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-limits-'));
    url = `sqlite:${path.join(dir, 'tf.db')}`;
    const mig = await runCli(['migrate'], { DATABASE_URL: url });
    expect(mig.code, mig.stderr + mig.stdout).to.equal(0);
    const db = await OtherSession.open(url);
    await db.run("INSERT INTO workloads (id, kind, ref_id, name) VALUES ('w1', 'project', 'ref-w1', 'w1')");
    await db.close();
    sim.add({ name: 'web', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'w1', 'tinyforge.role': 'web' } });
    sim.add({ name: 'mine-db-1', labels: { 'com.docker.compose.project': 'someone-else', 'com.docker.compose.service': 'db' } });
  });
  afterEach(async () => {
    await svc?.dispose();
    svc = undefined;
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = async (extra: Record<string, string>) => {
    svc = await startService({ DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: 'local', RECONCILE_INTERVAL: '1s', ...extra }, { name: 'docker-limits' });
    await svc.waitReady(30_000);
    return svc;
  };

  const rowsOf = async () => {
    const db = await OtherSession.open(url);
    try {
      return await db.query<{ id: string; state: string; container_id: string }>('SELECT id, state, container_id FROM containers ORDER BY id');
    } finally {
      await db.close();
    }
  };

  it('a foreign compose container with a 40 MB label: passes go on, memory does not grow by anything near 40 MB, logged once', async () => {
    const s = await start({});
    // Steady state first: the peak so far covers start-up and ordinary passes.
    await morePasses(s, 'success', await ticks(s, 'success'), 3, 30_000);
    const before = memoryOf(s.pid);
    const huge = sim.add({ name: 'other-app-1', labels: { 'com.docker.compose.project': 'someone-else', 'com.docker.compose.service': 'app', 'org.example.blob': 'x'.repeat(40 * MB) } });
    const errorsBefore = await ticks(s, 'error');
    await morePasses(s, 'success', await ticks(s, 'success'), 4, 60_000);
    const after = memoryOf(s.pid);
    const grew = after.hwm - before.hwm;
    console.log(`      [40 MB label] service peak RSS ${(before.hwm / MB).toFixed(1)} MB -> ${(after.hwm / MB).toFixed(1)} MB (+${(grew / MB).toFixed(1)} MB), RSS now ${(after.rss / MB).toFixed(1)} MB`);
    expect(grew, `peak RSS grew by ${(grew / MB).toFixed(1)} MB`).to.be.lessThan(16 * MB);
    expect(await ticks(s, 'error'), 'no failed pass').to.equal(errorsBefore);
    // Each pass saw it in the list and counted it, as did the event stream (its events carry the
    // labels; the simulator drops the second one for a stream 40 MB behind); the log names it
    // once, from whichever saw it first.
    expect(await s.metric('tinyforge_reconciler_docker_oversized_entries_total', { source: 'list' })).to.be.at.least(4);
    expect(await s.metric('tinyforge_reconciler_docker_oversized_entries_total', { source: 'event' })).to.be.at.least(1);
    const logged = s.logs().filter((l) => String(l.msg).includes('DOCKER_MAX_ENTRY_BYTES'));
    expect(logged.map((l) => l.containerId)).to.deep.equal([huge.id]);
    // The pass still does its work: a container added now gets its row.
    const late = sim.add({ name: 'api', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'w1', 'tinyforge.role': 'api' } });
    await s.waitFor(async () => (await rowsOf()).find((r) => r.id === 'w1:api' && r.container_id === late.id), 'the row of a container added after the huge one', 15_000);
  });

  it('a list dripping one byte a second fails at DOCKER_LIST_TIMEOUT, sweeps nothing, and the next pass recovers', async () => {
    const s = await start({ DOCKER_LIST_TIMEOUT: '3s' });
    await s.waitFor(async () => (await rowsOf()).find((r) => r.id === 'w1:web' && r.state === 'running'), 'the row of web', 15_000);
    const marksBefore = await s.metric('tinyforge_reconciler_missing_marks_total');
    const errorsBefore = await ticks(s, 'error');
    const logsBefore = s.logs().length;
    sim.dripList({ bytesPerTick: 1, tickMs: 1000 });
    const t0 = Date.now();
    const failed = await s.waitFor(async () => s.logs().slice(logsBefore).find((l) => l.msg === 'resync pass failed; nothing swept'), 'a failed pass', 15_000, 50);
    const tookMs = Date.now() - t0;
    console.log(`      [drip] pass failed after ${tookMs} ms: ${String(failed.error)}`);
    expect(String(failed.error)).to.match(/container list did not complete within 3s \(DOCKER_LIST_TIMEOUT\)/);
    expect(tookMs, 'failed by the deadline (3 s, plus up to one interval before the pass started)').to.be.within(2500, 6000);
    expect(await ticks(s, 'error')).to.be.greaterThan(errorsBefore);
    await s.waitFor(async () => sim.dripping.active === 0 || undefined, 'the dripping answers cut by the service', 5_000);
    sim.dripList(undefined);
    await morePasses(s, 'success', await ticks(s, 'success'), 1, 15_000);
    expect(await s.metric('tinyforge_reconciler_missing_marks_total'), 'nothing swept').to.equal(marksBefore);
    expect((await rowsOf()).find((r) => r.id === 'w1:web')?.state).to.equal('running');
  });

  it('SIGTERM while the list drips: exit 0 well within SHUTDOWN_GRACE_PERIOD', async () => {
    const s = await start({ DOCKER_LIST_TIMEOUT: '60s', SHUTDOWN_GRACE_PERIOD: '10s' });
    sim.dripList({ bytesPerTick: 1, tickMs: 1000 });
    await s.waitFor(async () => sim.dripping.active >= 2 || undefined, 'a pass stuck in a dripping list', 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    s.kill('SIGTERM');
    const t0 = Date.now();
    const exit = await s.waitExit(15_000);
    const stopMs = Date.now() - t0;
    console.log(`      [drip] SIGTERM -> exit ${JSON.stringify(exit)} after ${stopMs} ms`);
    expect(exit, s.tail()).to.deep.equal({ code: 0, signal: null });
    expect(stopMs, 'well within the 10 s grace period').to.be.lessThan(3000);
    expect(s.logs().map((l) => l.msg)).to.include('tinyforge-reconciler stopped');
  });
});
