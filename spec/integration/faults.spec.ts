import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { hostScopedRowId } from '../../src/domain/dispatch.js';
import { ContainersRepository } from '../../src/store/containers.repository.js';
import { Database } from '../../src/store/database.js';
import type { ObservedRow } from '../../src/domain/types.js';
import { counter, eventually, startTestApp, type TestApp } from '../support/app.js';
import { DockerSimulator, type SimContainer, type SimState } from '../support/docker-sim.js';
import { sharedDockerd, startDockerd, type PrivateDockerd } from '../support/dockerd.js';
import { sharedMariaDb, startMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { freePort } from '../support/proc.js';
import { runCli, startService, type ServiceProcess } from '../support/service-process.js';
import { compareToTruth, dbNameOf, pollStatus, prng, readRows, simClaims, sleep, waitForTruth, type Claim, type DbRow, dockerClaims } from '../support/truth.js';

/**
 * Issue 7: never lose a row. Faults of the database and of the Docker daemon, concurrent writers,
 * hostile input and credentials, against real servers started and killed by the tests (a
 * throwaway MariaDB that gets `kill -9`, a private dockerd that is down at start-up, the Engine
 * API simulator for volume and odd states) and the real CLI process.
 */

const MANAGED = { 'tinyforge.managed': 'true' } as const;
const labelsFor = (wid: string, role: string): Record<string, string> => ({ ...MANAGED, 'tinyforge.workload.id': wid, 'tinyforge.role': role });

async function counterValue(t: TestApp, metric: 'writeStatements' | 'reconcileErrors' | 'handlerPanics', labels: Record<string, string> = {}): Promise<number> {
  const m = t.app.metrics[metric] as unknown as { get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number }> }> };
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

async function seedWorkloads(maria: MariaDbServer, db: string, ids: Iterable<string>, kind = 'project'): Promise<void> {
  const list = [...ids];
  for (let i = 0; i < list.length; i += 200) {
    const chunk = list.slice(i, i + 200);
    await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ${chunk.map(() => '(?,?,?,?)').join(',')}`, chunk.flatMap((id, j) => [id, kind, `ref-${i + j}`, id.slice(0, 255)]));
  }
}

/** Runs passes until one is ok (bounded); returns how many it took. */
async function passUntilOk(t: TestApp, timeoutMs: number): Promise<{ passes: number; ok: boolean; lastError?: string }> {
  const t0 = Date.now();
  let passes = 0;
  let lastError: string | undefined;
  while (Date.now() - t0 < timeoutMs) {
    const r = await t.app.runPassNow();
    passes++;
    if (r.ok) return { passes, ok: true };
    lastError = r.error;
    await sleep(200);
  }
  return { passes, ok: false, lastError };
}

describe('faults: never lose a row (issue 7)', function () {
  this.timeout(240_000);

  // ------------------------------------------------------------------------------------------
  describe('database faults (throwaway MariaDB, kill -9)', () => {
    let maria: MariaDbServer;
    before(async () => {
      maria = await startMariaDb({ name: 'faults-kill9' });
    });
    after(async () => {
      await maria?.dispose();
    });

    // One scenario in named steps: each step needs the state the previous one left.
    describe('kill -9 of MariaDB in the middle of a pass while containers come and go', () => {
      const HOST = 'faults-k9';
      const known = new Set(Array.from({ length: 50 }, (_, i) => `wl-k-${i}`));
      const states: SimState[] = ['running', 'running', 'exited', 'created', 'paused', 'restarting', 'dead'];
      const make = (i: number): Partial<SimContainer> => ({ name: `k-${i}`, image: `img-${i % 7}:1`, labels: labelsFor(`wl-k-${i % 50}`, `r${i}`), state: states[i % states.length]!, ports: [] });
      const gone = new Set<string>();
      let db: string;
      let sim: DockerSimulator;
      let t: TestApp | undefined;
      let health: ReturnType<typeof pollStatus>;
      let killedAt = 0;
      let upsertsAtKill = 0;

      before(async () => {
        const url = await maria.createDatabase('faults_k9');
        db = dbNameOf(url);
        sim = await DockerSimulator.start();
        sim.populate(2000, make);
        t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: HOST, WORKERS: '8', WRITE_BATCH_SIZE: '10', DB_CONNECT_TIMEOUT: '2s', DB_STATEMENT_TIMEOUT: '5s' });
        await seedWorkloads(maria, db, known);
        health = pollStatus(`${t.baseUrl}/healthz`, 100);
      });
      after(async () => {
        await health?.stop();
        await t?.stop();
        await sim?.stop();
        if (!maria.running) await maria.start();
      });

      it('step 1: the pass that loses its database mid-way (kill -9 after 20 upserts, containers removed, added and flipped meanwhile) ends failed instead of hanging', async () => {
        // A pass that writes 2000 rows 10 at a time; kill -9 MariaDB once 20 statements went out.
        const passP = t!.app.runPassNow();
        const tk = Date.now();
        while ((await counterValue(t!, 'writeStatements', { kind: 'upsert' })) < 20) {
          if (Date.now() - tk > 30_000) throw new Error('the pass never sent 20 upserts');
          await new Promise((r) => setImmediate(r));
        }
        await maria.kill9();
        killedAt = Date.now();
        upsertsAtKill = await counterValue(t!, 'writeStatements', { kind: 'upsert' });

        // While the database is down: containers are removed, created and change state (with events).
        const r = prng(7);
        const live = sim.list();
        for (let i = 0; i < 100; i++) {
          const c = live[Math.floor(r() * live.length)]!;
          if (gone.has(c.id)) continue;
          sim.remove(c.id);
          gone.add(c.id);
        }
        for (let i = 0; i < 100; i++) sim.add(make(5000 + i));
        let flipped = 0;
        for (const c of sim.list()) {
          if (flipped >= 150) break;
          if (c.state === 'running') sim.setState(c.id, 'exited');
          else if (c.state === 'exited' || c.state === 'created') sim.setState(c.id, 'running');
          else continue;
          flipped++;
        }
        const report = await passP;
        expect(report.ok, 'the pass that lost its database cannot be ok').to.equal(false);
      });

      it('step 2: during the outage /healthz stays 200 and /readyz reports it (503)', async () => {
        await sleep(Math.max(0, 3000 - (Date.now() - killedAt)));
        expect((await fetch(`${t!.baseUrl}/healthz`)).status, 'liveness during a short database outage').to.equal(200);
        expect((await fetch(`${t!.baseUrl}/readyz`)).status, 'readiness reports the outage').to.equal(503);
      });

      it('step 3: after the restart, the first good pass leaves the table exactly right; /healthz never failed; the outage was retried, no panic', async () => {
        await maria.start();
        const restartedAt = Date.now();
        const conv = await passUntilOk(t!, 30_000);
        const convergedMs = Date.now() - restartedAt;
        expect(conv.ok, `no good pass within 30 s of the restart (last error: ${conv.lastError})`).to.equal(true);
        const problems = compareToTruth(await readRows(maria, db), simClaims(sim, known), gone, HOST);
        const hz = await health.stop();
        expect(problems.slice(0, 20), `${problems.length} problems after the first good pass`).to.deep.equal([]);
        expect(hz.failures, `/healthz answered non-200 during the outage (${hz.polls} polls)`).to.deep.equal([]);
        expect(await counterValue(t!, 'reconcileErrors', { reason: 'database' }), 'the outage was felt and retried').to.be.greaterThan(0);
        expect(await counterValue(t!, 'handlerPanics')).to.equal(0);
        console.log(`      [kill -9] upserts sent before the kill: ${upsertsAtKill}; outage ${restartedAt - killedAt} ms; passes after restart until ok: ${conv.passes}; converged ${convergedMs} ms after restart; /healthz polls: ${hz.polls}`);
      });
    });

    const cliVariants = [
      { name: 'default leader election timings (the outage is shorter than the renew deadline)', extra: {} as Record<string, string> },
      { name: 'a 4 s outage longer than LEASE_DURATION=3s (the replica steps down, then leads again)', extra: { LEASE_DURATION: '3s', RENEW_DEADLINE: '2s', RETRY_PERIOD: '500ms' } as Record<string, string> },
    ];
    for (const [vi, variant] of cliVariants.entries()) it(`the real CLI process against a real dockerd, ${variant.name}: kill -9 MariaDB while docker run / rm / stop happen, restart it: stays up, /healthz 200, rows follow docker ps -a`, async () => {
      const HOST = `faults-cli-${vi}`;
      const WID = `wl-f${vi}`;
      const docker = await sharedDockerd();
      const url = await maria.createDatabase('faults_cli');
      const db = dbNameOf(url);
      const env = { DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: HOST, RECONCILE_INTERVAL: '2s', DB_CONNECT_TIMEOUT: '2s', DB_STATEMENT_TIMEOUT: '5s', ...variant.extra };
      const mig = await runCli(['migrate'], env);
      expect(mig.code, mig.stdout + mig.stderr).to.equal(0);
      await seedWorkloads(maria, db, [WID]);
      const created: string[] = [];
      const gone = new Set<string>();
      let n = 0;
      const run = async () => {
        const id = await docker.runContainer({ labels: labelsFor(WID, `c${n++}`), cmd: ['sleep', '3600'] });
        created.push(id);
        return id;
      };
      for (let i = 0; i < 4; i++) await run();
      let svc: ServiceProcess | undefined;
      try {
        svc = await startService(env, { name: 'faults-cli' });
        await svc.waitReady(30_000);
        const truth = async (): Promise<string[]> => {
          const claims = await dockerClaims(docker, WID);
          return compareToTruth(await readRows(maria, db), claims, gone, HOST);
        };
        const first = await waitForTruth(truth, 15_000);
        expect(first.problems).to.deep.equal([]);

        const health = pollStatus(`${svc.baseUrl}/healthz`, 100);
        let churning = true;
        const churn = (async () => {
          let k = 0;
          while (churning) {
            await run();
            if (k++ % 2 === 1) {
              const victim = created.find((c) => !gone.has(c))!;
              await docker.docker(['rm', '-f', victim]);
              gone.add(victim);
            }
            if (k % 3 === 0) {
              const c = created.filter((x) => !gone.has(x)).at(-1)!;
              await docker.docker(['stop', '-t', '0', c]);
            }
          }
        })();
        await sleep(1000);
        await maria.kill9();
        const killedAt = Date.now();
        await sleep(4000);
        expect(svc.running, 'the service survives the database outage').to.equal(true);
        await maria.start();
        const restartedAt = Date.now();
        await sleep(1000);
        churning = false;
        await churn;
        const conv = await waitForTruth(truth, 30_000);
        const hz = await health.stop();
        expect(conv.problems, 'rows vs docker ps -a').to.deep.equal([]);
        expect(hz.failures, `/healthz answered non-200 (${hz.polls} polls)`).to.deep.equal([]);
        expect(svc.running).to.equal(true);
        const logs = svc.logs();
        expect(logs.filter((l) => l.level === 'fatal' || /unhandled/i.test(String(l.msg))).map((l) => l.msg), 'no fatal or unhandled errors').to.deep.equal([]);
        expect(
          logs.some((l) => l.level === 'warn' && /reconcile failed|resync pass failed|lease acquire\/renew failed/.test(String(l.msg))),
          'the outage shows in the logs',
        ).to.equal(true);
        if (vi === 1) {
          expect(logs.some((l) => l.msg === 'stopped leading'), 'stepped down during the outage').to.equal(true);
          expect(logs.filter((l) => l.msg === 'became leader').length, 'and led again afterwards').to.be.at.least(2);
          expect(await svc.metric('tinyforge_reconciler_leader')).to.equal(1);
        }
        console.log(`      [cli kill -9 #${vi}] ${created.length} containers created, ${gone.size} removed; outage ${restartedAt - killedAt} ms; converged ${conv.tookMs} ms after the churn stopped`);
        svc.kill('SIGTERM');
        const exit = await svc.waitExit(15_000);
        expect(exit, 'SIGTERM after the outage').to.deep.equal({ code: 0, signal: null });
      } finally {
        await svc?.dispose();
        for (const id of created) if (!gone.has(id)) await docker.docker(['rm', '-f', id], { allowFail: true });
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('docker daemon faults', () => {
    it('a Docker daemon that is down at start-up: the service waits (not ready, still live) and becomes ready when it appears', async () => {
      const HOST = 'faults-late';
      const WID = 'wl-late';
      const maria = await sharedMariaDb();
      const url = await maria.createDatabase('faults_late');
      const db = dbNameOf(url);
      let docker: PrivateDockerd | undefined;
      let svc: ServiceProcess | undefined;
      try {
        docker = await startDockerd({ name: 'faults-late' });
        const pre = await docker.runContainer({ labels: labelsFor(WID, 'pre') });
        await docker.stop();
        const env = { DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: HOST, LEADER_ELECTION: 'false', RECONCILE_INTERVAL: '30s' };
        const mig = await runCli(['migrate'], env);
        expect(mig.code, mig.stderr).to.equal(0);
        await seedWorkloads(maria, db, [WID]);
        svc = await startService(env, { name: 'faults-late' });
        // For 3 seconds: alive, live, not ready (and the reason names Docker).
        const until = Date.now() + 3000;
        let notReady = 0;
        while (Date.now() < until) {
          const r = await svc.get('/readyz');
          expect(r.status, r.body).to.equal(503);
          expect(r.body).to.match(/docker/i);
          expect((await svc.get('/healthz')).status).to.equal(200);
          notReady++;
          await sleep(250);
        }
        expect(svc.running).to.equal(true);
        await docker.start();
        const t0 = Date.now();
        await svc.waitReady(40_000);
        const readyMs = Date.now() - t0;
        const row = async () => (await readRows(maria, db)).find((r) => r.container_id === pre);
        await eventually(async () => (await row())?.state === 'stopped', 'the pre-existing container (stopped by the daemon stop) gets its row', 10_000);
        expect((await row())!.id).to.equal(hostScopedRowId(`${WID}:pre`, HOST));
        // The event stream works after the late start: a change reaches the row quickly.
        await docker.docker(['start', pre]);
        await eventually(async () => (await row())?.state === 'running', 'docker start after the late daemon -> running', 5_000);
        console.log(`      [docker down at start] not ready for ${notReady} probes; ready ${readyMs} ms after the daemon came up`);
        svc.kill('SIGTERM');
        expect(await svc.waitExit(15_000)).to.deep.equal({ code: 0, signal: null });
      } finally {
        await svc?.dispose();
        await docker?.dispose();
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('concurrent writers on overlapping keys', () => {
    let maria: MariaDbServer;
    before(async () => {
      maria = await sharedMariaDb();
    });

    it('WORKERS=32 on containers that share rows, while other connections upsert the same rows in random order: no deadlock escapes, nothing lost or duplicated', async () => {
      const HOST = 'faults-conc';
      const url = await maria.createDatabase('faults_conc');
      const db = dbNameOf(url);
      const known = new Set(Array.from({ length: 10 }, (_, i) => `wl-c-${i}`));
      const states: SimState[] = ['running', 'exited', 'paused', 'created', 'running'];
      // 0..299: 100 row IDs with 3 claimants each; 300..899: one row each.
      const make = (i: number): Partial<SimContainer> =>
        i < 300
          ? { name: `c-${i}`, image: 'img:1', labels: labelsFor(`wl-c-${i % 10}`, `shared${Math.floor(i / 10) % 10}`), state: states[i % states.length]!, ports: [] }
          : { name: `c-${i}`, image: 'img:1', labels: labelsFor(`wl-c-${i % 10}`, `u${i}`), state: states[i % states.length]!, ports: [] };
      const sim = await DockerSimulator.start();
      sim.populate(900, make);
      let t: TestApp | undefined;
      const dbs: Database[] = [];
      const gone = new Set<string>();
      try {
        t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: HOST, WORKERS: '32', WRITE_BATCH_SIZE: '25', RETRY_MAX_DELAY: '1s' });
        await seedWorkloads(maria, db, known);
        const cfg = loadConfig({ DATABASE_URL: url });
        for (let i = 0; i < 6; i++) dbs.push(await Database.connect(cfg.database, { poolSize: 2 }));
        // The hammer: every connection upserts random subsets of the service's rows, unsorted,
        // with values the service must correct afterwards.
        const targets = simClaims(sim, known);
        const stats = { statements: 0, deadlocks: 0, lockWaits: 0, other: [] as string[] };
        let hammering = true;
        const hammer = dbs.map(async (d, k) => {
          const repo = new ContainersRepository(d);
          const r = prng(100 + k);
          while (hammering) {
            const batch: ObservedRow[] = [];
            for (let j = 0; j < 40; j++) {
              const c = targets[Math.floor(r() * targets.length)]!;
              batch.push({ id: hostScopedRowId(c.rowId, HOST), workloadId: c.workloadId, workloadKind: 'project', role: c.role, containerId: c.containerId, imageRef: `hammer-${k}`, host: HOST, state: 'restarting', port: 1 });
            }
            try {
              stats.statements++;
              await repo.upsert(batch, 40);
            } catch (e) {
              const code = (e as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (e as { code?: string }).code;
              if (code === 'ER_LOCK_DEADLOCK') stats.deadlocks++;
              else if (code === 'ER_LOCK_WAIT_TIMEOUT') stats.lockWaits++;
              else stats.other.push(String(code ?? (e as Error).message));
            }
          }
        });
        // Meanwhile: passes with 32 workers, and churn with events.
        const r = prng(3);
        for (let round = 0; round < 6; round++) {
          const p = t.app.runPassNow();
          for (let j = 0; j < 15; j++) {
            const c = sim.list()[Math.floor(r() * sim.size)]!;
            if (r() < 0.3) {
              sim.remove(c.id);
              gone.add(c.id);
            } else sim.setState(c.id, c.state === 'running' ? 'exited' : 'running');
          }
          await p;
        }
        hammering = false;
        await Promise.all(hammer);
        // The hammer is gone: the next good pass must leave every row exactly right.
        const conv = await passUntilOk(t, 60_000);
        expect(conv.ok, `no good pass (last error ${conv.lastError})`).to.equal(true);
        const rows = await readRows(maria, db);
        const problems = compareToTruth(rows, simClaims(sim, known), gone, HOST);
        expect(problems.slice(0, 20), `${problems.length} problems`).to.deep.equal([]);
        const ids = rows.map((x) => x.id);
        expect(new Set(ids).size, 'no duplicated row').to.equal(ids.length);
        expect(stats.other, 'the hammer only ever saw lock conflicts').to.deep.equal([]);
        expect(await counterValue(t, 'handlerPanics')).to.equal(0);
        const dbErrors = await counterValue(t, 'reconcileErrors', { reason: 'database' });
        console.log(`      [concurrency] hammer: ${stats.statements} statements, ${stats.deadlocks} deadlocks, ${stats.lockWaits} lock wait timeouts; service: ${dbErrors} database errors retried; passes to converge: ${conv.passes}`);
      } finally {
        await t?.stop();
        for (const d of dbs) await d.close().catch(() => undefined);
        await sim.stop();
      }
    });

    it('direct ContainersRepository.upsert from 8 connections on overlapping row IDs: conflicts are only deadlocks/lock waits, a retry succeeds, every row exists once and is never torn', async () => {
      const url = await maria.createDatabase('faults_repo');
      const db = dbNameOf(url);
      const cfg = loadConfig({ DATABASE_URL: url });
      const first = await Database.connect(cfg.database);
      await first.migrate();
      const dbs = [first];
      try {
        for (let i = 1; i < 8; i++) dbs.push(await Database.connect(cfg.database, { poolSize: 3 }));
        const ids = Array.from({ length: 300 }, (_, i) => `ov-${i % 300}:${'é'.repeat(i % 5)}${i}`);
        const stats = { ok: 0, retries: 0, deadlocks: 0, lockWaits: 0 };
        await Promise.all(
          dbs.map(async (d, k) => {
            const repo = new ContainersRepository(d);
            const r = prng(1000 + k);
            for (let round = 0; round < 25; round++) {
              const pick = new Map<string, ObservedRow>();
              while (pick.size < 120) {
                const id = ids[Math.floor(r() * ids.length)]!;
                // Every column carries the writer and round, so a torn row (columns of two writes) shows.
                const tag = `w${k}r${round}`;
                pick.set(id, { id, workloadId: `wl-${tag}`, workloadKind: tag, role: `role-${tag}`, containerId: `c-${tag}-${id}`.slice(0, 128), imageRef: `img-${tag}`, host: 'repo-host', state: 'running', port: k * 100 + round });
              }
              const rows = [...pick.values()]; // unsorted on purpose
              for (let attempt = 0; ; attempt++) {
                try {
                  await repo.upsert(rows, 60);
                  stats.ok++;
                  break;
                } catch (e) {
                  const code = (e as { driverError?: { code?: string }; code?: string }).driverError?.code ?? (e as { code?: string }).code;
                  if (code === 'ER_LOCK_DEADLOCK') stats.deadlocks++;
                  else if (code === 'ER_LOCK_WAIT_TIMEOUT') stats.lockWaits++;
                  else throw e;
                  if (attempt >= 20) throw new Error(`still conflicting after ${attempt} retries`);
                  stats.retries++;
                  await sleep(5 * 2 ** Math.min(attempt, 6));
                }
              }
            }
          }),
        );
        const rows = (await maria.query(`SELECT * FROM \`${db}\`.containers`)) as Array<DbRow & { last_seen_at: Date | null }>;
        const written = new Set(rows.map((x) => x.id));
        expect(rows.length, 'one row per ID').to.equal(written.size);
        expect([...written].sort()).to.deep.equal([...new Set(ids)].filter((id) => written.has(id)).sort());
        expect(written.size, 'with 8x25x120 picks of 300 IDs every ID was written').to.equal(300);
        for (const x of rows) {
          const tag = x.workload_kind;
          expect(x.workload_id, x.id).to.equal(`wl-${tag}`);
          expect(x.role, x.id).to.equal(`role-${tag}`);
          expect(x.image_ref, x.id).to.equal(`img-${tag}`);
          const [w, r2] = tag.slice(1).split('r').map(Number);
          expect(x.port, x.id).to.equal(w! * 100 + r2!);
          expect(x.last_seen_at, x.id).to.be.instanceOf(Date);
        }
        console.log(`      [repository] ${stats.ok} upserts of 120 rows from 8 connections: ${stats.deadlocks} deadlocks, ${stats.lockWaits} lock wait timeouts, ${stats.retries} retries (the service retries these per key)`);
      } finally {
        for (const d of dbs) await d.close().catch(() => undefined);
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('hostile input from the daemon', () => {
    let maria: MariaDbServer;
    before(async () => {
      maria = await sharedMariaDb();
    });

    it('a table of hostile containers in every Docker state (simulator): the pass never crashes and the rows are exactly right', async () => {
      const HOST = 'faults-hostile';
      const url = await maria.createDatabase('faults_hostile');
      const db = dbNameOf(url);
      const sim = await DockerSimulator.start();
      let t: TestApp | undefined;
      try {
        t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: HOST, WORKERS: '4' });
        const QUOTED_WL = 'wl-\'q"`\\';
        const WL191 = `wl-${'x'.repeat(188)}`;
        await seedWorkloads(maria, db, ['wl-h', QUOTED_WL, WL191]);
        await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ('wl-site','site','site-h','s'),('wl-stk','stack','st-h','k')`);
        await maria.query(`INSERT INTO \`${db}\`.stacks (id, name, compose_project_name) VALUES ('st-h','h','tinyforge-h')`);
        const SQL = "'); DROP TABLE containers;--";
        const EMOJI = '🚀✨👩‍👩‍👧 東京';
        const SMILE255 = '😀'.repeat(255);
        interface Case {
          what: string;
          c: Partial<SimContainer>;
          /** The row it must produce, or null: no row. */
          row: null | ((id: string) => Partial<DbRow> & { id: string });
        }
        const cases: Case[] = [
          { what: 'emoji role', c: { labels: labelsFor('wl-h', EMOJI), state: 'running' }, row: () => ({ id: `wl-h:${EMOJI}`, role: EMOJI, state: 'running' }) },
          { what: 'SQL in the role, exited', c: { labels: labelsFor('wl-h', SQL), state: 'exited' }, row: () => ({ id: `wl-h:${SQL}`, role: SQL, state: 'stopped' }) },
          { what: 'role of 10,000 characters', c: { labels: labelsFor('wl-h', 'r'.repeat(10_000)), state: 'running' }, row: null },
          { what: 'role of 255 emoji (fits), paused', c: { labels: labelsFor('wl-h', SMILE255), state: 'paused' }, row: () => ({ id: `wl-h:${SMILE255}`, role: SMILE255, state: 'paused' }) },
          { what: 'role of 256 emoji (too long)', c: { labels: labelsFor('wl-h', `${SMILE255}😀`), state: 'running' }, row: null },
          { what: 'other label of 10,000 characters, restarting', c: { labels: { ...labelsFor('wl-h', 'noted'), description: 'd'.repeat(10_000), '😀-key': '😀'.repeat(3000) }, state: 'restarting' }, row: () => ({ id: 'wl-h:noted', role: 'noted', state: 'restarting' }) },
          { what: 'empty role, created', c: { labels: labelsFor('wl-h', ''), state: 'created' }, row: (id) => ({ id: `wl-h:${id}`, role: '', state: 'created' }) },
          { what: 'dead', c: { labels: labelsFor('wl-h', 'dead-one'), state: 'dead' }, row: () => ({ id: 'wl-h:dead-one', state: 'stopped' }) },
          { what: 'removing', c: { labels: labelsFor('wl-h', 'removing-one'), state: 'removing' }, row: () => ({ id: 'wl-h:removing-one', state: 'removing' }) },
          { what: 'image ref of 1025 characters', c: { labels: labelsFor('wl-h', 'bigimage'), image: `registry.example/${'i'.repeat(1000)}:${'t'.repeat(7)}`, state: 'running' }, row: null },
          { what: 'workload ID full of quotes', c: { labels: labelsFor(QUOTED_WL, 'x'), state: 'running' }, row: () => ({ id: `${QUOTED_WL}:x`, workload_id: QUOTED_WL, state: 'running' }) },
          { what: 'workload ID of 191 characters', c: { labels: labelsFor(WL191, 'w'), state: 'running' }, row: () => ({ id: `${WL191}:w`, workload_id: WL191, state: 'running' }) },
          { what: 'SQL as the workload ID (unknown)', c: { labels: labelsFor(SQL, 'x'), state: 'running' }, row: null },
          { what: 'managed, no workload label', c: { labels: { ...MANAGED, 'tinyforge.role': 'orphan' }, state: 'running' }, row: null },
          { what: 'empty workload label', c: { labels: labelsFor('', 'empty-wl'), state: 'running' }, row: null },
          { what: 'static site', c: { labels: { ...MANAGED, 'tinyforge.static-site': 'site-h' }, state: 'running' }, row: () => ({ id: 'wl-site:site', workload_id: 'wl-site', workload_kind: 'site', role: '', state: 'running' }) },
          {
            what: 'compose replica without a service label and a bad container number',
            c: { name: 'tinyforge-h-odd_1', labels: { 'com.docker.compose.project': 'tinyforge-h', 'com.docker.compose.service': '', 'com.docker.compose.container-number': '-3' }, state: 'exited' },
            row: () => ({ id: 'wl-stk:tinyforge-h-odd_1', workload_id: 'wl-stk', workload_kind: 'stack', role: 'tinyforge-h-odd_1', state: 'stopped' }),
          },
          { what: 'compose replica 2', c: { labels: { 'com.docker.compose.project': 'tinyforge-h', 'com.docker.compose.service': 'web', 'com.docker.compose.container-number': '2' }, state: 'running' }, row: () => ({ id: 'wl-stk:web:2', workload_id: 'wl-stk', workload_kind: 'stack', role: 'web', state: 'running' }) },
          { what: 'unknown tinyforge- compose project', c: { labels: { 'com.docker.compose.project': 'tinyforge-nope', 'com.docker.compose.service': 'web' }, state: 'running' }, row: null },
          {
            what: 'the same published port on two address families plus an exposed one',
            c: { labels: labelsFor('wl-h', 'ports'), ports: [{ privatePort: 443, type: 'tcp' }, { privatePort: 80, publicPort: 8080, type: 'tcp' }, { privatePort: 80, publicPort: 8080, type: 'tcp', ip: '::' }], state: 'running' },
            row: () => ({ id: 'wl-h:ports', port: 8080, state: 'running' }),
          },
          { what: 'control characters and NUL in the role', c: { labels: labelsFor('wl-h', 'a\tb\nc\u0000d'), state: 'running' }, row: () => ({ id: 'wl-h:a\tb\nc\u0000d', role: 'a\tb\nc\u0000d' }) },
          { what: 'backslashes, quotes and LIKE wildcards', c: { labels: labelsFor('wl-h', '\\\'"%_\\%'), state: 'running' }, row: () => ({ id: 'wl-h:\\\'"%_\\%', role: '\\\'"%_\\%' }) },
        ];
        const added = cases.map((k) => ({ ...k, sim: sim.add({ image: 'img:h', ports: [], ...k.c }) }));
        // A container that vanishes between an event and its inspect (404).
        sim.emit('start', 'f'.repeat(64), { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-h', 'tinyforge.role': 'ghost' });
        const before = { tooLong: await counter(t, 'tinyforge_reconciler_unmatched_containers_total{reason="value_too_long"}') };
        const report = await t.app.runPassNow();
        expect(report, 'the pass').to.include({ ok: true, errors: 0 });
        const rows = await readRows(maria, db);
        const byContainer = new Map(rows.map((x) => [x.container_id, x]));
        const problems: string[] = [];
        for (const k of added) {
          const got = byContainer.get(k.sim.id);
          if (k.row === null) {
            if (got) problems.push(`${k.what}: must not be written, got row ${JSON.stringify(got.id.slice(0, 40))}`);
            continue;
          }
          const want = k.row(k.sim.id);
          if (want.id !== undefined) want.id = hostScopedRowId(want.id, HOST);
          if (!got) {
            problems.push(`${k.what}: no row`);
            continue;
          }
          const full = { workload_id: 'wl-h', workload_kind: 'project', role: k.c.labels?.['tinyforge.role'] ?? '', host: HOST, image_ref: 'img:h', port: 0, state: 'running', container_id: k.sim.id, ...want };
          for (const [col, v] of Object.entries(full)) {
            const actual = (got as unknown as Record<string, unknown>)[col];
            if (actual !== v) problems.push(`${k.what}: ${col} = ${JSON.stringify(String(actual).slice(0, 60))}, want ${JSON.stringify(String(v).slice(0, 60))}`);
          }
        }
        const expectedCount = added.filter((k) => k.row !== null).length;
        if (rows.length !== expectedCount) problems.push(`${rows.length} rows, want ${expectedCount}: ${rows.map((x) => JSON.stringify(x.id.slice(0, 30))).join(', ')}`);
        expect(problems).to.deep.equal([]);
        expect(await counter(t, 'tinyforge_reconciler_unmatched_containers_total{reason="value_too_long"}'), 'refusals are counted').to.be.at.least(before.tooLong + 3);
        expect(await counter(t, 'tinyforge_reconciler_handler_panics_total')).to.equal(0);
        // Stable: a second pass finds nothing to write (every value round-trips exactly).
        const upsertsBefore = await counterValue(t, 'writeStatements', { kind: 'upsert' });
        expect(await t.app.runPassNow()).to.include({ ok: true, errors: 0 });
        expect(await counterValue(t, 'writeStatements', { kind: 'upsert' }), 'a second pass rewrites nothing').to.equal(upsertsBefore);
        expect(await readRows(maria, db)).to.deep.equal(rows);
      } finally {
        await t?.stop();
        await sim.stop();
      }
    });

    it('odd shapes a daemon (or a broken proxy) may send: null names, labels and ports, duplicate entries, odd states and port types', async () => {
      const HOST = 'faults-odd';
      const url = await maria.createDatabase('faults_odd');
      const db = dbNameOf(url);
      const id = (c: string) => c.repeat(64);
      const L = (role: unknown) => ({ ...MANAGED, 'tinyforge.workload.id': 'wl-odd', 'tinyforge.role': role });
      const entries: Array<Record<string, unknown>> = [
        { Id: id('a'), Names: null, Image: null, State: 'Running', Labels: L('a'), Ports: null },
        { Id: id('a'), Names: ['/dup'], Image: null, State: 'Running', Labels: L('a'), Ports: null }, // listed twice
        { Id: id('b'), Names: [], Image: 'img', State: 'exited', Labels: L('b'), Ports: [{ PrivatePort: 80, PublicPort: 8080, IP: '0.0.0.0', Type: 'tcp' }, { PrivatePort: 80, PublicPort: 8080, IP: '::', Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }] },
        { Id: id('c'), Names: ['/zombie'], Image: 'img', State: 'zombie', Labels: L('c'), Ports: [] },
        { Id: id('d'), Names: ['/nostate'], Image: 'img', Labels: L('d') },
        { Id: id('e'), Names: ['/nolabels'], Image: 'img', State: 'running', Labels: null },
        { Id: '', Names: ['/noid'], Image: 'img', State: 'running', Labels: L('noid') },
        { Id: id('1'), Names: ['/numrole', null], Image: 'img', State: 'running', Labels: L(7), Ports: [{ PublicPort: '8081', PrivatePort: 81 }] },
        { Id: id('2'), Names: ['/nullrole'], Image: 'img', State: 'PAUSED', Labels: L(null), Ports: [{ PublicPort: 70000, PrivatePort: 'x' }, null, 5] },
        { Id: id('3'), Names: ['/objlabels'], Image: 'img', State: 'running', Labels: [] as unknown[] },
      ];
      const engine = await startRawEngine(entries);
      let t: TestApp | undefined;
      try {
        t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: engine.dockerHost, HOST_NAME: HOST });
        await seedWorkloads(maria, db, ['wl-odd']);
        const report = await t.app.runPassNow();
        expect(report, 'the pass').to.include({ ok: true, errors: 0 });
        const rows = await readRows(maria, db);
        const slim = rows.map((x) => ({ id: x.id, container_id: x.container_id, role: x.role, state: x.state, image_ref: x.image_ref, port: x.port }));
        expect(slim).to.deep.equal(
          [
            { id: 'wl-odd:7', container_id: id('1'), role: '7', state: 'running', image_ref: 'img', port: 8081 },
            { id: `wl-odd:${id('2')}`, container_id: id('2'), role: '', state: 'paused', image_ref: 'img', port: 0 },
            { id: 'wl-odd:a', container_id: id('a'), role: 'a', state: 'running', image_ref: '', port: 0 },
            { id: 'wl-odd:b', container_id: id('b'), role: 'b', state: 'stopped', image_ref: 'img', port: 8080 },
          ]
            .map((x) => ({ ...x, id: hostScopedRowId(x.id, HOST) }))
            .sort((x, y) => (x.id < y.id ? -1 : 1)),
        );
        expect(await counter(t, 'tinyforge_reconciler_unmatched_containers_total{reason="unknown_state"}')).to.be.at.least(2);
        expect(await counter(t, 'tinyforge_reconciler_handler_panics_total')).to.equal(0);
        expect(engine.requests.filter((r) => !r.startsWith('GET ') && !r.startsWith('HEAD ')), 'read-only').to.deep.equal([]);
      } finally {
        await t?.stop();
        await engine.stop();
      }
    });

    // Regression (fixed): the `containers` columns use the collation utf8mb4_unicode_ci
    // (src/store/migrations/dialect.ts mysqlTableCharset), so the primary key `id` compares case-, accent-
    // and trailing-space-insensitively, and every emoji equal to every other emoji. Row IDs that differ only
    // that way are ONE row in MySQL but two in the controller: the second container's upsert overwrites the
    // first container's row (ON DUPLICATE KEY UPDATE) and the two flap forever; one container has no row.
    // Suggested fix: a new migration giving `id` (and the other key-like columns: workload_id, container_id,
    // host, role) COLLATE utf8mb4_bin.
    it('row IDs that differ only in case, accents, trailing spaces or which emoji stay distinct rows', async () => {
      const HOST = 'faults-collate';
      const url = await maria.createDatabase('faults_collate');
      const db = dbNameOf(url);
      const sim = await DockerSimulator.start();
      let t: TestApp | undefined;
      try {
        t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: HOST });
        await seedWorkloads(maria, db, ['wl-col']);
        const roles = ['web', 'Web', 'wéb', 'web ', '🚀', '😀'];
        const ids = roles.map((role) => sim.add({ image: 'img:c', labels: labelsFor('wl-col', role), state: 'running', ports: [] }).id);
        expect(await t.app.runPassNow()).to.include({ ok: true });
        const rows = await readRows(maria, db);
        const claims: Claim[] = roles.map((role, i) => ({ rowId: `wl-col:${role}`, containerId: ids[i]!, state: 'running', workloadId: 'wl-col', role }));
        expect(compareToTruth(rows, claims, new Set(), HOST), `rows: ${JSON.stringify(rows.map((r) => [r.id, r.container_id.slice(0, 6)]))}`).to.deep.equal([]);
        expect(rows.length, 'one row per container').to.equal(roles.length);
      } finally {
        await t?.stop();
        await sim.stop();
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('credentials never leak (log scraping)', () => {
    const PASSWORD = 'Sup3rS3cretPw';
    const ODD_PASSWORD = 'S3cr3t@P:w/d%x y';
    const leaks = (text: string, pw: string): string[] => {
      const forms = [pw, encodeURIComponent(pw), Buffer.from(pw).toString('base64')];
      return forms.filter((f) => text.includes(f));
    };
    let sim: DockerSimulator;
    before(async () => {
      sim = await DockerSimulator.start();
    });
    after(async () => {
      await sim?.stop();
    });

    for (const variant of ['wrong password on a running MariaDB', 'unreachable port', 'odd characters in the password']) {
      it(`run: ${variant}: the password never appears in stdout, stderr, /metrics or the probes`, async () => {
        const maria = await sharedMariaDb();
        const port = variant === 'unreachable port' ? await freePort() : maria.port;
        const pw = variant === 'odd characters in the password' ? ODD_PASSWORD : PASSWORD;
        const url = `mysql://root:${encodeURIComponent(pw)}@127.0.0.1:${port}/x`;
        const svc = await startService({ DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: 'leak', DB_CONNECT_TIMEOUT: '1s' }, { name: 'leak' });
        try {
          const bodies: string[] = [];
          const t0 = Date.now();
          while (Date.now() - t0 < 4000) {
            for (const p of ['/metrics', '/readyz', '/healthz', '/nope']) bodies.push((await svc.get(p)).body);
            await sleep(400);
          }
          await svc.waitForLog((l) => l.msg === 'database not available; retrying', 'the failed connect was logged', 5000);
          svc.kill('SIGTERM');
          const exit = await svc.waitExit(10_000);
          expect(exit, 'SIGTERM while still connecting').to.deep.equal({ code: 0, signal: null });
          const out = svc.output();
          expect(leaks(out, pw), 'password in stdout/stderr').to.deep.equal([]);
          expect(leaks(bodies.join('\n'), pw), 'password in HTTP bodies').to.deep.equal([]);
          const errors = svc.logs().filter((l) => l.msg === 'database not available; retrying').map((l) => String(l.error));
          expect(errors.length, 'the failure was reported').to.be.greaterThan(0);
          if (variant === 'unreachable port') expect(errors.join(' ')).to.match(/ECONNREFUSED|connect/i);
          else expect(errors.join(' ')).to.match(/denied/i);
          expect(out, 'the URL is logged redacted').to.include('mysql://root:***@');
        } finally {
          await svc.dispose();
        }
      });
    }

    it('migrate with a bad password, and a config error, never print the password', async () => {
      const maria = await sharedMariaDb();
      const url = `mysql://root:${PASSWORD}@127.0.0.1:${maria.port}/x`;
      const mig = await runCli(['migrate'], { DATABASE_URL: url, LOG_LEVEL: 'debug' });
      expect(mig.code).to.equal(1);
      expect(mig.stdout + mig.stderr).to.match(/migration failed/);
      expect(leaks(mig.stdout + mig.stderr, PASSWORD)).to.deep.equal([]);
      const odd = await runCli(['migrate'], { DATABASE_URL: `mysql://root:${encodeURIComponent(ODD_PASSWORD)}@127.0.0.1:${maria.port}/x` });
      expect(odd.code).to.equal(1);
      expect(leaks(odd.stdout + odd.stderr, ODD_PASSWORD)).to.deep.equal([]);
      // A configuration error names every bad variable, and still not the password.
      const bad = await runCli(['run'], { DATABASE_URL: `mysql://root:${PASSWORD}@127.0.0.1:99999/x`, WORKERS: '0', HTTP_PORT: 'eighty' });
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/DATABASE_URL/).and.match(/WORKERS/).and.match(/HTTP_PORT/);
      expect(leaks(bad.stdout + bad.stderr, PASSWORD)).to.deep.equal([]);
      const scheme = await runCli(['migrate'], { DATABASE_URL: `postgres://root:${PASSWORD}@127.0.0.1:5432/x` });
      expect(scheme.code).to.equal(2);
      expect(leaks(scheme.stdout + scheme.stderr, PASSWORD)).to.deep.equal([]);
    });

    // Regression (fixed): redactUrl (src/config.ts) and redactSecrets (src/log.ts) end the password at the
    // FIRST '@' (`([^@]*)@`), but a URL parser takes the LAST '@' of the authority. A password with an
    // unencoded '@' in an invalid DATABASE_URL is printed from that '@' on:
    // `mysql://root:***@S3cretPw@127.0.0.1:99999/x`. Suggested fix: redact up to the last '@' of the token,
    // e.g. /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)\S*@/gi (greedy) in both.
    it('a password with an unencoded @ in an invalid DATABASE_URL is not printed in part', async () => {
      const bad = await runCli(['migrate'], { DATABASE_URL: 'mysql://root:Sup3r@S3cretPw@127.0.0.1:99999/x' });
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/DATABASE_URL/);
      expect(bad.stdout + bad.stderr, 'no part of the password').not.to.include('S3cretPw');
    });
  });
});

/**
 * A minimal Engine API on a unix socket serving hand-written list entries verbatim (for shapes
 * neither a real daemon nor the simulator produce on demand): /_ping, /version,
 * /containers/json, /containers/{id}/json (404 unless listed), and an idle /events stream.
 */
async function startRawEngine(entries: Array<Record<string, unknown>>): Promise<{ dockerHost: string; requests: string[]; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raw-engine-'));
  const socketPath = path.join(dir, 'docker.sock');
  const requests: string[] = [];
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://docker');
    requests.push(`${method} ${url.pathname}`);
    const p = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Api-Version': '1.41' });
      res.end(text);
    };
    if (p === '/_ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': '1.41' });
      res.end(method === 'HEAD' ? undefined : 'OK');
    } else if (method !== 'GET') json(405, { message: 'read-only' });
    else if (p === '/version') json(200, { Version: '20.10.24', ApiVersion: '1.41', MinAPIVersion: '1.12', Os: 'linux', Arch: 'amd64' });
    else if (p === '/containers/json') json(200, entries);
    else if (p === '/events') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': '1.41' });
      res.flushHeaders();
      open.add(res);
      res.on('close', () => open.delete(res));
    } else {
      const m = /^\/containers\/([^/]+)\/json$/.exec(p);
      const e = m ? entries.find((x) => x.Id === decodeURIComponent(m[1]!)) : undefined;
      if (!e) json(404, { message: `No such container: ${m?.[1] ?? p}` });
      else json(200, { Id: e.Id, Name: Array.isArray(e.Names) ? e.Names[0] : null, Image: 'sha256:' + '0'.repeat(64), State: { Status: typeof e.State === 'string' ? e.State.toLowerCase() : e.State }, Config: { Image: e.Image, Labels: e.Labels }, NetworkSettings: { Ports: {} } });
    }
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    dockerHost: `unix://${socketPath}`,
    requests,
    stop: async () => {
      for (const r of open) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
