/**
 * `make bench`: the Go original's algorithm (bench/baseline-go-port.ts, the BASELINE) and this
 * service (src/, the real App), side by side against one throwaway MariaDB and one Engine API
 * simulator, for N = 1,000, 10,000 and 100,000 containers; then event-to-row latency against a
 * private Docker engine and under a burst against the simulator. Prints tables and writes
 * docs/benchmarks.md.
 *
 *   node --expose-gc dist/bench/run.js [--sizes 1000,10000,100000] [--quick] [--no-events]
 *       [--no-real-engine] [--no-baseline] [--no-write] [--out docs/benchmarks.md] [--profile]
 *       [--fast-db] [--service-env K=V,...] [--service-preload module.mjs] [--service-node-options '--max-old-space-size=300']
 *       [--cycles N] [--burst-seconds S] [--burst-rate R] [--render-from .tmp/bench/last-run.json]
 *
 * Processes: the harness (this process: orchestration, statement counting, the baseline), the
 * simulator (bench/sim-server.ts) and the service (bench/service-child.ts) each in their own
 * process, so the service's CPU and RSS are its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PassReport } from '../src/resync/resync.js';
import type { SimContainer } from '../spec/support/docker-sim.js';
import { startMariaDb, type MariaDbServer } from '../spec/support/mariadb.js';
import { GoDockerLister, GoReconciler, GoStore, type TickReport } from './baseline-go-port.js';
import { bulkUpsert, createSchema, dropDatabase, seedDesired, StatementCounter } from './db.js';
import { observedRowFor } from './fleet.js';
import { realEngineLatency, simBurstLatency, type BurstResult, type Dist, type RealEngineResult } from './latency.js';
import { RpcChild } from './rpc.js';
import { fmtInt, fmtMb, fmtMs, fmtMsWhole, median, table } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const tmpDir = path.join(repoRoot, '.tmp', 'bench');

// ------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------

interface Options {
  sizes: number[];
  quick: boolean;
  events: boolean;
  realEngine: boolean;
  write: boolean;
  out: string;
  profile: boolean;
  burstSize: number;
  burstPerSecond: number;
  burstSeconds: number;
  realCycles: number;
  realContainers: number;
  baseline: boolean;
  /** The test harness's MariaDB settings (datadir on tmpfs, innodb_flush_log_at_trx_commit=2) instead of durable defaults. */
  fastDb: boolean;
  /** Extra environment for the service (e.g. WRITE_BATCH_SIZE=2000). */
  serviceEnv: Record<string, string>;
  /** A module loaded into the service process first (`--import`): to try a change before it goes into src/. */
  servicePreload?: string;
  /** Extra Node flags for the service process (e.g. --max-old-space-size=300). */
  serviceNodeOptions: string[];
  /** Only re-render docs/benchmarks.md from a saved run. */
  renderFrom?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    sizes: [1000, 10_000, 100_000],
    quick: false,
    events: true,
    realEngine: true,
    write: true,
    out: path.join(repoRoot, 'docs', 'benchmarks.md'),
    profile: false,
    burstSize: 10_000,
    burstPerSecond: 200,
    burstSeconds: 10,
    realCycles: 60,
    realContainers: 10,
    baseline: true,
    fastDb: false,
    serviceEnv: {},
    serviceNodeOptions: [],
  };
  let sizesGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const key = a.split('=')[0];
    switch (key) {
      case '--sizes':
        o.sizes = val()
          .split(',')
          .map((s) => Number(s.trim().replace(/_/g, '')))
          .filter((n) => Number.isInteger(n) && n > 0);
        sizesGiven = true;
        break;
      case '--quick':
        o.quick = true;
        break;
      case '--no-events':
        o.events = false;
        break;
      case '--no-real-engine':
        o.realEngine = false;
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--out':
        o.out = path.resolve(val());
        break;
      case '--service-env':
        for (const kv of val().split(',')) {
          const eq = kv.indexOf('=');
          if (eq > 0) o.serviceEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        break;
      case '--service-node-options':
        o.serviceNodeOptions.push(...val().split(/\s+/).filter(Boolean));
        break;
      case '--render-from':
        o.renderFrom = path.resolve(val());
        break;
      case '--service-preload':
        o.servicePreload = path.resolve(val());
        break;
      case '--fast-db':
        o.fastDb = true;
        break;
      case '--no-baseline':
        o.baseline = false;
        break;
      case '--profile':
        o.profile = true;
        break;
      case '--burst-seconds':
        o.burstSeconds = Number(val());
        break;
      case '--burst-rate':
        o.burstPerSecond = Number(val());
        break;
      case '--cycles':
        o.realCycles = Number(val());
        break;
      case '--help':
      case '-h':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*?/, '') + '\n');
        process.exit(0);
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  if (o.quick) {
    if (!sizesGiven) o.sizes = [1000, 10_000];
    o.burstSeconds = Math.min(o.burstSeconds, 4);
    o.realCycles = Math.min(o.realCycles, 15);
  }
  return o;
}

/** Passes per size (the baseline is measured on fewer passes as N grows). */
function plan(n: number, quick: boolean) {
  if (quick) return { baseSteady: n >= 100_000 ? 1 : 2, baseChurn: n >= 100_000 ? 0 : 1, svcSteady: 3, svcChurn: 2 };
  if (n >= 100_000) return { baseSteady: 1, baseChurn: 0, svcSteady: 5, svcChurn: 3 };
  if (n >= 10_000) return { baseSteady: 3, baseChurn: 2, svcSteady: 7, svcChurn: 5 };
  return { baseSteady: 5, baseChurn: 3, svcSteady: 7, svcChurn: 5 };
}

const CHURN_FRACTION = 0.01;
class SkipBaseline extends Error {}
const log = (s: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

// ------------------------------------------------------------------------------------------
// Children
// ------------------------------------------------------------------------------------------

function startSimChild(): RpcChild {
  return RpcChild.start('simulator', path.join(here, 'sim-server.js'), { logFile: path.join(tmpDir, 'sim.log') });
}

let servicePreload: string | undefined;
let serviceNodeOptions: string[] = [];

function startServiceChild(profile: boolean, tag: string): RpcChild {
  const execArgv = ['--expose-gc'];
  if (servicePreload) execArgv.push('--import', servicePreload);
  execArgv.push(...serviceNodeOptions);
  if (profile && tag === 'events') execArgv.push('--cpu-prof', `--cpu-prof-dir=${path.join(tmpDir, 'prof')}`, `--cpu-prof-name=service-${tag}-${Date.now()}.cpuprofile`);
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

interface BaselineResult {
  cold: TickReport;
  steady: TickReport[];
  steadyStatements: number[];
  churn: TickReport[];
  churnStatements: number[];
  /** Per statement kind over the steady ticks: count per tick and ms per tick. */
  perTick: Record<string, { n: number; ms: number }>;
  errors: number;
}

interface ServiceResult {
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

interface SizeResult {
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

async function runSize(maria: MariaDbServer, counter: StatementCounter, n: number, opts: Options): Promise<SizeResult> {
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
    const child = startServiceChild(opts.profile, String(n));
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
// Reporting
// ------------------------------------------------------------------------------------------

const PHASES = ['list', 'desired', 'snapshot', 'prefetch', 'reconcile', 'sweep', 'touch'];

function medianPhases(reports: PassReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ph of PHASES) out[ph] = median(reports.map((r) => r.phases?.[ph] ?? NaN).filter((x) => !Number.isNaN(x)));
  return out;
}

interface Goal {
  text: string;
  met: boolean;
}

function passTables(results: SizeResult[]): { main: string; goals: Goal[]; phases: string; baseline: string } {
  const rows: string[][] = [];
  const goals: Goal[] = [];
  const mark = (g: Goal | undefined) => (g ? [g.text, g.met ? 'yes' : 'NO'] : ['', '']);
  for (const r of results) {
    const b = r.baseline;
    const s = r.service;
    const N = fmtInt(r.n);
    const bSteady = b && b.steady.length ? median(b.steady.map((t) => t.ms)) : NaN;
    const sSteady = median(s.steady.map((p) => p.durationMs));
    const sList = median(s.steady.map((p) => p.phases?.list ?? NaN));
    const bStmts = b && b.steadyStatements.length ? median(b.steadyStatements) : NaN;
    const sStmts = median(s.steadyStatements);
    const ratio = bSteady / sSteady;
    const limit = Math.ceil(r.n / 500) + 5;
    const exclDaemon = sSteady - r.daemonListMs;

    let g: Goal | undefined;
    const gCold = r.n === 10_000 ? { text: `<= 2x bulk (${fmtMs(2 * r.bulk.ms)})`, met: s.cold.durationMs <= 2 * r.bulk.ms } : undefined;
    rows.push([N, 'cold first pass (empty table)', fmtMs(b?.cold.ms), fmtMs(s.cold.durationMs), b ? `${(b.cold.ms / s.cold.durationMs).toFixed(1)}x` : '', ...mark(gCold)]);
    if (gCold) goals.push({ text: `N=10,000 cold pass ${fmtMs(s.cold.durationMs)} ${gCold.text}`, met: gCold.met });
    rows.push([N, 'cold pass excl. list phase', fmtMs(b ? b.cold.ms - b.cold.listMs : NaN), fmtMs(s.cold.durationMs - (s.cold.phases?.list ?? 0)), '', '', '']);
    rows.push([N, 'one bulk upsert of N rows (reference)', '', fmtMs(r.bulk.ms) + (r.bulk.statements > 1 ? ` (${r.bulk.statements} stmts)` : ''), '', '', '']);
    g = r.n === 10_000 ? { text: '>= 30x faster', met: ratio >= 30 } : undefined;
    rows.push([N, `steady pass, median (${b?.steady.length ?? 0} / ${s.steady.length} passes)`, fmtMs(bSteady), fmtMs(sSteady), Number.isNaN(ratio) ? '' : `${ratio.toFixed(0)}x`, ...mark(g)]);
    if (g) goals.push({ text: `N=10,000 steady pass ${ratio.toFixed(0)}x faster than the baseline (goal >= 30x)`, met: g.met });
    g = r.n === 100_000 ? { text: '< 2 s', met: exclDaemon < 2000 } : undefined;
    rows.push([N, 'steady pass excl. the daemon answering the list', fmtMs(b ? bSteady - r.daemonListMs : NaN), fmtMs(exclDaemon), '', ...mark(g)]);
    if (g) goals.push({ text: `N=100,000 steady pass excl. daemon list ${fmtMs(exclDaemon)} (goal < 2 s)`, met: g.met });
    rows.push([N, 'steady pass excl. the whole list phase', fmtMs(b ? bSteady - median(b.steady.map((t) => t.listMs)) : NaN), fmtMs(sSteady - sList), '', '', '']);
    rows.push([N, 'daemon list time (raw HTTP) / list phase', fmtMs(b ? median(b.steady.map((t) => t.listMs)) : NaN) + ' phase', `${fmtMs(r.daemonListMs)} raw / ${fmtMs(sList)} phase`, '', '', '']);
    g = r.n === 10_000 ? { text: `<= ${limit}`, met: sStmts <= limit } : undefined;
    rows.push([N, 'statements per steady pass', fmtInt(bStmts), fmtInt(sStmts), '', ...mark(g)]);
    if (g) goals.push({ text: `N=10,000 ${fmtInt(sStmts)} statements per steady pass (goal <= ${limit}; baseline ${fmtInt(bStmts)})`, met: g.met });
    const bChurn = b && b.churn.length ? median(b.churn.map((t) => t.ms)) : NaN;
    const sChurn = median(s.churn.map((p) => p.durationMs));
    rows.push([N, `pass after 1% churn, median (${b?.churn.length ?? 0} / ${s.churn.length})`, fmtMs(bChurn), fmtMs(sChurn), Number.isNaN(bChurn) ? '' : `${(bChurn / sChurn).toFixed(0)}x`, '', '']);
    rows.push([N, 'statements per churn pass (service: + event-driven writes)', fmtInt(b && b.churnStatements.length ? median(b.churnStatements) : NaN), fmtInt(median(s.churnStatements)), '', '', '']);
    g = r.n === 100_000 ? { text: '< 400 MB', met: s.peakRssKb * 1024 < 400 * 1024 * 1024 } : undefined;
    rows.push([N, 'peak RSS of the service process (whole run)', '', fmtMb(s.peakRssKb * 1024), '', ...mark(g)]);
    rows.push([N, 'peak RSS during steady passes only', '', fmtMb(s.steadyOnlyPeakRssKb * 1024), '', '', '']);
    rows.push([N, 'peak RSS during steady + churn passes', '', fmtMb(s.steadyPeakRssKb * 1024), '', '', '']);
    rows.push([N, 'live heap after a full GC (kept between passes)', '', fmtMb(s.heapAfterGc), '', '', '']);
    if (g) goals.push({ text: `N=100,000 peak RSS ${fmtMb(s.peakRssKb * 1024)} (goal < 400 MB)`, met: g.met });
  }
  const main = table(['N', 'measure', 'baseline (Go port)', 'service', 'ratio', 'goal', 'met?'], rows);

  const phRows: string[][] = [];
  for (const r of results) {
    const cold = r.service.cold.phases ?? {};
    const st = medianPhases(r.service.steady);
    const ch = medianPhases(r.service.churn);
    phRows.push([fmtInt(r.n), 'cold', ...PHASES.map((p) => fmtMsWhole(cold[p])), fmtMsWhole(r.service.cold.durationMs)]);
    phRows.push([fmtInt(r.n), 'steady (median)', ...PHASES.map((p) => fmtMsWhole(st[p])), fmtMsWhole(median(r.service.steady.map((x) => x.durationMs)))]);
    if (r.service.churn.length) phRows.push([fmtInt(r.n), '1% churn (median)', ...PHASES.map((p) => fmtMsWhole(ch[p])), fmtMsWhole(median(r.service.churn.map((x) => x.durationMs)))]);
  }
  const phases = table(['N', 'pass', ...PHASES, 'total'], phRows);

  const bRows: string[][] = [];
  for (const r of results) {
    if (!r.baseline) continue;
    const kinds = Object.entries(r.baseline.perTick).sort((a, b) => b[1].ms - a[1].ms);
    for (const [k, v] of kinds) bRows.push([fmtInt(r.n), k, fmtInt(v.n), fmtMs(v.ms), fmtMs(v.ms / Math.max(1, v.n))]);
    const t = r.baseline.steady;
    if (t.length) bRows.push([fmtInt(r.n), '(docker list)', '1', fmtMs(median(t.map((x) => x.listMs))), '']);
  }
  const baseline = table(['N', 'baseline statement', 'per tick', 'ms per tick', 'ms each'], bRows);
  return { main, goals, phases, baseline };
}

function latencyTables(real: RealEngineResult | undefined, burst: BurstResult | undefined, burstN: number): { text: string; goals: Goal[] } {
  const goals: Goal[] = [];
  const row = (what: string, d: Dist | undefined, goal = '', met = ''): string[] => [what, d ? fmtInt(d.n) : 'n/m', fmtMs(d?.p50), fmtMs(d?.p95), fmtMs(d?.p99), fmtMs(d?.max), goal, met];
  const rows: string[][] = [];
  // The Go original: a change is seen at the next tick: uniform over the 30 s interval.
  rows.push(['Go original (30 s tick): change -> row, any change', '-', '15 s', '28.5 s', '29.7 s', '30 s + tick', '', '']);
  if (real) {
    rows.push(row(`real engine: event emitted -> row committed (${real.ops} docker ops)`, real.emitToCommit));
    rows.push(row('real engine: event received -> row committed', real.recvToCommit));
    rows.push(row('real engine: destroy emitted -> row missing', real.destroyToMissing));
    const gRm = { text: 'p99 < 100 ms', met: real.rmReturnToMissing.p99 < 100 };
    rows.push(row('real engine: `docker rm -f` returned -> row missing', real.rmReturnToMissing, gRm.text, gRm.met ? 'yes' : 'NO'));
    rows.push(row('real engine: `docker rm -f` invoked -> row missing', real.rmInvokeToMissing));
    rows.push(row('(real engine: docker CLI call itself)', real.cliMs));
    goals.push({ text: `docker rm -> row missing p99 ${fmtMs(real.rmReturnToMissing.p99)} (goal < 100 ms)`, met: gRm.met });
  }
  if (burst) {
    const g = { text: 'p99 < 50 ms', met: burst.recvToCommit.p99 < 50 };
    rows.push(row(`simulator, ${burst.perSecond} changes/s (${fmtInt(burst.events)} events in ${burst.seconds.toFixed(1)} s, N=${fmtInt(burstN)}): received -> committed`, burst.recvToCommit, g.text, g.met ? 'yes' : 'NO'));
    rows.push(row('simulator burst: event emitted -> row committed', burst.emitToCommit));
    goals.push({ text: `burst ${burst.perSecond}/s: event received -> row committed p99 ${fmtMs(burst.recvToCommit.p99)} (goal < 50 ms)`, met: g.met });
  }
  let text = table(['measure', 'n', 'p50', 'p95', 'p99', 'max', 'goal', 'met?'], rows);
  if (real) {
    text += '\n\nBy transition (real engine, event emitted -> committed):\n\n';
    text += table(
      ['transition', 'n', 'p50', 'p95', 'p99'],
      Object.entries(real.byTransition).map(([k, d]) => [k, fmtInt(d.n), fmtMs(d.p50), fmtMs(d.p95), fmtMs(d.p99)]),
    );
  }
  return { text, goals };
}

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

// ------------------------------------------------------------------------------------------
// Main
// ------------------------------------------------------------------------------------------

/** Re-renders docs from a saved run (`--render-from .tmp/bench/last-run.json`), e.g. after changing the notes. */
function renderFrom(file: string, opts: Options): void {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as {
    options: Options;
    machine: Record<string, string>;
    dbConfig: string;
    load0: number[];
    results: SizeResult[];
    real?: RealEngineResult;
    elapsedSeconds: number;
  };
  const pt = passTables(raw.results);
  const burst = raw.results.find((r) => r.burst)?.burst;
  const lt = latencyTables(raw.real, burst, raw.options.burstSize);
  const goals = [...pt.goals, ...lt.goals];
  writeFileSync(opts.out, renderDoc(raw.machine, raw.dbConfig, raw.load0, String(raw.elapsedSeconds), raw.options, pt, lt, goals, raw.results, raw.real));
  log(`wrote ${path.relative(repoRoot, opts.out)} from ${file}`);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.renderFrom) return renderFrom(opts.renderFrom, opts);
  servicePreload = opts.servicePreload;
  serviceNodeOptions = opts.serviceNodeOptions;
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
        real = await realEngineLatency(maria, () => startServiceChild(opts.profile, 'events'), { containers: opts.realContainers, cycles: opts.realCycles, log });
      } catch (err) {
        log(`real-engine latency failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }

    const m = machine(ver);
    const pt = passTables(results);
    const burst = results.find((r) => r.burst)?.burst;
    const lt = latencyTables(real, burst, opts.burstSize);
    const goals = [...pt.goals, ...lt.goals];
    const elapsed = ((Date.now() - t0) / 1000).toFixed(0);

    const out: string[] = [];
    out.push(`Machine: ${m.cpu}, ${m.ram} RAM, ${m.os}, Node ${m.node}, MariaDB ${m.mariadb} (${dbConfig})`);
    out.push(`Date: ${m.date}; load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${m.loadavg}; run took ${elapsed} s${opts.quick ? ' (--quick)' : ''}`);
    out.push('');
    out.push('Resync passes (baseline = faithful port of the Go original, bench/baseline-go-port.ts):');
    out.push('');
    out.push(pt.main);
    out.push('');
    out.push('Service pass phases (PassReport.phases):');
    out.push('');
    out.push(pt.phases);
    out.push('');
    out.push('Baseline statements per steady tick:');
    out.push('');
    out.push(pt.baseline);
    out.push('');
    out.push('Event -> row latency:');
    out.push('');
    out.push(lt.text);
    out.push('');
    out.push('Goals:');
    for (const g of goals) out.push(`  [${g.met ? 'met' : 'MISSED'}] ${g.text}`);
    const text = out.join('\n');
    process.stdout.write(`\n${text}\n`);

    const raw = { options: opts, machine: m, dbConfig, load0, results, real, elapsedSeconds: Number(elapsed) };
    writeFileSync(path.join(tmpDir, 'last-run.json'), JSON.stringify(raw, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
    if (opts.write) {
      writeFileSync(opts.out, renderDoc(m, dbConfig, load0, elapsed, opts, pt, lt, goals, results, real));
      log(`wrote ${path.relative(repoRoot, opts.out)}`);
    }
  } finally {
    await counter?.close().catch(() => undefined);
    await maria.dispose();
  }
}

function renderDoc(
  m: Record<string, string>,
  dbConfig: string,
  load0: number[],
  elapsed: string,
  opts: Options,
  pt: ReturnType<typeof passTables>,
  lt: ReturnType<typeof latencyTables>,
  goals: Goal[],
  results: SizeResult[],
  real: RealEngineResult | undefined,
): string {
  const big = results.find((r) => r.n === 100_000) ?? results.at(-1);
  const notes = docNotes(results, real);
  return `# Benchmarks

Generated by \`make bench\` (\`node --expose-gc dist/bench/run.js${opts.quick ? ' --quick' : ''}${opts.sizes.join(',') !== '1000,10000,100000' ? ` --sizes ${opts.sizes.join(',')}` : ''}\`); re-run it to refresh this file.
Raw figures of the last run: \`.tmp/bench/last-run.json\`.

## Machine

| | |
| --- | --- |
| date | ${m.date} |
| CPU | ${m.cpu} |
| RAM | ${m.ram} |
| OS | ${m.os} |
| Node | ${m.node} |
| MariaDB | ${m.mariadb}, a dedicated throwaway server (spec/support/mariadb.ts) for the run: ${dbConfig} |
| load average | ${load0.map((x) => x.toFixed(2)).join(' ')} at start, ${m.loadavg} at end (the machine is shared: other jobs ran at the same time) |
| duration | ${elapsed} s |

## Set-up

- **Baseline**: \`bench/baseline-go-port.ts\`, a faithful port of the Go original's \`ReconcileOnce\`: list the managed containers
  (dockerode), then per container, sequentially, the seed's dispatch with one \`SELECT\` by Docker ID (or \`GetWorkloadByRef\`,
  and \`GetAllStacks\` for legacy compose containers) and one single-row \`INSERT ... ON DUPLICATE KEY UPDATE\`; then
  \`ListContainers\` (every row) and one \`UPDATE\` per missing row. mysql2, pool of 4, text protocol.
- **Service**: the real \`App\` (src/main.ts) in its own process (\`bench/service-child.ts\`, driven over IPC because the CLI
  cannot be told to run a pass now); passes are forced with \`runPassNow()\` (RECONCILE_INTERVAL=5m, so no timer pass interferes);
  its boot pass on an empty table is the cold pass. Default settings (4 workers, batches of 500, pool of 10), workload-status
  service included (it records every row transition). Phase times come from \`Date.now()\` (whole milliseconds).
- **Simulator**: \`spec/support/docker-sim.ts\` in its own process (\`bench/sim-server.ts\`), so serving the list costs the service nothing.
- **Fleet** (\`bench/fleet.ts\`): every container owns exactly one row; 60% projects, 10% sites, 10% legacy static sites
  (\`tinyforge.static-site\` label), 20% compose stacks of 4 services (one stack in ten is a legacy compose-only stack dispatched
  through \`stacks.compose_project_name\`); about 80% running. \`workloads\`/\`stacks\` rows are inserted in bulk beforehand
  (plus 5% spare for containers created by churn).
- **Statements**: MariaDB's global \`Questions\` counter on the dedicated server, read before and after, minus the reading statement.
- **Churn**: \`churnOnce(0.01)\` on the simulator right before the pass: 1% of containers change (80% state flips, 20% removed and
  replaced), with their Docker events. The service reacts to those events while the pass runs; its statement count covers both.
- **Peak RSS**: the service process's \`VmHWM\` (kernel peak resident set) over its whole life at that N (boot, cold pass, all passes).
- **Daemon list time**: the two list requests the service sends, issued in parallel from the harness and read to the last byte
  without parsing. "Excl. the daemon" subtracts that from the pass; "excl. the whole list phase" subtracts the service's list phase
  (request + JSON parse + mapping).
- **Bulk upsert reference**: one multi-row \`INSERT ... ON DUPLICATE KEY UPDATE\` of the N rows into an empty table, same server,
  same run (statements of at most 10,000 rows, MariaDB's 16 MB packet limit).

## Running

\`make bench\` (about 5-7 minutes on this machine). Options of \`node --expose-gc dist/bench/run.js\`: \`--sizes 1000,10000,100000\`,
\`--quick\` (1,000 and 10,000, fewer passes, short event runs), \`--no-events\`, \`--no-real-engine\`, \`--no-baseline\`,
\`--no-write\` (print only), \`--out FILE\`, \`--profile\` (CPU profiles of the service's cold and steady passes in
\`.tmp/bench/prof/\`; summarise with \`node dist/bench/profile-top.js FILE\`), \`--fast-db\` (tmpfs datadir and
innodb_flush_log_at_trx_commit=2 as in the tests), \`--service-env K=V,...\`, \`--service-node-options '...'\`,
\`--service-preload module.mjs\` (loaded into the service process first, to try a change before it goes into src/),
\`--cycles N\` (real-engine stop/start/rm/run cycles), \`--burst-seconds S\`, \`--burst-rate R\`.

## Resync passes

${pt.main}

### Service pass phases (\`PassReport.phases\`, ms)

${pt.phases}
${big ? `\nAt N=${fmtInt(big.n)} the steady pass is dominated by ${dominant(big)}.\n` : ''}
### Baseline: where a steady tick goes

${pt.baseline}

## Event -> row latency

${lt.text}

The Go original has no watch: a change shows at its next tick, uniformly 0-30 s later with the default interval
(mean 15 s), plus the tick's own duration (see the steady tick of the baseline above: seconds at 10,000 containers).

## Goals

${goals.map((g) => `- ${g.met ? '**met**' : '**MISSED**'}: ${g.text}`).join('\n')}

## Notes

${notes.join('\n')}
`;
}

function dominant(r: SizeResult): string {
  const ph = medianPhases(r.service.steady);
  const sorted = Object.entries(ph)
    .filter(([, v]) => !Number.isNaN(v))
    .sort((a, b) => b[1] - a[1]);
  return sorted
    .slice(0, 3)
    .map(([k, v]) => `${k} (${fmtMs(v)})`)
    .join(', ');
}

function docNotes(results: SizeResult[], real: RealEngineResult | undefined): string[] {
  const notes: string[] = [];
  for (const r of results) {
    const s = r.service;
    const sSteady = median(s.steady.map((p) => p.durationMs));
    const sList = median(s.steady.map((p) => p.phases?.list ?? NaN));
    const mb = (r.daemonListBytes / 1024 / 1024).toFixed(0);
    const b = r.baseline;
    const bSteady = b ? median(b.steady.map((t) => t.ms)) : NaN;
    const bList = b ? median(b.steady.map((t) => t.listMs)) : NaN;
    if (r.n === 10_000) {
      const ratio = bSteady / sSteady;
      if (ratio < 30) {
        notes.push(
          `- **N=10,000, speed-up ${ratio.toFixed(0)}x (< 30x)**: of the service's ${fmtMs(sSteady)} steady pass, ${fmtMs(sList)} is the list phase: the daemon answers both ` +
            `list requests in ${fmtMs(r.daemonListMs)} (${mb} MB of JSON), the rest is the service receiving and parsing them (streamed: each entry is split out, ` +
            `\`JSON.parse\`d and mapped as it arrives). Everything after the list takes ${fmtMs(sSteady - sList)}: excluding the list phase on both sides the speed-up is ` +
            `${((bSteady - bList) / (sSteady - sList)).toFixed(0)}x. The baseline costs ${(bSteady / r.n).toFixed(2)} ms per container here (the issue measured 0.8 ms). ` +
            `The 30x budget is ${fmtMs(bSteady / 30)}; the daemon's own answer (${fmtMs(r.daemonListMs)}) plus the phases after the list (${fmtMs(sSteady - sList)}) ` +
            `${r.daemonListMs + sSteady - sList > bSteady / 30 ? 'already exceed it, so even a free parse would not reach 30x against this baseline on this machine' : 'fit in it: a cheaper parse of the list would reach it'}.`,
        );
      }
      const c = s.cold;
      if (c.durationMs > 2 * r.bulk.ms) {
        const ph = c.phases ?? {};
        notes.push(
          `- **N=10,000, cold pass ${fmtMs(c.durationMs)} vs 2x bulk ${fmtMs(2 * r.bulk.ms)}**: list ${fmtMsWhole(ph.list)}, desired ${fmtMsWhole(ph.desired)}, prefetch ${fmtMsWhole(ph.prefetch)} ` +
            `(one bulk lookup of every unknown container and row ID), reconcile ${fmtMsWhole(ph.reconcile)} (every key through the queue and workers, written in ` +
            `batches of WRITE_BATCH_SIZE=500 rows one statement at a time, plus the workload-status service recording ${fmtInt(r.n)} row creations and, at start-up, recomputing every workload at the same time). Excluding the list ` +
            `phase the cold pass is ${((c.durationMs - (ph.list ?? 0)) / r.bulk.ms).toFixed(1)}x the bulk upsert.`,
        );
      }
    }
    if (r.n === 100_000) {
      const excl = sSteady - r.daemonListMs;
      if (excl >= 2000) {
        const ph = medianPhases(s.steady);
        notes.push(
          `- **N=100,000, steady pass excl. the daemon ${fmtMs(excl)} (>= 2 s)**: the list phase takes ${fmtMs(sList)} while the daemon answers in ${fmtMs(r.daemonListMs)}: ` +
            `${fmtMs(sList - r.daemonListMs)} go to receiving and parsing ${mb} MB of JSON in the service (streamed entry by entry; compose entries already in the managed list are skipped before parsing). ` +
            `The other phases: ${PHASES.filter((p) => p !== 'list').map((p) => `${p} ${fmtMsWhole(ph[p])}`).join(', ')} (${fmtMs(sSteady - sList)} together).`,
        );
      }
      if (s.peakRssKb * 1024 >= 400 * 1024 * 1024) {
        notes.push(
          `- **N=100,000, peak RSS ${fmtMb(s.peakRssKb * 1024)} (>= 400 MB)**: what the service keeps between passes is small (live heap ${fmtMb(s.heapAfterGc)} ` +
            `after a full GC); the peak is per-pass garbage that V8 lets pile up before it collects: every pass parses ${mb} MB of list JSON ` +
            `(streamed, but each entry is still a parsed object before it is mapped), and builds a fresh snapshot of every row and a fresh row index ` +
            `while the previous ones are still referenced (the desired state is reloaded only when it changed). Boot + cold pass peaked at ` +
            `${fmtMb(s.coldPeakRssKb * 1024)}, the steady passes alone at ${fmtMb(s.steadyOnlyPeakRssKb * 1024)}.`,
        );
      }
    }
    if (r.baselineRows && r.baselineRows.live !== r.n) notes.push(`- N=${fmtInt(r.n)}: the baseline's table has ${fmtInt(r.baselineRows.live)} live rows for ${fmtInt(r.n)} containers.`);
    if (r.serviceRows.live !== r.n) notes.push(`- N=${fmtInt(r.n)}: the service's table has ${fmtInt(r.serviceRows.live)} live rows for ${fmtInt(r.n)} containers.`);
  }
  for (const r of results) {
    if (r.service.extraPasses !== 0) notes.push(`- N=${fmtInt(r.n)}: ${r.service.extraPasses} pass(es) besides the forced ones ran during the measurements.`);
    if (r.baseline && r.baseline.errors > 0) notes.push(`- N=${fmtInt(r.n)}: the baseline logged ${r.baseline.errors} statement errors.`);
    if (r.baseline && r.baseline.churn.length === 0) notes.push(`- N=${fmtInt(r.n)}: the baseline was not measured under churn (its tick does the same statements whatever changed; see its steady tick).`);
  }
  if (real && real.unmatchedCommits > 0)
    notes.push(`- real engine: ${real.unmatchedCommits} row commits had no event pending (e.g. the inspect after \`die\` already answered 404, so the row went missing before the \`destroy\` event arrived); they are in the \`docker rm\` figures, not in the event ones.`);
  notes.push('- The machine is shared with other jobs (see the load average): figures vary by tens of percent from run to run; the tails (p99) most.');
  if (real && real.fallbacks > 0) notes.push(`- real engine: ${real.fallbacks} commits could not be matched to their own event action and were timed from the first event of the row.`);
  return notes;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
