import { expect } from 'chai';
import { DockerSimulator, type SimContainer, type SimState } from '../support/docker-sim.js';
import { sharedMariaDb, startMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { runCli, startService, type ServiceProcess } from '../support/service-process.js';
import { compareToTruth, dbNameOf, readRows, simClaims, sleep, waitForTruth } from '../support/truth.js';

const N = 3000;
const WORKLOADS = 60;
const states: SimState[] = ['running', 'running', 'running', 'exited', 'created', 'paused', 'dead'];
const make = (i: number): Partial<SimContainer> => ({
  name: `sd-${i}`,
  image: `img-${i % 5}:2`,
  labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': `wl-sd-${i % WORKLOADS}`, 'tinyforge.role': `r${i}` },
  state: states[i % states.length]!,
  ports: [],
});
const known = new Set(Array.from({ length: WORKLOADS }, (_, i) => `wl-sd-${i}`));

async function prepare(maria: MariaDbServer, prefix: string, sim: DockerSimulator, extra: Record<string, string>): Promise<{ db: string; env: Record<string, string> }> {
  const url = await maria.createDatabase(prefix);
  const db = dbNameOf(url);
  const env = { DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: 'sd-host', RECONCILE_INTERVAL: '5m', WORKERS: '8', WRITE_BATCH_SIZE: '5', ...extra };
  const mig = await runCli(['migrate'], env);
  expect(mig.code, mig.stderr + mig.stdout).to.equal(0);
  const ids = [...known];
  await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ${ids.map(() => "(?, 'project', ?, 'sd')").join(',')}`, ids.flatMap((id) => [id, `ref-${id}`]));
  return { db, env };
}

/** Waits until the boot pass has sent at least `n` upsert statements (it is busy), polling /metrics. */
async function busy(svc: ServiceProcess, n: number): Promise<number> {
  return svc.waitFor(
    async () => {
      const v = await svc.metric('tinyforge_reconciler_write_statements_total', { kind: 'upsert' });
      return v !== undefined && v >= n ? v : undefined;
    },
    `${n} upsert statements`,
    30_000,
    10,
  );
}

/**
 * Graceful shutdown under load, with the real CLI process: SIGTERM while the boot pass writes
 * 3000 rows 5 at a time (the Engine API simulator provides the containers).
 */
describe('graceful shutdown under load', function () {
  this.timeout(180_000);
  let sim: DockerSimulator;
  const procs: ServiceProcess[] = [];
  const start = async (env: Record<string, string>, name: string) => {
    const p = await startService(env, { name });
    procs.push(p);
    return p;
  };

  before(async () => {
    sim = await DockerSimulator.start();
    sim.populate(N, make);
  });
  after(async () => {
    for (const p of procs) await p.dispose();
    await sim?.stop();
  });

  for (const le of ['false', 'true']) {
    it(`SIGTERM during a busy pass (LEADER_ELECTION=${le}): exit 0 inside SHUTDOWN_GRACE_PERIOD, every row written is right, the lease released, the next start completes the table, and no pending write was refused on the way out${le === 'true' ? '' : ''}`, async () => {
      const maria = await sharedMariaDb();
      const { db, env } = await prepare(maria, `sd_busy_${le}`, sim, { LEADER_ELECTION: le, SHUTDOWN_GRACE_PERIOD: '10s' });
      const svc = await start(env, `sd-busy-${le}`);
      const sentAtSignal = await busy(svc, 40);
      const logsAtSignal = svc.logs().length;
      svc.kill('SIGTERM');
      const t0 = Date.now();
      const exit = await svc.waitExit(15_000);
      const stopMs = Date.now() - t0;
      expect(exit, `exit status after ${stopMs} ms\n${svc.tail()}`).to.deep.equal({ code: 0, signal: null });
      expect(stopMs, 'inside the grace period').to.be.lessThan(10_000);
      const shutdownLogs = svc.logs().slice(logsAtSignal);
      expect(shutdownLogs.map((l) => l.msg)).to.include('tinyforge-reconciler stopped');
      // Every row that exists is exactly right (the pass was cut short, so some are not there yet).
      const rows = await readRows(maria, db);
      const claims = simClaims(sim, known);
      const wrong = compareToTruth(rows, claims, new Set(), 'sd-host').filter((p) => !p.includes('is missing from the table'));
      expect(wrong.slice(0, 10), `${wrong.length} wrong rows`).to.deep.equal([]);
      expect(rows.length, 'the pass was really interrupted (otherwise make it busier)').to.be.lessThan(claims.length);
      if (le === 'true') {
        const [lease] = (await maria.query(`SELECT holder FROM \`${db}\`.leases`)) as Array<{ holder: string }>;
        expect(lease?.holder, 'lease released').to.equal('');
      }
      // Regression (fixed): on SIGTERM, App.stop() aborts the signal the LeaderElector runs on, and
      // LeaderElector.run() then calls stepDown('shutting down') before the pipeline has drained: canWrite()
      // turns false and BatchWriter.flushLoop refuses every pending write with NotLeaderError ("not the
      // leader: writes are disabled") instead of flushing it. Pending writes are thrown away, contrary to
      // "SIGTERM ... flushes pending writes, releases the lease". Suggested fix: run the elector on its own
      // AbortController that App.stop() aborts only after the pipeline stopped (then release()), or do not
      // step down on abort in run() and leave that to release().
      const refused = shutdownLogs.filter((l) => /not the leader|Pool is closed|closed state/i.test(String(l.error ?? l.msg)));

      // The next start finds a table it can complete, and completes it exactly.
      const again = await start(env, `sd-again-${le}`);
      await again.waitReady(30_000);
      const conv = await waitForTruth(async () => compareToTruth(await readRows(maria, db), simClaims(sim, known), new Set(), 'sd-host'), 20_000);
      expect(conv.problems.slice(0, 10)).to.deep.equal([]);
      const created = await again.metric('tinyforge_reconciler_upserts_total', { dispatch: 'workload', result: 'created' });
      expect(created, 'the next start created exactly the rows the interrupted pass had not written').to.equal(claims.length - rows.length);
      again.kill('SIGTERM');
      expect(await again.waitExit(15_000)).to.deep.equal({ code: 0, signal: null });
      console.log(`      [shutdown LE=${le}] SIGTERM after ${sentAtSignal} upsert statements; exit 0 after ${stopMs} ms; ${rows.length}/${claims.length} rows at exit; ${refused.length} writes refused on the way out`);
      expect(refused.map((l) => `${l.msg}: ${String(l.error)}`).slice(0, 3), `${refused.length} writes refused or failed during the graceful stop`).to.deep.equal([]);
    });
  }

  describe('with a database that hangs (SIGSTOP of a throwaway MariaDB)', () => {
    let maria: MariaDbServer;
    before(async () => {
      maria = await startMariaDb({ name: 'shutdown-hang' });
    });
    after(async () => {
      if (maria?.running) process.kill(maria.pid, 'SIGCONT');
      await maria?.dispose();
    });

    const hang = async (svc: ServiceProcess) => {
      await busy(svc, 10);
      process.kill(maria.pid, 'SIGSTOP');
      await sleep(300); // statements are now stuck in flight
    };
    const resume = () => process.kill(maria.pid, 'SIGCONT');

    it('a graceful stop that cannot finish ends at SHUTDOWN_GRACE_PERIOD (3s), not later', async () => {
      const { env } = await prepare(maria, 'sd_hang', sim, { LEADER_ELECTION: 'false', SHUTDOWN_GRACE_PERIOD: '3s', DB_STATEMENT_TIMEOUT: '30s' });
      const svc = await start(env, 'sd-hang');
      try {
        await hang(svc);
        svc.kill('SIGTERM');
        const t0 = Date.now();
        const exit = await svc.waitExit(10_000);
        const ms = Date.now() - t0;
        expect(exit, svc.tail()).not.to.equal(undefined);
        expect(ms, 'bounded by the grace period').to.be.lessThan(3000 + 1500);
        const msgs = svc.logs().map((l) => l.msg);
        if (exit!.code === 0) expect(msgs).to.include('tinyforge-reconciler stopped');
        else {
          expect(exit).to.deep.equal({ code: 1, signal: null });
          expect(msgs).to.include('graceful stop exceeded the grace period; exiting');
        }
        console.log(`      [shutdown hung db] exit ${JSON.stringify(exit)} after ${ms} ms (grace 3000 ms)`);
      } finally {
        resume();
      }
    });

    for (const second of ['SIGTERM', 'SIGINT'] as const) {
      it(`a second signal (${second}) exits at once while the graceful stop is still waiting`, async () => {
        const { env } = await prepare(maria, `sd_twice_${second}`, sim, { LEADER_ELECTION: 'false', SHUTDOWN_GRACE_PERIOD: '30s', DB_STATEMENT_TIMEOUT: '30s' });
        const svc = await start(env, `sd-twice-${second}`);
        try {
          await hang(svc);
          svc.kill('SIGTERM');
          await svc.waitForLog((l) => l.msg === 'stopping gracefully', 'the first signal', 5000);
          await sleep(700);
          expect(svc.running, 'still draining after the first signal').to.equal(true);
          svc.kill(second);
          const t0 = Date.now();
          const exit = await svc.waitExit(5000);
          const ms = Date.now() - t0;
          expect(exit).to.deep.equal({ code: second === 'SIGINT' ? 130 : 143, signal: null });
          expect(ms, 'at once').to.be.lessThan(1000);
          expect(svc.logs().map((l) => l.msg)).to.include('second signal: exiting at once');
          console.log(`      [shutdown second ${second}] exit ${exit!.code} ${ms} ms after the second signal`);
        } finally {
          resume();
        }
      });
    }
  });
});
