import { expect } from 'chai';
import { Registry, register as globalRegistry } from 'prom-client';
import { DISPATCH_KINDS, UNMATCHED_REASONS } from '../src/domain/types.js';
import { EVENT_ACTION_LABELS } from '../src/docker/events.js';
import { Metrics, RECONCILE_ERROR_REASONS, TICK_BUCKETS, UPSERT_RESULTS } from '../src/metrics.js';
import { METRICS } from './monitoring/metric-names.js';
import { find, parseExposition, promtoolCheckMetrics, valueOf, type Exposition } from './support/exposition.js';

const render = async (m: Metrics): Promise<Exposition> => parseExposition((await m.render()).body);

/** Every combination of the values of `labels` (closed label sets of the metric contract). */
function combinations(labels: Record<string, readonly string[]>): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}];
  for (const [k, values] of Object.entries(labels)) out = out.flatMap((o) => values.map((v) => ({ ...o, [k]: v })));
  return out;
}

describe('Metrics (one registry per app instance)', () => {
  it('two instances in one process register without colliding and count independently', async () => {
    const a = new Metrics(new Registry(), { version: '1.2.3' });
    const b = new Metrics(new Registry(), { version: '1.2.3' });
    a.upserts.inc({ dispatch: 'workload', result: 'created' }, 3);
    a.missingMarks.inc();
    const [ea, eb] = [await render(a), await render(b)];
    expect(valueOf(ea, 'tinyforge_reconciler_upserts_total', { dispatch: 'workload', result: 'created' })).to.equal(3);
    expect(valueOf(eb, 'tinyforge_reconciler_upserts_total', { dispatch: 'workload', result: 'created' })).to.equal(0);
    expect(valueOf(ea, 'tinyforge_reconciler_missing_marks_total')).to.equal(1);
    expect(valueOf(eb, 'tinyforge_reconciler_missing_marks_total')).to.equal(0);
    // Each body declares every family once (no duplicate registration, no merged registries).
    for (const body of [(await a.render()).body, (await b.render()).body]) {
      const typeLines = body.split('\n').filter((l) => l.startsWith('# TYPE '));
      expect(new Set(typeLines).size, 'duplicate # TYPE lines').to.equal(typeLines.length);
      expect(typeLines).to.include('# TYPE tinyforge_reconciler_upserts_total counter');
    }
    // Nothing leaks into prom-client's global registry.
    expect(globalRegistry.getSingleMetric('tinyforge_reconciler_upserts_total')).to.equal(undefined);
    expect(globalRegistry.getSingleMetric('workqueue_depth')).to.equal(undefined);
  });

  it('refuses a second declaration on the same registry (one place, one registry)', () => {
    const r = new Registry();
    new Metrics(r, { defaultMetrics: false });
    expect(() => new Metrics(r, { defaultMetrics: false })).to.throw(/already been registered/);
  });

  it('pre-initialises every label value to zero before anything happens', async () => {
    const e = await render(new Metrics(new Registry()));
    expect((await new Metrics(new Registry()).render()).body).to.match(/^tinyforge_reconciler_upserts_total\{dispatch="site",result="error"\} 0$/m);
    for (const dispatch of DISPATCH_KINDS) for (const result of UPSERT_RESULTS) {
      expect(valueOf(e, 'tinyforge_reconciler_upserts_total', { dispatch, result }), `${dispatch}/${result}`).to.equal(0);
    }
    expect(find(e, 'tinyforge_reconciler_upserts_total')).to.have.length(DISPATCH_KINDS.length * UPSERT_RESULTS.length);
    for (const result of ['success', 'error']) expect(valueOf(e, 'tinyforge_reconciler_ticks_total', { result })).to.equal(0);
    for (const reason of UNMATCHED_REASONS) expect(valueOf(e, 'tinyforge_reconciler_unmatched_containers_total', { reason }), reason).to.equal(0);
    for (const reason of RECONCILE_ERROR_REASONS) expect(valueOf(e, 'tinyforge_reconciler_reconcile_errors_total', { reason }), reason).to.equal(0);
    for (const action of EVENT_ACTION_LABELS) expect(valueOf(e, 'tinyforge_reconciler_docker_events_total', { action }), action).to.equal(0);
    for (const name of ['tinyforge_reconciler_missing_marks_total', 'tinyforge_reconciler_docker_watch_restarts_total', 'tinyforge_reconciler_docker_event_parse_errors_total', 'tinyforge_reconciler_handler_panics_total']) {
      expect(valueOf(e, name), name).to.equal(0);
    }
    expect(valueOf(e, 'tinyforge_reconciler_last_successful_tick_timestamp_seconds')).to.equal(0);
    expect(valueOf(e, 'tinyforge_reconciler_tick_duration_seconds_count')).to.equal(0);
  });

  it('exposes every combination of every closed label set in the metric contract from the start', async () => {
    const m = new Metrics(new Registry());
    m.queueMetrics('containers', { unfinishedWorkSeconds: () => 0, longestRunningProcessorSeconds: () => 0 });
    const e = await render(m);
    const checked: string[] = [];
    for (const spec of METRICS.filter((s) => s.source === 'reconciler' || s.source === 'workqueue')) {
      const labels = Object.entries(spec.labels);
      if (labels.length === 0 || !labels.every(([, l]) => l.closed)) continue;
      const series = spec.type === 'histogram' ? `${spec.name}_count` : spec.name;
      for (const combo of combinations(Object.fromEntries(labels.map(([k, l]) => [k, l.values])))) {
        expect(find(e, series, combo), `${series}${JSON.stringify(combo)}`).to.have.length(1);
        checked.push(series);
      }
    }
    expect(checked.length, 'the contract has closed label sets to check').to.be.greaterThan(10);
  });

  it('declares the pass-latency histogram with buckets from 1 ms to 60 s', async () => {
    const e = await render(new Metrics(new Registry()));
    expect(e.types.get('tinyforge_reconciler_tick_duration_seconds')).to.equal('histogram');
    const les = find(e, 'tinyforge_reconciler_tick_duration_seconds_bucket').map((s) => s.labels.le);
    expect(les[0]).to.equal('0.001');
    expect(les).to.include('60');
    expect(les[les.length - 1]).to.equal('+Inf');
    expect(TICK_BUCKETS[0]).to.equal(0.001);
    expect(TICK_BUCKETS[TICK_BUCKETS.length - 1]).to.equal(60);
  });

  it('carries a build-info gauge with the version, and Node process metrics (or none when asked)', async () => {
    const e = await render(new Metrics(new Registry(), { version: '9.8.7' }));
    expect(valueOf(e, 'tinyforge_reconciler_build_info', { version: '9.8.7', node_version: process.version })).to.equal(1);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(find(e, name), name).to.have.length.greaterThan(0);
    }
    const bare = await render(new Metrics(new Registry(), { defaultMetrics: false }));
    expect(find(bare, 'process_cpu_seconds_total')).to.have.length(0);
    expect(find(bare, 'tinyforge_reconciler_upserts_total')).to.have.length(12);
  });

  it('exposes the controller-runtime work-queue family with name="containers" once queueMetrics() is called', async () => {
    const m = new Metrics(new Registry());
    expect(find(await render(m), 'workqueue_depth'), 'no queue yet, no series').to.have.length(0);
    let unfinished = 0;
    let longest = 0;
    const q = m.queueMetrics('containers', { unfinishedWorkSeconds: () => unfinished, longestRunningProcessorSeconds: () => longest });
    let e = await render(m);
    const name = { name: 'containers' };
    for (const series of ['workqueue_depth', 'workqueue_adds_total', 'workqueue_retries_total', 'workqueue_unfinished_work_seconds', 'workqueue_longest_running_processor_seconds', 'workqueue_queue_duration_seconds_count', 'workqueue_work_duration_seconds_count']) {
      expect(valueOf(e, series, name), series).to.equal(0);
    }
    expect(e.types.get('workqueue_depth')).to.equal('gauge');
    expect(e.types.get('workqueue_adds_total')).to.equal('counter');
    expect(e.types.get('workqueue_queue_duration_seconds')).to.equal('histogram');
    expect(find(e, 'workqueue_queue_duration_seconds_bucket', name).length).to.be.greaterThan(5);

    q.add();
    q.add();
    q.depth(2);
    q.retry();
    q.queueDuration(0.002);
    q.workDuration(0.5);
    unfinished = 1.5;
    longest = 0.75;
    e = await render(m);
    expect(valueOf(e, 'workqueue_adds_total', name)).to.equal(2);
    expect(valueOf(e, 'workqueue_depth', name)).to.equal(2);
    expect(valueOf(e, 'workqueue_retries_total', name)).to.equal(1);
    expect(valueOf(e, 'workqueue_queue_duration_seconds_count', name)).to.equal(1);
    expect(valueOf(e, 'workqueue_work_duration_seconds_sum', name)).to.equal(0.5);
    expect(valueOf(e, 'workqueue_unfinished_work_seconds', name), 'read at scrape time').to.equal(1.5);
    expect(valueOf(e, 'workqueue_longest_running_processor_seconds', name), 'read at scrape time').to.equal(0.75);
    unfinished = 0;
    e = await render(m);
    expect(valueOf(e, 'workqueue_unfinished_work_seconds', name)).to.equal(0);
  });

  it('renders output that `promtool check metrics` accepts, before and after activity', async () => {
    const m = new Metrics(new Registry(), { version: '0.1.0' });
    let check = await promtoolCheckMetrics((await m.render()).body);
    expect(check.code, check.output).to.equal(0);
    m.queueMetrics('containers', { unfinishedWorkSeconds: () => 0.1, longestRunningProcessorSeconds: () => 0.1 });
    m.tickDuration.observe(0.2);
    m.ticks.inc({ result: 'success' });
    m.unmatched.inc({ reason: 'unknown_workload' });
    check = await promtoolCheckMetrics((await m.render()).body);
    expect(check.code, check.output).to.equal(0);
    // The check is real: promtool rejects a counter without the _total suffix.
    const bad = await promtoolCheckMetrics('# HELP tinyforge_bad A counter.\n# TYPE tinyforge_bad counter\ntinyforge_bad 1\n');
    expect(bad.code, bad.output).to.not.equal(0);
  });
});
