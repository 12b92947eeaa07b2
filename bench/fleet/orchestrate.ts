/**
 * The measurements of `make bench-fleet`: one throwaway MariaDB shared by every agent; for each
 * step of the sweep a fresh database, the agents in child processes (bench/fleet/agent-child.ts),
 * a cold phase (start-up until every agent led and finished two passes), a steady window
 * (nothing changes) and a churn window (a fraction of each host's containers changes every
 * interval). Returns raw figures; bench/fleet/report.ts renders them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMariaDb, type MariaDbServer } from '../../spec/support/mariadb.js';
import { createSchema, dropDatabase, seedDesired } from '../db.js';
import { BLOCK } from '../fleet.js';
import { RpcChild } from '../rpc.js';
import type { FleetOptions } from './args.js';
import type { ChildWindow, StartArgs } from './agent-child.js';
import { DbProbe, type ServerSnapshot, type ServerWindow } from './db-probe.js';
import { histMerge, mergeKinds, newHist, type Hist, type KindStats } from './histogram.js';

export const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/bench/fleet -> the repository. */
export const repoRoot = path.resolve(here, '..', '..', '..');
export const tmpDir = path.join(repoRoot, '.tmp', 'bench-fleet');

export const log = (s: string): void => {
  process.stderr.write(`[bench-fleet ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};

/** What every agent of a step did in one phase, merged over the child processes. */
export interface AgentsWindow {
  seconds: number;
  kinds: Record<string, KindStats>;
  all: Hist;
  passes: { ok: number; failed: number; duration: Hist };
  tickErrors: number;
  reconcileErrors: number;
  warnings: number;
  errors: number;
  stepDowns: number;
  becameLeader: number;
  leaders: number;
  idleAgents: number;
  churned: number;
  /** The agent processes' CPU, % of one core. */
  nodeCpuPct: number;
  /** Worst event-loop delay p99 over the agent processes, ms. */
  loopDelayP99Ms: number;
  messages: string[];
}

export interface PhaseResult {
  phase: 'cold' | 'steady' | 'churn';
  server: ServerWindow;
  agents: AgentsWindow;
  /** CPU of everything else on the machine (other helpers, the harness), % of one core. */
  otherCpuPct: number;
}

export interface StepResult {
  hosts: number;
  containers: number;
  intervalMs: number;
  processes: number;
  seeded: { workloads: number; stacks: number };
  /** Seconds from starting the agents until each led and finished two passes (NaN: timed out). */
  warmupSeconds: number;
  phases: PhaseResult[];
  /** Why this step counts as saturated (empty: the fleet kept pace). */
  saturated: string[];
}

export interface FleetRun {
  label?: string;
  options: Omit<FleetOptions, 'baselineFrom' | 'extraFrom' | 'notes' | 'out' | 'svg' | 'write' | 'renderFrom'>;
  machine: Record<string, string>;
  commit: { sha: string; subject: string; dirtySrc: string[] };
  dbConfig: string;
  latencyMethod: string;
  steps: StepResult[];
  elapsedSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mergeWindows(ws: ChildWindow[], seconds: number): AgentsWindow {
  const out: AgentsWindow = {
    seconds,
    kinds: {},
    all: newHist(),
    passes: { ok: 0, failed: 0, duration: newHist() },
    tickErrors: 0,
    reconcileErrors: 0,
    warnings: 0,
    errors: 0,
    stepDowns: 0,
    becameLeader: 0,
    leaders: 0,
    idleAgents: 0,
    churned: 0,
    nodeCpuPct: 0,
    loopDelayP99Ms: 0,
    messages: [],
  };
  let cpuMs = 0;
  for (const w of ws) {
    mergeKinds(out.kinds, w.kinds);
    histMerge(out.all, w.all);
    out.passes.ok += w.passes.ok;
    out.passes.failed += w.passes.failed;
    histMerge(out.passes.duration, w.passes.duration);
    out.tickErrors += w.tickErrors;
    out.reconcileErrors += w.reconcileErrors;
    out.warnings += w.warnings;
    out.errors += w.errors;
    out.stepDowns += w.stepDowns;
    out.becameLeader += w.becameLeader;
    out.leaders += w.leaders;
    out.idleAgents += w.idleAgents;
    out.churned += w.churned;
    cpuMs += w.cpuMs;
    out.loopDelayP99Ms = Math.max(out.loopDelayP99Ms, w.loopDelayP99Ms);
    for (const m of w.messages) if (out.messages.length < 12) out.messages.push(m);
  }
  out.nodeCpuPct = (cpuMs / 1000 / seconds) * 100;
  return out;
}

/** Indices of fleet containers per host: room for the replacements churn creates, whole blocks (bench/fleet.ts). */
function stride(opts: FleetOptions): number {
  const intervals = (opts.windowMs * 2 + opts.intervalMs * 4) / opts.intervalMs;
  const replacements = Math.ceil(opts.containers * opts.churn * 0.2 * intervals * 1.5);
  const room = opts.containers + Math.max(replacements, Math.ceil(opts.containers * 0.05)) + 100;
  return Math.ceil(room / BLOCK) * BLOCK;
}

export function hostName(i: number): string {
  return `host-${String(i + 1).padStart(4, '0')}`;
}

class Step {
  private children: RpcChild[] = [];
  private harnessCpu = process.cpuUsage();

  constructor(
    private readonly probe: DbProbe,
    private readonly opts: FleetOptions,
    private readonly hosts: number,
    private readonly dbName: string,
  ) {}

  async startAgents(url: string): Promise<void> {
    const { opts, hosts } = this;
    const procs = Math.ceil(hosts / opts.perProcess);
    const perProc: StartArgs['agents'][] = Array.from({ length: procs }, () => []);
    const s = stride(opts);
    for (let i = 0; i < hosts; i++) perProc[i % procs]!.push({ host: hostName(i), offset: opts.workloads === 'shared' ? 0 : i * s });
    const env = {
      DATABASE_URL: url,
      RECONCILE_INTERVAL: `${opts.intervalMs}ms`,
      DB_POOL_SIZE: String(opts.poolSize),
      ...opts.env,
    };
    this.children = perProc.map((_, p) => RpcChild.start(`agents[${p}]`, path.join(here, 'agent-child.js'), { logFile: path.join(tmpDir, `agents-${hosts}-${p}.log`), execArgv: ['--max-old-space-size=4096'] }));
    await Promise.all(this.children.map((c) => c.call('windowStart')));
    // Simulators first (populating is CPU work), then the agents start at random moments within
    // the start spread (a fleet does not start in step; all at once, every agent's boot work -
    // migrations check, the full workload status recompute, the cold pass - lands together).
    await Promise.all(this.children.map((c, p) => c.call('start', { agents: perProc[p]!, containers: opts.containers, env, staggerMs: Math.max(opts.intervalMs, Math.min(opts.startSpreadMs, hosts * 500)) } satisfies StartArgs)));
  }

  /** Until every agent leads and finished `passes` successful passes; false on timeout. */
  async warm(passes: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const st = (await Promise.all(this.children.map((c) => c.call<Array<{ okPasses: number; leader: boolean }>>('status')))).flat();
      const ready = st.filter((a) => a.leader && a.okPasses >= passes).length;
      const line = `${ready}/${this.hosts} agents warm`;
      if (line !== last) log(`  ${line}`);
      last = line;
      if (ready === this.hosts) return true;
      if (Date.now() > deadline) return false;
      await sleep(1000);
    }
  }

  async windowStart(): Promise<ServerSnapshot> {
    await Promise.all(this.children.map((c) => c.call('windowStart')));
    await this.probe.resetLatency();
    this.harnessCpu = process.cpuUsage();
    return this.probe.snapshot(this.dbName);
  }

  async windowEnd(phase: PhaseResult['phase'], a: ServerSnapshot): Promise<PhaseResult> {
    const server = await this.probe.windowSince(a, this.dbName);
    const ws = await Promise.all(this.children.map((c) => c.call<ChildWindow>('windowEnd')));
    const agents = mergeWindows(ws, server.seconds);
    const h = process.cpuUsage(this.harnessCpu);
    const harnessPct = ((h.user + h.system) / 1000 / server.seconds) * 100;
    const machinePct = server.machineCpuPct * os.cpus().length;
    const otherCpuPct = Math.max(0, machinePct - server.mariadbCpuPct - agents.nodeCpuPct - harnessPct);
    return { phase, server, agents, otherCpuPct };
  }

  churnStart(): Promise<unknown> {
    return Promise.all(this.children.map((c) => c.call('churnStart', { fraction: this.opts.churn, intervalMs: this.opts.intervalMs })));
  }

  churnStop(): Promise<unknown> {
    return Promise.all(this.children.map((c) => c.call('churnStop')));
  }

  get processes(): number {
    return this.children.length;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.children.map((c) => c.close(60_000)));
    this.children = [];
  }
}

/** The reasons a phase shows that the fleet could not keep pace (empty: it did). */
function saturation(p: PhaseResult, hosts: number, intervalMs: number): string[] {
  const why: string[] = [];
  const a = p.agents;
  const passMs = a.passes.duration.n ? a.passes.duration.sumMs / a.passes.duration.n : 0;
  if (passMs > intervalMs / 2) why.push(`${p.phase}: mean pass ${Math.round(passMs)} ms > half the interval`);
  if (a.idleAgents > 0) why.push(`${p.phase}: ${a.idleAgents} agents finished no pass in the window`);
  const expected = (hosts * p.server.seconds * 1000) / (intervalMs + passMs);
  if (a.passes.ok + a.passes.failed < expected * 0.8) why.push(`${p.phase}: ${a.passes.ok + a.passes.failed} passes, ${Math.round(expected)} expected`);
  if (a.tickErrors + a.passes.failed > 0) why.push(`${p.phase}: ${a.tickErrors} failed passes`);
  if (a.stepDowns > 0) why.push(`${p.phase}: ${a.stepDowns} lease step-downs`);
  // Say who had the CPU: on a shared machine a step may fall behind for want of it.
  if (why.length > 0) why.push(`${p.phase}: CPU % of one core: mariadbd ${p.server.mariadbCpuPct.toFixed(0)}, agents ${a.nodeCpuPct.toFixed(0)}, other processes ${p.otherCpuPct.toFixed(0)}`);
  return why;
}

async function runStep(maria: MariaDbServer, probe: DbProbe, opts: FleetOptions, hosts: number): Promise<StepResult> {
  const db = await createSchema(maria, `fleet_${hosts}`);
  try {
    const seeded = await seedDesired(maria, db.name, (opts.workloads === 'shared' ? 1 : hosts) * stride(opts));
    log(`${hosts} hosts: database ${db.name}, seeded ${seeded.workloads} workloads and ${seeded.stacks} stacks; starting the agents`);
    const step = new Step(probe, opts, hosts, db.name);
    const phases: PhaseResult[] = [];
    try {
      const t0 = performance.now();
      const cold = await step.windowStart();
      await step.startAgents(db.url);
      const warmed = await step.warm(2, Math.max(180_000, opts.intervalMs * 6 + opts.startSpreadMs));
      const warmupSeconds = warmed ? (performance.now() - t0) / 1000 : NaN;
      phases.push(await step.windowEnd('cold', cold));
      log(`${hosts} hosts: ${warmed ? `warm after ${warmupSeconds.toFixed(0)} s` : 'warm-up timed out; measuring anyway'}`);
      await sleep(opts.intervalMs);

      log(`${hosts} hosts: steady window ${opts.windowMs / 1000} s`);
      const steady = await step.windowStart();
      await sleep(opts.windowMs);
      phases.push(await step.windowEnd('steady', steady));
      summary(hosts, phases.at(-1)!);

      if (opts.churn > 0) {
        log(`${hosts} hosts: churn ${(opts.churn * 100).toFixed(1)}% per interval, window ${opts.windowMs / 1000} s`);
        await step.churnStart();
        await sleep(opts.intervalMs);
        const churn = await step.windowStart();
        await sleep(opts.windowMs);
        phases.push(await step.windowEnd('churn', churn));
        await step.churnStop();
        summary(hosts, phases.at(-1)!);
      }
      const saturated = phases.filter((p) => p.phase !== 'cold').flatMap((p) => saturation(p, hosts, opts.intervalMs));
      if (!warmed) saturated.unshift('warm-up did not finish');
      return { hosts, containers: opts.containers, intervalMs: opts.intervalMs, processes: step.processes, seeded, warmupSeconds, phases, saturated };
    } finally {
      log(`${hosts} hosts: stopping the agents`);
      await step.close();
    }
  } finally {
    await dropDatabase(maria, db.name).catch(() => undefined);
  }
}

function summary(hosts: number, p: PhaseResult): void {
  const s = p.server;
  log(
    `${hosts} hosts ${p.phase}: ${(s.statements / s.seconds).toFixed(0)} statements/s, ` +
      `${((s.rows.inserted + s.rows.updated + s.rows.deleted) / s.seconds).toFixed(0)} rows written/s, ${(s.rows.read / s.seconds).toFixed(0)} rows read/s, ` +
      `server p99 ${s.latency.p99Ms.toFixed(2)} ms, mariadbd ${s.mariadbCpuPct.toFixed(0)}% CPU, agents ${p.agents.nodeCpuPct.toFixed(0)}% CPU, ` +
      `passes ${p.agents.passes.ok}+${p.agents.passes.failed} failed, step-downs ${p.agents.stepDowns}, warnings ${p.agents.warnings}, errors ${p.agents.errors}`,
  );
  for (const m of p.agents.messages.slice(0, 3)) log(`  ${m}`);
}

/**
 * The commit measured. A tree exported with `git archive` (to measure a commit while the working
 * tree changes) has no .git: it carries `.bench-commit` (`sha subject`) instead.
 */
function gitInfo(): FleetRun['commit'] {
  try {
    const marker = readFileSync(path.join(repoRoot, '.bench-commit'), 'utf8').trim();
    const i = marker.indexOf(' ');
    return { sha: marker.slice(0, i), subject: marker.slice(i + 1), dirtySrc: [] };
  } catch {
    /* a git checkout */
  }
  const git = (...a: string[]) => {
    try {
      return execFileSync('git', a, { cwd: repoRoot }).toString().trim();
    } catch {
      return '';
    }
  };
  const dirtySrc = git('status', '--porcelain', '--', 'src')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3));
  return { sha: git('rev-parse', 'HEAD'), subject: git('log', '-1', '--format=%s'), dirtySrc };
}

function machine(mariaVersion: string): Record<string, string> {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpu)?.[1] ?? 'unknown';
  return {
    date: new Date().toISOString(),
    cpu: model,
    cores: String(os.cpus().length),
    ram: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    mariadb: mariaVersion,
    loadavgAtStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

/** Runs the sweep against one dedicated MariaDB. */
export async function measureFleet(opts: FleetOptions): Promise<FleetRun> {
  mkdirSync(tmpDir, { recursive: true });
  const t0 = Date.now();
  const commit = gitInfo();
  const mach0 = os.loadavg();
  log(`hosts ${opts.hosts.join(', ')}, ${opts.containers} containers each, interval ${opts.intervalMs} ms, window ${opts.windowMs / 1000} s; logs in ${path.relative(repoRoot, tmpDir)}/`);
  if (!opts.fastDb) {
    // Durable defaults on the machine's disk, as a production database runs (see bench/orchestrate.ts).
    const dir = path.join(tmpDir, 'mariadb');
    mkdirSync(dir, { recursive: true });
    process.env.TF_MARIADB_TMPDIR = dir;
  }
  const maria = await startMariaDb({ name: 'fleet' });
  let probe: DbProbe | undefined;
  try {
    // Room for every agent's pool (DB_POOL_SIZE each) and the largest step's rows in memory, a
    // redo log that does not force a checkpoint every few seconds, connections' threads cached.
    const maxConn = Math.max(500, Math.max(...opts.hosts) * (opts.poolSize + 1) + 100);
    const bufferPool = 1024 ** 3;
    const tuning = [
      `SET GLOBAL max_connections = ${maxConn}`,
      `SET GLOBAL innodb_buffer_pool_size = ${bufferPool}`,
      'SET GLOBAL innodb_log_file_size = 536870912',
      `SET GLOBAL thread_cache_size = ${Math.min(16384, maxConn)}`,
      ...(opts.fastDb ? [] : ['SET GLOBAL innodb_flush_log_at_trx_commit = 1']),
    ];
    for (const sql of tuning) await maria.query(sql).catch((err: unknown) => log(`could not ${sql}: ${String(err)}`));
    probe = await DbProbe.open(maria);
    const qrt = await probe.enableLatencyHistogram();
    const vars = (await maria.query(
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version','max_connections','innodb_buffer_pool_size','innodb_log_file_size','innodb_flush_log_at_trx_commit','thread_handling')",
    )) as Array<{ Variable_name: string; Value: string }>;
    const v = Object.fromEntries(vars.map((r) => [r.Variable_name, r.Value]));
    const mb = (k: string) => `${(Number(v[k]) / 1024 ** 2).toFixed(0)} MB`;
    const dbConfig =
      `max_connections ${v.max_connections}, innodb_buffer_pool_size ${mb('innodb_buffer_pool_size')}, innodb_log_file_size ${mb('innodb_log_file_size')}, ` +
      `innodb_flush_log_at_trx_commit=${v.innodb_flush_log_at_trx_commit}, ${v.thread_handling}, datadir on ${maria.datadir.startsWith('/dev/shm') ? 'tmpfs' : 'disk'}, performance_schema off`;
    const latencyMethod = qrt
      ? "server side: MariaDB's QUERY_RESPONSE_TIME plugin (INSTALL SONAME 'query_response_time', range base 2: a percentile is the upper bound of its power-of-2 bucket), every statement the server executed in the window; client side: src/store/database.ts Database.query wrapped in the agent processes (call to result: pool wait, round trip, event-loop delay of a process running many agents)"
      : 'client side only (the QUERY_RESPONSE_TIME plugin could not be loaded): src/store/database.ts Database.query wrapped in the agent processes';
    log(`MariaDB ${v.version}: ${dbConfig}`);
    const steps: StepResult[] = [];
    for (const hosts of opts.hosts) {
      const step = await runStep(maria, probe, opts, hosts);
      steps.push(step);
      if (step.saturated.length > 0) {
        log(`${hosts} hosts: saturated: ${step.saturated.join('; ')}`);
        if (opts.stopWhenSaturated && hosts !== opts.hosts.at(-1)) {
          log('stopping the sweep here (--no-stop-when-saturated runs every step)');
          break;
        }
      }
    }
    const { baselineFrom: _b, extraFrom: _e, notes: _n, out: _o, svg: _s, write: _w, renderFrom: _r, ...options } = opts;
    const m = machine(v.version ?? '');
    m.loadavgAtStart = mach0.map((x) => x.toFixed(2)).join(' ');
    return { label: opts.label, options, machine: m, commit, dbConfig, latencyMethod, steps, elapsedSeconds: Math.round((Date.now() - t0) / 1000) };
  } finally {
    await probe?.close().catch(() => undefined);
    await maria.dispose();
  }
}
