import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { DatabaseClock } from './util/clock.js';
import { describeConfig, type Config } from './config.js';
import { BatchWriter } from './store/batch-writer.js';
import { noopChangeSink, type ChangeSink } from './domain/changes.js';
import { NotLeaderError } from './domain/errors.js';
import { LeaderElector } from './leader/leader-election.js';
import { Controller } from './controller/controller.js';
import { DesiredStateCache } from './cache/desired-cache.js';
import { ObservedCache } from './cache/observed-cache.js';
import { ExponentialFailureRateLimiter } from './queue/rate-limiter.js';
import { RefusalRegistry } from './refusals/refusal-registry.js';
import { Resync, type PassReport } from './resync/resync.js';
import { RowIndex } from './cache/row-index.js';
import { WorkQueue, type QueueMetrics } from './queue/workqueue.js';
import { DockerClient } from './docker/docker.client.js';
import { EventWatcher, sleep, type BackoffOptions } from './docker/event-watcher.js';
import { actionLabel, isRelevantAction, type ContainerEvent } from './docker/events.js';
import { isTinyforgeCandidate } from './docker/items.js';
import { ContainerHandler } from './handlers/container.handler.js';
import { UNMATCHED_REASONS } from './domain/dispatch.js';
import { HealthState, type Probe } from './health.js';
import { createApiRouter } from './http/api.js';
import { createHttpApp, HttpServer } from './http/server.js';
import { createLogger, redactSecrets, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { WorkloadStatusService } from './status/workload-status.service.js';
import { ContainersRepository } from './store/containers.repository.js';
import { Database } from './store/database.js';
import { LeaseRepository } from './store/lease.repository.js';
import { RefusalsRepository } from './store/refusals.repository.js';
import { DesiredStateRepository } from './store/desired-state.repository.js';
import { StatusRepository } from './store/status.repository.js';
import { VERSION } from './version.js';

export interface AppOptions {
  /** Defaults to a JSON logger on stdout at the configured level. */
  log?: Logger;
  /** Defaults to a new registry (one per app instance). */
  registry?: Registry;
  /** Event-stream reconnect backoff (tests shorten it). */
  watchBackoff?: BackoffOptions;
  /** Observes every finished pass (tests, benchmarks). */
  onPass?: (report: PassReport) => void;
  /** Cut an event stream silent for this long (tests; off by default). */
  eventStreamIdleTimeoutMs?: number;
}

/** Time to wait for Docker or the database to answer a readiness check. */
const PROBE_TIMEOUT_MS = 2000;

/**
 * The composition root: builds every part with its real dependencies and runs them.
 * `start()` serves HTTP at once, then connects to the database (waiting as long as it takes),
 * migrates, and starts the watch, the workers and the resync loop. `stop()` is the graceful
 * shutdown: intake off, in-flight work finished, writes flushed, server and database closed.
 */
export class App {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly health: HealthState;
  readonly docker: DockerClient;
  private db: Database | undefined;
  private http: HttpServer | undefined;
  private pipeline: Pipeline | undefined;
  private resync: Resync | undefined;
  private elector: LeaderElector | undefined;
  private statusService: WorkloadStatusService | undefined;
  private readonly stopping: Promise<void>[] = [];
  private term = 0;
  private readonly electorAbort = new AbortController();
  private electorRun: Promise<void> | undefined;
  private queue: WorkQueue<string> | undefined;
  private readonly queueMetrics: QueueMetrics;
  /** Also receives committed row transitions (besides the status service): tests and benchmarks. */
  changeSink: ChangeSink = noopChangeSink;
  private readonly abort = new AbortController();
  /** The database's clock as seen from here: every time the service writes comes from it. */
  readonly clock = new DatabaseClock();
  private readonly tasks: Promise<unknown>[] = [];
  private stopped: Promise<void> | undefined;

  constructor(
    readonly config: Config,
    private readonly opts: AppOptions = {},
  ) {
    this.log = opts.log ?? createLogger(config.logLevel);
    this.metrics = new Metrics(opts.registry ?? new Registry(), { version: VERSION });
    this.metrics.reconcileInterval.set(config.reconcileIntervalMs / 1000);
    this.metrics.leader.set(0);
    this.health = new HealthState(config.healthzMaxPassAgeMs);
    // One `containers` queue series for the life of the app (also on a standby), fed by the
    // queue of the current pipeline.
    this.queueMetrics = this.metrics.queueMetrics('containers', {
      unfinishedWorkSeconds: () => this.queue?.unfinishedWorkSeconds() ?? 0,
      longestRunningProcessorSeconds: () => this.queue?.longestRunningProcessorSeconds() ?? 0,
    });
    this.docker = new DockerClient(config.docker, { eventStreamIdleTimeoutMs: opts.eventStreamIdleTimeoutMs });
  }

  /** The HTTP address, once started. */
  address(): { host: string; port: number } | undefined {
    return this.http?.address();
  }

  get database(): Database | undefined {
    return this.db;
  }

  /** Workload status and transition history (issue 8), once the database is connected. */
  get status(): WorkloadStatusService | undefined {
    return this.statusService;
  }

  async start(): Promise<void> {
    const app = createHttpApp({
      liveness: () => this.health.liveness(),
      readiness: () => this.readiness(),
      metrics: () => this.metrics.render(),
      api: createApiRouter({ apiToken: this.config.apiToken, reader: () => this.statusService }),
      log: this.log,
    });
    this.http = await HttpServer.listen(app, this.config.httpPort, this.config.httpHost);
    this.log.info({ config: describeConfig(this.config), version: VERSION, http: this.http.address() }, 'tinyforge-reconciler starting');
    this.tasks.push(this.boot());
  }

  /** Connects (retrying forever until stopped), migrates, then runs the pipeline (as leader). */
  private async boot(): Promise<void> {
    const signal = this.abort.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        this.db = await Database.connect(this.config.database, {
          poolSize: this.config.dbPoolSize,
          connectTimeoutMs: this.config.dbConnectTimeoutMs,
          statementTimeoutMs: this.config.dbStatementTimeoutMs,
        });
        const applied = await this.db.migrate();
        if (applied.length > 0) this.log.info({ migrations: applied }, 'migrations applied');
        const sentAt = Date.now();
        const dbNow = await this.db.now();
        this.clock.calibrate(dbNow, sentAt, Date.now());
        break;
      } catch (err) {
        await this.db?.close().catch(() => undefined);
        this.db = undefined;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt++, 6));
        this.log.warn({ error: redactSecrets(err instanceof Error ? err.message : String(err)), retryInMs: delay }, 'database not available; retrying');
        await sleep(delay, signal);
      }
    }
    if (signal.aborted || !this.db) return;
    const db = this.db;
    // Workload status (issue 8): serves the read API on every replica (standbys too); records
    // the transitions the leader's pipeline reports. Its tables are not owned by one host, so
    // it runs outside the lease (its writes are idempotent).
    const status = new WorkloadStatusService(new StatusRepository(db), this.log.child({ component: 'workload-status' }), { eventRetentionMs: this.config.eventRetentionMs, now: () => this.clock.now() }, this.metrics.workloads);
    this.statusService = status;
    this.tasks.push(status.start());
    if (!this.config.leaderElection) {
      this.metrics.leader.set(1);
      this.pipeline = this.startPipeline(db, () => true);
      return;
    }
    this.health.electionTick(false);
    const elector = new LeaderElector(
      new LeaseRepository(db),
      {
        leaseName: `tinyforge-reconciler/${this.config.hostName}`,
        identity: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        leaseDurationMs: this.config.leaseDurationMs,
        renewDeadlineMs: this.config.renewDeadlineMs,
        retryPeriodMs: this.config.retryPeriodMs,
      },
      {
        onStartedLeading: () => {
          this.metrics.leader.set(1);
          // A pipeline writes only during its own leadership term: one still draining from an
          // earlier term must not write once leadership comes back.
          const term = ++this.term;
          this.health.electionTick(true);
          this.pipeline = this.startPipeline(db, () => this.term === term && elector.canWrite());
        },
        onAttempt: (leading) => this.health.electionTick(leading),
        onStoppedLeading: () => {
          this.term++;
          this.metrics.leader.set(0);
          this.health.electionTick(false);
          const p = this.pipeline;
          this.pipeline = undefined;
          if (p) this.stopping.push(p.stop());
        },
      },
      this.log,
    );
    this.elector = elector;
    // Its own signal: on shutdown the elector keeps renewing until the pipeline has drained and
    // flushed its writes, then it releases the lease.
    this.electorRun = elector.run(this.electorAbort.signal);
  }

  /**
   * Builds and starts the pipeline: watch -> queue -> workers -> batched writes, plus the resync
   * loop. `canWrite` gates every write (leadership). Returns a handle that stops it.
   */
  private startPipeline(db: Database, canWrite: () => boolean): Pipeline {
    const cfg = this.config;
    const abort = new AbortController();
    const signal = abort.signal;
    const repo = new ContainersRepository(db);
    const observed = new ObservedCache();
    const desired = new DesiredStateCache(new DesiredStateRepository(db));
    const rows = new RowIndex(repo);
    const writer = new BatchWriter(repo, cfg.hostName, {
      batchSize: cfg.writeBatchSize,
      canWrite,
      hooks: {
        statement: (kind) => this.metrics.writeStatements.inc({ kind }),
        missingMarked: (n) => this.metrics.missingMarks.inc(n),
      },
    });
    const queue = new WorkQueue<string>(new ExponentialFailureRateLimiter(5, cfg.retryMaxDelayMs), this.queueMetrics);
    this.queue = queue;
    const status = this.statusService;
    // Transitions go to the status service and to whatever else observes them (tests, benches).
    const changes: ChangeSink = {
      rowsChanged: (c) => {
        status?.rowsChanged(c);
        this.changeSink.rowsChanged(c);
      },
    };
    const guarded = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => (...a: A): Promise<R> => (canWrite() ? fn(...a) : Promise.reject(new NotLeaderError()));
    const refusalsRepo = new RefusalsRepository(db);
    const refusalLog = this.log.child({ component: 'refusals' });
    const refusals = new RefusalRegistry(
      {
        upsert: guarded((r) => refusalsRepo.upsert(cfg.hostName, r)),
        remove: guarded((ids) => refusalsRepo.remove(cfg.hostName, ids)),
        removeAllExcept: guarded((ids) => refusalsRepo.removeAllExcept(cfg.hostName, ids)),
      },
      {
        refused: (r) => {
          this.metrics.unmatched.inc({ reason: r.reason });
          // Logged once per container and reason; every refusal stays listed by the API.
          const quiet = r.reason === 'no_tinyforge_labels' || r.reason.startsWith('unknown_') && r.reason !== 'unknown_state';
          refusalLog[quiet ? 'info' : 'warn']({ containerId: r.containerId, containerName: r.containerName, reason: r.reason, rowId: r.rowId, workloadId: r.workloadId, detail: r.detail }, 'container refused: no row written');
        },
        workloadsChanged: (ids) => status?.refusalsChanged(ids),
        counts: (byReason) => {
          for (const reason of UNMATCHED_REASONS) this.metrics.refused.set({ reason }, byReason.get(reason) ?? 0);
        },
      },
    );
    const handler = new ContainerHandler({
      host: cfg.hostName,
      docker: this.docker,
      observed,
      desired,
      rows,
      writer,
      retire: guarded((host, seen) => repo.markMissingIfBound(host, seen)),
      refusals,
      metrics: this.metrics,
      log: this.log,
      changes,
      clock: () => this.clock.now(),
    });
    const controller = new Controller(queue, handler, this.metrics, this.log, { workers: cfg.workers, maxInFlightCommits: Math.max(1000, cfg.writeBatchSize * 4) });
    const store = {
      now: () => db.now(),
      listForHost: (h: string) => repo.listForHost(h),
      markMissingIfBound: guarded(repo.markMissingIfBound.bind(repo)),
      touchLastSeen: guarded(repo.touchLastSeen.bind(repo)),
      statesOf: repo.statesOf.bind(repo),
    };
    const resync = new Resync({
      host: cfg.hostName,
      docker: this.docker,
      store,
      observed,
      desired,
      rows,
      controller,
      handler,
      refusals,
      metrics: this.metrics,
      log: this.log,
      observer: {
        passStarted: (at) => this.health.passStarted(at),
        passFinished: (report, at) => {
          this.health.passFinished(report, at);
          void status?.flush();
          this.opts.onPass?.(report);
        },
      },
      clock: this.clock,
      changes,
    });
    this.resync = resync;

    const watcher = new EventWatcher(
      this.docker,
      {
        onConnected: () => {
          this.log.info('docker event stream connected; relisting');
          resync.trigger();
        },
        onEvent: (ev) => this.onDockerEvent(ev, observed, controller),
        onMalformed: (reason) => {
          this.metrics.eventParseErrors.inc();
          this.log.warn({ reason }, 'malformed line on the docker event stream; skipped');
        },
        onDisconnected: (reason, delayMs) => {
          this.metrics.watchRestarts.inc();
          this.log.warn({ reason, reconnectInMs: delayMs }, 'docker event stream ended; reconnecting');
        },
      },
      this.opts.watchBackoff,
    );

    controller.start();
    const tasks = [watcher.run(signal), resync.loop(cfg.reconcileIntervalMs, signal)];
    return {
      resync,
      stop: async () => {
        abort.abort();
        await controller.stop();
        await writer.idle();
        refusals.cancelScheduled();
        await refusals.flush().catch(() => undefined);
        await Promise.allSettled(tasks);
        await status?.flush();
        if (this.resync === resync) this.resync = undefined;
        if (this.queue === queue) {
          this.queue = undefined;
          this.queueMetrics.depth(0);
        }
      },
    };
  }

  private onDockerEvent(ev: ContainerEvent, observed: ObservedCache, controller: Controller): void {
    this.metrics.dockerEvents.inc({ action: actionLabel(ev.action) });
    if (!isRelevantAction(ev.action)) return;
    // Event attributes carry the container's labels: skip containers that are not ours.
    if (!isTinyforgeCandidate(ev.attributes) && !observed.has(ev.id)) return;
    observed.markStale(ev.id);
    controller.enqueue(ev.id);
  }

  /** Runs one full pass now (tests and the `reconcile-once` path). */
  async runPassNow(): Promise<PassReport> {
    if (!this.resync) throw new Error('the pipeline is not running yet');
    return this.resync.runPass();
  }

  /** Resolves once the pipeline is running (database connected and migrated). */
  async waitUntilRunning(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.resync) {
      if (Date.now() > deadline) throw new Error('the pipeline did not start in time');
      await sleep(20);
    }
  }

  async readiness(): Promise<Probe> {
    const problems: string[] = [];
    const withTimeout = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timed out')), PROBE_TIMEOUT_MS).unref())]);
    const [dbRes, dockerRes] = await Promise.allSettled([this.db ? withTimeout(this.db.ping()) : Promise.reject(new Error('not connected yet')), withTimeout(this.docker.ping())]);
    if (dbRes.status === 'rejected') problems.push(`database: ${errMessage(dbRes.reason)}`);
    if (dockerRes.status === 'rejected') problems.push(`docker: ${errMessage(dockerRes.reason)}`);
    const standby = this.config.leaderElection && !this.elector?.isLeader();
    if (!standby && !this.health.hasCompletedFirstPass()) problems.push('the first full pass has not completed yet');
    if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
    return { ok: true, reason: standby ? 'standby: another replica holds the lease for this host' : 'ok' };
  }

  /**
   * Graceful stop: intake off (watch and resync end), workers finish their key, pending writes
   * are flushed, then the HTTP server and the database close. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.abort.abort();
      const p = this.pipeline;
      this.pipeline = undefined;
      if (p) await p.stop();
      await Promise.allSettled(this.stopping);
      await Promise.allSettled(this.tasks);
      this.electorAbort.abort();
      await this.electorRun;
      await this.statusService?.stop();
      if (this.elector) await this.elector.release();
      this.metrics.leader.set(this.config.leaderElection ? 0 : 1);
      await this.http?.close();
      await this.db?.close();
      this.log.info('tinyforge-reconciler stopped');
    })();
    return this.stopped;
  }

  /** Whether this replica currently writes (always true without leader election). */
  isLeader(): boolean {
    return this.config.leaderElection ? (this.elector?.isLeader() ?? false) : this.pipeline !== undefined;
  }
}

function errMessage(e: unknown): string {
  return redactSecrets(e instanceof Error ? e.message : String(e));
}

/** A running pipeline (one per leadership term). */
interface Pipeline {
  resync: Resync;
  stop(): Promise<void>;
}
