import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DISPATCH_KINDS, PHASES, UNMATCHED_REASONS } from './domain/types.js';
import type { QueueMetrics } from './queue/workqueue.js';
import { EVENT_ACTION_LABELS } from './docker/events.js';
import { OVERSIZED_SOURCES } from './docker/oversized.js';

export const UPSERT_RESULTS = ['created', 'updated', 'unchanged', 'error'] as const;
export type UpsertResult = (typeof UPSERT_RESULTS)[number];
export const TICK_RESULTS = ['success', 'error'] as const;
/** Write statements by kind: the batch writer's upserts and missing marks, the pass's sweep, `last_seen_at` refresh and heartbeat. */
export const WRITE_STATEMENT_KINDS = ['upsert', 'mark_missing', 'sweep', 'touch', 'heartbeat'] as const;
/** Why a pass read the host's rows in full. */
export const SNAPSHOT_READ_REASONS = ['start', 'changed'] as const;
export type WriteStatementKind = (typeof WRITE_STATEMENT_KINDS)[number];
/**
 * Why a pass listed the Docker daemon (docs/architecture.md, "Relist"): the first pass, RELIST_INTERVAL
 * elapsed (every pass by default), the event stream (re)opened, or it is down or lost a line.
 */
export const LIST_REASONS = ['start', 'interval', 'reconnect', 'interrupted'] as const;
export type ListReason = (typeof LIST_REASONS)[number];
export const RECONCILE_ERROR_REASONS = ['docker', 'database', 'panic', 'not_leader', 'other'] as const;
export type ReconcileErrorReason = (typeof RECONCILE_ERROR_REASONS)[number];

/** Pass latency buckets: 1 ms to 60 s. */
export const TICK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];
/** client-go's work-queue buckets (1 us .. 10 s, x10), plus 60 s. */
const QUEUE_BUCKETS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 60];

/** What the work-queue gauges read at scrape time. */
export interface QueueInspector {
  unfinishedWorkSeconds(): number;
  longestRunningProcessorSeconds(): number;
}

/** Default process metrics that promtool rejects as they come (gauges named `*_total`). */
const PROMTOOL_REJECTED = new Set(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']);

/**
 * Every metric of the service, declared in one place against one registry per app instance
 * (tests create their own, so nothing collides). Label values are pre-initialised to zero so
 * dashboards and `rate()` see every series from the first scrape. No unbounded label values.
 */
export class Metrics {
  readonly upserts: Counter<'dispatch' | 'result'>;
  readonly missingMarks: Counter;
  readonly tickDuration: Histogram;
  readonly ticks: Counter<'result'>;
  readonly lastSuccessfulTick: Gauge;
  readonly reconcileInterval: Gauge;
  readonly unmatched: Counter<'reason'>;
  readonly dockerEvents: Counter<'action'>;
  readonly watchRestarts: Counter;
  readonly watchReconnectAttempts: Counter;
  readonly eventParseErrors: Counter;
  readonly dockerOversizedEntries: Counter<'source'>;
  readonly leader: Gauge;
  readonly reconcileErrors: Counter<'reason'>;
  readonly handlerPanics: Counter;
  readonly buildInfo: Gauge<'version' | 'node_version'>;
  readonly workloads: Gauge<'phase'>;
  readonly writeStatements: Counter<'kind'>;
  readonly snapshotReads: Counter<'reason'>;
  readonly lastSeenRefreshed: Counter;
  readonly dockerLists: Counter<'reason'>;
  readonly lastDockerList: Gauge;
  readonly refused: Gauge<'reason'>;
  readonly clockSkew: Gauge;

  readonly queueDepth: Gauge<'name'>;
  readonly queueAdds: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly queueRetries: Counter<'name'>;
  readonly unfinishedWork: Gauge<'name'>;
  readonly longestRunning: Gauge<'name'>;
  /** The queues whose stuck-worker gauges are read at scrape time, by queue name. */
  private readonly queueInspectors = new Map<string, QueueInspector>();

  constructor(
    readonly registry: Registry = new Registry(),
    opts: { version?: string; defaultMetrics?: boolean } = {},
  ) {
    const r = [registry];
    this.upserts = new Counter({ name: 'tinyforge_reconciler_upserts_total', help: 'Container rows reconciled, by dispatch path and result.', labelNames: ['dispatch', 'result'], registers: r });
    for (const d of DISPATCH_KINDS) for (const res of UPSERT_RESULTS) this.upserts.inc({ dispatch: d, result: res }, 0);
    this.missingMarks = new Counter({ name: 'tinyforge_reconciler_missing_marks_total', help: 'Rows marked missing because their container is gone.', registers: r });
    this.tickDuration = new Histogram({ name: 'tinyforge_reconciler_tick_duration_seconds', help: 'Duration of resync passes (with or without a Docker list: see docker_lists_total).', buckets: TICK_BUCKETS, registers: r });
    this.ticks = new Counter({ name: 'tinyforge_reconciler_ticks_total', help: 'Resync passes, by result (listing the daemon or deciding from the cache).', labelNames: ['result'], registers: r });
    for (const res of TICK_RESULTS) this.ticks.inc({ result: res }, 0);
    this.lastSuccessfulTick = new Gauge({ name: 'tinyforge_reconciler_last_successful_tick_timestamp_seconds', help: 'Unix time of the end of the last successful pass (0 before the first).', registers: r });
    this.reconcileInterval = new Gauge({ name: 'tinyforge_reconciler_reconcile_interval_seconds', help: 'Configured resync interval after clamping.', registers: r });
    this.unmatched = new Counter({ name: 'tinyforge_reconciler_unmatched_containers_total', help: 'Refusals: containers that got no row, counted once per container and reason.', labelNames: ['reason'], registers: r });
    for (const reason of UNMATCHED_REASONS) this.unmatched.inc({ reason }, 0);
    this.refused = new Gauge({ name: 'tinyforge_reconciler_refused_containers', help: 'Containers currently refused a row (listed by GET /api/v1/refusals), by reason.', labelNames: ['reason'], registers: r });
    for (const reason of UNMATCHED_REASONS) this.refused.set({ reason }, 0);
    this.clockSkew = new Gauge({ name: 'tinyforge_reconciler_database_clock_offset_seconds', help: 'Database clock minus this host\'s clock, measured at every pass (timestamps come from the database clock).', registers: r });
    this.dockerEvents = new Counter({ name: 'tinyforge_reconciler_docker_events_total', help: 'Docker container events received, by action.', labelNames: ['action'], registers: r });
    for (const action of EVENT_ACTION_LABELS) this.dockerEvents.inc({ action }, 0);
    this.watchRestarts = new Counter({ name: 'tinyforge_reconciler_docker_watch_restarts_total', help: 'Docker event streams that ended and were opened again: one per reopened stream, however many attempts the reconnect took.', registers: r });
    this.watchReconnectAttempts = new Counter({ name: 'tinyforge_reconciler_docker_watch_reconnect_attempts_total', help: 'Attempts to open the Docker event stream again after it ended or could not be opened, successful or not.', registers: r });
    this.eventParseErrors = new Counter({ name: 'tinyforge_reconciler_docker_event_parse_errors_total', help: 'Malformed lines on the Docker event stream (skipped).', registers: r });
    this.dockerOversizedEntries = new Counter({ name: 'tinyforge_reconciler_docker_oversized_entries_total', help: 'Docker list entries, event lines and inspect answers larger than DOCKER_MAX_ENTRY_BYTES, skipped unread, by source.', labelNames: ['source'], registers: r });
    for (const source of OVERSIZED_SOURCES) this.dockerOversizedEntries.inc({ source }, 0);
    this.leader = new Gauge({ name: 'tinyforge_reconciler_leader', help: '1 when this replica may write (holds the lease, or election is off).', registers: r });
    this.reconcileErrors = new Counter({ name: 'tinyforge_reconciler_reconcile_errors_total', help: 'Keys whose reconcile failed and was retried, by cause.', labelNames: ['reason'], registers: r });
    for (const reason of RECONCILE_ERROR_REASONS) this.reconcileErrors.inc({ reason }, 0);
    this.handlerPanics = new Counter({ name: 'tinyforge_reconciler_handler_panics_total', help: 'Unexpected exceptions caught in a reconcile handler (retried).', registers: r });
    this.buildInfo = new Gauge({ name: 'tinyforge_reconciler_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node_version'], registers: r });
    this.buildInfo.set({ version: opts.version ?? '0.0.0', node_version: process.version }, 1);
    this.workloads = new Gauge({ name: 'tinyforge_reconciler_workloads', help: 'Workloads by phase.', labelNames: ['phase'], registers: r });
    for (const phase of PHASES) this.workloads.set({ phase }, 0);
    this.writeStatements = new Counter({ name: 'tinyforge_reconciler_write_statements_total', help: 'Write statements sent to the database, by kind.', labelNames: ['kind'], registers: r });
    for (const kind of WRITE_STATEMENT_KINDS) this.writeStatements.inc({ kind }, 0);
    this.snapshotReads = new Counter({
      name: 'tinyforge_reconciler_host_snapshot_reads_total',
      help: "Full reads of the host's rows by a pass, by reason: start (first pass) or changed (the database's checksum of the host's rows differed from the service's, so another program changed them).",
      labelNames: ['reason'],
      registers: r,
    });
    for (const reason of SNAPSHOT_READ_REASONS) this.snapshotReads.inc({ reason }, 0);
    this.lastSeenRefreshed = new Counter({ name: 'tinyforge_reconciler_last_seen_refreshed_rows_total', help: 'Rows whose last_seen_at a pass refreshed because their refresh was due (rows the service writes get it anyway).', registers: r });
    this.dockerLists = new Counter({
      name: 'tinyforge_reconciler_docker_lists_total',
      help: 'Container lists a pass asked of the Docker daemon, by reason: start (first pass), interval (RELIST_INTERVAL elapsed; every pass by default), reconnect (the event stream opened), interrupted (the stream is down or lost a line). Passes that decided from the cache alone: ticks_total minus this.',
      labelNames: ['reason'],
      registers: r,
    });
    for (const reason of LIST_REASONS) this.dockerLists.inc({ reason }, 0);
    this.lastDockerList = new Gauge({ name: 'tinyforge_reconciler_last_docker_list_timestamp_seconds', help: 'Unix time of the start of the last container list the Docker daemon answered (0 before the first).', registers: r });

    this.queueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers: r });
    this.queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers: r });
    this.queueDuration = new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested', labelNames: ['name'], buckets: QUEUE_BUCKETS, registers: r });
    this.workDuration = new Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes.', labelNames: ['name'], buckets: QUEUE_BUCKETS, registers: r });
    this.queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers: r });
    // Pulled on every scrape (prom-client's `collect`): the values change continuously, not on events.
    this.unfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. Large values indicate stuck threads.',
      labelNames: ['name'],
      registers: r,
      collect: () => {
        for (const [name, q] of this.queueInspectors) this.unfinishedWork.set({ name }, q.unfinishedWorkSeconds());
      },
    });
    this.longestRunning = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'],
      registers: r,
      collect: () => {
        for (const [name, q] of this.queueInspectors) this.longestRunning.set({ name }, q.longestRunningProcessorSeconds());
      },
    });

    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: registry });
      for (const name of PROMTOOL_REJECTED) registry.removeSingleMetric(name);
    }
  }

  private readonly upsertChildren = new Map<string, { inc(n?: number): void }>();

  /** Counts upserts through cached label children (hot path: once per reconciled key). */
  upsert(dispatch: string, result: UpsertResult, n = 1): void {
    const k = `${dispatch}|${result}`;
    let c = this.upsertChildren.get(k);
    if (!c) {
      c = this.upserts.labels({ dispatch, result });
      this.upsertChildren.set(k, c);
    }
    c.inc(n);
  }

  /** Hooks for the `containers` work queue; `inspect` is read at scrape time. */
  queueMetrics(name: string, inspect: QueueInspector): QueueMetrics {
    const labels = { name };
    this.queueDepth.set(labels, 0);
    this.queueAdds.inc(labels, 0);
    this.queueRetries.inc(labels, 0);
    this.queueDuration.zero(labels);
    this.workDuration.zero(labels);
    this.unfinishedWork.set(labels, 0);
    this.longestRunning.set(labels, 0);
    this.queueInspectors.set(name, inspect);
    // Label children resolved once: these hooks run several times per key.
    const adds = this.queueAdds.labels(labels);
    const depth = this.queueDepth.labels(labels);
    const queued = this.queueDuration.labels(labels);
    const worked = this.workDuration.labels(labels);
    const retries = this.queueRetries.labels(labels);
    return {
      add: () => adds.inc(),
      depth: (n) => depth.set(n),
      queueDuration: (s) => queued.observe(s),
      workDuration: (s) => worked.observe(s),
      retry: () => retries.inc(),
    };
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
