/**
 * The Engine API simulator in its own process, driven over IPC by the harness, so that serving
 * 100,000 containers does not count against the CPU or memory of the service under test.
 *
 * Commands: start {socketPath?} -> {socketPath, dockerHost}; populate {n}; churnOnce {fraction};
 * churnStart {perSecond}; churnStop; emit {action, ref}; list {limit?}; size; requests; cpu; stop.
 */
import { DockerSimulator } from '../spec/support/docker-sim.js';
import { fleetContainer } from './fleet.js';
import { procStatsRpc } from './proc-stats.js';
import { serveRpc } from './rpc.js';

let sim: DockerSimulator | undefined;
let churn: { stop(): void } | undefined;
let churnStartedAt = 0;

function need(): DockerSimulator {
  if (!sim) throw new Error('simulator not started');
  return sim;
}

serveRpc({
  async start(args: { socketPath?: string }) {
    sim = await DockerSimulator.start({ socketPath: args.socketPath });
    return { socketPath: sim.socketPath, dockerHost: sim.dockerHost };
  },
  populate(args: { n: number }) {
    const t = performance.now();
    need().populate(args.n, fleetContainer);
    return { size: need().size, ms: performance.now() - t };
  },
  churnOnce(args: { fraction: number }) {
    return need().churnOnce(args.fraction, fleetContainer);
  },
  /** Continuous state changes (each emits 1-3 raw events), no creates or removes. */
  churnStart(args: { perSecond: number; tickMs?: number }) {
    churn?.stop();
    churnStartedAt = Date.now();
    churn = need().churn({ perSecond: args.perSecond, tickMs: args.tickMs ?? 5, mix: { create: 0, stateChange: 1, remove: 0 }, make: fleetContainer });
    return {};
  },
  churnStop() {
    churn?.stop();
    churn = undefined;
    return { ms: Date.now() - churnStartedAt, dropped: need().droppedEvents };
  },
  emit(args: { action: string; ref: string }) {
    need().emit(args.action, args.ref);
    return {};
  },
  /** Containers (public copies), newest first; `limit` caps the answer. */
  list(args: { limit?: number }) {
    const all = need().list();
    return args.limit ? all.slice(0, args.limit) : all;
  },
  size() {
    return need().size;
  },
  requests() {
    return Object.fromEntries(need().requestCounts);
  },
  ...procStatsRpc,
  async stop() {
    churn?.stop();
    await sim?.stop();
    sim = undefined;
    setImmediate(() => process.exit(0));
    return {};
  },
});
