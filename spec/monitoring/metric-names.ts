/**
 * The metric names the monitoring artefacts (the chart's alerting rules, the Grafana dashboard) may use:
 * the contract of the README's "Metrics" table as one list. spec/monitoring/rules.spec.ts fails when a rule or
 * panel queries a name that is not here; a /metrics test can assert {@link EXPOSED_METRIC_NAMES} against the
 * live output, which closes the loop: every query hits a series the service really exports.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * Who produces the series: the reconciler's own metrics, its controller-runtime style work queue, prom-client's
 * default process metrics, or Prometheus itself (`up`, never in /metrics).
 */
export type MetricSource = 'reconciler' | 'workqueue' | 'process' | 'prometheus';

/** A label and its values: `closed` lists every allowed value; otherwise `values` are only examples. */
export interface LabelSpec {
  readonly values: readonly string[];
  readonly closed: boolean;
}

export interface MetricSpec {
  /** Name as exposed (`# TYPE <name> ...`); a histogram's series add `_bucket`, `_sum` and `_count`. */
  readonly name: string;
  readonly type: MetricType;
  readonly source: MetricSource;
  /** Labels the service sets (scrape target labels such as job and instance come on top). */
  readonly labels: Readonly<Record<string, LabelSpec>>;
}

const closed = (...values: string[]): LabelSpec => ({ values, closed: true });
const open = (...examples: string[]): LabelSpec => ({ values: examples, closed: false });
const QUEUE = { name: closed('containers') };

export const METRICS: readonly MetricSpec[] = [
  {
    name: 'tinyforge_reconciler_upserts_total',
    type: 'counter',
    source: 'reconciler',
    labels: { dispatch: closed('workload', 'site', 'compose'), result: closed('created', 'updated', 'unchanged', 'error') },
  },
  { name: 'tinyforge_reconciler_missing_marks_total', type: 'counter', source: 'reconciler', labels: {} },
  { name: 'tinyforge_reconciler_tick_duration_seconds', type: 'histogram', source: 'reconciler', labels: {} },
  { name: 'tinyforge_reconciler_ticks_total', type: 'counter', source: 'reconciler', labels: { result: closed('success', 'error') } },
  { name: 'tinyforge_reconciler_last_successful_tick_timestamp_seconds', type: 'gauge', source: 'reconciler', labels: {} },
  { name: 'tinyforge_reconciler_reconcile_interval_seconds', type: 'gauge', source: 'reconciler', labels: {} },
  {
    name: 'tinyforge_reconciler_unmatched_containers_total',
    type: 'counter',
    source: 'reconciler',
    labels: { reason: open('unknown_workload', 'no_dispatch_label') },
  },
  {
    name: 'tinyforge_reconciler_refused_containers',
    type: 'gauge',
    source: 'reconciler',
    labels: { reason: open('conflict', 'unknown_workload', 'row_owned_by_other_host') },
  },
  { name: 'tinyforge_reconciler_docker_events_total', type: 'counter', source: 'reconciler', labels: { action: open('start', 'die', 'destroy') } },
  { name: 'tinyforge_reconciler_docker_watch_restarts_total', type: 'counter', source: 'reconciler', labels: {} },
  { name: 'tinyforge_reconciler_docker_watch_reconnect_attempts_total', type: 'counter', source: 'reconciler', labels: {} },
  { name: 'tinyforge_reconciler_docker_event_parse_errors_total', type: 'counter', source: 'reconciler', labels: {} },
  { name: 'tinyforge_reconciler_leader', type: 'gauge', source: 'reconciler', labels: {} },
  { name: 'tinyforge_reconciler_reconcile_errors_total', type: 'counter', source: 'reconciler', labels: { reason: open('database', 'docker') } },
  { name: 'tinyforge_reconciler_handler_panics_total', type: 'counter', source: 'reconciler', labels: {} },
  {
    name: 'tinyforge_reconciler_build_info',
    type: 'gauge',
    source: 'reconciler',
    labels: { version: open('0.1.0'), node_version: open('v20.20.2') },
  },
  {
    name: 'tinyforge_reconciler_workloads',
    type: 'gauge',
    source: 'reconciler',
    labels: { phase: closed('Pending', 'Running', 'Degraded', 'Stopped', 'Missing') },
  },
  { name: 'workqueue_depth', type: 'gauge', source: 'workqueue', labels: QUEUE },
  { name: 'workqueue_adds_total', type: 'counter', source: 'workqueue', labels: QUEUE },
  { name: 'workqueue_queue_duration_seconds', type: 'histogram', source: 'workqueue', labels: QUEUE },
  { name: 'workqueue_work_duration_seconds', type: 'histogram', source: 'workqueue', labels: QUEUE },
  { name: 'workqueue_retries_total', type: 'counter', source: 'workqueue', labels: QUEUE },
  { name: 'workqueue_unfinished_work_seconds', type: 'gauge', source: 'workqueue', labels: QUEUE },
  { name: 'workqueue_longest_running_processor_seconds', type: 'gauge', source: 'workqueue', labels: QUEUE },
  // prom-client collectDefaultMetrics(): only the ones the rules and dashboard use.
  { name: 'process_start_time_seconds', type: 'gauge', source: 'process', labels: {} },
  { name: 'process_resident_memory_bytes', type: 'gauge', source: 'process', labels: {} },
  { name: 'process_cpu_seconds_total', type: 'counter', source: 'process', labels: {} },
  // Written by Prometheus for every scrape target.
  { name: 'up', type: 'gauge', source: 'prometheus', labels: {} },
];

/** The series names one metric produces in PromQL. */
export function seriesNames(metric: MetricSpec): string[] {
  if (metric.type === 'histogram') return ['_bucket', '_sum', '_count'].map((suffix) => metric.name + suffix);
  return [metric.name];
}

/** Names a GET /metrics of the service must expose (as in its `# TYPE` lines). */
export const EXPOSED_METRIC_NAMES: readonly string[] = METRICS.filter((m) => m.source !== 'prometheus').map((m) => m.name);

/** Every series name a rule or dashboard query may select. */
export const QUERYABLE_SERIES_NAMES: ReadonlySet<string> = new Set(METRICS.flatMap(seriesNames));
