import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { createConnection, type Connection } from 'mysql2/promise';
import { loadConfig } from '../../src/config.js';
import { LeaderElector, type LeaseStore } from '../../src/leader/leader-election.js';
import { silentLogger } from '../../src/log.js';
import { Database } from '../../src/store/database.js';
import { LeaseRepository } from '../../src/store/lease.repository.js';
import { MIGRATIONS } from '../../src/store/data-source.js';
import type { PassReport } from '../../src/domain/pass.js';
import { counter, startTestApp, type TestApp } from '../support/app.js';
import { DockerSimulator, type SimContainer, type SimState } from '../support/docker-sim.js';
import { sharedGalera, type GaleraCluster, type GaleraNode } from '../support/galera.js';
import { sharedMariaDb } from '../support/mariadb.js';
import { compareToTruth, prng, readRows, simClaims, sleep, waitForTruth } from '../support/truth.js';

/**
 * The store on a real 3-node MariaDB Galera cluster (spec/support/galera.ts), every node taking
 * writes: migrations from replicas on different nodes, the lease between candidates on different
 * nodes, and the service's writes racing a deployer's on another node. Certification conflicts
 * reach the client here: every node runs with `wsrep_retry_autocommit = 0` (the server's own
 * single retry of an autocommit statement off), so what the service retries is what it must.
 */
describe('Galera: the store on a 3-node cluster', function () {
  this.timeout(240_000);
  let cluster: GaleraCluster;
  const opened: Database[] = [];

  /** The service's own account (unprivileged, spec/support/galera.ts APP_USER) on `node`. */
  const connect = async (node: GaleraNode, db: string): Promise<Database> => {
    const d = await Database.connect(loadConfig({ DATABASE_URL: node.appUrl(db) }).database, { poolSize: 4 });
    opened.push(d);
    return d;
  };
  const onEveryNode = (sql: string) => Promise.all(cluster.nodes.map((n) => n.query(sql)));
  /** Certification failures and brute-force aborts the nodes counted so far (server side). */
  const serverConflicts = async (): Promise<number> => {
    const counts = await Promise.all(
      cluster.nodes.map(async (n) => {
        const rows = (await n.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')")) as Array<{ Value: string }>;
        return rows.reduce((a, r) => a + Number(r.Value), 0);
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  };

  before(async function () {
    const t0 = Date.now();
    cluster = await sharedGalera();
    console.log(`      [galera] cluster of ${cluster.nodes.length} Synced in ${cluster.startMs} ms (this suite waited ${Date.now() - t0} ms): ${cluster.nodes.map((n) => `${n.name} ${n.lastStart?.transfer} ${n.lastStart?.ms} ms`).join(', ')}`);
    await onEveryNode('SET GLOBAL wsrep_retry_autocommit = 0');
  });

  after(async () => {
    for (const d of opened) await d.close().catch(() => undefined);
    if (cluster?.running) await onEveryNode('SET GLOBAL wsrep_retry_autocommit = 1').catch(() => undefined);
  });

  describe('migrations', () => {
    it('GET_LOCK is per node: two nodes grant the same named lock at once (why migrations need a lock row)', async () => {
      const [a, b] = await Promise.all([createConnection(cluster.nodes[0]!.plainConnectionOptions()), createConnection(cluster.nodes[1]!.plainConnectionOptions())]);
      try {
        const [[ra]] = (await a.query("SELECT GET_LOCK('tinyforge_reconciler_migrations', 0) AS l")) as unknown as [[{ l: number }]];
        const [[rb]] = (await b.query("SELECT GET_LOCK('tinyforge_reconciler_migrations', 0) AS l")) as unknown as [[{ l: number }]];
        expect([Number(ra.l), Number(rb.l)], 'both nodes grant it').to.deep.equal([1, 1]);
      } finally {
        await Promise.all([a.end(), b.end()]);
      }
    });

    it('three replicas on three nodes migrating at the same moment: every migration applied exactly once, no replica fails (3 rounds)', async () => {
      for (let round = 0; round < 3; round++) {
        const db = await cluster.createDatabase(`g_mig${round}`);
        const dbs = await Promise.all(cluster.nodes.map((n) => connect(n, db)));
        const results = await Promise.allSettled(dbs.map((d) => d.migrate()));
        const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${cluster.nodes[i]!.name}: ${String((r.reason as Error).message)}`] : []));
        expect(failed, `round ${round}`).to.deep.equal([]);
        const applied = results.map((r) => (r.status === 'fulfilled' ? r.value : []));
        expect(applied.filter((a) => a.length > 0), `round ${round}: one replica applied them all, the others found them recorded`).to.have.length(1);
        expect(applied.flat().sort()).to.deep.equal(MIGRATIONS.map((m) => m.name).sort());
        const recorded = (await cluster.query(`SELECT name, COUNT(*) AS n FROM \`${db}\`.tinyforge_reconciler_migrations GROUP BY name ORDER BY name`)) as Array<{ name: string; n: number }>;
        expect(recorded.map((r) => [r.name, Number(r.n)])).to.deep.equal(MIGRATIONS.map((m) => [m.name, 1]).sort());
        const lockRows = (await cluster.query(`SELECT COUNT(*) AS n FROM \`${db}\`.tinyforge_reconciler_migration_lock`)) as Array<{ n: number }>;
        expect(Number(lockRows[0]!.n), 'the lock row is released').to.equal(0);
        for (const d of dbs) await d.close();
      }
    });
  });

  describe('the lease between candidates on different nodes', () => {
    let db: string;
    before(async () => {
      db = await cluster.createDatabase('g_lease');
      await (await connect(cluster.nodes[0]!, db)).migrate();
    });

    it('three candidates (one per node) hammering one lease, holders stalling past it: never two holders at once; conflicts retried, none escapes', async () => {
      const LEASE_MS = 300;
      /** A holder counts itself leader until this long after it sent its last successful renew (the elector's renew deadline). */
      const DEADLINE_MS = 200;
      const RUN_MS = 6_000;
      const dbs = await Promise.all(cluster.nodes.map((n) => connect(n, db)));
      const conflictsBefore = await serverConflicts();
      interface Window {
        holder: string;
        from: number;
        to: number;
      }
      const windows: Window[] = [];
      const escaped: string[] = [];
      let takeovers = 0;
      const end = performance.now() + RUN_MS;
      await Promise.all(
        dbs.map(async (d, i) => {
          const leases = new LeaseRepository(d);
          const me = `cand-${i}`;
          const random = prng(1000 + i);
          let held = false;
          while (performance.now() < end) {
            const sent = performance.now();
            let ok = false;
            try {
              ok = await leases.tryAcquireOrRenew('g-lease', me, LEASE_MS);
            } catch (err) {
              escaped.push(`${me}: ${(err as Error).message}`);
            }
            const done = performance.now();
            if (ok) {
              if (!held) takeovers++;
              held = true;
              windows.push({ holder: me, from: done, to: sent + DEADLINE_MS });
              // Now and then the holder stalls past its lease (a GC pause, a hung connection).
              await sleep(random() < 0.2 ? LEASE_MS + random() * LEASE_MS : random() * 40);
            } else {
              held = false;
              await sleep(random() * 10);
            }
          }
        }),
      );
      const overlaps: string[] = [];
      const sorted = [...windows].sort((a, b) => a.from - b.from);
      for (let i = 0; i < sorted.length; i++) {
        for (let j = i + 1; j < sorted.length && sorted[j]!.from < sorted[i]!.to; j++) {
          if (sorted[j]!.holder !== sorted[i]!.holder) overlaps.push(`${sorted[i]!.holder} until +${(sorted[i]!.to - sorted[i]!.from).toFixed(1)} ms, ${sorted[j]!.holder} from +${(sorted[j]!.from - sorted[i]!.from).toFixed(1)} ms`);
        }
      }
      const retried = dbs.reduce((a, d) => a + d.conflictRetries, 0);
      const conflicts = (await serverConflicts()) - conflictsBefore;
      const lease = (await cluster.query(`SELECT holder, transitions FROM \`${db}\`.leases WHERE name = 'g-lease'`)) as Array<{ transitions: number }>;
      console.log(`      [galera lease] ${windows.length} acquisitions and renewals, ${takeovers} takeovers (${lease[0]?.transitions} transitions in the row), ${conflicts} certification conflicts on the servers, ${retried} statements retried by the service, ${escaped.length} errors escaped`);
      expect(escaped.slice(0, 5), `${escaped.length} errors escaped`).to.deep.equal([]);
      expect(overlaps.slice(0, 5), `${overlaps.length} overlapping leaderships`).to.deep.equal([]);
      expect(takeovers, 'the lease changed hands').to.be.greaterThan(5);
      expect(Number(lease[0]!.transitions)).to.be.greaterThan(5);
    });

    it('two LeaderElectors on different nodes, the leader stalling past its lease again and again: never both may write', async () => {
      const dbs = await Promise.all([connect(cluster.nodes[0]!, db), connect(cluster.nodes[1]!, db)]);
      const stalled = [false, false];
      /** The lease repository, except that while `stalled[i]`, calls hang (then complete late). */
      const store = (i: number): LeaseStore => {
        const repo = new LeaseRepository(dbs[i]!);
        const gate = async () => {
          while (stalled[i]) await sleep(10);
        };
        return {
          tryAcquireOrRenew: async (n, h, ms) => {
            await gate();
            return repo.tryAcquireOrRenew(n, h, ms);
          },
          release: (n, h) => repo.release(n, h),
        };
      };
      const cfg = { leaseName: 'g-elect', leaseDurationMs: 800, renewDeadlineMs: 500, retryPeriodMs: 100 };
      const electors = [0, 1].map((i) => new LeaderElector(store(i), { ...cfg, identity: `el-${i}` }, { onStartedLeading() {}, onStoppedLeading() {} }, silentLogger()));
      const abort = new AbortController();
      const runs = electors.map((e) => e.run(abort.signal));
      let both = 0;
      let samples = 0;
      const leaders = new Set<number>();
      const sampler = (async () => {
        while (!abort.signal.aborted) {
          const w = electors.map((e) => e.canWrite());
          samples++;
          if (w[0] && w[1]) both++;
          w.forEach((x, i) => x && leaders.add(i));
          await sleep(2);
        }
      })();
      const changes: number[] = [];
      for (let k = 0; k < 4; k++) {
        await sleep(900);
        const leader = electors.findIndex((e) => e.isLeader());
        if (leader < 0) continue;
        changes.push(leader);
        stalled[leader] = true;
        await sleep(1_300); // past the lease: the other takes over
        stalled[leader] = false;
      }
      await sleep(500);
      abort.abort();
      await Promise.all([...runs, sampler]);
      for (const e of electors) await e.release();
      console.log(`      [galera elector] ${samples} samples, leaders stalled in turn: ${changes.join(', ')}; both writable in ${both}`);
      expect(both, 'samples where both could write').to.equal(0);
      expect([...leaders].sort(), 'each elector led at some point').to.deep.equal([0, 1]);
    });
  });

  describe('the service on one node, a deployer writing the same rows on another', () => {
    const HOST = 'g-host';
    const N = 400;
    const WORKLOADS = 20;
    const states: SimState[] = ['running', 'running', 'running', 'exited', 'created', 'paused'];
    const make = (i: number): Partial<SimContainer> => ({
      name: `g-${i}`,
      image: `img-${i % 4}:1`,
      labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': `wl-g-${i % WORKLOADS}`, 'tinyforge.role': `r${i}` },
      state: states[i % states.length]!,
      ports: [],
    });
    const known = new Set(Array.from({ length: WORKLOADS }, (_, i) => `wl-g-${i}`));
    let sim: DockerSimulator;
    let db: string;
    let app: TestApp | undefined;

    const prepare = async (migrateOn: Database, query: (sql: string, params?: unknown[]) => Promise<unknown>, name: string) => {
      await migrateOn.migrate();
      const ids = [...known];
      await query(`INSERT INTO \`${name}\`.workloads (id, kind, ref_id, name) VALUES ${ids.map(() => "(?, 'project', ?, 'g')").join(',')}`, ids.flatMap((id) => [id, `ref-${id}`]));
      // A column of the deployer's own, which the service never writes.
      await query(`ALTER TABLE \`${name}\`.containers ADD COLUMN deploy_note VARCHAR(64) NULL`);
    };
    const truth = (node: GaleraNode) => async () => compareToTruth(await readRows(node, db, HOST), simClaims(sim, known), new Set(), HOST);
    const passes = async (t: TestApp, n: number): Promise<number[]> => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = await t.app.runPassNow();
        expect(r.ok, r.error).to.equal(true);
        ms.push(r.durationMs);
      }
      return ms;
    };

    before(async () => {
      sim = await DockerSimulator.start();
      sim.populate(N, make);
      db = await cluster.createDatabase('g_rec');
      await prepare(await connect(cluster.nodes[0]!, db), (sql, params) => cluster.query(sql, params), db);
    });
    after(async () => {
      await app?.stop();
      await sim?.stop();
    });

    it('rows converge to Docker, the deployer keeps its column, every conflict is retried and no error escapes', async () => {
      app = await startTestApp({ DATABASE_URL: cluster.nodes[0]!.appUrl(db), DOCKER_HOST: sim.dockerHost, HOST_NAME: HOST, WORKERS: '8', WRITE_BATCH_SIZE: '25' });
      const boot = await waitForTruth(truth(cluster.nodes[2]!), 30_000);
      expect(boot.problems.slice(0, 5), 'after the boot pass').to.deep.equal([]);
      const conflictsBefore = await serverConflicts();

      // The deployer: two sessions on node 2 setting its own column on random rows of this host,
      // retrying its own conflicts; meanwhile Docker churns and the service runs passes on node 1.
      const rowIds = (await readRows(cluster.nodes[1]!, db, HOST)).map((r) => r.id);
      const lastNote = new Map<string, string>();
      let writerRetries = 0;
      let writerStatements = 0;
      const stopAt = Date.now() + 6_000;
      const writer = async (k: number) => {
        const conn: Connection = await createConnection(cluster.nodes[1]!.plainConnectionOptions(db));
        const random = prng(77 + k);
        try {
          for (let n = 0; Date.now() < stopAt; n++) {
            // Each session its own half of the rows, so the last note a row got is known exactly.
            const mine = rowIds.filter((_, i) => i % 2 === k);
            const ids = Array.from({ length: 20 }, () => mine[Math.floor(random() * mine.length)]!);
            const note = `w${k}-${n}`;
            for (let attempt = 0; ; attempt++) {
              try {
                await conn.query(`UPDATE containers SET deploy_note = ? WHERE id IN (${ids.map(() => '?').join(',')})`, [note, ...ids]);
                writerStatements++;
                break;
              } catch (err) {
                if ((err as { errno?: number }).errno !== 1213 || attempt > 20) throw err;
                writerRetries++;
              }
            }
            for (const id of ids) lastNote.set(id, note);
          }
        } finally {
          await conn.end();
        }
      };
      const churn = sim.churn({ perSecond: 150, mix: { create: 0, stateChange: 1, remove: 0 }, make });
      const passDuring = (async () => {
        while (Date.now() < stopAt) {
          const r = await app!.app.runPassNow();
          expect(r.ok, `a pass during the race failed: ${r.error}`).to.equal(true);
        }
      })();
      try {
        await Promise.all([writer(0), writer(1), passDuring]);
      } finally {
        churn.stop();
      }
      await passes(app, 1);
      const conv = await waitForTruth(truth(cluster.nodes[2]!), 30_000);
      expect(conv.problems.slice(0, 10), `${conv.problems.length} rows wrong`).to.deep.equal([]);

      const notes = (await cluster.nodes[2]!.query(`SELECT id, deploy_note FROM \`${db}\`.containers WHERE host = ?`, [HOST])) as Array<{ id: string; deploy_note: string | null }>;
      const clobbered = notes.filter((r) => lastNote.has(r.id) && r.deploy_note !== lastNote.get(r.id));
      expect(clobbered.slice(0, 5), 'the deployer column holds its last write').to.deep.equal([]);

      const dbErrors = await counter(app, 'tinyforge_reconciler_reconcile_errors_total{reason="database"}');
      const failedPasses = app.passes.filter((p) => !p.ok || p.errors > 0);
      const retried = app.app.database!.conflictRetries;
      const conflicts = (await serverConflicts()) - conflictsBefore;
      console.log(
        `      [galera reconcile] ${app.passes.length} passes, ${writerStatements} deployer statements (${writerRetries} retried), ${conflicts} certification conflicts on the servers, ${retried} service statements retried, ${dbErrors} database errors`,
      );
      expect(dbErrors, 'reconcile errors caused by the database').to.equal(0);
      expect(failedPasses.map((p) => p.error ?? `${p.errors} errors`)).to.deep.equal([]);
      expect(conflicts, 'the nodes saw conflicts (else this test proves nothing)').to.be.greaterThan(0);
    });

    it('a steady pass on the cluster and on a single MariaDB (measured, interleaved so both see the same machine load)', async () => {
      const maria = await sharedMariaDb();
      const url = await maria.createDatabase('g_rec_single');
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      const single = await Database.connect(loadConfig({ DATABASE_URL: url }).database);
      opened.push(single);
      await prepare(single, (sql, params) => maria.query(sql, params), name);
      const other = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: HOST, WORKERS: '8', WRITE_BATCH_SIZE: '25' });
      try {
        await passes(app!, 2);
        await passes(other, 2);
        const galera: PassReport[] = [];
        const alone: PassReport[] = [];
        for (let i = 0; i < 9; i++) {
          galera.push(await app!.app.runPassNow());
          alone.push(await other.app.runPassNow());
        }
        expect([...galera, ...alone].filter((r) => !r.ok).map((r) => r.error)).to.deep.equal([]);
        const median = (rs: PassReport[]) => [...rs].sort((x, y) => x.durationMs - y.durationMs)[Math.floor(rs.length / 2)]!;
        const show = (r: PassReport) => `${r.durationMs} ms (${Object.entries(r.phases ?? {}).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')})`;
        console.log(`      [galera steady pass] ${N} containers, median of 9: Galera node ${show(median(galera))}; single MariaDB ${show(median(alone))}`);
        console.log(`      [galera steady pass] all: Galera ${galera.map((r) => r.durationMs).join(', ')}; single ${alone.map((r) => r.durationMs).join(', ')}`);
        console.log(`      [galera boot pass] writing ${N} rows: Galera node ${show(app!.passes[0]!)}; single MariaDB ${show(other.passes[0]!)}`);
        expect(median(galera).durationMs).to.be.greaterThan(0);
      } finally {
        await other.stop();
      }
    });
  });
});
