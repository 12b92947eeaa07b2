/**
 * The BASELINE (bench/baseline-go-port.ts, the Go original's algorithm) in its own process, driven
 * over IPC by the harness like the service (bench/service-child.ts), so its CPU time and peak RSS
 * are its own. It is a Node port: its memory is a Node process's, not the Go binary's.
 */
import { GoDockerLister, GoReconciler, GoStore } from './baseline-go-port.js';
import { cpuMs, procStatsRpc } from './proc-stats.js';
import { serveRpc } from './rpc.js';

let store: GoStore | undefined;
let rec: GoReconciler | undefined;

function need(): { store: GoStore; rec: GoReconciler } {
  if (!store || !rec) throw new Error('baseline not started');
  return { store, rec };
}

serveRpc({
  /** Opens the Go store's pool on `url` and the Docker client on `socketPath`. */
  start(args: { url: string; socketPath: string; poolSize?: number }) {
    store = new GoStore(args.url, args.poolSize ?? 4);
    rec = new GoReconciler(store, new GoDockerLister(args.socketPath));
    return { pid: process.pid };
  },
  /** One ReconcileOnce; with the CPU time this process spent in it (ms). */
  async tick() {
    const c = cpuMs();
    const report = await need().rec.reconcileOnce();
    return { report, cpuMs: cpuMs() - c };
  },
  clearTiming() {
    need().store.timing.clear();
    return {};
  },
  /** Per statement kind since clearTiming(): count and ms. */
  timing() {
    return Object.fromEntries(need().store.timing);
  },
  errors() {
    return need().rec.errorCount;
  },
  ...procStatsRpc,
  async stop() {
    await store?.close().catch(() => undefined);
    store = undefined;
    setImmediate(() => process.exit(0));
    return {};
  },
});
