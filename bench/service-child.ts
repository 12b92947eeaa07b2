/**
 * The real service (src/main.ts `App`, the same composition root the CLI runs) in its own process,
 * driven over IPC by the harness. The CLI cannot be told to run a pass now, so the benchmark
 * hosts the App itself, as spec/support/app.ts does, but alone in a process: its RSS and CPU are
 * the service's only.
 *
 * Instrumentation through AppOptions: `changes` (every committed transition) records commit
 * times; `onDockerEvent` records when each Docker event reached the service.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config.js';
import type { RowChange } from '../src/domain/changes.js';
import type { PassReport } from '../src/domain/pass.js';
import type { ContainerEvent } from '../src/docker/events.js';
import { createLogger } from '../src/log.js';
import { App } from '../src/main.js';
import { hostScopedRowId } from '../src/domain/dispatch.js';
import { rowIdForLabels } from './fleet.js';
import { cpuMs, procStatsRpc } from './proc-stats.js';
import { notify, serveRpc } from './rpc.js';

let app: App | undefined;
let profiler: Session | undefined;
const passes: Array<PassReport & { finishedAt: number }> = [];
let eventsSeen = 0;

/** Wall-clock ms with sub-ms resolution (same clock as Date.now()). */
const wall = () => performance.timeOrigin + performance.now();

// ---- latency instrumentation ----
interface Pending {
  /** action -> first receipt (wall ms) since the row's last commit, and the daemon's emit time (ms). */
  byAction: Map<string, { recv: number; emitted: number | undefined }>;
  firstRecv: number;
}
export interface LatencySample {
  rowId: string;
  from: string | null;
  to: string;
  reason: string;
  action: string;
  /** Event received by the service -> row committed (ms). */
  recvToCommit: number;
  /** Event emitted by the daemon (timeNano) -> row committed (ms). */
  emitToCommit: number | undefined;
  /** Commit time, wall ms (Date.now() clock). */
  committedAt: number;
  /** The matching action's event was not seen; the earliest pending event was used. */
  fallback: boolean;
}
let recording = false;
let loopDelay: IntervalHistogram | undefined;
let cpuAtStart = process.cpuUsage();
let wallAtStart = 0;
let notifyCommits = false;
const pending = new Map<string, Pending>();
/** The service's HOST_NAME (derived row IDs are scoped by it). */
let hostName = 'local';
let samples: LatencySample[] = [];
let unmatchedCommits = 0;

/**
 * The event that reports each transition, in order of preference: a row turns `stopped` when the
 * container died (`die`), not when it was sent a signal (`kill`, which comes first).
 */
const ACTION_FOR: Record<string, string[]> = {
  running: ['start', 'unpause', 'restart'],
  stopped: ['die', 'stop', 'kill'],
  missing: ['destroy'],
  removing: ['die', 'kill', 'destroy'],
  paused: ['pause'],
  created: ['create'],
  restarting: ['die'],
};

function onEvent(ev: ContainerEvent): void {
  eventsSeen++;
  if (!recording) return;
  const base = rowIdForLabels(ev.attributes);
  if (!base) return;
  // The service scopes derived row IDs by its host (src/domain/dispatch.ts hostScopedRowId).
  const rowId = hostScopedRowId(base, hostName);
  const now = wall();
  let p = pending.get(rowId);
  if (!p) pending.set(rowId, (p = { byAction: new Map(), firstRecv: now }));
  if (!p.byAction.has(ev.action)) p.byAction.set(ev.action, { recv: now, emitted: ev.timeNano === undefined ? undefined : Number(ev.timeNano) / 1e6 });
}

const sink = {
  rowsChanged(changes: readonly RowChange[]): void {
    if (!recording) return;
    const now = wall();
    if (notifyCommits) notify('commit', changes.map((c) => ({ rowId: c.rowId, to: c.to, at: now })));
    for (const c of changes) {
      const p = pending.get(c.rowId);
      if (!p) {
        unmatchedCommits++;
        continue;
      }
      let hit: { recv: number; emitted: number | undefined } | undefined;
      let action = '';
      for (const a of ACTION_FOR[c.to] ?? []) {
        const h = p.byAction.get(a);
        if (h) {
          hit = h;
          action = a;
          break;
        }
      }
      let fallback = false;
      if (!hit) {
        fallback = true;
        for (const [a, h] of p.byAction) if (!hit || h.recv < hit.recv) ((hit = h), (action = a));
      }
      pending.delete(c.rowId);
      if (!hit) continue;
      samples.push({
        rowId: c.rowId,
        from: c.from,
        to: c.to,
        reason: c.reason,
        action,
        recvToCommit: now - hit.recv,
        emitToCommit: hit.emitted === undefined ? undefined : now - hit.emitted,
        committedAt: now,
        fallback,
      });
    }
  },
};

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

serveRpc({
  /** Starts the App with `env` (on top of bench defaults); resolves once the pipeline runs. */
  async start(args: { env: Record<string, string> }) {
    const config = loadConfig({ HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', RECONCILE_INTERVAL: '5m', LEADER_ELECTION: 'false', LOG_LEVEL: 'warn', ...args.env });
    hostName = config.hostName;
    const a = new App(config, {
      log: createLogger(config.logLevel, process.stderr),
      registry: new Registry(),
      onPass: (r) => passes.push({ ...r, finishedAt: Date.now() }),
      watchBackoff: { baseMs: 50, maxMs: 1000, healthyAfterMs: 5000 },
      changes: sink,
      onDockerEvent: onEvent,
    });
    app = a;
    const t = Date.now();
    await a.start();
    await a.waitUntilRunning(120_000);
    return { pid: process.pid, startMs: Date.now() - t };
  },
  /** Waits until at least `count` passes finished; returns them all. */
  async waitPasses(args: { count: number; timeoutMs?: number }) {
    await waitFor(() => passes.length >= args.count, args.timeoutMs ?? 600_000, `${args.count} passes`);
    return passes;
  },
  /** Waits until no pass finished for `quietMs`. */
  async settle(args: { quietMs: number; timeoutMs?: number }) {
    const deadline = Date.now() + (args.timeoutMs ?? 600_000);
    for (;;) {
      const n = passes.length;
      await new Promise((r) => setTimeout(r, args.quietMs));
      if (passes.length === n) return passes.length;
      if (Date.now() > deadline) throw new Error('passes did not settle');
    }
  },
  passes() {
    return passes;
  },
  /** Forces a full pass now; returns its report, the wall time the call took and the CPU time this process spent meanwhile (ms). */
  async runPass() {
    if (!app) throw new Error('not started');
    const t = performance.now();
    const c = cpuMs();
    const report = await app.runPassNow();
    return { report, wallMs: performance.now() - t, cpuMs: cpuMs() - c, passCount: passes.length };
  },
  ...procStatsRpc,
  latencyStart(args: { notify?: boolean }) {
    loopDelay?.disable();
    loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    cpuAtStart = process.cpuUsage();
    wallAtStart = performance.now();
    recording = true;
    notifyCommits = args.notify ?? false;
    pending.clear();
    samples = [];
    unmatchedCommits = 0;
    return { eventsSeen };
  },
  latencyStop() {
    recording = false;
    loopDelay?.disable();
    const cpu = process.cpuUsage(cpuAtStart);
    const wallMs = performance.now() - wallAtStart;
    const loop = loopDelay ? { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 } : undefined;
    const out = { samples, unmatchedCommits, pendingRows: pending.size, eventsSeen, loopDelayMs: loop, cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100 };
    samples = [];
    pending.clear();
    return out;
  },
  eventsSeen() {
    return eventsSeen;
  },
  /** CPU profile of what follows (inspector), until profileStop writes it to `file`. */
  async profileStart() {
    profiler ??= new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
    await profiler.post('Profiler.start');
    return {};
  },
  async profileStop(args: { file: string }) {
    if (!profiler) throw new Error('profiler not started');
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(args.file, JSON.stringify(profile));
    profiler.disconnect();
    profiler = undefined;
    return { file: args.file };
  },
  async stop() {
    await app?.stop();
    app = undefined;
    setImmediate(() => process.exit(0));
    return {};
  },
});
