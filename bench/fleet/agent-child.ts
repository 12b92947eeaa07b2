/**
 * One process of the fleet benchmark: several agents, each the real service (src/main.ts `App`)
 * with its own HOST_NAME and its own Engine API simulator (spec/support/docker-sim), so an agent
 * sees only its host's containers. Driven over IPC by bench/fleet/main.ts.
 *
 * Instrumentation, without changing the service:
 * - `Database.prototype.query` (src/store/database.ts, the one path every statement of the service
 *   takes) is wrapped: per statement kind a count, errors, rows returned / affected and the
 *   client-side latency (from the call to the result: pool wait, round trip, this process's
 *   event-loop delay);
 * - each agent's logger writes into a counter of warnings, errors and leadership changes;
 * - each agent's metrics registry gives the failed passes (`ticks_total{result="error"}`).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Registry, type Counter } from 'prom-client';
import { loadConfig } from '../../src/config.js';
import type { PassReport } from '../../src/domain/pass.js';
import { createLogger } from '../../src/log.js';
import { App } from '../../src/main.js';
import { Database, type QueryOutcome } from '../../src/store/database.js';
import { DockerSimulator } from '../../spec/support/docker-sim.js';
import { fleetContainer } from '../fleet.js';
import { serveRpc } from '../rpc.js';
import { histAdd, newHist, newKindStats, statementKind, type Hist, type KindStats } from './histogram.js';

export interface AgentSpec {
  host: string;
  /** First fleet index of this host's containers (bench/fleet.ts `fleetContainer`). */
  offset: number;
}

export interface StartArgs {
  agents: AgentSpec[];
  containers: number;
  env: Record<string, string>;
  /** Agents start at random moments within this many ms (a fleet does not start in step). */
  staggerMs: number;
}

/** What the agents of this process did in one measurement window. */
export interface ChildWindow {
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
  /** Agents leading at the end of the window. */
  leaders: number;
  /** Agents that finished no pass in the window. */
  idleAgents: number;
  churned: number;
  cpuMs: number;
  loopDelayP99Ms: number;
  /** The first few warning / error messages (to say what went wrong). */
  messages: string[];
}

interface Agent {
  spec: AgentSpec;
  sim: DockerSimulator;
  app?: App;
  registry: Registry;
  passes: number;
  okPasses: number;
  windowPasses: number;
  starting?: Promise<void>;
}

const agents: Agent[] = [];
let win = freshWindow();
let windowStartedAt = performance.now();
let cpuAtStart = process.cpuUsage();
let loop: IntervalHistogram | undefined;
let churnTimers: NodeJS.Timeout[] = [];
let stopping = false;
const tickErrorsAtStart = new Map<Agent, number>();
const reconcileErrorsAtStart = new Map<Agent, number>();

function freshWindow(): ChildWindow {
  return {
    seconds: 0,
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
    cpuMs: 0,
    loopDelayP99Ms: 0,
    messages: [],
  };
}

// ---- the statement wrapper ----
const kindCache = new Map<string, string>();
function kindOf(sql: string): string {
  let k = kindCache.get(sql);
  if (k === undefined) {
    k = statementKind(sql);
    if (kindCache.size < 10_000) kindCache.set(sql, k);
  }
  return k;
}

function record(kind: string, ms: number, out: QueryOutcome<unknown> | undefined): void {
  const k = (win.kinds[kind] ??= newKindStats());
  k.n++;
  if (out) {
    k.rowsReturned += out.rows.length;
    k.affected += out.affected;
  } else k.errors++;
  histAdd(k.hist, ms);
  histAdd(win.all, ms);
}

const originalQuery = Database.prototype.query;
(Database.prototype as { query: unknown }).query = async function query(this: Database, sql: string, params?: unknown[]): Promise<QueryOutcome<unknown>> {
  const t = performance.now();
  const kind = kindOf(sql);
  try {
    const out = await originalQuery.call(this, sql, params);
    record(kind, performance.now() - t, out);
    return out;
  } catch (err) {
    // Statements that fail while the process stops (pool closed) are not the database's fault.
    if (!stopping) record(kind, performance.now() - t, undefined);
    throw err;
  }
};

// ---- logs: counted, the first few kept ----
function logSink(host: string): NodeJS.WritableStream {
  const sink = {
    write(chunk: string | Uint8Array): boolean {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      for (const line of text.split('\n')) {
        if (!line) continue;
        let rec: { level?: string; msg?: string; error?: string; reason?: string };
        try {
          rec = JSON.parse(line) as typeof rec;
        } catch {
          continue;
        }
        if (rec.msg === 'became leader') win.becameLeader++;
        if (rec.msg === 'stopped leading' && rec.reason !== 'releasing') win.stepDowns++;
        if (stopping) continue;
        const level = rec.level ?? '';
        if (level === 'warn') win.warnings++;
        else if (level === 'error' || level === 'fatal') win.errors++;
        else continue;
        if (win.messages.length < 12) win.messages.push(`${host} ${level}: ${rec.msg ?? ''}${rec.error ? ` (${rec.error})` : ''}${rec.reason ? ` [${rec.reason}]` : ''}`);
        process.stderr.write(`${line}\n`);
      }
      return true;
    },
  };
  return sink as unknown as NodeJS.WritableStream;
}

function counterSum(reg: Registry, name: string, label?: [string, string]): Promise<number> {
  const m = reg.getSingleMetric(name) as Counter | undefined;
  if (!m) return Promise.resolve(0);
  return Promise.resolve(m.get()).then((v) => v.values.filter((x) => !label || x.labels[label[0]] === label[1]).reduce((a, x) => a + x.value, 0));
}

async function startAgent(a: Agent, args: StartArgs, delayMs: number): Promise<void> {
  await new Promise((r) => setTimeout(r, delayMs));
  if (stopping) return;
  const config = loadConfig({
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LEADER_ELECTION: 'true',
    LOG_LEVEL: 'info',
    ...args.env,
    HOST_NAME: a.spec.host,
    DOCKER_HOST: a.sim.dockerHost,
  });
  const app = new App(config, {
    log: createLogger(config.logLevel, logSink(a.spec.host)),
    registry: a.registry,
    onPass: (r: PassReport) => {
      a.passes++;
      a.windowPasses++;
      if (r.ok) {
        a.okPasses++;
        win.passes.ok++;
      } else win.passes.failed++;
      histAdd(win.passes.duration, r.durationMs);
    },
  });
  a.app = app;
  await app.start();
}

serveRpc({
  /** Builds every agent's simulator (populated, no events), then starts the agents, staggered. */
  async start(args: StartArgs) {
    const t = performance.now();
    for (const spec of args.agents) {
      const sim = await DockerSimulator.start({ eventHistory: 64 });
      sim.populate(args.containers, (i) => fleetContainer(spec.offset + i));
      agents.push({ spec, sim, registry: new Registry(), passes: 0, okPasses: 0, windowPasses: 0 });
    }
    const populateMs = performance.now() - t;
    for (const a of agents) a.starting = startAgent(a, args, Math.random() * args.staggerMs);
    return { pid: process.pid, populateMs };
  },
  /** Per agent: passes so far and whether it leads. */
  status() {
    return agents.map((a) => ({ host: a.spec.host, passes: a.passes, okPasses: a.okPasses, leader: a.app?.isLeader() ?? false }));
  },
  /** Starts a new measurement window (counters, histograms, CPU, event-loop delay). */
  async windowStart() {
    win = freshWindow();
    windowStartedAt = performance.now();
    cpuAtStart = process.cpuUsage();
    loop?.disable();
    loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    for (const a of agents) {
      a.windowPasses = 0;
      tickErrorsAtStart.set(a, await counterSum(a.registry, 'tinyforge_reconciler_ticks_total', ['result', 'error']));
      reconcileErrorsAtStart.set(a, await counterSum(a.registry, 'tinyforge_reconciler_reconcile_errors_total'));
    }
    return {};
  },
  /** Ends the window; returns what it saw. */
  async windowEnd(): Promise<ChildWindow> {
    const out = win;
    win = freshWindow();
    out.seconds = (performance.now() - windowStartedAt) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    out.cpuMs = (cpu.user + cpu.system) / 1000;
    if (loop) {
      loop.disable();
      out.loopDelayP99Ms = loop.percentile(99) / 1e6;
    }
    for (const a of agents) {
      out.tickErrors += (await counterSum(a.registry, 'tinyforge_reconciler_ticks_total', ['result', 'error'])) - (tickErrorsAtStart.get(a) ?? 0);
      out.reconcileErrors += (await counterSum(a.registry, 'tinyforge_reconciler_reconcile_errors_total')) - (reconcileErrorsAtStart.get(a) ?? 0);
      if (a.app?.isLeader()) out.leaders++;
      if (a.windowPasses === 0) out.idleAgents++;
    }
    return out;
  },
  /** Every `intervalMs`, each simulator changes `fraction` of its containers (at its own random phase). */
  churnStart(args: { fraction: number; intervalMs: number }) {
    for (const a of agents) {
      const make = (i: number) => fleetContainer(a.spec.offset + i);
      const t = setTimeout(() => {
        const tick = () => {
          win.churned += a.sim.churnOnce(args.fraction, make);
        };
        tick();
        churnTimers.push(setInterval(tick, args.intervalMs));
      }, Math.random() * args.intervalMs);
      churnTimers.push(t);
    }
    return {};
  },
  churnStop() {
    for (const t of churnTimers) clearTimeout(t);
    churnTimers = [];
    return {};
  },
  memory() {
    return process.memoryUsage();
  },
  async stop() {
    stopping = true;
    for (const t of churnTimers) clearTimeout(t);
    await Promise.allSettled(agents.map((a) => a.starting));
    await Promise.allSettled(agents.map((a) => a.app?.stop()));
    await Promise.allSettled(agents.map((a) => a.sim.stop()));
    setImmediate(() => process.exit(0));
    return {};
  },
});
