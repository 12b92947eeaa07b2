import { Registry } from 'prom-client';
import { describeConfig, type Config } from './config.js';
import { BatchWriter } from './controller/batch-writer.js';
import { Controller } from './controller/controller.js';
import { DesiredStateCache } from './controller/desired-cache.js';
import { ObservedCache } from './controller/observed-cache.js';
import { ExponentialFailureRateLimiter } from './controller/rate-limiter.js';
import { Resync, type PassReport } from './controller/resync.js';
import { RowIndex } from './controller/row-index.js';
import { WorkQueue } from './controller/workqueue.js';
import { DockerClient } from './docker/docker.client.js';
import { EventWatcher, sleep, type BackoffOptions } from './docker/event-watcher.js';
import { actionLabel, isRelevantAction, type ContainerEvent } from './docker/events.js';
import { isTinyforgeCandidate } from './docker/items.js';
import { ContainerHandler } from './handlers/container.handler.js';
import { HealthState, type Probe } from './health.js';
import { createHttpApp, HttpServer } from './http/server.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { ContainersRepository } from './store/containers.repository.js';
import { Database } from './store/database.js';
import { DesiredStateRepository } from './store/desired-state.repository.js';
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
  private controller: Controller | undefined;
  private writer: BatchWriter | undefined;
  private resync: Resync | undefined;
  private readonly abort = new AbortController();
  private readonly tasks: Promise<unknown>[] = [];
  private stopped: Promise<void> | undefined;

  constructor(
    readonly config: Config,
    private readonly opts: AppOptions = {},
  ) {
    this.log = opts.log ?? createLogger(config.logLevel);
    this.metrics = new Metrics(opts.registry ?? new Registry(), { version: VERSION });
    this.metrics.reconcileInterval.set(config.reconcileIntervalMs / 1000);
    this.metrics.leader.set(config.leaderElection ? 0 : 1);
    this.health = new HealthState(config.healthzMaxPassAgeMs);
    this.docker = new DockerClient(config.docker, { eventStreamIdleTimeoutMs: opts.eventStreamIdleTimeoutMs });
  }

  /** The HTTP address, once started. */
  address(): { host: string; port: number } | undefined {
    return this.http?.address();
  }

  get database(): Database | undefined {
    return this.db;
  }

  async start(): Promise<void> {
    const app = createHttpApp({
      liveness: () => this.health.liveness(),
      readiness: () => this.readiness(),
      metrics: () => this.metrics.render(),
      log: this.log,
    });
    this.http = await HttpServer.listen(app, this.config.httpPort, this.config.httpHost);
    this.log.info({ config: describeConfig(this.config), version: VERSION, http: this.http.address() }, 'tinyforge-reconciler starting');
    this.tasks.push(this.boot());
  }

  /** Connects (retrying forever until stopped), migrates, then runs the pipeline. */
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
        break;
      } catch (err) {
        await this.db?.close().catch(() => undefined);
        this.db = undefined;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt++, 6));
        this.log.warn({ error: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'database not available; retrying');
        await sleep(delay, signal);
      }
    }
    if (signal.aborted || !this.db) return;
    this.runPipeline(this.db, signal);
  }

  private runPipeline(db: Database, signal: AbortSignal): void {
    const cfg = this.config;
    const repo = new ContainersRepository(db);
    const observed = new ObservedCache();
    const desired = new DesiredStateCache(new DesiredStateRepository(db));
    const rows = new RowIndex(repo);
    const writer = new BatchWriter(repo, cfg.hostName, {
      batchSize: cfg.writeBatchSize,
      hooks: {
        statement: (kind) => this.metrics.writeStatements.inc({ kind }),
        missingMarked: (n) => this.metrics.missingMarks.inc(n),
      },
    });
    let queue: WorkQueue<string>;
    // eslint-disable-next-line prefer-const
    queue = new WorkQueue<string>(new ExponentialFailureRateLimiter(5, cfg.retryMaxDelayMs), this.metrics.queueMetrics('containers', { unfinishedWorkSeconds: () => queue.unfinishedWorkSeconds(), longestRunningProcessorSeconds: () => queue.longestRunningProcessorSeconds() }));
    const handler = new ContainerHandler(cfg.hostName, this.docker, observed, desired, rows, writer, this.metrics, this.log);
    const controller = new Controller(queue, handler, this.metrics, this.log, { workers: cfg.workers, maxInFlightCommits: Math.max(1000, cfg.writeBatchSize * 4) });
    const store = { now: () => db.now(), listByHost: (h: string) => repo.listByHost(h), sweepMissing: repo.sweepMissing.bind(repo), touchLastSeen: repo.touchLastSeen.bind(repo) };
    const resync = new Resync(cfg.hostName, this.docker, store, observed, desired, rows, controller, this.metrics, this.log, {
      passStarted: (at) => this.health.passStarted(at),
      passFinished: (report, at) => {
        this.health.passFinished(report, at);
        this.opts.onPass?.(report);
      },
    });
    this.controller = controller;
    this.writer = writer;
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
    this.tasks.push(watcher.run(signal));
    this.tasks.push(resync.loop(cfg.reconcileIntervalMs, signal));
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
    if (!this.health.hasCompletedFirstPass()) problems.push('the first full pass has not completed yet');
    return problems.length === 0 ? { ok: true, reason: 'ok' } : { ok: false, reason: problems.join('; ') };
  }

  /**
   * Graceful stop: intake off (watch and resync end), workers finish their key, pending writes
   * are flushed, then the HTTP server and the database close. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.abort.abort();
      await this.controller?.stop();
      await this.writer?.idle();
      await Promise.allSettled(this.tasks);
      await this.http?.close();
      await this.db?.close();
      this.log.info('tinyforge-reconciler stopped');
    })();
    return this.stopped;
  }
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
