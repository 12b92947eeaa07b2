/**
 * The measurements of `make bench`: one throwaway MariaDB, the Engine API simulator, the Go
 * original's port (the baseline) and the service each in their own process; per size the
 * baseline, the service listing every pass, the service deciding from its cache between relists,
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
import type { TickReport } from './baseline-go-port.js';
import { bulkUpsert, createSchema, dropDatabase, seedDesired, StatementCounter } from './db.js';
import { here, log, repoRoot, tmpDir } from './env.js';
import { observedRowFor } from './fleet.js';
import { cpuPerPass, cpuRate } from './hourly.js';
import { realEngineLatency, simBurstLatency, type BurstResult, type RealEngineResult } from './latency.js';
import { RpcChild } from './rpc.js';
import { chartNodeFlags } from './sizing.js';
import { fmtInt, fmtMb, fmtMs, mean, median } from './stats.js';

/** Passes per size (the baseline is measured on fewer passes as N grows). */
function plan(n: number, quick: boolean) {
  if (quick) return { baseSteady: n >= 100_000 ? 1 : 2, baseChurn: n >= 100_000 ? 0 : 1, svcSteady: 3, svcChurn: 2, cacheSteady: 3 };
  if (n >= 100_000) return { baseSteady: 1, baseChurn: 0, svcSteady: 5, svcChurn: 3, cacheSteady: 5 };
  if (n >= 10_000) return { baseSteady: 3, baseChurn: 2, svcSteady: 7, svcChurn: 5, cacheSteady: 7 };
  return { baseSteady: 5, baseChurn: 3, svcSteady: 7, svcChurn: 5, cacheSteady: 7 };
}


const CHURN_FRACTION = 0.01;
/**
 * RELIST_INTERVAL of the cache-only service: the passes are forced (RECONCILE_INTERVAL=5m keeps
 * timer passes out of the measurements) and RELIST_INTERVAL must exceed it to take effect; an
 * hour keeps every measured pass from the cache. The report models 5m at a 30 s interval.
 */
const CACHE_ONLY_RELIST = '1h';
/** The baseline's idle window (a process with an open pool and nothing to do) is capped at this. */
const BASELINE_IDLE_MAX_S = 10;

// ------------------------------------------------------------------------------------------
// Children
// ------------------------------------------------------------------------------------------

function startSimChild(): RpcChild {
  return RpcChild.start('simulator', path.join(here, 'sim-server.js'), { logFile: path.join(tmpDir, 'sim.log') });
}

/** The Go original's port in its own process (bench/baseline-child.ts). */
function startBaselineChild(): RpcChild {
  return RpcChild.start('baseline', path.join(here, 'baseline-child.js'), { logFile: path.join(tmpDir, 'baseline.log'), execArgv: ['--expose-gc'] });
}

/** The service in its own process (bench/service-child.ts), with the options' preload and Node flags. */
function startServiceChild(opts: Pick<BenchOptions, 'profile' | 'servicePreload' | 'serviceNodeOptions' | 'heapLimit'>, tag: string, n: number): RpcChild {
  const execArgv = ['--expose-gc'];
  if (opts.servicePreload) execArgv.push('--import', opts.servicePreload);
  // The V8 flags the chart's defaults give an agent sized for n (bench/sizing.ts); a flag given
  // with --service-node-options wins.
  if (opts.heapLimit) for (const f of chartNodeFlags(n)) if (!opts.serviceNodeOptions.some((o) => o.startsWith(f.split('=')[0]!))) execArgv.push(f);
  execArgv.push(...opts.serviceNodeOptions);
  if (opts.profile && tag === 'events') execArgv.push('--cpu-prof', `--cpu-prof-dir=${path.join(tmpDir, 'prof')}`, `--cpu-prof-name=service-${tag}-${Date.now()}.cpuprofile`);
  return RpcChild.start('service', path.join(here, 'service-child.js'), { logFile: path.join(tmpDir, `service-${tag}.log`), execArgv });
}

const MANAGED_FILTER = { label: ['tinyforge.managed=true'] };
const COMPOSE_FILTER = { label: ['com.docker.compose.project'] };

/** One list request, timed to the last byte without parsing. */
function getList(socketPath: string, filters: object): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.request({ socketPath, path: `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(filters))}`, method: 'GET' }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The two list requests the service sends, in parallel, timed to the last byte without parsing: the daemon's own time. */
async function rawDaemonList(socketPath: string): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  const [a, b] = await Promise.all([getList(socketPath, MANAGED_FILTER), getList(socketPath, COMPOSE_FILTER)]);
  return { ms: performance.now() - t, bytes: a + b };
}

/** One list request alone: its answer time and the simulator's CPU time for it. */
async function oneListCost(sim: RpcChild, socketPath: string, filters: object): Promise<{ ms: number; cpuMs: number; bytes: number }> {
  const c0 = (await sim.call('cpu')) as number;
  const t = performance.now();
  const bytes = await getList(socketPath, filters);
  const ms = performance.now() - t;
  return { ms, cpuMs: ((await sim.call('cpu')) as number) - c0, bytes };
}

/** List requests the simulator answered so far (`GET /containers/json`). */
async function listRequests(sim: RpcChild): Promise<number> {
  const counts = (await sim.call('requests')) as Record<string, number>;
  return counts['GET /containers/json'] ?? 0;
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

/** A child's CPU time over `seconds` of doing nothing it was asked to (its timers, GC, open connections). */
async function idleWindow(child: RpcChild, seconds: number): Promise<IdleCpu> {
  const c0 = (await child.call('cpu')) as number;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpuMs = ((await child.call('cpu')) as number) - c0;
  const wallMs = performance.now() - t0;
  return { wallMs, cpuMs, cpuMsPerS: cpuRate(cpuMs, wallMs) };
}

/** CPU of a child and list requests of the simulator over a segment of passes (see {@link CpuSegment}). */
class Segment {
  private passWallMs = 0;
  private passes = 0;
  private constructor(
    private readonly child: RpcChild,
    private readonly sim: RpcChild,
    private readonly cpu0: number,
    private readonly simCpu0: number,
    private readonly lists0: number,
    private readonly t0: number,
  ) {}

  static async begin(child: RpcChild, sim: RpcChild): Promise<Segment> {
    const lists0 = await listRequests(sim);
    const simCpu0 = (await sim.call('cpu')) as number;
    const cpu0 = (await child.call('cpu')) as number;
    return new Segment(child, sim, cpu0, simCpu0, lists0, performance.now());
  }

  /** Runs one pass (`fn`), counting its wall time. */
  async pass<T>(fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.passWallMs += performance.now() - t;
      this.passes++;
    }
  }

  async end(idle: IdleCpu): Promise<CpuSegment> {
    const cpuMs = ((await this.child.call('cpu')) as number) - this.cpu0;
    const wallMs = performance.now() - this.t0;
    const simCpuMs = ((await this.sim.call('cpu')) as number) - this.simCpu0;
    const listRequestCount = (await listRequests(this.sim)) - this.lists0;
    const seg = { cpuMs, wallMs, passWallMs: this.passWallMs, passes: this.passes };
    return { ...seg, cpuPerPassMs: cpuPerPass(seg, idle.cpuMsPerS), simCpuMs, listRequests: listRequestCount };
  }
}


// ------------------------------------------------------------------------------------------
// One size
// ------------------------------------------------------------------------------------------

/** CPU time of a process over an idle window. */
export interface IdleCpu {
  wallMs: number;
  cpuMs: number;
  /** CPU ms per wall second. */
  cpuMsPerS: number;
}

/**
 * A segment of consecutive steady passes (the first right after the idle window), measured from
 * the outside: the process's CPU over the segment (work a pass leaves behind counts), the
 * simulator's CPU and the list requests it answered meanwhile.
 */
export interface CpuSegment {
  passes: number;
  wallMs: number;
  passWallMs: number;
  cpuMs: number;
  /** cpuMs less the idle rate over the time between passes, per pass. */
  cpuPerPassMs: number;
  simCpuMs: number;
  listRequests: number;
}

export interface BaselineResult {
  cold: TickReport;
  steady: TickReport[];
  steadyStatements: number[];
  /** CPU of the baseline's process in each steady tick (ms). */
  steadyCpuMs?: number[];
  churn: TickReport[];
  churnStatements: number[];
  /** Per statement kind over the steady ticks: count per tick and ms per tick. */
  perTick: Record<string, { n: number; ms: number }>;
  errors: number;
  idle?: IdleCpu;
  segment?: CpuSegment;
  /** VmHWM of the baseline's process over its whole run (cold, steady and churn ticks). */
  peakRssKb?: number;
  heapAfterGc?: number;
}

export interface ServiceResult {
  startMs: number;
  cold: PassReport;
  coldStatements: number;
  steady: PassReport[];
  steadyStatements: number[];
  /** CPU of the service's process within each steady pass (ms; runPass in bench/service-child.ts). */
  steadyCpuMs?: number[];
  /** The pass right after the idle window (it refreshes the last_seen_at that fell due during it). */
  paced?: PassReport;
  churn: PassReport[];
  churnStatements: number[];
  extraPasses: number;
  /** VmHWM over boot + cold pass. */
  coldPeakRssKb: number;
  /** VmHWM over the steady and churn passes only (reset after the cold pass). */
  steadyPeakRssKb: number;
  /** VmHWM over the steady passes only. */
  steadyOnlyPeakRssKb: number;
  /** VmHWM over the whole run of the process (boot, cold, steady, churn, idle, burst). */
  peakRssKb: number;
  rssKb: number;
  heapUsed: number;
  /** Live heap after a full GC at the end (what the service keeps between passes). */
  heapAfterGc: number;
  idle?: IdleCpu;
  segment?: CpuSegment;
}

/** The service with RELIST_INTERVAL above the interval: steady passes from the cache the events keep, no list. */
export interface CacheOnlyResult {
  relistInterval: string;
  /** Boot of this second process on the table the first one left (its passes list: start, reconnect). */
  startMs: number;
  paced: PassReport;
  steady: PassReport[];
  steadyStatements: number[];
  idle: IdleCpu;
  segment: CpuSegment;
  peakRssKb: number;
  heapAfterGc: number;
}

/** One list request of each filter the service sends, alone (median of 5): answer time, simulator CPU, bytes. */
export interface ListCost {
  ms: number;
  simCpuMs: number;
  bytes: number;
}

export interface SizeResult {
  n: number;
  seeded: { workloads: number; stacks: number };
  baseline?: BaselineResult;
  service: ServiceResult;
  cacheOnly?: CacheOnlyResult;
  bulk: { ms: number; statements: number };
  /** The service's two list requests in parallel, to the last byte (the "daemon's answer" subtracted from the pass). */
  daemonListMs: number;
  /** Bytes of the two list answers together. */
  daemonListBytes: number;
  /** Each list request alone: the managed list (the baseline's only one) and the compose list. */
  listCost?: { managed: ListCost; compose: ListCost };
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
    let baseline: BaselineResult | undefined;
    let baselineRows: { live: number; missing: number } | undefined;
    if (opts.baseline) {
      log(`N=${fmtInt(n)}: seeded ${fmtInt(seeded.workloads)} workloads, ${fmtInt(seeded.stacks)} stacks; baseline (Go port, own process): cold tick`);
      const bc = startBaselineChild();
      try {
        await bc.call('start', { url: base.url, socketPath: started.socketPath, poolSize: 4 });
        const tick = async () => (await bc.call('tick')) as { report: TickReport; cpuMs: number };
        const cold = (await tick()).report;
        log(`N=${fmtInt(n)}: baseline cold tick ${fmtMs(cold.ms)} (${cold.upserted} upserted)`);
        const idleS = Math.min(opts.idleSeconds, BASELINE_IDLE_MAX_S);
        const idle = await idleWindow(bc, idleS);
        log(`N=${fmtInt(n)}: baseline idle ${idleS} s: ${idle.cpuMs.toFixed(0)} ms CPU`);
        await bc.call('clearTiming');
        const steady: TickReport[] = [];
        const steadyStatements: number[] = [];
        const steadyCpuMs: number[] = [];
        const seg = await Segment.begin(bc, sim);
        for (let i = 0; i < p.baseSteady; i++) {
          const m = await counter.mark();
          const t = await seg.pass(tick);
          steady.push(t.report);
          steadyCpuMs.push(t.cpuMs);
          steadyStatements.push(await counter.since(m));
          log(`N=${fmtInt(n)}: baseline steady tick ${i + 1}/${p.baseSteady}: ${fmtMs(t.report.ms)}, ${fmtMs(t.cpuMs)} CPU, ${fmtInt(steadyStatements.at(-1))} statements`);
        }
        const segment = await seg.end(idle);
        baselineRows = await rowCounts(maria, base.name);
        log(`N=${fmtInt(n)}: baseline rows: ${fmtInt(baselineRows.live)} live, ${fmtInt(baselineRows.missing)} missing`);
        const timing = (await bc.call('timing')) as Record<string, { n: number; ms: number }>;
        const perTick: Record<string, { n: number; ms: number }> = {};
        for (const [k, v] of Object.entries(timing)) perTick[k] = { n: v.n / Math.max(1, p.baseSteady), ms: v.ms / Math.max(1, p.baseSteady) };
        const churn: TickReport[] = [];
        const churnStatements: number[] = [];
        for (let i = 0; i < p.baseChurn; i++) {
          await sim.call('churnOnce', { fraction: CHURN_FRACTION });
          const m = await counter.mark();
          churn.push((await tick()).report);
          churnStatements.push(await counter.since(m));
          log(`N=${fmtInt(n)}: baseline churn tick ${i + 1}/${p.baseChurn}: ${fmtMs(churn.at(-1)!.ms)}, ${churn.at(-1)!.markedMissing} marked missing`);
        }
        const mem = (await bc.call('memory')) as { hwmKb: number };
        const afterGc = (await bc.call('gc')) as { heapUsed: number };
        const errors = (await bc.call('errors')) as number;
        baseline = { cold, steady, steadyStatements, steadyCpuMs, churn, churnStatements, perTick, errors, idle, segment, peakRssKb: mem.hwmKb, heapAfterGc: afterGc.heapUsed };
        log(`N=${fmtInt(n)}: baseline peak RSS ${fmtMb(mem.hwmKb * 1024)}, ${fmtMs(segment.cpuPerPassMs)} CPU per steady tick, ${segment.listRequests} list requests in ${segment.passes} ticks`);
      } finally {
        await bc.close();
      }
    }
    await dropDatabase(maria, base.name);

    // ---------------- service ----------------
    const svc = await createSchema(maria, `bench_svc_${n}`);
    dbs.push(svc.name);
    await seedDesired(maria, svc.name, n + reserve);
    log(`N=${fmtInt(n)}: service: starting (its boot pass is the cold pass)`);
    const serviceEnv = { DATABASE_URL: svc.url, DOCKER_HOST: started.dockerHost, HOST_NAME: 'local', RECONCILE_INTERVAL: '5m', ...opts.serviceEnv };
    const child = startServiceChild(opts, String(n), n);
    let service: ServiceResult;
    let burst: BurstResult | undefined;
    let daemonListMs: number;
    let daemonListBytes = 0;
    let listCost: SizeResult['listCost'];
    let serviceRows = { live: 0, missing: 0 };
    try {
      const profDir = path.join(tmpDir, 'prof');
      if (opts.profile) {
        mkdirSync(profDir, { recursive: true });
        await child.call('profileStart');
      }
      const m0 = await counter.mark();
      const st = (await child.call('start', { env: serviceEnv })) as { startMs: number };
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
      // Steady state as it runs: idle, then the pass that ends the wait, then the further passes back to back.
      const idle = await idleWindow(child, opts.idleSeconds);
      log(`N=${fmtInt(n)}: service idle ${opts.idleSeconds} s: ${idle.cpuMs.toFixed(0)} ms CPU`);
      if (opts.profile) await child.call('profileStart');
      const steady: PassReport[] = [];
      const steadyStatements: number[] = [];
      const steadyCpuMs: number[] = [];
      const seg = await Segment.begin(child, sim);
      const runPass = async () => (await child.call('runPass')) as { report: PassReport; cpuMs: number };
      const paced = (await seg.pass(runPass)).report;
      for (let i = 0; i < p.svcSteady; i++) {
        const m = await counter.mark();
        const r = await seg.pass(runPass);
        steadyStatements.push(await counter.since(m));
        steady.push(r.report);
        steadyCpuMs.push(r.cpuMs);
      }
      await dbQuiet(counter);
      const segment = await seg.end(idle);
      if (opts.profile) log(`profile: ${((await child.call('profileStop', { file: path.join(profDir, `service-${n}-steady.cpuprofile`) })) as { file: string }).file}`);
      log(`N=${fmtInt(n)}: service steady median ${fmtMs(median(steady.map((r) => r.durationMs)))}, ${fmtMs(segment.cpuPerPassMs)} CPU per pass, ${segment.listRequests} list requests in ${segment.passes} passes, statements ${steadyStatements.join(',')}`);
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
      const extraPasses = ((await child.call('passes')) as unknown[]).length - passesAt - 1 - p.svcSteady - p.svcChurn;
      const lists: number[] = [];
      for (let i = 0; i < 5; i++) {
        const l = await rawDaemonList(started.socketPath);
        lists.push(l.ms);
        daemonListBytes = l.bytes;
      }
      daemonListMs = median(lists);
      const managed: Array<{ ms: number; cpuMs: number; bytes: number }> = [];
      const compose: Array<{ ms: number; cpuMs: number; bytes: number }> = [];
      for (let i = 0; i < 5; i++) {
        managed.push(await oneListCost(sim, started.socketPath, MANAGED_FILTER));
        compose.push(await oneListCost(sim, started.socketPath, COMPOSE_FILTER));
      }
      const cost = (xs: typeof managed): ListCost => ({ ms: median(xs.map((x) => x.ms)), simCpuMs: median(xs.map((x) => x.cpuMs)), bytes: xs.at(-1)!.bytes });
      listCost = { managed: cost(managed), compose: cost(compose) };
      log(`N=${fmtInt(n)}: daemon list: both ${fmtMs(daemonListMs)} in parallel; managed alone ${fmtMs(listCost.managed.ms)}, compose alone ${fmtMs(listCost.compose.ms)}`);
      if (opts.events && n === opts.burstSize) {
        log(`N=${fmtInt(n)}: event burst: ${opts.burstPerSecond} state changes/s for ${opts.burstSeconds} s against the simulator`);
        burst = await simBurstLatency(sim, child, { perSecond: opts.burstPerSecond, seconds: opts.burstSeconds });
        log(`N=${fmtInt(n)}: burst: ${burst.samples} row commits, received->committed p99 ${fmtMs(burst.recvToCommit.p99)}`);
      }
      const mem = (await child.call('memory')) as { hwmKb: number; rssKb: number; heapUsed: number };
      const afterGc = (await child.call('gc')) as { heapUsed: number };
      service = {
        startMs: st.startMs,
        cold: first,
        coldStatements,
        steady,
        steadyStatements,
        steadyCpuMs,
        paced,
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
        idle,
        segment,
      };
      log(`N=${fmtInt(n)}: service peak RSS ${fmtMb(service.peakRssKb * 1024)} (boot + cold ${fmtMb(coldPeakRssKb * 1024)}, steady passes ${fmtMb(service.steadyOnlyPeakRssKb * 1024)}, the rest of the run ${fmtMb(service.steadyPeakRssKb * 1024)})`);
    } finally {
      await child.close();
    }

    // ---------------- service deciding from its cache between relists ----------------
    let cacheOnly: CacheOnlyResult | undefined;
    if (opts.cacheOnly) {
      try {
        cacheOnly = await runCacheOnly(n, p.cacheSteady, sim, counter, { ...serviceEnv, RELIST_INTERVAL: CACHE_ONLY_RELIST }, opts);
      } catch (err) {
        log(`N=${fmtInt(n)}: the service with RELIST_INTERVAL failed (left out of the report): ${errorMessage(err, { stack: true })}`);
      }
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

    return { n, seeded, baseline, service, cacheOnly, bulk, daemonListMs, daemonListBytes, listCost, baselineRows, serviceRows, simPopulateMs: pop.ms, burst };
  } finally {
    await sim.close();
    for (const d of dbs) await dropDatabase(maria, d).catch(() => undefined);
  }
}

/**
 * A second service process on the table the first one left, with RELIST_INTERVAL far above the
 * interval: after its boot pass and the pass the event stream's opening triggers (both list),
 * every forced pass decides from the cache. The simulator's request count checks that none listed.
 */
async function runCacheOnly(n: number, passes: number, sim: RpcChild, counter: StatementCounter, env: Record<string, string>, opts: BenchOptions): Promise<CacheOnlyResult> {
  log(`N=${fmtInt(n)}: service with RELIST_INTERVAL=${env.RELIST_INTERVAL}: starting a second process`);
  const child = startServiceChild(opts, `${n}-cache`, n);
  try {
    const st = (await child.call('start', { env })) as { startMs: number };
    await child.call('waitPasses', { count: 1 });
    await child.call('settle', { quietMs: 500 });
    await child.call('runPass');
    await dbQuiet(counter);
    const idle = await idleWindow(child, opts.idleSeconds);
    const seg = await Segment.begin(child, sim);
    const runPass = async () => ((await child.call('runPass')) as { report: PassReport }).report;
    const paced = await seg.pass(runPass);
    const steady: PassReport[] = [];
    const steadyStatements: number[] = [];
    for (let i = 0; i < passes; i++) {
      const m = await counter.mark();
      steady.push(await seg.pass(runPass));
      steadyStatements.push(await counter.since(m));
    }
    await dbQuiet(counter);
    const segment = await seg.end(idle);
    const mem = (await child.call('memory')) as { hwmKb: number };
    const afterGc = (await child.call('gc')) as { heapUsed: number };
    log(
      `N=${fmtInt(n)}: cache-only steady median ${fmtMs(median(steady.map((r) => r.durationMs)))} (mean ${fmtMs(mean(steady.map((r) => r.durationMs)))}), ` +
        `${fmtMs(segment.cpuPerPassMs)} CPU per pass, ${segment.listRequests} list requests in ${segment.passes} passes, peak RSS ${fmtMb(mem.hwmKb * 1024)}`,
    );
    return { relistInterval: env.RELIST_INTERVAL!, startMs: st.startMs, paced, steady, steadyStatements, idle, segment, peakRssKb: mem.hwmKb, heapAfterGc: afterGc.heapUsed };
  } finally {
    await child.close();
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
        real = await realEngineLatency(maria, () => startServiceChild(opts, 'events', opts.realContainers), { containers: opts.realContainers, cycles: opts.realCycles, log });
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

