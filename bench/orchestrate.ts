/**
 * The measurements of `make bench`: one throwaway MariaDB, the Engine API simulator and the
 * service each in their own process; per size the Go original's port (the baseline), the service
 * and one bulk upsert for reference; then event-to-row latency. Returns raw figures; rendering
 * them is bench/report.ts's job.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { PassReport } from '../src/domain/pass.js';
import { errorMessage } from '../src/domain/errors.js';
import type { SimContainer } from '../spec/support/docker-sim.js';
import { startMariaDb, type MariaDbServer } from '../spec/support/mariadb.js';
import type { BenchOptions } from './args.js';
import { GoDockerLister, GoReconciler, GoStore, type TickReport } from './baseline-go-port.js';
import { bulkUpsert, createSchema, dropDatabase, seedDesired, StatementCounter } from './db.js';
import { here, log, repoRoot, tmpDir } from './env.js';
import { observedRowFor } from './fleet.js';
import { realEngineLatency, simBurstLatency, type BurstResult, type RealEngineResult } from './latency.js';
import { RpcChild } from './rpc.js';
import { fmtInt, fmtMb, fmtMs, median } from './stats.js';

/** Passes per size (the baseline is measured on fewer passes as N grows). */
function plan(n: number, quick: boolean) {
  if (quick) return { baseSteady: n >= 100_000 ? 1 : 2, baseChurn: n >= 100_000 ? 0 : 1, svcSteady: 3, svcChurn: 2 };
  if (n >= 100_000) return { baseSteady: 1, baseChurn: 0, svcSteady: 5, svcChurn: 3 };
  if (n >= 10_000) return { baseSteady: 3, baseChurn: 2, svcSteady: 7, svcChurn: 5 };
  return { baseSteady: 5, baseChurn: 3, svcSteady: 7, svcChurn: 5 };
}


const CHURN_FRACTION = 0.01;
class SkipBaseline extends Error {}

// ------------------------------------------------------------------------------------------
// Children
// ------------------------------------------------------------------------------------------

function startSimChild(): RpcChild {
  return RpcChild.start('simulator', path.join(here, 'sim-server.js'), { logFile: path.join(tmpDir, 'sim.log') });
}

/** The service in its own process (bench/service-child.ts), with the options' preload and Node flags. */
function startServiceChild(opts: Pick<BenchOptions, 'profile' | 'servicePreload' | 'serviceNodeOptions'>, tag: string): RpcChild {
  const execArgv = ['--expose-gc'];
  if (opts.servicePreload) execArgv.push('--import', opts.servicePreload);
  execArgv.push(...opts.serviceNodeOptions);
  if (opts.profile && tag === 'events') execArgv.push('--cpu-prof', `--cpu-prof-dir=${path.join(tmpDir, 'prof')}`, `--cpu-prof-name=service-${tag}-${Date.now()}.cpuprofile`);
  return RpcChild.start('service', path.join(here, 'service-child.js'), { logFile: path.join(tmpDir, `service-${tag}.log`), execArgv });
}

/** The two list requests the service sends, in parallel, timed to the last byte without parsing: the daemon's own time. */
async function rawDaemonList(socketPath: string): Promise<{ ms: number; bytes: number }> {
  const get = (filters: object) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath, path: `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(filters))}`, method: 'GET' }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const t = performance.now();
  const [a, b] = await Promise.all([get({ label: ['tinyforge.managed=true'] }), get({ label: ['com.docker.compose.project'] })]);
  return { ms: performance.now() - t, bytes: a + b };
}

/** Waits until the database executed nothing for two consecutive 250 ms windows (background work of the service settled). */
async function dbQuiet(counter: StatementCounter, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 2 && Date.now() < deadline) {
    const m = await counter.mark();
    await new Promise((r) => setTimeout(r, 250));
    quiet = (await counter.since(m)) === 0 ? quiet + 1 : 0;
  }
}

async function rowCounts(maria: MariaDbServer, db: string): Promise<{ live: number; missing: number }> {
  const rows = (await maria.query(`SELECT SUM(state <> 'missing') AS live, SUM(state = 'missing') AS missing FROM \`${db}\`.containers`)) as Array<{ live: unknown; missing: unknown }>;
  return { live: Number(rows[0]?.live ?? 0), missing: Number(rows[0]?.missing ?? 0) };
}


// ------------------------------------------------------------------------------------------
// One size
// ------------------------------------------------------------------------------------------

export interface BaselineResult {
  cold: TickReport;
  steady: TickReport[];
  steadyStatements: number[];
  churn: TickReport[];
  churnStatements: number[];
  /** Per statement kind over the steady ticks: count per tick and ms per tick. */
  perTick: Record<string, { n: number; ms: number }>;
  errors: number;
}

export interface ServiceResult {
  startMs: number;
  cold: PassReport;
  coldStatements: number;
  steady: PassReport[];
  steadyStatements: number[];
  churn: PassReport[];
  churnStatements: number[];
  extraPasses: number;
  /** VmHWM over boot + cold pass. */
  coldPeakRssKb: number;
  /** VmHWM over the steady and churn passes only (reset after the cold pass). */
  steadyPeakRssKb: number;
  /** VmHWM over the steady passes only. */
  steadyOnlyPeakRssKb: number;
  peakRssKb: number;
  rssKb: number;
  heapUsed: number;
  /** Live heap after a full GC at the end (what the service keeps between passes). */
  heapAfterGc: number;
}

export interface SizeResult {
  n: number;
  seeded: { workloads: number; stacks: number };
  baseline?: BaselineResult;
  service: ServiceResult;
  bulk: { ms: number; statements: number };
  daemonListMs: number;
  /** Bytes of the two list answers together. */
  daemonListBytes: number;
  /** Rows after the steady passes (live = not missing): each implementation should have one per container. */
  baselineRows?: { live: number; missing: number };
  serviceRows: { live: number; missing: number };
  simPopulateMs: number;
  burst?: BurstResult;
}
/** Measures one size: the baseline, the service, and one bulk upsert for reference, each on its own database. */
export async function runSize(maria: MariaDbServer, counter: StatementCounter, n: number, opts: BenchOptions): Promise<SizeResult> {
  const p = plan(n, opts.quick);
  const reserve = Math.ceil(n * 0.05) + 100;
  log(`N=${fmtInt(n)}: starting the simulator`);
  const sim = startSimChild();
  const dbs: string[] = [];
  try {
    const started = (await sim.call('start', { socketPath: path.join(tmpDir, `sim-${process.pid}.sock`) })) as { socketPath: string; dockerHost: string };
    const pop = (await sim.call('populate', { n })) as { size: number; ms: number };

    // ---------------- baseline ----------------
    const base = await createSchema(maria, `bench_base_${n}`);
    dbs.push(base.name);
    const seeded = await seedDesired(maria, base.name, n + reserve);
    log(`N=${fmtInt(n)}: seeded ${fmtInt(seeded.workloads)} workloads, ${fmtInt(seeded.stacks)} stacks; baseline (Go port): cold tick`);
    const store = new GoStore(base.url, 4);
    const rec = new GoReconciler(store, new GoDockerLister(started.socketPath));
    let baseline: BaselineResult | undefined;
    let baselineRows: { live: number; missing: number } | undefined;
    try {
      if (!opts.baseline) throw new SkipBaseline();
      const cold = await rec.reconcileOnce();
      log(`N=${fmtInt(n)}: baseline cold tick ${fmtMs(cold.ms)} (${cold.upserted} upserted)`);
      store.timing.clear();
      const steady: TickReport[] = [];
      const steadyStatements: number[] = [];
      for (let i = 0; i < p.baseSteady; i++) {
        const m = await counter.mark();
        steady.push(await rec.reconcileOnce());
        steadyStatements.push(await counter.since(m));
        log(`N=${fmtInt(n)}: baseline steady tick ${i + 1}/${p.baseSteady}: ${fmtMs(steady.at(-1)!.ms)}, ${fmtInt(steadyStatements.at(-1))} statements`);
      }
      baselineRows = await rowCounts(maria, base.name);
      log(`N=${fmtInt(n)}: baseline rows: ${fmtInt(baselineRows.live)} live, ${fmtInt(baselineRows.missing)} missing`);
      const perTick: Record<string, { n: number; ms: number }> = {};
      for (const [k, v] of store.timing) perTick[k] = { n: v.n / Math.max(1, p.baseSteady), ms: v.ms / Math.max(1, p.baseSteady) };
      const churn: TickReport[] = [];
      const churnStatements: number[] = [];
      for (let i = 0; i < p.baseChurn; i++) {
        await sim.call('churnOnce', { fraction: CHURN_FRACTION });
        const m = await counter.mark();
        churn.push(await rec.reconcileOnce());
        churnStatements.push(await counter.since(m));
        log(`N=${fmtInt(n)}: baseline churn tick ${i + 1}/${p.baseChurn}: ${fmtMs(churn.at(-1)!.ms)}, ${churn.at(-1)!.markedMissing} marked missing`);
      }
      baseline = { cold, steady, steadyStatements, churn, churnStatements, perTick, errors: rec.errorCount };
    } catch (err) {
      if (!(err instanceof SkipBaseline)) throw err;
    } finally {
      await store.close();
    }
    await dropDatabase(maria, base.name);

    // ---------------- service ----------------
    const svc = await createSchema(maria, `bench_svc_${n}`);
    dbs.push(svc.name);
    await seedDesired(maria, svc.name, n + reserve);
    log(`N=${fmtInt(n)}: service: starting (its boot pass is the cold pass)`);
    const child = startServiceChild(opts, String(n));
    let service: ServiceResult;
    let burst: BurstResult | undefined;
    let daemonListMs: number;
    let daemonListBytes = 0;
    let serviceRows = { live: 0, missing: 0 };
    try {
      const profDir = path.join(tmpDir, 'prof');
      if (opts.profile) {
        mkdirSync(profDir, { recursive: true });
        await child.call('profileStart');
      }
      const m0 = await counter.mark();
      const st = (await child.call('start', { env: { DATABASE_URL: svc.url, DOCKER_HOST: started.dockerHost, HOST_NAME: 'local', RECONCILE_INTERVAL: '5m', ...opts.serviceEnv } })) as { startMs: number };
      const first = ((await child.call('waitPasses', { count: 1 })) as PassReport[])[0]!;
      const coldStatements = await counter.since(m0);
      if (opts.profile) log(`profile: ${((await child.call('profileStop', { file: path.join(profDir, `service-${n}-cold.cpuprofile`) })) as { file: string }).file}`);
      if (!first.ok) throw new Error(`service cold pass failed: ${first.error}`);
      log(`N=${fmtInt(n)}: service cold pass ${fmtMs(first.durationMs)} (listed ${first.listed})`);
      await child.call('settle', { quietMs: 300 });
      const coldPeakRssKb = ((await child.call('memory')) as { hwmKb: number }).hwmKb;
      const resetOk = (await child.call('resetPeak')) as boolean;
      // one warm-up pass (JIT, pools), then let background work (workload status) finish
      await child.call('runPass');
      await dbQuiet(counter);
      const passesAt = ((await child.call('passes')) as unknown[]).length;
      if (opts.profile) await child.call('profileStart');
      const steady: PassReport[] = [];
      const steadyStatements: number[] = [];
      for (let i = 0; i < p.svcSteady; i++) {
        const m = await counter.mark();
        const r = (await child.call('runPass')) as { report: PassReport };
        steadyStatements.push(await counter.since(m));
        steady.push(r.report);
      }
      if (opts.profile) log(`profile: ${((await child.call('profileStop', { file: path.join(profDir, `service-${n}-steady.cpuprofile`) })) as { file: string }).file}`);
      log(`N=${fmtInt(n)}: service steady median ${fmtMs(median(steady.map((r) => r.durationMs)))}, statements ${steadyStatements.join(',')}`);
      const steadyOnlyPeakKb = ((await child.call('memory')) as { hwmKb: number }).hwmKb;
      serviceRows = await rowCounts(maria, svc.name);
      log(`N=${fmtInt(n)}: service rows: ${fmtInt(serviceRows.live)} live, ${fmtInt(serviceRows.missing)} missing`);
      const churn: PassReport[] = [];
      const churnStatements: number[] = [];
      for (let i = 0; i < p.svcChurn; i++) {
        await dbQuiet(counter);
        const m = await counter.mark();
        await sim.call('churnOnce', { fraction: CHURN_FRACTION });
        const r = (await child.call('runPass')) as { report: PassReport };
        await new Promise((res) => setTimeout(res, 300)); // event-driven writes of the churn settle
        churnStatements.push(await counter.since(m));
        churn.push(r.report);
      }
      if (p.svcChurn > 0) log(`N=${fmtInt(n)}: service churn median ${fmtMs(median(churn.map((r) => r.durationMs)))}, statements ${churnStatements.join(',')}`);
      const extraPasses = ((await child.call('passes')) as unknown[]).length - passesAt - p.svcSteady - p.svcChurn;
      const lists: number[] = [];
      let listBytes = 0;
      for (let i = 0; i < 5; i++) {
        const l = await rawDaemonList(started.socketPath);
        lists.push(l.ms);
        listBytes = l.bytes;
      }
      daemonListMs = median(lists);
      daemonListBytes = listBytes;
      const mem = (await child.call('memory')) as { hwmKb: number; rssKb: number; heapUsed: number };
      const afterGc = (await child.call('gc')) as { heapUsed: number };
      service = {
        startMs: st.startMs,
        cold: first,
        coldStatements,
        steady,
        steadyStatements,
        churn,
        churnStatements,
        extraPasses,
        coldPeakRssKb,
        steadyPeakRssKb: resetOk ? mem.hwmKb : NaN,
        steadyOnlyPeakRssKb: resetOk ? steadyOnlyPeakKb : NaN,
        peakRssKb: Math.max(coldPeakRssKb, mem.hwmKb),
        rssKb: mem.rssKb,
        heapUsed: mem.heapUsed,
        heapAfterGc: afterGc.heapUsed,
      };
      log(`N=${fmtInt(n)}: service peak RSS ${fmtMb(service.peakRssKb * 1024)} (boot + cold ${fmtMb(coldPeakRssKb * 1024)}, steady passes ${fmtMb(service.steadyOnlyPeakRssKb * 1024)}, steady + churn passes ${fmtMb(service.steadyPeakRssKb * 1024)})`);
      if (opts.events && n === opts.burstSize) {
        log(`N=${fmtInt(n)}: event burst: ${opts.burstPerSecond} state changes/s for ${opts.burstSeconds} s against the simulator`);
        burst = await simBurstLatency(sim, child, { perSecond: opts.burstPerSecond, seconds: opts.burstSeconds });
        log(`N=${fmtInt(n)}: burst: ${burst.samples} row commits, received->committed p99 ${fmtMs(burst.recvToCommit.p99)}`);
      }
    } finally {
      await child.close();
    }
    await dropDatabase(maria, svc.name);

    // ---------------- reference: one bulk upsert of N rows ----------------
    const bulkDb = await createSchema(maria, `bench_bulk_${n}`);
    dbs.push(bulkDb.name);
    const containers = (await sim.call('list')) as SimContainer[];
    const rows = containers.map((c) => observedRowFor(c, 'local'));
    const bulk = await bulkUpsert(maria, bulkDb.name, rows);
    log(`N=${fmtInt(n)}: one bulk upsert of ${fmtInt(rows.length)} rows: ${fmtMs(bulk.ms)} (${bulk.statements} statement(s))`);
    await dropDatabase(maria, bulkDb.name);

    return { n, seeded, baseline, service, bulk, daemonListMs, daemonListBytes, baselineRows, serviceRows, simPopulateMs: pop.ms, burst };
  } finally {
    await sim.close();
    for (const d of dbs) await dropDatabase(maria, d).catch(() => undefined);
  }
}


// ------------------------------------------------------------------------------------------
// The whole run
// ------------------------------------------------------------------------------------------

/** Everything one run measured: what bench/report.ts renders, saved as .tmp/bench/last-run.json. */
export interface RawRun {
  options: BenchOptions;
  machine: Record<string, string>;
  dbConfig: string;
  /** Load average at the start. */
  load0: number[];
  results: SizeResult[];
  real?: RealEngineResult;
  elapsedSeconds: number;
}

/** Runs every measurement the options ask for, against one dedicated MariaDB. */
export async function measure(opts: BenchOptions): Promise<RawRun> {
  mkdirSync(tmpDir, { recursive: true });
  const t0 = Date.now();
  const load0 = os.loadavg();
  log(`sizes ${opts.sizes.join(', ')}${opts.quick ? ' (quick)' : ''}; logs of the children in ${path.relative(repoRoot, tmpDir)}/`);
  log('starting a dedicated MariaDB for the benchmark');
  if (!opts.fastDb) {
    // MariaDB's durable defaults on the machine's disk, as a production database runs: every commit
    // is flushed (innodb_flush_log_at_trx_commit=1). --fast-db keeps the test harness's tmpfs + =2.
    const dir = path.join(tmpDir, 'mariadb');
    mkdirSync(dir, { recursive: true });
    process.env.TF_MARIADB_TMPDIR = dir;
  }
  const maria = await startMariaDb({ name: 'bench' });
  let counter: StatementCounter | undefined;
  try {
    if (!opts.fastDb) await maria.query('SET GLOBAL innodb_flush_log_at_trx_commit = 1');
    // 64 MB (the test default) would make 100k-row tables spill; give InnoDB room as production would.
    await maria.query('SET GLOBAL innodb_buffer_pool_size = 536870912');
    const ver = ((await maria.query('SELECT VERSION() AS v')) as Array<{ v: string }>)[0]!.v;
    const bp = ((await maria.query("SHOW GLOBAL VARIABLES LIKE 'innodb_buffer_pool_size'")) as Array<{ Value: string }>)[0]!.Value;
    const flush = ((await maria.query("SHOW GLOBAL VARIABLES LIKE 'innodb_flush_log_at_trx_commit'")) as Array<{ Value: string }>)[0]!.Value;
    const dbConfig = `innodb_buffer_pool_size ${(Number(bp) / 1024 ** 2).toFixed(0)} MB, innodb_flush_log_at_trx_commit=${flush}, datadir on ${maria.datadir.startsWith('/dev/shm') ? 'tmpfs' : 'disk'}`;
    counter = await StatementCounter.open(maria);
    const results: SizeResult[] = [];
    for (const n of opts.sizes) results.push(await runSize(maria, counter, n, opts));

    let real: RealEngineResult | undefined;
    if (opts.events && opts.realEngine) {
      log(`event latency against a private Docker engine: ${opts.realCycles} cycles of stop/start/rm -f/run over ${opts.realContainers} containers`);
      try {
        real = await realEngineLatency(maria, () => startServiceChild(opts, 'events'), { containers: opts.realContainers, cycles: opts.realCycles, log });
      } catch (err) {
        log(`real-engine latency failed: ${errorMessage(err, { stack: true })}`);
      }
    }
    const elapsedSeconds = Number(((Date.now() - t0) / 1000).toFixed(0));
    return { options: opts, machine: machine(ver), dbConfig, load0, results, real, elapsedSeconds };
  } finally {
    await counter?.close().catch(() => undefined);
    await maria.dispose();
  }
}

/** The machine the run took place on (at the end of the run: date and load average). */
function machine(mariaVersion: string): Record<string, string> {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpu)?.[1] ?? 'unknown';
  let kernel = '';
  try {
    kernel = execFileSync('uname', ['-r']).toString().trim();
  } catch {
    /* */
  }
  return {
    date: new Date().toISOString(),
    cpu: `${model} (nproc ${os.cpus().length})`,
    ram: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    os: `${os.type()} ${kernel}`,
    node: process.version,
    mariadb: mariaVersion,
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

