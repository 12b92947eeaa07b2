/**
 * Event-to-row latency: how long a Docker change takes to reach its row.
 *
 *  - Real engine: a private dockerd (spec/support/dockerd.ts), the service in its own process,
 *    RECONCILE_INTERVAL 5m (only events can explain a row change). Operations one at a time with
 *    the docker CLI: stop, start, rm -f, run (a replacement with the same labels, so the same row).
 *    Each operation waits for its row commit before the next one.
 *  - Simulator burst: container state changes at a fixed rate against the simulator (in its own
 *    process) while the service (10,000 containers, MariaDB) reacts.
 *
 * Times: the daemon's `timeNano` of the event; the moment the service received the event (its
 * onDockerEvent); the moment the row transition was committed (the service's ChangeSink, called
 * right after the write resolved); the docker CLI's start and return (harness).
 */
import type { MariaDbServer } from '../spec/support/mariadb.js';
import { startDockerd, type PrivateDockerd } from '../spec/support/dockerd.js';
import { createSchema, dropDatabase } from './db.js';
import { hostScopedRowId } from '../src/domain/dispatch.js';
import type { RpcChild } from './rpc.js';
import type { LatencySample } from './service-child.js';
import { percentile } from './stats.js';

export interface Dist {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function dist(xs: readonly number[]): Dist {
  return { n: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99), max: xs.length ? Math.max(...xs) : NaN };
}

export interface RealEngineResult {
  ops: number;
  samples: number;
  emitToCommit: Dist;
  recvToCommit: Dist;
  /** docker rm -f returned -> row missing committed (can be negative: the row may be committed before the CLI exits). */
  rmReturnToMissing: Dist;
  /** docker rm -f invoked -> row missing committed (includes the CLI's own start-up and the daemon's work). */
  rmInvokeToMissing: Dist;
  /** destroy event emitted -> row missing committed. */
  destroyToMissing: Dist;
  byTransition: Record<string, Dist>;
  cliMs: Dist;
  fallbacks: number;
  /** Commits with no event pending for the row (e.g. the row went missing on the `die` inspect, before `destroy` arrived). */
  unmatchedCommits: number;
  dockerVersion: string;
}

type Commit = { rowId: string; to: string; at: number };

/** Waits for commit notices from the service child. */
class CommitWaiter {
  private readonly seen: Commit[] = [];
  private waiters: Array<{ match: (c: Commit) => boolean; ok: (c: Commit) => void }> = [];
  constructor(service: RpcChild) {
    service.onNotice((n) => {
      if (n.notice !== 'commit') return;
      for (const c of n.data as Commit[]) {
        const w = this.waiters.find((x) => x.match(c));
        if (w) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.ok(c);
        } else this.seen.push(c);
      }
    });
  }
  /** The first commit of `rowId` to `to` that arrives after `since` (wall ms). */
  wait(rowId: string, to: string, since: number, timeoutMs = 10_000): Promise<Commit> {
    const match = (c: Commit) => c.rowId === rowId && c.to === to && c.at >= since;
    const i = this.seen.findIndex(match);
    if (i >= 0) return Promise.resolve(this.seen.splice(i, 1)[0]!);
    return new Promise((ok, fail) => {
      const w = { match, ok: (c: Commit) => (clearTimeout(t), ok(c)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        fail(new Error(`no commit of ${rowId} -> ${to} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
  clear(): void {
    this.seen.length = 0;
  }
}

const wall = () => performance.timeOrigin + performance.now();

export async function realEngineLatency(
  maria: MariaDbServer,
  startService: () => RpcChild,
  opts: { containers: number; cycles: number; log: (s: string) => void },
): Promise<RealEngineResult> {
  const log = opts.log;
  let docker: PrivateDockerd | undefined;
  let service: RpcChild | undefined;
  const { url, name } = await createSchema(maria, 'bench_events');
  try {
    docker = await startDockerd({ name: 'bench' });
    const ver = (await docker.docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
    const K = opts.containers;
    const values = Array.from({ length: K }, (_, k) => `('wl-ev-${k}','project','p-ev-${k}','ev ${k}')`).join(',');
    await maria.query(`INSERT INTO \`${name}\`.workloads (id, kind, ref_id, name) VALUES ${values}`);
    const labels = (k: number) => ({ 'tinyforge.managed': 'true', 'tinyforge.workload.id': `wl-ev-${k}`, 'tinyforge.workload.kind': 'project', 'tinyforge.role': 'web' });
    const host = 'bench-events';
    const rowOf = (k: number) => hostScopedRowId(`wl-ev-${k}:web`, host);
    const run = (k: number) => docker!.runContainer({ labels: labels(k) });

    const ids: string[] = [];
    for (let k = 0; k < K; k++) ids.push(await run(k));
    service = startService();
    const commits = new CommitWaiter(service);
    await service.call('start', { env: { DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: host, RECONCILE_INTERVAL: '5m' } });
    await service.call('waitPasses', { count: 1 });
    await service.call('settle', { quietMs: 500 });
    const rows = (await maria.query(`SELECT COUNT(*) AS n FROM \`${name}\`.containers WHERE state = 'running'`)) as Array<{ n: number }>;
    if (Number(rows[0]!.n) !== K) throw new Error(`expected ${K} running rows after the first pass, got ${rows[0]!.n}`);
    const passesBefore = ((await service.call('passes')) as unknown[]).length;

    await service.call('latencyStart', { notify: true });
    commits.clear();
    const rmReturn: number[] = [];
    const rmInvoke: number[] = [];
    const cli: number[] = [];
    let ops = 0;
    const step = async (k: number, args: string[], to: string): Promise<{ t0: number; t1: number; c: Commit }> => {
      const t0 = wall();
      const wait = commits.wait(rowOf(k), to, t0);
      await docker!.docker(args);
      const t1 = wall();
      cli.push(t1 - t0);
      ops++;
      return { t0, t1, c: await wait };
    };
    for (let c = 0; c < opts.cycles; c++) {
      const k = c % K;
      await step(k, ['stop', '-t', '1', ids[k]!], 'stopped');
      await step(k, ['start', ids[k]!], 'running');
      const rm = await step(k, ['rm', '-f', ids[k]!], 'missing');
      rmReturn.push(rm.c.at - rm.t1);
      rmInvoke.push(rm.c.at - rm.t0);
      const t0 = wall();
      const wait = commits.wait(rowOf(k), 'running', t0);
      ids[k] = await run(k);
      cli.push(wall() - t0);
      ops++;
      await wait;
      if ((c + 1) % 10 === 0) log(`    real engine: ${c + 1}/${opts.cycles} cycles (${ops} operations)`);
    }
    await new Promise((r) => setTimeout(r, 300));
    const res = (await service.call('latencyStop')) as { samples: LatencySample[]; unmatchedCommits: number };
    const passesAfter = ((await service.call('passes')) as unknown[]).length;
    if (passesAfter !== passesBefore) log(`    note: ${passesAfter - passesBefore} resync pass(es) ran during the event test`);
    const s = res.samples;
    const by: Record<string, number[]> = {};
    for (const x of s) (by[`${x.from ?? 'new'} -> ${x.to}`] ??= []).push(x.emitToCommit ?? NaN);
    return {
      ops,
      samples: s.length,
      emitToCommit: dist(s.map((x) => x.emitToCommit).filter((x): x is number => x !== undefined)),
      recvToCommit: dist(s.map((x) => x.recvToCommit)),
      rmReturnToMissing: dist(rmReturn),
      rmInvokeToMissing: dist(rmInvoke),
      destroyToMissing: dist(s.filter((x) => x.to === 'missing' && x.action === 'destroy').map((x) => x.emitToCommit ?? NaN)),
      byTransition: Object.fromEntries(Object.entries(by).map(([k, v]) => [k, dist(v)])),
      cliMs: dist(cli),
      fallbacks: s.filter((x) => x.fallback).length,
      unmatchedCommits: res.unmatchedCommits,
      dockerVersion: ver,
    };
  } finally {
    await service?.close();
    await docker?.dispose().catch(() => undefined);
    await dropDatabase(maria, name).catch(() => undefined);
  }
}

export interface BurstResult {
  perSecond: number;
  seconds: number;
  events: number;
  samples: number;
  recvToCommit: Dist;
  emitToCommit: Dist;
  unmatchedCommits: number;
  pendingRows: number;
  dropped: number;
  /** The service's event-loop delay while the burst ran (ms). */
  loopDelayMs?: { p50: number; p99: number; max: number };
  /** The service process's CPU use during the burst (% of one core). */
  cpuPercent?: number;
}

/** Container state changes at `perSecond` against the simulator, for `seconds`. */
export async function simBurstLatency(sim: RpcChild, service: RpcChild, opts: { perSecond: number; seconds: number }): Promise<BurstResult> {
  const ev0 = (await service.call('eventsSeen')) as number;
  await service.call('latencyStart', { notify: false });
  await sim.call('churnStart', { perSecond: opts.perSecond });
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  const stopped = (await sim.call('churnStop')) as { ms: number; dropped: number };
  await new Promise((r) => setTimeout(r, 1000));
  const res = (await service.call('latencyStop')) as {
    samples: LatencySample[];
    unmatchedCommits: number;
    pendingRows: number;
    eventsSeen: number;
    loopDelayMs?: { p50: number; p99: number; max: number };
    cpuPercent?: number;
  };
  const s = res.samples;
  return {
    loopDelayMs: res.loopDelayMs,
    cpuPercent: res.cpuPercent,
    perSecond: opts.perSecond,
    seconds: stopped.ms / 1000,
    events: res.eventsSeen - ev0,
    samples: s.length,
    recvToCommit: dist(s.map((x) => x.recvToCommit)),
    emitToCommit: dist(s.map((x) => x.emitToCommit).filter((x): x is number => x !== undefined)),
    unmatchedCommits: res.unmatchedCommits,
    pendingRows: res.pendingRows,
    dropped: stopped.dropped,
  };
}
