/**
 * Monitoring artefacts, checked with the real tools: the chart's alerting rules (`promtool check rules`,
 * `promtool test rules` on monitoring/alerts.test.yaml, plus mutations the unit tests must catch) and the
 * Grafana dashboard (structure, and every query evaluated by promtool against series shaped like the metric
 * list). Every metric name used anywhere must be in spec/monitoring/metric-names.ts.
 *
 * Needs `promtool` on PATH (Debian: apt-get install prometheus) or its path in PROMTOOL.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { METRICS, QUERYABLE_SERIES_NAMES, seriesNames, type MetricSpec } from './metric-names.js';
import { metricNames, vectorSelectors } from './promql.js';

const PROMTOOL = process.env['PROMTOOL'] ?? 'promtool';
const RULES_REL = 'charts/tinyforge-reconciler/files/prometheus-rules.yaml';
const TESTS_REL = 'monitoring/alerts.test.yaml';
const DASHBOARD_REL = 'monitoring/grafana-dashboard.json';
const DS_REF = '${datasource}';

/** The repository root: the nearest ancestor holding this project's package.json (works from dist/ or .tmp/). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tinyforge-reconciler') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('repository root not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

const ROOT = repoRoot();

/** Runs promtool; the result carries everything it printed so a failing assertion shows the tool's own report. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`cannot run ${PROMTOOL} (install Debian's prometheus package or set PROMTOOL): ${r.error.message}`);
  return { status: r.status, output: `$ promtool ${args.join(' ')}\n${r.stdout}${r.stderr}` };
}

/** The exit status of promtool run in the background (for the mutation runs, which go in parallel). */
function promtoolStatus(...args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, args, { cwd: ROOT, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

function expectSuccess(result: { status: number | null; output: string }): void {
  expect(result.status, result.output).to.equal(0);
}

// ------------------------------------------------------------------ rules file model
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RulesFile {
  groups: { name: string; rules: Rule[] }[];
}
interface AlertTestCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[];
}
interface UnitTestFile {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: AlertTestCase[] }[];
}

const readText = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');
const rulesFile = (): RulesFile => YAML.parse(readText(RULES_REL)) as RulesFile;
const allRules = (): Rule[] => rulesFile().groups.flatMap((g) => g.rules);
const alertRules = (): Rule[] => allRules().filter((r) => r.alert !== undefined);

function unknownNames(expr: string): string[] {
  return metricNames(expr).filter((n) => !QUERYABLE_SERIES_NAMES.has(n));
}

// ------------------------------------------------------------------ dashboard model
interface DsRef {
  type?: string;
  uid?: string;
}
interface Target {
  datasource?: DsRef;
  expr?: string;
  refId?: string;
  legendFormat?: string;
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: DsRef;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}
interface TemplateVar {
  name: string;
  type: string;
  query?: string | { query: string };
  datasource?: DsRef;
  definition?: string;
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: TemplateVar[] };
}

const dashboard = (): Dashboard => JSON.parse(readText(DASHBOARD_REL)) as Dashboard;

/** Every panel, including those nested in collapsed rows. */
function flatPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...flatPanels(p.panels ?? [])]);
}

const queryPanels = (d: Dashboard): Panel[] => flatPanels(d.panels).filter((p) => p.type !== 'row');

function variableQuery(v: TemplateVar): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
}

/** The selector of a `label_values(selector, label)` variable query. */
function labelValuesSelector(query: string): { selector: string; label: string } {
  const m = /^label_values\((.+),\s*(\w+)\s*\)$/.exec(query.trim());
  if (!m) throw new Error(`not a label_values(selector, label) query: ${query}`);
  return { selector: m[1]!, label: m[2]! };
}

/** Values for the Grafana variables when a dashboard query is evaluated outside Grafana. */
const GRAFANA_VARS: Record<string, string> = {
  job: 'tinyforge-reconciler',
  instance: 'node-a:8080',
  __rate_interval: '2m',
  __interval: '1m',
  __range: '30m',
};

function substituteVars(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (_m, name: string) => {
    const value = GRAFANA_VARS[name];
    if (value === undefined) throw new Error(`unknown Grafana variable $${name} in: ${expr}`);
    return value;
  });
}

// ------------------------------------------------------------------ synthetic scrape for promtool
const STEPS = 40;
const BUCKETS = ['0.001', '0.1', '1', '10', '+Inf'];

function labelCombos(metric: MetricSpec): Record<string, string>[] {
  let combos: Record<string, string>[] = [{}];
  for (const [label, spec] of Object.entries(metric.labels)) {
    combos = combos.flatMap((c) => spec.values.map((v) => ({ ...c, [label]: v })));
  }
  return combos;
}

function seriesText(name: string, labels: Record<string, string>): string {
  const all = { job: GRAFANA_VARS['job']!, instance: GRAFANA_VARS['instance']!, ...labels };
  return `${name}{${Object.entries(all)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;
}

/** promtool input series for every metric of the list, one target, counters increasing, one scrape a minute. */
function syntheticSeries(): { series: string; values: string }[] {
  const out: { series: string; values: string }[] = [];
  for (const m of METRICS) {
    for (const labels of labelCombos(m)) {
      if (m.type === 'counter') out.push({ series: seriesText(m.name, labels), values: `0+1x${STEPS}` });
      else if (m.type === 'gauge') {
        // Timestamps follow the clock (time() at step k is 60k); other gauges are simply 1.
        const values = m.name.endsWith('_timestamp_seconds') ? `0+60x${STEPS}` : `1x${STEPS}`;
        out.push({ series: seriesText(m.name, labels), values });
      } else {
        BUCKETS.forEach((le, i) => out.push({ series: seriesText(`${m.name}_bucket`, { ...labels, le }), values: `0+${i + 1}x${STEPS}` }));
        out.push({ series: seriesText(`${m.name}_count`, labels), values: `0+${BUCKETS.length}x${STEPS}` });
        out.push({ series: seriesText(`${m.name}_sum`, labels), values: `0+1x${STEPS}` });
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------ scratch dirs
const scratch: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tinyforge-monitoring-'));
  scratch.push(dir);
  return dir;
}

/** A copy of the rules + unit tests in the repository layout, with the rules text replaced. */
function stageRules(rulesText: string): { rules: string; tests: string } {
  const dir = tempDir();
  const staged = { rules: path.join(dir, RULES_REL), tests: path.join(dir, TESTS_REL) };
  mkdirSync(path.dirname(staged.rules), { recursive: true });
  mkdirSync(path.dirname(staged.tests), { recursive: true });
  writeFileSync(staged.rules, rulesText);
  writeFileSync(staged.tests, readText(TESTS_REL));
  return staged;
}

/**
 * Deliberate breakages the unit tests must catch: every threshold, guard and `for` that a test pins down.
 * Each entry: [what it breaks, exact text in the rules file, replacement].
 */
const MUTATIONS: [string, string, string][] = [
  ['Down: drop the absent() branch', 'or\n          absent(up{job="tinyforge-reconciler"})', ''],
  ['Down: wrong job name', 'up{job="tinyforge-reconciler"} == 0', 'up{job="tinyforge"} == 0'],
  ['Down: no `for`', 'absent(up{job="tinyforge-reconciler"})\n        for: 5m', 'absent(up{job="tinyforge-reconciler"})\n        for: 1m'],
  ['NoSuccessfulPass: ignore the interval', 'clamp_min(3 * tinyforge_reconciler_reconcile_interval_seconds, 120)', '120'],
  ['NoSuccessfulPass: no 2m floor', 'clamp_min(3 * tinyforge_reconciler_reconcile_interval_seconds, 120)', '3 * tinyforge_reconciler_reconcile_interval_seconds'],
  [
    'NoSuccessfulPass: count from epoch when no pass yet',
    '(process_start_time_seconds and tinyforge_reconciler_last_successful_tick_timestamp_seconds == 0)',
    'tinyforge_reconciler_last_successful_tick_timestamp_seconds',
  ],
  ['NoSuccessfulPass: alert on standbys', '          and\n          tinyforge_reconciler_leader == 1\n', '\n'],
  ['PassLatencyHigh: threshold 60s', '[10m])) > 10', '[10m])) > 60'],
  ['PassLatencyHigh: threshold 1s', '[10m])) > 10', '[10m])) > 1'],
  ['PassLatencyHigh: median instead of p99', 'histogram_quantile(0.99,', 'histogram_quantile(0.5,'],
  ['WorkQueueGrowing: max instead of min', 'min_over_time(workqueue_depth', 'max_over_time(workqueue_depth'],
  ['WorkQueueGrowing: floor 500', '[15m]) > 50\n', '[15m]) > 500\n'],
  ['WorkQueueGrowing: ignore the trend', 'deriv(workqueue_depth{name="containers"}[15m]) > 0', 'deriv(workqueue_depth{name="containers"}[15m]) > -1e9'],
  ['WorkQueueGrowing: alert on standbys', 'and ignoring (name)\n          tinyforge_reconciler_leader == 1', 'and ignoring (name) tinyforge_reconciler_leader >= 0'],
  ['WatchRestartLoop: threshold 6', 'watch_restarts_total[15m]) >= 4', 'watch_restarts_total[15m]) >= 6'],
  ['WatchRestartLoop: threshold 3', 'watch_restarts_total[15m]) >= 4', 'watch_restarts_total[15m]) >= 3'],
  ['WatchRestartLoop: for 10m (one burst fires)', '>= 4\n        for: 20m', '>= 4\n        for: 10m'],
  ['WatchRestartLoop: for 30m', '>= 4\n        for: 20m', '>= 4\n        for: 30m'],
  ['WatchRestartLoop: count attempts', 'increase(tinyforge_reconciler_docker_watch_restarts_total[15m])', 'increase(tinyforge_reconciler_docker_watch_reconnect_attempts_total[15m])'],
  ['MissingMarksSpike: threshold 200', 'missing_marks_total[10m]) > 50', 'missing_marks_total[10m]) > 200'],
  ['MissingMarksSpike: threshold 10', 'missing_marks_total[10m]) > 50', 'missing_marks_total[10m]) > 10'],
  ['NoLeader: any replica without the lease', 'sum by (job, namespace) (tinyforge_reconciler_leader) == 0', 'min by (job, namespace) (tinyforge_reconciler_leader) == 0'],
  ['NoLeader: drop the namespace', 'sum by (job, namespace) (tinyforge_reconciler_leader)', 'sum by (job) (tinyforge_reconciler_leader)'],
];

after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('monitoring: PromQL selector extraction (spec helper)', () => {
  it('finds metric names and matchers, not functions, label lists, strings or durations', () => {
    expect(
      vectorSelectors('histogram_quantile(0.99, sum by (instance, le) (rate(foo_bucket{job=~"$job", x="a}b"}[$__rate_interval])))'),
    ).to.deep.equal([{ name: 'foo_bucket', matchers: 'job=~"$job", x="a}b"' }]);
    expect(metricNames('time() - (a > 0 or (b and c == 0)) > clamp_min(3 * d, 120) and e == 1')).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(metricNames('sum(x) BY (le) / ignoring(name) group_left(instance) y offset 5m')).to.deep.equal(['x', 'y']);
    expect(metricNames('label_replace(m, "dst", "$1", "src", "(.*)") > 1e-3 unless n @ 1700000000')).to.deep.equal(['m', 'n']);
    expect(metricNames('max_over_time(deriv(q[5m])[1h:1m]) > bool 0.5')).to.deep.equal(['q']);
    expect(metricNames('{__name__="m"}')).to.deep.equal(['__name__']);
  });

  it('reports names missing from the metric list', () => {
    expect(unknownNames('rate(tinyforge_reconciler_bogus_total[5m]) + workqueue_depth')).to.deep.equal(['tinyforge_reconciler_bogus_total']);
    expect(unknownNames('tinyforge_reconciler_tick_duration_seconds')).to.deep.equal(['tinyforge_reconciler_tick_duration_seconds']);
  });
});

describe('monitoring: alerting rules', () => {
  it('pass `promtool check rules`', () => {
    expectSuccess(promtool('check', 'rules', RULES_REL));
  });

  it('pass their unit tests (`promtool test rules`)', () => {
    expectSuccess(promtool('test', 'rules', TESTS_REL));
  });

  it('are the file the unit tests load', () => {
    const tests = YAML.parse(readText(TESTS_REL)) as UnitTestFile;
    const resolved = tests.rule_files.map((f) => path.resolve(ROOT, path.dirname(TESTS_REL), f));
    expect(resolved).to.deep.equal([path.join(ROOT, RULES_REL)]);
  });

  it('give every alert a severity, a summary, a description and a runbook hint', () => {
    const alerts = alertRules();
    expect(alerts.length).to.be.at.least(6);
    for (const rule of alerts) {
      expect(rule.alert, rule.alert).to.match(/^TinyforgeReconciler[A-Z]\w+$/);
      expect(rule.labels?.['severity'], `${rule.alert} severity`).to.be.oneOf(['critical', 'warning', 'info']);
      for (const key of ['summary', 'description', 'runbook']) {
        expect(rule.annotations?.[key], `${rule.alert} annotation ${key}`).to.be.a('string').and.not.equal('');
      }
    }
  });

  it('have, for every alert, a unit test where it fires and one where it stays silent', () => {
    const tests = YAML.parse(readText(TESTS_REL)) as UnitTestFile;
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const rule of alertRules()) {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${rule.alert}: no case where it fires`,
      ).to.equal(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${rule.alert}: no case where it stays silent`,
      ).to.equal(true);
      for (const c of mine) {
        for (const exp of c.exp_alerts ?? []) {
          expect(exp.exp_labels?.['severity'], `${rule.alert} at ${c.eval_time}: exp_labels`).to.equal(rule.labels?.['severity']);
          expect(Object.keys(exp.exp_annotations ?? {}), `${rule.alert} at ${c.eval_time}: exp_annotations`).to.have.members(
            Object.keys(rule.annotations ?? {}),
          );
        }
      }
    }
  });

  it('have unit tests that catch each deliberate breakage', async function () {
    this.timeout(120_000);
    const original = readText(RULES_REL);
    // Control: the staged copy itself passes, so a failure below is the mutation's doing.
    expectSuccess(promtool('test', 'rules', stageRules(original).tests));
    const staged = MUTATIONS.map(([what, from, to]) => {
      expect(original.split(from).length - 1, `mutation "${what}": text must occur exactly once`).to.equal(1);
      const files = stageRules(original.replace(from, to));
      // Still valid rules, so a failing unit test is about behaviour, not syntax.
      expectSuccess(promtool('check', 'rules', files.rules));
      return { what, tests: files.tests };
    });
    const survivors: string[] = [];
    const queue = [...staged];
    const worker = async (): Promise<void> => {
      for (let m = queue.shift(); m; m = queue.shift()) {
        if ((await promtoolStatus('test', 'rules', m.tests)) === 0) survivors.push(m.what);
      }
    };
    await Promise.all(Array.from({ length: availableParallelism() }, worker));
    expect(survivors, 'mutations the unit tests did not catch').to.deep.equal([]);
  });

  it('query only metric names from the list', () => {
    for (const rule of allRules()) {
      expect(unknownNames(rule.expr), `${rule.alert ?? rule.record}: ${rule.expr}`).to.deep.equal([]);
    }
  });

  it('name the scrape job only to select `up`', () => {
    for (const rule of allRules()) {
      for (const sel of vectorSelectors(rule.expr)) {
        if (sel.name !== 'up') expect(sel.matchers, `${rule.alert}: ${sel.name}`).not.to.match(/\bjob\b/);
        else expect(sel.matchers, `${rule.alert}: up`).to.equal('job="tinyforge-reconciler"');
      }
    }
  });
});

describe('monitoring: Grafana dashboard', () => {
  it('is a schemaVersion 39 dashboard with datasource, job and instance variables', () => {
    const d = dashboard();
    expect(d.schemaVersion).to.be.at.least(39);
    expect(d.uid).to.be.a('string').and.not.equal('');
    expect(d.title).to.be.a('string').and.not.equal('');
    const vars = new Map(d.templating.list.map((v) => [v.name, v]));
    expect(vars.get('datasource')).to.include({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'instance']) {
      const v = vars.get(name);
      expect(v, `variable ${name}`).to.include({ type: 'query' });
      expect(v!.datasource, `variable ${name} datasource`).to.deep.equal({ type: 'prometheus', uid: DS_REF });
      const { selector, label } = labelValuesSelector(variableQuery(v!));
      expect(label).to.equal(name);
      expect(unknownNames(selector), `variable ${name}: ${selector}`).to.deep.equal([]);
    }
  });

  it('gives every panel a unique id, a gridPos inside 24 columns and the ${datasource} variable', () => {
    const d = dashboard();
    const all = flatPanels(d.panels);
    const ids = all.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).to.equal(true);
    expect(new Set(ids).size, 'duplicate panel ids').to.equal(ids.length);
    for (const p of all) {
      const g = p.gridPos;
      expect(g, `${p.title} gridPos`).to.be.an('object');
      for (const k of ['x', 'y', 'w', 'h'] as const) expect(g![k], `${p.title} gridPos.${k}`).to.be.a('number').and.at.least(0);
      expect(g!.w, `${p.title} width`).to.be.above(0);
      expect(g!.x + g!.w, `${p.title} right edge`).to.be.at.most(24);
    }
    for (const p of queryPanels(d)) {
      expect(p.datasource, `panel "${p.title}" datasource`).to.deep.equal({ type: 'prometheus', uid: DS_REF });
      expect(p.targets, `panel "${p.title}" targets`).to.be.an('array').that.is.not.empty;
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, `panel "${p.title}" refIds`).to.equal(refIds.length);
      for (const t of p.targets!) expect(t.datasource, `panel "${p.title}" target ${t.refId}`).to.deep.equal({ type: 'prometheus', uid: DS_REF });
    }
  });

  it('does not overlap panels', () => {
    const placed = flatPanels(dashboard().panels);
    for (let i = 0; i < placed.length; i++) {
      for (let j = i + 1; j < placed.length; j++) {
        const a = placed[i]!.gridPos!;
        const b = placed[j]!.gridPos!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `"${placed[i]!.title}" overlaps "${placed[j]!.title}"`).to.equal(false);
      }
    }
  });

  it('queries only listed metric names, each filtered by $job and $instance (and the containers queue)', () => {
    for (const p of queryPanels(dashboard())) {
      for (const t of p.targets!) {
        const where = `panel "${p.title}" ${t.refId}: ${t.expr}`;
        expect(t.expr, where).to.be.a('string').and.not.equal('');
        expect(unknownNames(t.expr!), where).to.deep.equal([]);
        const selectors = vectorSelectors(t.expr!);
        expect(selectors, where).to.not.be.empty;
        for (const sel of selectors) {
          expect(sel.matchers, `${where} (${sel.name})`).to.include('job=~"$job"').and.include('instance=~"$instance"');
          if (sel.name.startsWith('workqueue_')) expect(sel.matchers, `${where} (${sel.name})`).to.include('name="containers"');
        }
      }
    }
  });

  it('shows every metric of the list', () => {
    const used = new Set(queryPanels(dashboard()).flatMap((p) => p.targets!.flatMap((t) => metricNames(t.expr ?? ''))));
    // process_start_time_seconds only serves the NoSuccessfulPass alert.
    const missing = METRICS.filter((m) => m.name !== 'process_start_time_seconds' && !seriesNames(m).some((n) => used.has(n))).map((m) => m.name);
    expect(missing).to.deep.equal([]);
  });

  it('returns data, with the labels its legend shows, for every query and variable (promtool, series shaped like the metric list)', function () {
    this.timeout(60_000);
    const d = dashboard();
    // Each check is an expression that is 1 when it holds and empty otherwise.
    // `>= -Inf` drops NaN (for example a quantile of an empty histogram): a query must yield numbers.
    const nonEmpty = (e: string): string => `count((${e}) >= -Inf) > bool 0`;
    // Some series of `e` carry a non-empty `label` (`unless on (label) vector(1)` drops those without it).
    const hasLabel = (e: string, label: string): string => `count(count by (${label}) ((${e}) >= -Inf) unless on (${label}) vector(1)) > bool 0`;
    const exprs: string[] = [];
    for (const p of queryPanels(d)) {
      for (const t of p.targets!) {
        const e = substituteVars(t.expr!);
        exprs.push(nonEmpty(e));
        for (const [, label] of (t.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)) exprs.push(hasLabel(e, label!));
      }
    }
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      const { selector, label } = labelValuesSelector(variableQuery(v));
      exprs.push(hasLabel(substituteVars(selector), label));
    }
    const dir = tempDir();
    const file = path.join(dir, 'dashboard.test.yaml');
    const doc = {
      rule_files: [],
      evaluation_interval: '1m',
      tests: [
        {
          name: 'dashboard queries',
          interval: '1m',
          input_series: syntheticSeries(),
          promql_expr_test: exprs.map((e) => ({
            expr: e,
            eval_time: `${STEPS - 5}m`,
            exp_samples: [{ labels: '{}', value: 1 }],
          })),
        },
      ],
    };
    writeFileSync(file, YAML.stringify(doc));
    expectSuccess(promtool('test', 'rules', file));
  });
});
