import type { DatabaseClock } from '../util/clock.js';
import { isTinyforgeCandidate } from '../docker/items.js';
import { errorMessage, ExternalError, tagged } from '../domain/errors.js';
import type { PassObserver, PassReport } from '../domain/pass.js';
import { RELOADABLE, type ContainerHandler } from '../handlers/container.handler.js';
import type { Logger } from '../log.js';
import type { ListReason, UpsertResult } from '../metrics.js';
import { noopChangeSink, type ChangeSink } from '../domain/changes.js';
import type { Controller } from '../controller/controller.js';
import { decide, needsWrite, type Decision } from '../domain/decide.js';
import type { DesiredStateCache } from '../cache/desired-cache.js';
import { resolveRow } from '../domain/dispatch.js';
import { type ContainerItem, type DesiredStateView, type ObservedRow } from '../domain/types.js';
import type { ObservedCache } from '../cache/observed-cache.js';
import { keepAliveClock, type Clock } from '../util/clock-source.js';
import type { RefusalRegistry } from '../refusals/refusal-registry.js';
import type { RowIndex } from '../cache/row-index.js';
import type { StoredRow, ViewChecksum } from '../store/containers.repository.js';

/**
 * Passes in a row whose checksum comparison ran alongside the service's own writes before the
 * pass reads the host's rows in full anyway.
 */
const MAX_INCONCLUSIVE_CHECKSUMS = 5;

/** What a "nothing to do" decision was made from (see `Resync.settled`). */
interface Settled {
  row: ObservedRow;
  generation: number;
  dispatch: string;
}

export interface ContainerLister {
  listManaged(): Promise<ContainerItem[]>;
  /**
   * The same list, handed out item by item as it is read (`from`: which of the two list calls;
   * the `compose` one may repeat a `managed` container). When offered, the pass streams the list
   * into the cache instead of holding it (src/docker/docker.client.ts).
   */
  visitManaged?(onItem: (item: ContainerItem, from: 'managed' | 'compose') => void): Promise<void>;
  /**
   * The Tinyforge containers the last list could not read (entry above DOCKER_MAX_ENTRY_BYTES):
   * they exist, so their rows are not swept; `unknown` when such an entry's ID was not read
   * either (then the pass sweeps nothing).
   */
  lastListUnread?(): { ids: ReadonlySet<string>; unknown: boolean };
}

export interface PassStore {
  /** The database's clock, ms. */
  now(): Promise<number>;
  /** The host view: rows of this host, and bound rows without a host, with `last_seen_at`. */
  listForHost(host: string): Promise<StoredRow[]>;
  /** The database's checksum of the host view (one row back). */
  hostChecksum(host: string): Promise<ViewChecksum>;
  /** Compare-and-set: marks missing the rows that still name the container the pass saw in them. */
  markMissingIfBound(host: string, seen: ReadonlyArray<{ id: string; containerId: string }>): Promise<number>;
  /** Current states of these rows (to learn which ones a sweep changed). */
  statesOf(rowIds: readonly string[]): Promise<Array<{ id: string; state: string }>>;
  /** Compare-and-set refresh of `last_seen_at` of rows that still name the container listed in them. */
  touchSeen(host: string, seen: ReadonlyArray<{ id: string; containerId: string }>): Promise<number>;
  /** The host's heartbeat row, once per pass (success or failure). */
  heartbeat(beat: PassHeartbeat): Promise<void>;
}

/** What a pass reports to the `hosts` heartbeat. */
export interface PassHeartbeat {
  ok: boolean;
  error?: string;
  containers: number;
  boundRows: number;
}

/** The metrics a pass feeds (`Metrics` satisfies it). */
export interface ResyncMetrics {
  tickDuration: { startTimer(): () => unknown };
  ticks: { inc(labels: { result: 'success' | 'error' }): void };
  lastSuccessfulTick: { set(seconds: number): void };
  clockSkew: { set(seconds: number): void };
  writeStatements: { inc(labels: { kind: 'sweep' | 'touch' | 'heartbeat' }): void };
  missingMarks: { inc(n: number): void };
  /** Full reads of the host's rows, by why: `start` (first pass) or `changed` (the checksum differed). */
  snapshotReads: { inc(labels: { reason: 'start' | 'changed' }): void };
  lastSeenRefreshed: { inc(n: number): void };
  /** Lists of the Docker daemon, by why (a pass that does not list decides from the cache). */
  dockerLists: { inc(labels: { reason: ListReason }): void };
  /** Start of the last list the daemon answered (Unix seconds). */
  lastDockerList: { set(seconds: number): void };
  upsert(dispatch: string, result: UpsertResult, n?: number): void;
}

export interface ResyncDeps {
  host: string;
  docker: ContainerLister;
  store: PassStore;
  observed: Pick<ObservedCache, 'currentVersion' | 'beginList' | 'staleVersion' | 'has' | 'size' | 'values' | 'ids'>;
  desired: DesiredStateView & Pick<DesiredStateCache, 'refresh' | 'generation'>;
  rows: Pick<RowIndex, 'replace' | 'writesInFlight' | 'boundTo' | 'hasBound' | 'soleBound' | 'getRow' | 'prefetch' | 'put' | 'isLoaded' | 'viewChecksum' | 'forgetOutsideView' | 'seq' | 'forEachViewRow' | 'touched'>;
  controller: Pick<Controller, 'enqueuePass' | 'isBusy'>;
  handler: Pick<ContainerHandler, 'apply' | 'context'>;
  refusals: Pick<RefusalRegistry, 'mark' | 'clear' | 'retainOnly' | 'flush'>;
  metrics: ResyncMetrics;
  log: Pick<Logger, 'debug' | 'warn'>;
  observer: PassObserver;
  /** Calibrated at every pass from the database's own clock. */
  clock: Pick<DatabaseClock, 'calibrate' | 'offset' | 'now'>;
  /** The local clock: durations, observation times, the wait between passes; default the system clock. */
  localClock?: Clock;
  changes?: ChangeSink;
  /**
   * `last_seen_at` of a live container's row is refreshed at least this often (ms), spread over
   * passes; rows the service writes get it anyway. 0 refreshes every row at every pass.
   * Default 5 minutes.
   */
  lastSeenMaxAgeMs?: number;
  /**
   * The daemon is listed when the last list started at least this long ago (ms); passes in
   * between decide from the cache the event stream keeps. A pass lists anyway at the start, after
   * the event stream opened, and while it is down or after it lost a line (docs/architecture.md,
   * "Relist"). Undefined or 0: every pass lists (the default, the Go original's behaviour).
   */
  relistIntervalMs?: number;
}

/** Default of {@link ResyncDeps.lastSeenMaxAgeMs} (and of `LAST_SEEN_MAX_AGE`). */
export const DEFAULT_LAST_SEEN_MAX_AGE_MS = 5 * 60_000;

/**
 * Whether a row whose `last_seen_at` is `seen` must be refreshed at `now` (both database clock,
 * ms): each row has its own phase in the max-age period (from its checksum, so rows spread evenly
 * whatever their write times) and is refreshed at the first pass after each of its phase points.
 * A row is thus never older than the max age plus one interval, and a host refreshes about
 * rows x interval / max age rows per pass, not all of them at once.
 */
export function lastSeenDue(seen: number | null, now: number, maxAgeMs: number, phaseSeed: number): boolean {
  if (seen === null || maxAgeMs <= 0) return true;
  const phase = phaseSeed % maxAgeMs;
  return Math.floor((now - phase) / maxAgeMs) > Math.floor((seen - phase) / maxAgeMs);
}

const isCandidate = (i: ContainerItem): boolean => isTinyforgeCandidate(i.labels);

const NOTHING_UNREAD = { ids: new Set<string>(), unknown: false };

function sameChecksum(a: ViewChecksum, b: ViewChecksum): boolean {
  return a.count === b.count && a.sum === b.sum && a.xor === b.xor;
}

/**
 * The periodic resync, the safety net under the event stream: list everything (or, between
 * relists, take the cache the events keep), reconcile every key that needs it, then sweep rows
 * whose container is gone (after a list only) and refresh `last_seen_at` of the rows whose
 * refresh is due (one statement each), then write the host's heartbeat.
 *
 * Sweep invariants (docs/architecture.md): only this host's rows; never rows with an empty
 * `container_id`; a row is marked only if it still names the container the pass saw in it
 * (compare-and-set on values read before the list began, never a comparison of clocks); nothing
 * at all after a failed list, nor in a pass that did not list.
 */
export class Resync {
  private running: Promise<PassReport> | undefined;
  private queued: Promise<PassReport> | undefined;
  private again = false;
  private wake: (() => void) | undefined;

  private readonly local: Clock;
  private readonly changes: ChangeSink;
  private readonly maxAgeMs: number;
  /**
   * The inputs of each container's last "nothing to do" decision, keyed by the cached item
   * object (the observed cache keeps an unchanged container's object and replaces a changed
   * one): the row bound to it (the row index replaces a row's object whenever it changes) and the
   * desired state's generation. While all three are the same objects, `decide` (a pure function
   * of them) would answer the same, so a steady pass skips it: O(changes), not O(containers).
   */
  private readonly settled = new WeakMap<ContainerItem, Settled>();
  /** Cached items whose "unknown workload" refusal already made a pass reload the desired state. */
  private readonly reloadedFor = new WeakSet<ContainerItem>();
  /** What the last successful pass counted, for the heartbeat of a failed one. */
  private lastCounts = { containers: 0, boundRows: 0 };
  private disagreements = 0;
  private inconclusive = 0;

  private readonly relistMs: number | undefined;
  /** Start of the last list the daemon answered (local clock); undefined before the first. */
  private lastListAt: number | undefined;
  /** The event stream is open; until it first opens, and while it is down, every pass lists. */
  private streamUp = false;
  /** The stream opened since the last list began: the next pass lists. */
  private reconnected = false;
  /** The stream lost a line since the last list began: the next pass lists. */
  private lost = false;

  constructor(private readonly d: ResyncDeps) {
    this.local = d.localClock ?? keepAliveClock;
    this.changes = d.changes ?? noopChangeSink;
    this.maxAgeMs = d.lastSeenMaxAgeMs ?? DEFAULT_LAST_SEEN_MAX_AGE_MS;
    this.relistMs = d.relistIntervalMs !== undefined && d.relistIntervalMs > 0 ? d.relistIntervalMs : undefined;
  }

  private now(): number {
    return this.local.now();
  }

  /**
   * Runs a pass now. If one is running, the returned pass is the next one, started after it
   * ends (callers always get a pass that began after they asked); concurrent callers share it.
   * Whether it lists the daemon follows the relist rules ({@link ResyncDeps.relistIntervalMs}).
   */
  runPass(): Promise<PassReport> {
    if (!this.running) {
      this.running = this.doPass().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.runPass();
    });
    return this.queued;
  }

  /** Asks the loop for a pass as soon as possible (after a watch reconnect, for example). */
  trigger(): void {
    this.again = true;
    this.wake?.();
  }

  /**
   * The event stream is open (first or again): events from now on reach the cache, what happened
   * before is covered by a list, so a pass that lists is triggered now.
   */
  watchConnected(): void {
    this.streamUp = true;
    this.reconnected = true;
    this.trigger();
  }

  /** The event stream ended: events are lost until it opens again, so every pass lists meanwhile. */
  watchDisconnected(): void {
    this.streamUp = false;
  }

  /** The event stream skipped a line it could not read (maybe a destroy): the next pass lists. */
  eventLost(): void {
    this.lost = true;
  }

  /** Why the pass about to list does so, or undefined when the cache will do; takes the one-shot reasons. */
  private takeListReason(now: number): ListReason | undefined {
    const reason: ListReason | undefined =
      this.lastListAt === undefined ? 'start'
      : this.reconnected ? 'reconnect'
      : !this.streamUp || this.lost ? 'interrupted'
      : this.relistMs === undefined || now - this.lastListAt >= this.relistMs ? 'interval'
      : undefined;
    // A list that begins now covers whatever the stream missed before it.
    if (reason !== undefined) this.reconnected = this.lost = false;
    return reason;
  }

  /** Boot pass, then one pass every `intervalMs` (or sooner when triggered or a relist falls due), until aborted. */
  async loop(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.again = false;
      await this.runPass();
      if (signal.aborted) break;
      if (this.again) continue;
      // A relist falls due between two passes: wake for it, so lists keep their period.
      const untilRelist = this.relistMs !== undefined && this.lastListAt !== undefined ? this.lastListAt + this.relistMs - this.now() : Infinity;
      const wait = untilRelist > 0 ? Math.min(intervalMs, untilRelist) : intervalMs;
      await new Promise<void>((resolve) => {
        const local = this.local;
        const t = local.setTimeout(done, wait);
        function done() {
          local.clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
      this.wake = undefined;
    }
  }

  private async doPass(): Promise<PassReport> {
    const started = this.now();
    this.d.observer.passStarted(started);
    const end = this.d.metrics.tickDuration.startTimer();
    let report: PassReport;
    try {
      report = await this.pass(started);
    } catch (err) {
      const msg = errorMessage(err);
      report = { ok: false, listed: 0, errors: 0, swept: 0, durationMs: this.now() - started, error: msg };
      this.d.log.warn({ error: msg, source: err instanceof ExternalError ? err.source : 'internal' }, 'resync pass failed; nothing swept');
    }
    await this.heartbeat(report);
    end();
    this.d.metrics.ticks.inc({ result: report.ok ? 'success' : 'error' });
    if (report.ok) this.d.metrics.lastSuccessfulTick.set(this.now() / 1000);
    this.d.observer.passFinished(report, this.now());
    return report;
  }

  private async pass(started: number): Promise<PassReport> {
    const { host, store, observed, desired, rows, controller, handler, refusals, metrics, clock } = this.d;
    const phases: Record<string, number> = {};
    let mark = this.now();
    const lap = (name: string) => {
      const t = this.now();
      phases[name] = t - mark;
      mark = t;
    };
    const sentAt = this.now();
    const dbNow = await tagged('database', () => store.now());
    clock.calibrate(dbNow, sentAt, this.now());
    metrics.clockSkew.set(clock.offset() / 1000);
    await tagged('database', () => desired.refresh({ ifChanged: true }));
    lap('desired');
    // The host's rows BEFORE the list: a row the index holds bound to a container names a
    // container that existed before the list began, so if the list lacks it, it is gone. The
    // sweep marks such a row only if it still names that container (compare-and-set), so a row
    // the deployer binds or rebinds meanwhile is never touched. The index is kept across passes;
    // it is read again in full only when the database's checksum of the host view differs from
    // the index's (another program changed the host's rows), so a steady pass reads one row.
    await tagged('database', () => this.refreshRows());
    lap('snapshot');
    // Rows recorded after this point (by workers, or prefetched below) may name containers
    // created after the list began: the sweep does not judge them in this pass.
    const cut = rows.seq();
    const refusalMark = refusals.mark();
    // Between relists the cache is the truth: the event stream keeps it (docs/architecture.md,
    // "Relist"). A pass that did not list judges no row: only a list proves a container gone.
    const listed = await this.list();
    lap('list');

    // Rows not in the host snapshot (pre-created by the deployer without a host, new
    // containers' derived rows, other hosts' rows in the way): one bulk lookup.
    const unknownContainers: string[] = [];
    const unknownRows: string[] = [];
    for (const it of observed.values()) {
      // A container with a bound row keeps it: its derived row does not matter (decide.ts).
      if (rows.hasBound(it.id)) continue;
      unknownContainers.push(it.id);
      const r = resolveRow(it, desired, host);
      if (r.ok && !rows.getRow(r.row.id)) unknownRows.push(r.row.id);
    }
    await tagged('database', () => rows.prefetch(unknownContainers, unknownRows));
    lap('prefetch');

    // Level-based over every listed container, but only keys that need work go through the
    // queue: an unchanged container costs a decision in memory, a refusal is recorded here.
    // Keys that are stale (an event came in), being processed, or need a write are enqueued
    // and handled by the workers with the usual guarantees.
    const ctx = handler.context();
    const toQueue: string[] = [];
    const unchanged = new Map<string, number>();
    let generation = desired.generation();
    // Containers newly refused because the desired state does not know their workload: it may
    // have been created after the state was read (DESIRED_STATE_RECHECK throttles the re-check),
    // so the pass reloads it once and decides them again, as a worker does after an event.
    // A container whose list entry (the cached item object) already caused one such reload does
    // not cause another: a label that names nothing costs one reload, not one per pass.
    const unknown: ContainerItem[] = [];
    const queuedUnknown = new Set<string>();
    const newlyUnknown = (item: ContainerItem, d: Decision): boolean => !d.ok && RELOADABLE.has(d.reason) && !this.reloadedFor.has(item);
    const consider = (item: ContainerItem, retry: boolean): void => {
      const id = item.id;
      if (observed.staleVersion(id) !== undefined || controller.isBusy(id)) {
        // A worker decides it; the reload it may need happens here first (a worker's is throttled).
        if (retry && newlyUnknown(item, decide(item, ctx))) {
          unknown.push(item);
          queuedUnknown.add(id);
        }
        toQueue.push(id);
        return;
      }
      const row = rows.soleBound(id);
      const memo = this.settled.get(item);
      let dispatch: string;
      if (memo !== undefined && row !== undefined && memo.row === row && memo.generation === generation) {
        dispatch = memo.dispatch;
      } else {
        const d = decide(item, ctx);
        if (!d.ok) {
          if (retry && newlyUnknown(item, d)) unknown.push(item);
          else handler.apply(item, d);
          return;
        }
        if (needsWrite(d)) {
          toQueue.push(id);
          return;
        }
        dispatch = d.dispatch;
        if (row !== undefined && d.existing === row) this.settled.set(item, { row, generation, dispatch });
      }
      refusals.clear(id);
      unchanged.set(dispatch, (unchanged.get(dispatch) ?? 0) + 1);
    };
    for (const item of observed.values()) consider(item, true);
    if (unknown.length > 0) {
      for (const it of unknown) this.reloadedFor.add(it);
      await tagged('database', () => desired.refresh());
      generation = desired.generation();
      const derived = unknown.flatMap((it) => {
        const r = resolveRow(it, desired, host);
        return r.ok ? [r.row.id] : [];
      });
      await tagged('database', () => rows.prefetch(unknown.map((it) => it.id), derived));
      for (const item of unknown) if (!queuedUnknown.has(item.id)) consider(item, false);
    }
    for (const [dispatch, n] of unchanged) metrics.upsert(dispatch, 'unchanged', n);
    const { errors } = await controller.enqueuePass(toQueue);
    lap('reconcile');

    // The cache after the list (and the inspects since, which only ever add a container that
    // exists or drop one that is gone) says which containers exist.
    const candidates: ObservedRow[] = [];
    const unread = (listed !== undefined ? this.d.docker.lastListUnread?.() : undefined) ?? NOTHING_UNREAD;
    const due: Array<{ id: string; containerId: string }> = [];
    const dbNowMs = clock.now();
    let boundRows = 0;
    rows.forEachViewRow((r, lastSeenAt, seq, crc) => {
      if (r.host !== host || r.containerId === '' || r.state === 'missing') return;
      if (observed.has(r.containerId)) {
        boundRows++;
        if (lastSeenDue(lastSeenAt, dbNowMs, this.maxAgeMs, crc)) due.push({ id: r.id, containerId: r.containerId });
      } else if (listed !== undefined && seq <= cut && !unread.ids.has(r.containerId)) candidates.push(r);
    });
    if (unread.unknown && candidates.length > 0) {
      this.d.log.warn({ candidates: candidates.length }, 'the list skipped an oversized Tinyforge entry whose ID it could not read; no row swept this pass');
      candidates.length = 0;
    }
    let swept = 0;
    if (candidates.length > 0) {
      swept = await tagged('database', () => store.markMissingIfBound(host, candidates));
      metrics.writeStatements.inc({ kind: 'sweep' });
      metrics.missingMarks.inc(swept);
      if (swept > 0) await this.recordSweep(candidates);
    }
    lap('sweep');
    if (due.length > 0) {
      const at = clock.now();
      await tagged('database', () => store.touchSeen(host, due));
      metrics.writeStatements.inc({ kind: 'touch' });
      metrics.lastSeenRefreshed.inc(due.length);
      rows.touched(
        due.map((t) => t.id),
        at,
      );
    }
    lap('touch');
    refusals.retainOnly(observed.ids(), refusalMark);
    try {
      await refusals.flush();
    } catch (err) {
      this.d.log.warn({ error: errorMessage(err) }, 'could not write container refusals; kept for the next pass');
    }

    const durationMs = this.now() - started;
    const containers = listed ?? observed.size();
    this.d.log.debug({ listed: containers, relisted: listed !== undefined, queued: toQueue.length, errors, swept, durationMs, phases }, 'resync pass done');
    return { ok: errors === 0, listed: containers, errors, swept, durationMs, phases, boundRows, refreshed: due.length, ...(errors > 0 ? { error: `${errors} keys failed and were requeued` } : {}) };
  }

  /**
   * Lists the daemon into the cache when a list is due ({@link takeListReason}); returns how many
   * containers it listed, or undefined when the pass goes on from the cache. A failed list keeps
   * the reasons it took for the next pass.
   */
  private async list(): Promise<number | undefined> {
    const { docker, observed, metrics } = this.d;
    const listedAt = this.now();
    const taken = { reconnected: this.reconnected, lost: this.lost };
    const reason = this.takeListReason(listedAt);
    if (reason === undefined) return undefined;
    metrics.dockerLists.inc({ reason });
    const version = observed.currentVersion();
    // Streamed into the cache as the entries are read: the list is never held, an unchanged
    // entry costs a comparison and dies young. Finished (entries the list did not show dropped)
    // only once the whole list was read.
    const into = observed.beginList(version, listedAt, isCandidate);
    let open = true;
    try {
      if (docker.visitManaged) {
        await tagged('docker', () =>
          docker.visitManaged!((item, from) => {
            if (open) into.add(item, { ifUnseen: from === 'compose' });
          }),
        );
      } else {
        for (const item of await tagged('docker', () => docker.listManaged())) into.add(item);
      }
    } catch (err) {
      this.reconnected ||= taken.reconnected;
      this.lost ||= taken.lost;
      throw err;
    } finally {
      open = false;
    }
    this.lastListAt = listedAt;
    metrics.lastDockerList.set(listedAt / 1000);
    return into.finish();
  }

  /**
   * Brings the row index up to date with the database before the list: kept when the
   * database's checksum of the host view equals the index's, read in full otherwise (and at the
   * first pass).
   */
  private async refreshRows(): Promise<void> {
    const { host, store, rows, metrics, log } = this.d;
    if (rows.isLoaded()) {
      const quiet = rows.writesInFlight() === 0;
      const seq = rows.seq();
      const theirs = await store.hostChecksum(host);
      if (sameChecksum(theirs, rows.viewChecksum())) {
        rows.forgetOutsideView();
        this.disagreements = 0;
        this.inconclusive = 0;
        return;
      }
      // The service's own writes ran while the database computed its figure: the two sides may
      // differ by those alone. Keep the index (its rows are what the service wrote or read) and
      // compare again at the next pass; under constant churn, read in full every few passes so
      // another program's change is never missed for long.
      if (!(quiet && rows.writesInFlight() === 0 && rows.seq() === seq) && ++this.inconclusive < MAX_INCONCLUSIVE_CHECKSUMS) {
        rows.forgetOutsideView();
        return;
      }
      this.inconclusive = 0;
      rows.replace(await store.listForHost(host));
      metrics.snapshotReads.inc({ reason: 'changed' });
      // Right after a full read the two sides agree unless a write landed in between, or the
      // database hashes the columns' bytes differently (a non-utf8mb4 table): then every pass
      // reads in full, which is correct but costs O(rows); say so once. Only a comparison with
      // no write of the service around it counts.
      if (quiet && rows.writesInFlight() === 0 && !sameChecksum(theirs, rows.viewChecksum()) && ++this.disagreements === 3) {
        log.warn({ database: theirs, index: rows.viewChecksum() }, "the database's checksum of the host's rows keeps differing from the service's; every pass reads the host's rows in full (is the containers table utf8mb4?)");
      }
      return;
    }
    rows.replace(await store.listForHost(host));
    metrics.snapshotReads.inc({ reason: 'start' });
  }

  /** One heartbeat row per pass; a failure to write it fails nothing else. */
  private async heartbeat(report: PassReport): Promise<void> {
    if (report.ok) this.lastCounts = { containers: report.listed, boundRows: report.boundRows ?? this.lastCounts.boundRows };
    try {
      await this.d.store.heartbeat({ ok: report.ok, ...(report.error !== undefined ? { error: report.error } : {}), ...this.lastCounts });
      this.d.metrics.writeStatements.inc({ kind: 'heartbeat' });
    } catch (err) {
      this.d.log.debug({ error: errorMessage(err) }, 'could not write the host heartbeat');
    }
  }

  /** Learns which candidates the sweep marked, updates the index and records the transitions. */
  private async recordSweep(candidates: readonly ObservedRow[]): Promise<void> {
    const { store, rows, clock } = this.d;
    const now = await tagged('database', () => store.statesOf(candidates.map((r) => r.id)));
    const at = clock.now();
    const state = new Map(now.map((r) => [r.id, r.state]));
    const changed = candidates.filter((r) => state.get(r.id) === 'missing');
    for (const r of changed) {
      const cur = rows.getRow(r.id);
      if (cur && cur.containerId === r.containerId) rows.put({ ...cur, state: 'missing' });
    }
    this.changes.rowsChanged(changed.map((r) => ({ rowId: r.id, workloadId: r.workloadId, from: r.state, to: 'missing' as const, at, reason: 'sweep' as const })));
  }
}
