import type { Config } from '../config.js';
import { DesiredStateCache } from '../cache/desired-cache.js';
import { ObservedCache } from '../cache/observed-cache.js';
import { RowIndex } from '../cache/row-index.js';
import { Controller } from '../controller/controller.js';
import type { ChangeSink } from '../domain/changes.js';
import type { PassObserver } from '../domain/pass.js';
import { UNMATCHED_REASONS } from '../domain/types.js';
import { NotLeaderError } from '../domain/errors.js';
import type { DockerClient } from '../docker/docker.client.js';
import { EventWatcher, type WatchBackoffOptions } from '../docker/event-watcher.js';
import { actionLabel, isRelevantAction, type ContainerEvent } from '../docker/events.js';
import { isTinyforgeCandidate } from '../docker/items.js';
import { ContainerHandler } from '../handlers/container.handler.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { ExponentialFailureRateLimiter } from '../queue/rate-limiter.js';
import { WorkQueue, type QueueMetrics } from '../queue/workqueue.js';
import { RefusalRegistry } from '../refusals/refusal-registry.js';
import type { PassReport } from '../domain/pass.js';
import { Resync } from '../resync/resync.js';
import { BatchWriter } from '../store/batch-writer.js';
import { ContainersRepository } from '../store/containers.repository.js';
import type { Database } from '../store/database.js';
import { DesiredStateRepository } from '../store/desired-state.repository.js';
import { HostsRepository } from '../store/hosts.repository.js';
import { RefusalsRepository } from '../store/refusals.repository.js';
import { VERSION } from '../version.js';
import type { DatabaseClock } from '../util/clock.js';

/**
 * Events after which the deployer may have bound its row to the container (it binds between
 * `docker create` and `docker start`): the handler reads the container's rows again. Other
 * events trust the row index (the next pass re-reads everything).
 */
const ROW_BINDING_ACTIONS: ReadonlySet<string> = new Set(['create', 'start', 'restart']);

/** Everything one pipeline needs, and nothing more. */
export interface PipelineDeps {
  config: Pick<Config, 'hostName' | 'writeBatchSize' | 'retryMaxDelayMs' | 'workers' | 'reconcileIntervalMs' | 'lastSeenMaxAgeMs' | 'desiredStateRecheckMs' | 'relistIntervalMs'>;
  /** Who writes the host's heartbeat: the instance identity and its start (database clock, ms). */
  agent: { identity: string; startedAt: number };
  db: Database;
  docker: DockerClient;
  metrics: Metrics;
  /** The app-wide `containers` queue series, fed by this pipeline's queue. */
  queueMetrics: QueueMetrics;
  log: Logger;
  clock: DatabaseClock;
  /** Gates every write: false once this pipeline's leadership term is over. */
  canWrite: () => boolean;
  /** Committed row transitions (workload status, and whatever else observes them). */
  changes: ChangeSink;
  /** Workloads whose refusals changed (their status shows a Conflict condition). */
  refusalsChanged: (workloadIds: readonly string[]) => void;
  /** Pass boundaries (health, status flush, tests). */
  observer: PassObserver;
  watchBackoff?: WatchBackoffOptions;
  /** Sees every Docker event as it arrives, before filtering (benchmarks). */
  onDockerEvent?: (ev: ContainerEvent) => void;
}

/**
 * One running pipeline (one per leadership term): Docker events -> queue -> workers -> batched
 * writes, plus the resync loop. Built from one narrow dependencies object; {@link stop} ends it:
 * intake off, workers finish their key, pending writes and refusals flushed.
 */
export class Pipeline {
  private readonly abort = new AbortController();
  private readonly tasks: Array<Promise<unknown>>;

  private constructor(
    readonly resync: Resync,
    readonly queue: WorkQueue<string>,
    private readonly controller: Controller,
    private readonly writer: BatchWriter,
    private readonly refusals: RefusalRegistry,
    start: (signal: AbortSignal) => Array<Promise<unknown>>,
  ) {
    this.tasks = start(this.abort.signal);
  }

  static start(d: PipelineDeps): Pipeline {
    const { config: cfg, db, metrics, log } = d;
    const guarded =
      <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
      (...a: A): Promise<R> =>
        d.canWrite() ? fn(...a) : Promise.reject(new NotLeaderError());
    const repo = new ContainersRepository(db);
    const observed = new ObservedCache();
    const desired = new DesiredStateCache(new DesiredStateRepository(db), { recheckEveryMs: cfg.desiredStateRecheckMs });
    const rows = new RowIndex(repo, { host: cfg.hostName, dbNow: () => d.clock.now() });
    const hosts = new HostsRepository(db);
    const writer = new BatchWriter(repo, cfg.hostName, {
      batchSize: cfg.writeBatchSize,
      canWrite: d.canWrite,
      hooks: {
        statement: (kind) => metrics.writeStatements.inc({ kind }),
        missingMarked: (n) => metrics.missingMarks.inc(n),
      },
    });
    const queue = new WorkQueue<string>({ rateLimiter: new ExponentialFailureRateLimiter(5, cfg.retryMaxDelayMs), metrics: d.queueMetrics });
    const refusals = createRefusalRegistry(d, new RefusalsRepository(db), guarded);
    const handler = new ContainerHandler({
      host: cfg.hostName,
      docker: d.docker,
      observed,
      desired,
      rows,
      writer,
      retire: guarded((host, seen) => repo.markMissingIfBound(host, seen)),
      refusals,
      metrics,
      log,
      changes: d.changes,
      clock: () => d.clock.now(),
    });
    const controller = new Controller({ queue, reconciler: handler, metrics, log, workers: cfg.workers, maxInFlightCommits: Math.max(1000, cfg.writeBatchSize * 4) });
    const resync = new Resync({
      host: cfg.hostName,
      docker: d.docker,
      store: {
        now: () => db.now(),
        listForHost: (h) => repo.listForHost(h),
        hostChecksum: (h) => repo.hostChecksum(h),
        markMissingIfBound: guarded((h, seen) => repo.markMissingIfBound(h, seen)),
        touchSeen: guarded((h, seen) => repo.touchSeen(h, seen)),
        statesOf: (ids) => repo.statesOf(ids),
        heartbeat: guarded((b) =>
          hosts.heartbeat({
            ...b,
            host: cfg.hostName,
            agent: d.agent.identity,
            version: VERSION,
            startedAt: d.agent.startedAt,
            intervalMs: cfg.reconcileIntervalMs,
            lastSeenMaxAgeMs: cfg.lastSeenMaxAgeMs,
          }),
        ),
      },
      lastSeenMaxAgeMs: cfg.lastSeenMaxAgeMs,
      // Equal to the interval (the default): every pass lists, as the Go original did.
      ...(cfg.relistIntervalMs > cfg.reconcileIntervalMs ? { relistIntervalMs: cfg.relistIntervalMs } : {}),
      observed,
      desired,
      rows,
      controller,
      handler,
      refusals,
      metrics,
      log,
      observer: d.observer,
      clock: d.clock,
      changes: d.changes,
    });
    const watcher = new EventWatcher(
      d.docker,
      {
        onConnected: () => {
          log.info('docker event stream connected; relisting');
          resync.watchConnected();
        },
        onEvent: (ev) => {
          d.onDockerEvent?.(ev);
          metrics.dockerEvents.inc({ action: actionLabel(ev.action) });
          if (!isRelevantAction(ev.action)) return;
          // Event attributes carry the container's labels: skip containers that are not ours.
          if (!isTinyforgeCandidate(ev.attributes) && !observed.has(ev.id)) return;
          observed.markStale(ev.id, { rowsMayHaveChanged: ROW_BINDING_ACTIONS.has(ev.action) });
          controller.enqueue(ev.id);
        },
        onMalformed: (reason) => {
          // The line may have been any event, a destroy too: the next pass lists.
          resync.eventLost();
          metrics.eventParseErrors.inc();
          log.warn({ reason }, 'malformed line on the docker event stream; skipped');
        },
        onReopened: () => metrics.watchRestarts.inc(),
        onReconnectAttempt: () => metrics.watchReconnectAttempts.inc(),
        onDisconnected: (reason, delayMs) => {
          resync.watchDisconnected();
          log.warn({ reason, reconnectInMs: delayMs }, 'docker event stream ended; reconnecting');
        },
      },
      d.watchBackoff,
    );
    return new Pipeline(resync, queue, controller, writer, refusals, (signal) => {
      controller.start();
      return [watcher.run(signal), resync.loop(cfg.reconcileIntervalMs, signal)];
    });
  }

  /** Runs one pass now (tests and benchmarks); it lists the daemon when a list is due (docs/architecture.md, "Relist"). */
  runPass(): Promise<PassReport> {
    return this.resync.runPass();
  }

  /** Intake off, workers finish their key, pending writes and refusals flushed. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.controller.stop();
    await this.writer.idle();
    this.refusals.cancelScheduled();
    await this.refusals.flush().catch(() => undefined);
    await Promise.allSettled(this.tasks);
  }
}

/** The refusal registry of a pipeline: persisted through the (leadership-guarded) repository, counted, logged once. */
function createRefusalRegistry(
  d: PipelineDeps,
  repo: RefusalsRepository,
  guarded: <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => (...a: A) => Promise<R>,
): RefusalRegistry {
  const host = d.config.hostName;
  const log = d.log.child({ component: 'refusals' });
  return new RefusalRegistry(
    {
      upsert: guarded((r) => repo.upsert(host, r)),
      remove: guarded((ids) => repo.remove(host, ids)),
      removeAllExcept: guarded((ids) => repo.removeAllExcept(host, ids)),
    },
    {
      refused: (r) => {
        d.metrics.unmatched.inc({ reason: r.reason });
        // Logged once per container and reason; every refusal stays listed by the API.
        const quiet = r.reason === 'no_tinyforge_labels' || (r.reason.startsWith('unknown_') && r.reason !== 'unknown_state');
        log[quiet ? 'info' : 'warn']({ containerId: r.containerId, containerName: r.containerName, reason: r.reason, rowId: r.rowId, workloadId: r.workloadId, detail: r.detail }, 'container refused: no row written');
      },
      workloadsChanged: d.refusalsChanged,
      counts: (byReason) => {
        for (const reason of UNMATCHED_REASONS) d.metrics.refused.set({ reason }, byReason.get(reason) ?? 0);
      },
    },
  );
}
