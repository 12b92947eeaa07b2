/**
 * Recording and scripted fakes for the server-free unit specs, in one place: an in-memory
 * `containers` table with the SQL's semantics (host guard, compare-and-set), a scripted Docker,
 * a recording work queue (the real one, counting calls), recording metrics and log, and small
 * builders. Nothing here starts a server or touches the network.
 */
import type { ObservedRow, ContainerItem, DesiredStateView, WorkloadRef, StackRef, RowState } from '../../src/domain/types.js';
import type { DesiredStateLoader } from '../../src/cache/desired-cache.js';
import type { RowFinder } from '../../src/cache/row-index.js';
import type { ControllerMetrics } from '../../src/controller/controller.js';
import type { ContainerInspector } from '../../src/handlers/container.handler.js';
import type { Metrics, UpsertResult } from '../../src/metrics.js';
import { WorkQueue, type WorkQueueOptions } from '../../src/queue/workqueue.js';
import type { Refusal, RefusalSink } from '../../src/refusals/refusal-registry.js';
import type { ContainerLister, PassHeartbeat, PassStore, ResyncMetrics } from '../../src/resync/resync.js';
import type { RowWriter } from '../../src/store/batch-writer.js';
import { observedRowChecksum, type StoredRow, type ViewChecksum } from '../../src/store/containers.repository.js';

/** This agent's host in the unit specs (not `local`, so derived row IDs carry `@node-a`). */
export const HOST = 'node-a';

/** A promise with its settle functions, to hold a write or a reconcile open. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** A 64-hex Docker ID whose first characters name it (`cid('a')` -> `a000...`). */
export function cid(name: string): string {
  return name.padEnd(64, '0');
}

/** A running container of workload `wl-1`, role `web`, unless `over` says otherwise. */
export function container(id: string, over: Partial<ContainerItem> & { workload?: string; role?: string } = {}): ContainerItem {
  const { workload = 'wl-1', role = 'web', ...rest } = over;
  return {
    id,
    name: `c-${id.slice(0, 6)}`,
    image: 'img:1',
    state: 'running',
    labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': workload, 'tinyforge.role': role },
    ports: [8080],
    ...rest,
  };
}

/** A row of this host bound to `containerId`, as `container()` would have it written. */
export function row(id: string, containerId: string, over: Partial<ObservedRow> = {}): ObservedRow {
  return { id, workloadId: 'wl-1', workloadKind: 'project', role: 'web', containerId, imageRef: 'img:1', host: HOST, state: 'running', port: 8080, ...over };
}

/** A desired state whose content the spec changes at will; counts loads. */
/** An in-memory desired state (what the desired-state cache answers), for pure dispatch specs. */
export function desiredView(workloads: WorkloadRef[], stacks: StackRef[] = []): DesiredStateView {
  return {
    workloadById: (id) => workloads.find((w) => w.id === id),
    workloadByRef: (kind, ref) => workloads.find((w) => w.kind === kind && w.refId === ref),
    stackByComposeProject: (p) => stacks.find((s) => s.composeProjectName === p),
  };
}

export function desiredLoader(workloads: WorkloadRef[] = [{ id: 'wl-1', kind: 'project', refId: 'p1' }], stacks: StackRef[] = []) {
  const state = { workloads, stacks, loads: 0 };
  const loader: DesiredStateLoader = {
    load: async () => {
      state.loads++;
      return { workloads: [...state.workloads], stacks: [...state.stacks] };
    },
  };
  return { state, loader };
}

type TableOp = 'findByContainerOrRowIds' | 'upsert' | 'markMissingByContainerIds' | 'markMissingIfBound' | 'listForHost' | 'hostChecksum' | 'statesOf' | 'touchSeen' | 'heartbeat' | 'now';

/**
 * The `containers` table in memory, with the statements' semantics: upserts carry the host guard
 * (a row of another host is never overwritten), `markMissingIfBound` is the compare-and-set on
 * (row ID, container ID, host), nothing marks a row twice. Every call is recorded; `failNext`
 * makes the next call of one statement throw.
 */
export class FakeTable implements RowFinder, RowWriter, PassStore {
  readonly rows = new Map<string, ObservedRow>();
  /** `last_seen_at` per row ID (the fake database's clock, {@link dbNow}); absent = never set. */
  readonly lastSeen = new Map<string, number>();
  /** Every heartbeat written, in order. */
  readonly heartbeats: PassHeartbeat[] = [];
  readonly calls: Array<{ op: TableOp; args: unknown[] }> = [];
  private readonly failures = new Map<TableOp, unknown>();
  /** Runs inside the next `op` call, before it answers (a concurrent writer). */
  private readonly during = new Map<TableOp, () => void>();
  dbNow = 1_700_000_000_000;

  constructor(rows: readonly ObservedRow[] = []) {
    for (const r of rows) this.rows.set(r.id, { ...r });
  }

  failNext(op: TableOp, err: unknown = new Error(`${op} failed`)): void {
    this.failures.set(op, err);
  }

  onNext(op: TableOp, fn: () => void): void {
    this.during.set(op, fn);
  }

  callsOf(op: TableOp): unknown[][] {
    return this.calls.filter((c) => c.op === op).map((c) => c.args);
  }

  private enter(op: TableOp, ...args: unknown[]): void {
    this.calls.push({ op, args });
    const fn = this.during.get(op);
    this.during.delete(op);
    fn?.();
    const err = this.failures.get(op);
    if (err !== undefined) {
      this.failures.delete(op);
      throw err;
    }
  }

  async findByContainerOrRowIds(containerIds: readonly string[], rowIds: readonly string[]): Promise<ObservedRow[]> {
    this.enter('findByContainerOrRowIds', [...containerIds], [...rowIds]);
    return [...this.rows.values()].filter((r) => containerIds.includes(r.containerId) || rowIds.includes(r.id)).map((r) => ({ ...r }));
  }

  async upsert(rows: readonly ObservedRow[]): Promise<void> {
    this.enter('upsert', rows.map((r) => ({ ...r })));
    for (const r of rows) {
      const cur = this.rows.get(r.id);
      if (cur && cur.host !== '' && cur.host !== r.host) continue;
      this.rows.set(r.id, { ...r });
      this.lastSeen.set(r.id, this.dbNow);
    }
  }

  async markMissingByContainerIds(host: string, containerIds: readonly string[]): Promise<number> {
    this.enter('markMissingByContainerIds', host, [...containerIds]);
    let n = 0;
    for (const r of this.rows.values()) {
      if (r.host === host && containerIds.includes(r.containerId) && r.state !== 'missing') {
        r.state = 'missing';
        n++;
      }
    }
    return n;
  }

  async markMissingIfBound(host: string, seen: ReadonlyArray<{ id: string; containerId: string }>): Promise<number> {
    this.enter('markMissingIfBound', host, seen.map((s) => ({ id: s.id, containerId: s.containerId })));
    let n = 0;
    for (const s of seen) {
      const r = this.rows.get(s.id);
      if (r && r.containerId === s.containerId && r.host === host && r.state !== 'missing') {
        r.state = 'missing';
        n++;
      }
    }
    return n;
  }

  async listForHost(host: string): Promise<StoredRow[]> {
    this.enter('listForHost', host);
    return this.view(host).map((r) => ({ ...r, lastSeenAt: this.lastSeen.get(r.id) ?? null }));
  }

  async hostChecksum(host: string): Promise<ViewChecksum> {
    this.enter('hostChecksum', host);
    const sum: ViewChecksum = { count: 0, sum: 0, xor: 0 };
    for (const r of this.view(host)) {
      const crc = observedRowChecksum(r);
      sum.count++;
      sum.sum += crc;
      sum.xor = (sum.xor ^ crc) >>> 0;
    }
    return sum;
  }

  /** The host view, as `listForHost` selects it. */
  private view(host: string): ObservedRow[] {
    return [...this.rows.values()].filter((r) => r.host === host || (r.host === '' && r.containerId !== ''));
  }

  async statesOf(rowIds: readonly string[]): Promise<Array<{ id: string; state: RowState }>> {
    this.enter('statesOf', [...rowIds]);
    return rowIds.flatMap((id) => {
      const r = this.rows.get(id);
      return r ? [{ id, state: r.state }] : [];
    });
  }

  async touchSeen(host: string, seen: ReadonlyArray<{ id: string; containerId: string }>): Promise<number> {
    this.enter('touchSeen', host, seen.map((s) => ({ id: s.id, containerId: s.containerId })));
    let n = 0;
    for (const s of seen) {
      const r = this.rows.get(s.id);
      if (r && r.containerId === s.containerId && r.host === host && r.state !== 'missing') {
        this.lastSeen.set(r.id, this.dbNow);
        n++;
      }
    }
    return n;
  }

  async heartbeat(beat: PassHeartbeat): Promise<void> {
    this.enter('heartbeat', { ...beat });
    this.heartbeats.push({ ...beat });
  }

  async now(): Promise<number> {
    this.enter('now');
    return this.dbNow;
  }
}

/** Docker as a map of containers; `list` and `inspect` answer from it and are recorded. */
export class FakeDocker implements ContainerLister, ContainerInspector {
  readonly containers = new Map<string, ContainerItem>();
  readonly calls: string[] = [];
  private listFailure: unknown;
  /** Runs inside the next list, before it answers (an event arriving while the daemon lists). */
  private duringList: (() => void) | undefined;

  constructor(items: readonly ContainerItem[] = []) {
    for (const it of items) this.containers.set(it.id, it);
  }

  failNextList(err: unknown = new Error('docker list failed')): void {
    this.listFailure = err;
  }

  onNextList(fn: () => void): void {
    this.duringList = fn;
  }

  async listManaged(): Promise<ContainerItem[]> {
    this.calls.push('list');
    const fn = this.duringList;
    this.duringList = undefined;
    fn?.();
    const err = this.listFailure;
    this.listFailure = undefined;
    if (err !== undefined) throw err;
    return [...this.containers.values()];
  }

  /**
   * The streamed list (what the real client offers): hands out the items one by one; with
   * `failAfter` set, fails after handing out that many (a list cut midway).
   */
  async visitManaged(onItem: (item: ContainerItem, from: 'managed' | 'compose') => void): Promise<void> {
    const failAfter = this.failAfter;
    this.failAfter = undefined;
    const items = await this.listManaged();
    let n = 0;
    for (const it of items) {
      if (failAfter !== undefined && n++ === failAfter) throw new Error('docker list cut midway');
      onItem(it, 'managed');
    }
  }

  /** The next streamed list fails after handing out `n` items. */
  failNextListAfter(n: number): void {
    this.failAfter = n;
  }
  private failAfter: number | undefined;

  async inspect(id: string): Promise<ContainerItem | undefined> {
    this.calls.push(`inspect ${id.slice(0, 6)}`);
    return this.containers.get(id);
  }
}

/** A refusal sink that records every call and can be told to fail. */
export function recordingRefusalSink(): RefusalSink & { calls: Array<{ op: string; arg: unknown }>; fail(v: boolean): void } {
  const calls: Array<{ op: string; arg: unknown }> = [];
  let failing = false;
  const rec = (op: string, arg: unknown) => {
    calls.push({ op, arg });
    if (failing) return Promise.reject(new Error('db down'));
    return Promise.resolve();
  };
  return {
    calls,
    fail: (v) => (failing = v),
    upsert: (r: readonly Refusal[]) => rec('upsert', r.map((x) => `${x.containerId}:${x.reason}`)),
    remove: (ids: readonly string[]) => rec('remove', [...ids]),
    removeAllExcept: (ids: readonly string[]) => rec('removeAllExcept', [...ids]),
  };
}

/**
 * Every metric the worker loop, the resync and the handler feed, as counters in one map keyed
 * `name{label=value,...}` (`get` reads one, 0 when never counted).
 */
export function recordingMetrics() {
  const counts = new Map<string, number>();
  const add = (key: string, n = 1) => counts.set(key, (counts.get(key) ?? 0) + n);
  const gauges = new Map<string, number>();
  const m = {
    counts,
    gauges,
    get: (key: string): number => counts.get(key) ?? 0,
    reconcileErrors: { inc: (l: { reason: string }) => add(`reconcile_errors{reason=${l.reason}}`) },
    handlerPanics: { inc: () => add('handler_panics') },
    tickDuration: { startTimer: () => () => add('tick_duration_observations') },
    ticks: { inc: (l: { result: string }) => add(`ticks{result=${l.result}}`) },
    lastSuccessfulTick: { set: (v: number) => void gauges.set('last_successful_tick', v) },
    clockSkew: { set: (v: number) => void gauges.set('clock_skew', v) },
    writeStatements: { inc: (l: { kind: string }) => add(`write_statements{kind=${l.kind}}`) },
    missingMarks: { inc: (n: number) => add('missing_marks', n) },
    snapshotReads: { inc: (l: { reason: string }) => add(`snapshot_reads{reason=${l.reason}}`) },
    lastSeenRefreshed: { inc: (n: number) => add('last_seen_refreshed', n) },
    dockerLists: { inc: (l: { reason: string }) => add(`docker_lists{reason=${l.reason}}`) },
    lastDockerList: { set: (v: number) => void gauges.set('last_docker_list', v) },
    upsert: (dispatch: string, result: UpsertResult, n = 1) => add(`upserts{dispatch=${dispatch},result=${result}}`, n),
  };
  return m satisfies ControllerMetrics & ResyncMetrics & Pick<Metrics, 'upsert'>;
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

/** A logger that keeps every line (pino's `(obj, msg)` call shape). */
export function recordingLog() {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (obj: unknown, msg?: string): void => {
      if (typeof obj === 'string') lines.push({ level, obj: {}, msg: obj });
      else lines.push({ level, obj: (obj ?? {}) as Record<string, unknown>, msg: msg ?? '' });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The real work queue, recording each call that changes a key's fate (`op key`). */
export class RecordingQueue extends WorkQueue<string> {
  readonly calls: string[] = [];

  constructor(opts: WorkQueueOptions<string> = {}) {
    super(opts);
  }

  /** The recorded calls about `key`, in order. */
  of(key: string): string[] {
    return this.calls.filter((c) => c.endsWith(` ${key}`) || c.includes(` ${key} `)).map((c) => c.replace(` ${key}`, ''));
  }

  override add(key: string): void {
    this.calls.push(`add ${key}`);
    super.add(key);
  }
  override addAfter(key: string, delayMs: number): void {
    this.calls.push(`addAfter ${key} ${delayMs}`);
    super.addAfter(key, delayMs);
  }
  override addRateLimited(key: string): void {
    this.calls.push(`addRateLimited ${key}`);
    super.addRateLimited(key);
  }
  override forget(key: string): void {
    this.calls.push(`forget ${key}`);
    super.forget(key);
  }
  override done(key: string): void {
    this.calls.push(`done ${key}`);
    super.done(key);
  }
}
