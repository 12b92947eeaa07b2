/**
 * Renders a fleet run (bench/fleet/orchestrate.ts `FleetRun`): derived figures per phase (per
 * agent at a 30 s interval, the goals), the console table and docs/benchmarks-fleet.md, with an
 * optional earlier run ("before") side by side.
 */
import { table } from '../stats.js';
import { histPercentile, isLeaseKind } from './histogram.js';
import type { FleetRun, PhaseResult, StepResult } from './orchestrate.js';

/** The goals the figures are held against (steady state, per agent, at a 30 s interval). */
export const GOALS = { stmtPerAgentS: 1, writtenPerAgentS: 5, p99Ms: 50, eqHosts: 1000 };

/** One phase of one step, in the units the report uses. */
export interface Derived {
  hosts: number;
  /** Hosts at a 30 s interval that make the same pass rate (hosts x 30 s / interval). */
  eqHosts: number;
  phase: PhaseResult['phase'];
  intervalS: number;
  stmtPerS: number;
  writtenPerS: number;
  readPerS: number;
  leaseStmtPerS: number;
  /** Per agent, per second, at a 30 s interval (see {@link derive}). */
  agent: { stmtPerS: number; writtenPerS: number; readPerS: number };
  /** The load of the fleet this step stands for: per agent @30s x hosts @30s (lease traffic included at full size). */
  fleet: { stmtPerS: number; writtenPerS: number; readPerS: number };
  /** The step could not keep pace (its figures are not the service's steady cost). */
  saturated: boolean;
  serverP50Ms: number;
  serverP99Ms: number;
  clientP50Ms: number;
  clientP99Ms: number;
  mariadbCpuPct: number;
  nodeCpuPct: number;
  otherCpuPct: number;
  /** Lease transitions + holder changes (leases table) + step-downs (agents' logs). */
  flaps: number;
  flapDetail: string;
  /** Failed passes + logged errors + failed statements. */
  errors: number;
  errorDetail: string;
  warnings: number;
  passMeanMs: number;
  passP99Ms: number;
  passes: number;
  fsyncPerS: number;
  connections: number;
  /** InnoDB row lock waits and deadlocks in the window (undefined: not recorded by an older run). */
  lockWaits?: number;
  deadlocks?: number;
}

/**
 * Per agent at a 30 s interval: the work that comes with passes (everything but the lease
 * statements, events included) is taken per pass (its total over the window / the passes the
 * agents finished in it) and the lease renewals, which follow the wall clock whatever the
 * interval, per 30 s; the sum over 30 s. With `--interval 30s` this is the measured rate per
 * agent. A run with a compressed interval under-counts work that the service does on wall-clock
 * time inside its passes (e.g. refreshing rows older than a maximum age): check the goals on a
 * 30 s run.
 */
export function derive(step: StepResult, p: PhaseResult): Derived {
  const s = p.server;
  const sec = s.seconds;
  const H = step.hosts;
  const I = step.intervalMs / 1000;
  const stmtPerS = s.statements / sec;
  const writtenPerS = (s.rows.inserted + s.rows.updated + s.rows.deleted) / sec;
  const readPerS = s.rows.read / sec;
  let leaseN = 0;
  let leaseAffected = 0;
  let stmtErrors = 0;
  for (const [k, v] of Object.entries(p.agents.kinds)) {
    stmtErrors += v.errors;
    if (!isLeaseKind(k)) continue;
    leaseN += v.n;
    leaseAffected += v.affected;
  }
  const leaseStmtPerS = leaseN / sec;
  const leaseWrittenPerS = leaseAffected / sec;
  // A renewal reads its one row by primary key.
  const leaseReadPerS = leaseN / sec;
  const a = p.agents;
  const passes = a.passes.ok + a.passes.failed;
  const per30 = (total: number, lease: number) => ((Math.max(0, total - lease) * sec) / passes + (lease / H) * 30) / 30;
  const flaps = s.leases.transitions + s.leases.holderChanges + a.stepDowns;
  const failedPasses = Math.max(a.tickErrors, a.passes.failed);
  const errors = failedPasses + a.errors + stmtErrors;
  const agent = { stmtPerS: per30(stmtPerS, leaseStmtPerS), writtenPerS: per30(writtenPerS, leaseWrittenPerS), readPerS: per30(readPerS, leaseReadPerS) };
  const eqHosts = Math.round((H * 30) / I);
  return {
    hosts: H,
    eqHosts,
    phase: p.phase,
    intervalS: I,
    stmtPerS,
    writtenPerS,
    readPerS,
    leaseStmtPerS,
    agent,
    fleet: { stmtPerS: agent.stmtPerS * eqHosts, writtenPerS: agent.writtenPerS * eqHosts, readPerS: agent.readPerS * eqHosts },
    saturated: step.saturated.length > 0,
    serverP50Ms: s.latency.p50Ms,
    serverP99Ms: s.latency.p99Ms,
    clientP50Ms: histPercentile(a.all, 50),
    clientP99Ms: histPercentile(a.all, 99),
    mariadbCpuPct: s.mariadbCpuPct,
    nodeCpuPct: a.nodeCpuPct,
    otherCpuPct: p.otherCpuPct,
    flaps,
    flapDetail: `${s.leases.transitions} transitions, ${s.leases.holderChanges} holder changes, ${a.stepDowns} step-downs`,
    errors,
    errorDetail: `${failedPasses} failed passes, ${a.errors} logged errors, ${stmtErrors} failed statements`,
    warnings: a.warnings,
    passMeanMs: a.passes.duration.n ? a.passes.duration.sumMs / a.passes.duration.n : NaN,
    passP99Ms: histPercentile(a.passes.duration, 99),
    passes: a.passes.ok + a.passes.failed,
    fsyncPerS: s.fsyncs / sec,
    connections: s.threadsConnected,
    lockWaits: s.locks?.waits,
    deadlocks: s.locks?.deadlocks,
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/** Three significant figures, thousands separated; n/m for a missing figure. */
export function num(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return x === Infinity ? '∞' : 'n/m';
  const a = Math.abs(x);
  if (a === 0) return '0';
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

function ms(x: number): string {
  if (!Number.isFinite(x)) return x === Infinity ? '> max' : 'n/m';
  return x >= 100 ? `${x.toFixed(0)} ms` : x >= 1 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`;
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(0)}%` : 'n/m';
}

export function derivedRows(run: FleetRun): Derived[] {
  return run.steps.flatMap((s) => s.phases.map((p) => derive(s, p)));
}

/** The per-step table: server figures, per agent at 30 s, latency, CPU, flaps, errors. */
export function stepTable(run: FleetRun, phases: ReadonlyArray<PhaseResult['phase']> = ['steady', 'churn']): string {
  const rows = derivedRows(run)
    .filter((d) => phases.includes(d.phase))
    .map((d) => [
      String(d.hosts),
      num(d.eqHosts),
      d.phase,
      num(d.stmtPerS),
      num(d.leaseStmtPerS),
      num(d.writtenPerS),
      num(d.readPerS),
      num(d.agent.stmtPerS),
      num(d.agent.writtenPerS),
      num(d.agent.readPerS),
      `${ms(d.serverP50Ms)} / ${ms(d.serverP99Ms)}`,
      `${ms(d.clientP50Ms)} / ${ms(d.clientP99Ms)}`,
      pct(d.mariadbCpuPct),
      `${pct(d.nodeCpuPct)} / ${pct(d.otherCpuPct)}`,
      ms(d.passMeanMs),
      d.lockWaits === undefined ? 'n/m' : `${d.lockWaits} / ${d.deadlocks}`,
      String(d.flaps),
      `${d.errors} (${d.warnings} warn)`,
    ]);
  return table(
    [
      'hosts',
      '= hosts @30s',
      'phase',
      'stmts/s',
      'of which lease',
      'rows written/s',
      'rows read/s',
      'agent stmts/s @30s',
      'agent rows written/s @30s',
      'agent rows read/s @30s',
      'server p50 / p99',
      'client p50 / p99',
      'mariadbd CPU',
      'agents / other CPU',
      'mean pass',
      'row lock waits / deadlocks',
      'lease flaps',
      'errors',
    ],
    rows,
  );
}

/** Statement kinds of one phase of one step, per agent per 30 s at a 30 s interval: per pass, lease statements per 30 s. */
export function kindsTable(step: StepResult, phase: PhaseResult['phase']): string {
  const p = step.phases.find((x) => x.phase === phase);
  if (!p) return '';
  const H = step.hosts;
  const sec = p.server.seconds;
  const passes = p.agents.passes.ok + p.agents.passes.failed;
  const per30 = (kind: string, x: number) => (isLeaseKind(kind) ? (x / H / sec) * 30 : x / passes);
  const rows = Object.entries(p.agents.kinds)
    .sort((a, b) => per30(b[0], b[1].n) - per30(a[0], a[1].n))
    .map(([k, v]) => [k, num(per30(k, v.n)), num(per30(k, v.rowsReturned)), num(per30(k, v.affected)), `${ms(histPercentile(v.hist, 50))} / ${ms(histPercentile(v.hist, 99))}`, String(v.errors)]);
  return table(['statement', 'per agent per 30 s (per pass; lease: per 30 s)', 'rows returned', 'rows affected', 'client p50 / p99', 'errors'], rows);
}

export interface GoalRow {
  goal: string;
  value: string;
  /** The figure alone, and where it was measured. */
  short: string;
  at: string;
  met: boolean | undefined;
}

/**
 * The goals against one run: the steady per-agent figures of the largest step that kept pace,
 * and latency / flaps / errors at the smallest step standing for >= 1,000 hosts at 30 s.
 */
export function goals(run: FleetRun): GoalRow[] {
  const all = derivedRows(run);
  const kept = run.steps.filter((s) => s.saturated.length === 0).map((s) => s.hosts);
  const steady = all.filter((d) => d.phase === 'steady');
  // A step that fell behind has no steady cost to speak of (few passes, boot work in the window).
  const ref = steady.filter((d) => kept.includes(d.hosts)).at(-1);
  const big = all.filter((d) => d.phase !== 'cold' && d.eqHosts >= GOALS.eqHosts);
  const bigHosts = big.length ? Math.min(...big.map((d) => d.hosts)) : undefined;
  const at = big.filter((d) => d.hosts === bigHosts);
  const worst = (f: (d: Derived) => number) => (at.length ? Math.max(...at.map(f)) : NaN);
  const where = ref ? ` (${ref.hosts} hosts, steady, ${run.options.containers} containers each)` : '';
  const bigWhere = bigHosts !== undefined ? ` (${bigHosts} agents = ${num(at[0]!.eqHosts)} hosts @30s, steady + churn)` : ' (no step reached 1,000 hosts @30s)';
  const p99 = worst((d) => d.serverP99Ms);
  const flaps = worst((d) => d.flaps);
  const errors = worst((d) => d.errors);
  const row = (goal: string, short: string, at: string, met: boolean | undefined): GoalRow => ({ goal, value: `${short}${at}`, short, at: at.trim().replace(/^\(|\)$/g, ''), met });
  const noRef = ' (no step kept pace)';
  return [
    row(`steady: <= ${GOALS.stmtPerAgentS} statement/s per agent @30s`, ref ? num(ref.agent.stmtPerS) : 'n/m', ref ? where : noRef, ref ? ref.agent.stmtPerS <= GOALS.stmtPerAgentS : undefined),
    row(`steady: <= ${GOALS.writtenPerAgentS} rows written/s per agent @30s`, ref ? num(ref.agent.writtenPerS) : 'n/m', ref ? where : noRef, ref ? ref.agent.writtenPerS <= GOALS.writtenPerAgentS : undefined),
    row(`1,000 hosts: p99 statement latency < ${GOALS.p99Ms} ms (server)`, at.length ? ms(p99) : 'n/m', bigWhere, at.length ? p99 < GOALS.p99Ms : undefined),
    row('1,000 hosts: zero lease flaps', at.length ? String(flaps) : 'n/m', bigWhere, at.length ? flaps === 0 : undefined),
    row('1,000 hosts: zero errors', at.length ? String(errors) : 'n/m', bigWhere, at.length ? errors === 0 : undefined),
  ];
}

function mark(met: boolean | undefined): string {
  return met === undefined ? '?' : met ? 'yes' : 'NO';
}

/** Goals side by side: the baseline (before) and this run (after). */
export function goalsTable(run: FleetRun, base?: { run: FleetRun; label: string }, label = 'this run'): string {
  const now = goals(run);
  const before = base ? goals(base.run) : undefined;
  const header = before ? ['goal', `${base!.label}`, 'met', label, 'met'] : ['goal', label, 'met'];
  const rows = now.map((g, i) => (before ? [g.goal, before[i]!.value, mark(before[i]!.met), g.value, mark(g.met)] : [g.goal, g.value, mark(g.met)]));
  return table(header, rows);
}

/** The goals against several runs, one row each (the report's first table). */
export function goalsOverview(runs: ReadonlyArray<{ run: FleetRun; label: string }>): string {
  const all = runs.map(({ run, label }) => ({ label, run, g: goals(run) }));
  // The 1,000-host columns only when some run reached 1,000 hosts at 30 s.
  const big = all.some((r) => r.g[2]!.met !== undefined);
  const cell = (x: GoalRow) => `${x.short} (${mark(x.met)})`;
  const rows = all.map(({ run, label, g }) => [label, `${run.options.intervalMs / 1000} s`, cell(g[0]!), cell(g[1]!), g[0]!.at, ...(big ? [cell(g[2]!), cell(g[3]!), cell(g[4]!)] : [])]);
  const header = [
    'run',
    'interval',
    `steady statements/s per agent @30s (<= ${GOALS.stmtPerAgentS})`,
    `steady rows written/s per agent @30s (<= ${GOALS.writtenPerAgentS})`,
    'measured at',
    ...(big ? [`1,000 hosts: p99 (< ${GOALS.p99Ms} ms)`, '1,000 hosts: lease flaps (0)', '1,000 hosts: errors (0)'] : []),
  ];
  const t = table(header, rows);
  return big ? t : `${t}\n\nNo run reached 1,000 hosts at 30 s, so the goals at 1,000 hosts (p99 < ${GOALS.p99Ms} ms, zero lease flaps, zero errors) are not measured here.`;
}

function runHeader(run: FleetRun, title: string): string {
  const m = run.machine;
  const o = run.options;
  const dirty = run.commit.dirtySrc.length ? ` plus uncommitted changes in ${run.commit.dirtySrc.join(', ')}` : '';
  const subject = run.commit.subject.length > 90 ? `${run.commit.subject.slice(0, 88)}...` : run.commit.subject;
  return [
    `### ${title}`,
    '',
    `- commit \`${run.commit.sha.slice(0, 12)}\` (${subject})${dirty}`,
    `- ${m.date?.slice(0, 16).replace('T', ' ')} UTC; ${m.cpu}, ${m.cores} cores, ${m.ram} RAM; ${m.os}; Node ${m.node}; MariaDB ${m.mariadb}; load average at the start ${m.loadavgAtStart}`,
    `- ${o.containers} containers per host, ${o.workloads === 'shared' ? 'every host running the same workloads' : 'every host its own workloads'}; RECONCILE_INTERVAL ${o.intervalMs / 1000} s (a ${num(30_000 / o.intervalMs)}x compression of 30 s); windows of ${o.windowMs / 1000} s; churn ${(o.churn * 100).toFixed(1)}% of each host's containers per interval; agents started within ${((o.startSpreadMs ?? o.intervalMs) / 1000).toFixed(0)} s (at most 0.5 s per host of a step); ${o.perProcess} agents per process; DB_POOL_SIZE ${o.poolSize}${Object.keys(o.env).length ? `; agent environment ${Object.entries(o.env).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}`,
    `- MariaDB: ${run.dbConfig}`,
    `- ${run.elapsedSeconds} s in all`,
  ].join('\n');
}

/** Rows read per agent per pass in the steady window (what one pass costs the database in reads). */
function readPerPass(s: StepResult): number {
  const p = s.phases.find((x) => x.phase === 'steady');
  if (!p) return NaN;
  let lease = 0;
  for (const [k, v] of Object.entries(p.agents.kinds)) if (isLeaseKind(k)) lease += v.n;
  return (p.server.rows.read - lease) / (p.agents.passes.ok + p.agents.passes.failed);
}

function saturationText(run: FleetRun): string {
  const lines = run.steps.map((s) => {
    const warm = Number.isFinite(s.warmupSeconds) ? `warm in ${s.warmupSeconds.toFixed(0)} s` : 'warm-up timed out';
    const what = s.saturated.length ? `saturated: ${s.saturated.join('; ')}` : 'kept pace';
    return `- ${s.hosts} hosts (${s.processes} processes; ${s.seeded.workloads.toLocaleString('en-US')} workloads in the table, ${num(readPerPass(s))} rows read per steady pass; ${warm}): ${what}`;
  });
  return lines.join('\n');
}

function coldTable(run: FleetRun): string {
  const rows = run.steps.map((s) => {
    const p = s.phases.find((x) => x.phase === 'cold')!;
    const d = derive(s, p);
    return [String(s.hosts), `${p.server.seconds.toFixed(0)} s`, num(d.stmtPerS), num(d.writtenPerS), num(d.readPerS), `${ms(d.serverP50Ms)} / ${ms(d.serverP99Ms)}`, pct(d.mariadbCpuPct), String(d.errors), String(d.warnings)];
  });
  return table(['hosts', 'start-up until warm', 'stmts/s', 'rows written/s', 'rows read/s', 'server p50 / p99', 'mariadbd CPU', 'errors', 'warnings'], rows);
}

/** The console summary. */
export function renderText(run: FleetRun, base?: { run: FleetRun; label: string }): string {
  const label = run.label ?? 'this run';
  return [
    `Goals (steady state per agent at a 30 s interval, ${run.options.containers} containers per host):`,
    goalsTable(run, base, label),
    '',
    `This run (${label}), commit ${run.commit.sha.slice(0, 12)}${run.commit.dirtySrc.length ? ' + uncommitted src changes' : ''}:`,
    stepTable(run),
    '',
    saturationText(run),
  ].join('\n');
}

/** Greedy word wrap (markdown bullets), continuation lines indented. */
function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      out.push(line);
      line = indent + w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out;
}

/** A further saved run shown in full below the main one (e.g. a 30 s reference run). */
function extraSection(x: { run: FleetRun; label: string }): string[] {
  const big = [...x.run.steps].reverse().find((s) => s.saturated.length === 0) ?? x.run.steps.at(-1);
  const out = [`## ${x.label}`, '', runHeader(x.run, 'Machine and settings'), '', stepTable(x.run), '', saturationText(x.run), ''];
  if (big) out.push(`Statements by kind, ${big.hosts} hosts, steady:`, '', kindsTable(big, 'steady'), '', `${big.hosts} hosts, churn:`, '', kindsTable(big, 'churn'), '');
  out.push('Start-up:', '', coldTable(x.run), '');
  return out;
}

/** docs/benchmarks-fleet.md */
export function renderDoc(run: FleetRun, svgRel: string | undefined, base?: { run: FleetRun; label: string }, extras: Array<{ run: FleetRun; label: string }> = [], notes?: string): string {
  const label = run.label ?? 'this run';
  const biggest = [...run.steps].reverse().find((s) => s.saturated.length === 0) ?? run.steps.at(-1);
  const baseBiggest = base ? ([...base.run.steps].reverse().find((s) => s.saturated.length === 0) ?? base.run.steps.at(-1)) : undefined;
  const sections = [
    '# Fleet benchmark: many agents, one MariaDB',
    '',
    'One agent per Docker host, every agent writing to one shared database: what does the database',
    'pay per host, and where does it stop keeping up? `make bench-fleet` starts a throwaway MariaDB,',
    'then for each number of hosts a fleet of real agents (`src/main.ts` `App`, leader election on,',
    'one `HOST_NAME` and one Engine API simulator each) and measures the database while nothing',
    'changes (steady) and while a share of the containers changes every interval (churn).',
    '',
    '```sh',
    '# hosts 10,50,100,200, 1,000 containers each, 3 s interval; stops after the first step that falls behind',
    'make bench-fleet',
    '# a sweep beside the saved one (this page), and per-agent figures at the real interval',
    "make bench-fleet ARGS='--hosts 10,20,40 --window 30s --label after --baseline-from docs/bench-fleet-before.json'",
    "make bench-fleet ARGS='--hosts 50 --interval 30s --window 90s --label after-30s --no-write'",
    '# a smoke run, under 3 minutes',
    "make bench-fleet ARGS='--quick --no-write'",
    '```',
    '',
    'Every run keeps its raw figures in `.tmp/bench-fleet/last-run.json` (and `docs/bench-fleet-<label>.json`',
    'with `--label`); `--render-from FILE` re-renders this page from one, `--baseline-from FILE` puts an',
    'earlier run beside it, `--extra-from FILE` (repeatable) adds further runs below.',
    '',
    '## Goals',
    '',
    goalsOverview([...(base ? [base] : []), { run, label }, ...extras]),
    '',
    'The per-agent figures come from the largest step of a run that kept pace. They are per agent at a',
    '30 s interval: work that comes with passes is taken per pass, lease renewals (wall-clock work) per',
    '30 s (see "Compression" below); runs at a compressed interval under-count work the service does on',
    'wall-clock time inside its passes, so the goals are best read on the runs at 30 s.',
    '',
  ];
  if (svgRel) sections.push(`![database load against the number of hosts](${svgRel})`, '');
  if (notes) sections.push('## Findings', '', notes.trim(), '');
  sections.push(
    `## ${label}`,
    '',
    runHeader(run, 'Machine and settings'),
    '',
    stepTable(run),
    '',
    saturationText(run),
    '',
  );
  if (biggest) sections.push(`Statements by kind, ${biggest.hosts} hosts, steady:`, '', kindsTable(biggest, 'steady'), '', `${biggest.hosts} hosts, churn:`, '', kindsTable(biggest, 'churn'), '');
  sections.push('Start-up (every agent booting and running its cold passes, started within the start spread):', '', coldTable(run), '');
  if (base) {
    sections.push(`## ${base.label}`, '', runHeader(base.run, 'Machine and settings'), '', stepTable(base.run), '', saturationText(base.run), '');
    if (baseBiggest) sections.push(`Statements by kind, ${baseBiggest.hosts} hosts, steady:`, '', kindsTable(baseBiggest, 'steady'), '');
    sections.push('Start-up:', '', coldTable(base.run), '');
  }
  for (const x of extras) sections.push(...extraSection(x));
  sections.push(
    '## Method',
    '',
    '- **Agents.** Each agent is the real `App` with `LEADER_ELECTION=true` (one agent per host, as the',
    '  DaemonSet runs it), its own `HOST_NAME` (`host-0001`, ...), a small pool (`DB_POOL_SIZE`) and its',
    '  own Engine API simulator (spec/support/docker-sim) holding only its host\'s containers',
    '  (bench/fleet.ts, every host a disjoint range of workloads, so the desired-state tables grow with',
    '  the fleet as they would; `--workloads shared` gives every host the same ones). Agents run 20 to',
    '  a child process (bench/fleet/agent-child.ts) and start at random moments within the start',
    '  spread (`--start-spread`, default the interval but at least 0.5 s per host).',
    '- **Compression.** A 3 s interval with N agents makes the pass rate of 10 N hosts at 30 s (column',
    '  "= hosts @30s"). Lease renewals follow the wall clock (`RETRY_PERIOD`), so they are *not*',
    '  compressed: a step stands for 10 N hosts in passes but N hosts in lease traffic, and the lease',
    '  statements are shown apart ("of which lease"). Per agent @30s = (statements other than lease',
    '  statements, events included, per pass: their count / the passes finished in the window) +',
    '  (lease statements per agent per 30 s), over 30 s; rows alike',
    '  (a renewal writes one row and reads one by primary key). Work the service does on wall-clock',
    '  time *inside* its passes (a maximum-age refresh, say) is under-counted by the compression',
    '  factor, so the per-agent goals are best checked on a run with `--interval 30s`.',
    '- **Phases.** Cold: from starting the agents until every one leads and finished two passes.',
    '  Steady: nothing changes, one window. Churn: every interval each simulator changes the given',
    '  share of its containers (80% state flips, 20% removed and replaced by a new container), with',
    '  the events a daemon emits; measured after one interval of ramp.',
    '- **Database figures** are MariaDB\'s global status deltas over the window: statements =',
    '  `Questions` minus the harness\'s own; rows read = `Rows_read` (row reads by the storage',
    '  engines, temporary tables excluded), rows written = `Handler_write + Handler_update +',
    '  Handler_delete` (MariaDB 10.11 has no `Innodb_rows_*`); mariadbd CPU = utime + stime from',
    '  /proc/<pid>/stat, % of one core.',
    ...wrap(`- **Latency.** ${run.latencyMethod}.`, 98, '  '),
    '- **Lease flaps** = `leases.transitions` delta + leases whose holder changed + agents that',
    '  stepped down (their log line `stopped leading`, other than on release). **Errors** = failed',
    '  passes (`ticks_total{result="error"}`) + logged errors + statements that failed.',
    '- **Saturation.** A step is saturated when passes take more than half the interval on average, an',
    '  agent finished no pass in a window, fewer than 80% of the expected passes ran, a pass failed or',
    '  a lease stepped down; the sweep stops after such a step unless `--no-stop-when-saturated`.',
    '- **The machine is shared.** The agents, the simulators, the harness and mariadbd share its',
    '  cores, and other work ran on it at the same time: "other CPU" is the machine\'s busy time minus',
    '  mariadbd, the agents and the harness. Agent CPU is what the Node side cost (listing 1,000',
    '  containers per pass from the simulator and deciding them), not the database.',
    '',
  );
  return sections.join('\n');
}
