import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { connectWithRetry } from './app/connect.js';
import { Pipeline } from './app/pipeline.js';
import { checkReadiness } from './app/readiness.js';
import { describeConfig, type Config } from './config.js';
import { noopChangeSink, type ChangeSink } from './domain/changes.js';
import { DockerClient } from './docker/docker.client.js';
import type { WatchBackoffOptions } from './docker/event-watcher.js';
import type { ContainerEvent } from './docker/events.js';
import { HealthState, type Probe } from './health.js';
import { createApiRouter } from './http/api.js';
import { createHttpApp, HttpServer } from './http/server.js';
import { LeaderElector } from './leader/leader-election.js';
import { LeadershipTerms } from './leader/leadership-terms.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import type { QueueMetrics } from './queue/workqueue.js';
import type { PassReport } from './domain/pass.js';
import { WorkloadStatusService } from './status/workload-status.service.js';
import type { Database } from './store/database.js';
import { LeaseRepository } from './store/lease.repository.js';
import { StatusRepository } from './store/status.repository.js';
import { DatabaseClock } from './util/clock.js';
import { sleep } from './util/timers.js';
import { VERSION } from './version.js';

export interface AppOptions {
  /** Defaults to a JSON logger on stdout at the configured level. */
  log?: Logger;
  /** Defaults to a new registry (one per app instance). */
  registry?: Registry;
  /** Defaults to a client of `config.docker` (tests wrap it to act between a pass's list and its sweep). */
  docker?: DockerClient;
  /** Event-stream reconnect backoff (tests shorten it). */
  watchBackoff?: WatchBackoffOptions;
  /** Cut an event stream silent for this long (tests; off by default). */
  eventStreamIdleTimeoutMs?: number;
  /** Observes every finished pass (tests, benchmarks). */
  onPass?: (report: PassReport) => void;
  /** Also receives every committed row transition (benchmarks). */
  changes?: ChangeSink;
  /** Sees every Docker event as it arrives (benchmarks). */
  onDockerEvent?: (ev: ContainerEvent) => void;
}

/**
 * The composition root: builds every part with its real dependencies, starts them, stops them in
 * order. `start()` serves HTTP at once, then connects to the database (waiting as long as it
 * takes), migrates, starts the workload status service and runs a pipeline (src/app/pipeline.ts)
 * for each leadership term. `stop()`: pipeline drained and flushed, lease released, HTTP and
 * database closed. The rules are in docs/architecture.md.
 */
export class App {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly health: HealthState;
  readonly docker: DockerClient;
  /** The database's clock as seen from here: every time the service writes comes from it. */
  readonly clock = new DatabaseClock();
  /** This instance's identity: its leader-election holder and the `agent` of its heartbeat. */
  readonly identity = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  /** When this instance started (local clock; the heartbeat converts it to the database's). */
  private readonly startedAt = Date.now();
  private readonly queueMetrics: QueueMetrics;
  private readonly terms = new LeadershipTerms();
  private readonly abort = new AbortController();
  private readonly electorAbort = new AbortController();
  private readonly tasks: Array<Promise<unknown>> = [];
  private readonly draining: Array<Promise<void>> = [];
  private db: Database | undefined;
  private http: HttpServer | undefined;
  private statusService: WorkloadStatusService | undefined;
  private elector: LeaderElector | undefined;
  private electorRun: Promise<void> | undefined;
  private pipeline: Pipeline | undefined;
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
      unfinishedWorkSeconds: () => this.pipeline?.queue.unfinishedWorkSeconds() ?? 0,
      longestRunningProcessorSeconds: () => this.pipeline?.queue.longestRunningProcessorSeconds() ?? 0,
    });
    // Shutdown (`this.abort`) aborts every Docker call in flight: a daemon that drips bytes never holds up stop().
    this.docker =
      opts.docker ??
      new DockerClient(config.docker, {
        eventStreamIdleTimeoutMs: opts.eventStreamIdleTimeoutMs,
        maxEntryBytes: config.dockerMaxEntryBytes,
        listTimeoutMs: config.dockerListTimeoutMs,
        signal: this.abort.signal,
        metrics: this.metrics,
        log: this.log.child({ component: 'docker' }),
      });
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

  /** Connects and migrates (retrying until stopped), then runs the status service and the pipeline (as leader). */
  private async boot(): Promise<void> {
    const db = await connectWithRetry(this.config, { log: this.log, clock: this.clock, signal: this.abort.signal });
    if (!db) return;
    this.db = db;
    // Workload status serves the read API on every replica (standbys too) and records the
    // transitions the leader's pipeline reports. Its tables are not owned by one host, so it runs
    // outside the lease (its writes are idempotent).
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
        identity: this.identity,
        leaseDurationMs: this.config.leaseDurationMs,
        renewDeadlineMs: this.config.renewDeadlineMs,
        retryPeriodMs: this.config.retryPeriodMs,
      },
      {
        onStartedLeading: () => {
          this.metrics.leader.set(1);
          this.health.electionTick(true);
          this.pipeline = this.startPipeline(db, this.terms.begin(() => elector.canWrite()));
        },
        onAttempt: (leading) => this.health.electionTick(leading),
        onStoppedLeading: () => {
          this.terms.end();
          this.metrics.leader.set(0);
          this.health.electionTick(false);
          this.stopPipeline();
        },
      },
      this.log,
    );
    this.elector = elector;
    // Its own signal: on shutdown the elector keeps renewing until the pipeline has drained and
    // flushed its writes, then it releases the lease.
    this.electorRun = elector.run(this.electorAbort.signal);
  }

  private startPipeline(db: Database, canWrite: () => boolean): Pipeline {
    const status = this.statusService;
    const extra = this.opts.changes ?? noopChangeSink;
    return Pipeline.start({
      config: this.config,
      agent: { identity: this.identity, startedAt: this.startedAt + this.clock.offset() },
      db,
      docker: this.docker,
      metrics: this.metrics,
      queueMetrics: this.queueMetrics,
      log: this.log,
      clock: this.clock,
      canWrite,
      changes: {
        rowsChanged: (c) => {
          status?.rowsChanged(c);
          extra.rowsChanged(c);
        },
      },
      refusalsChanged: (ids) => status?.refusalsChanged(ids),
      observer: {
        passStarted: (at) => this.health.passStarted(at),
        passFinished: (report, at) => {
          this.health.passFinished(report, at);
          void status?.flush();
          this.opts.onPass?.(report);
        },
      },
      watchBackoff: this.opts.watchBackoff,
      onDockerEvent: this.opts.onDockerEvent,
    });
  }

  /** Stops the current pipeline (if any) in the background; {@link stop} awaits it. */
  private stopPipeline(): Promise<void> {
    const p = this.pipeline;
    this.pipeline = undefined;
    if (!p) return Promise.resolve();
    const done = p.stop().then(async () => {
      await this.statusService?.flush();
      if (!this.pipeline) this.queueMetrics.depth(0);
    });
    this.draining.push(done);
    return done;
  }

  /** Runs one full pass now (tests and benchmarks). */
  async runPassNow(): Promise<PassReport> {
    if (!this.pipeline) throw new Error('the pipeline is not running yet');
    return this.pipeline.runPass();
  }

  /** Resolves once the pipeline is running (database connected and migrated). */
  async waitUntilRunning(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.pipeline) {
      if (Date.now() > deadline) throw new Error('the pipeline did not start in time');
      await sleep(20);
    }
  }

  /** The HTTP address, once started. */
  address(): { host: string; port: number } | undefined {
    return this.http?.address();
  }

  get database(): Database | undefined {
    return this.db;
  }

  /** Workload status and transition history, once the database is connected. */
  get status(): WorkloadStatusService | undefined {
    return this.statusService;
  }

  /** Whether this replica currently writes (always true without leader election once running). */
  isLeader(): boolean {
    return this.config.leaderElection ? (this.elector?.isLeader() ?? false) : this.pipeline !== undefined;
  }

  readiness(): Promise<Probe> {
    const standby = this.config.leaderElection && !this.elector?.isLeader();
    return checkReadiness({ db: this.db, docker: this.docker, standby, firstPassDone: this.health.hasCompletedFirstPass() });
  }

  /**
   * Graceful stop: intake off (watch and resync end), workers finish their key, pending writes
   * are flushed, the lease is released, then the HTTP server and the database close. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.abort.abort();
      await this.stopPipeline();
      await Promise.allSettled(this.draining);
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
}
