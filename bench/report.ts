/**
 * The report of a benchmark run: tables for the console and docs/benchmarks.md, the goals met or
 * missed, and the notes that explain a missed goal, all from the raw figures of
 * bench/orchestrate.ts (so a saved run can be re-rendered with `--render-from`; figures an older
 * run did not record show as n/m).
 */
import path from 'node:path';
import type { PassReport } from '../src/domain/pass.js';
import type { BenchOptions } from './args.js';
import { repoRoot } from './env.js';
import { cpuSecondsPerHour, daemonListSecondsPerHour, HOUR_MS, INTERVAL_MS, relistSchedule, RELIST_MS, servicePassesPerHour, tickerTicksPerHour } from './hourly.js';
import type { Dist, BurstResult, RealEngineResult } from './latency.js';
import type { RawRun, SizeResult } from './orchestrate.js';
import { chartNodeFlags, memoryLimitFor } from './sizing.js';
import { fmtInt, fmtMb, fmtMs, fmtMsWhole, mean, median, table } from './stats.js';

const PHASES = ['list', 'desired', 'snapshot', 'prefetch', 'reconcile', 'sweep', 'touch'];
const MB = 1024 * 1024;

/** A figure from JSON: null (NaN once saved) and absent fields are NaN. */
const num = (x: unknown): number => (typeof x === 'number' ? x : NaN);

function medianPhases(reports: PassReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ph of PHASES) out[ph] = median(reports.map((r) => r.phases?.[ph] ?? NaN).filter((x) => !Number.isNaN(x)));
  return out;
}

/** One of the issue's goals: what it is, what the run measured, met or missed (or not measured in this run). */
/** How the service's V8 heap was limited (bench/sizing.ts): as the chart would, or not at all. */
function heapText(opts: { heapLimit?: boolean; sizes: number[]; serviceNodeOptions?: string[] }): string {
  const tick = '`';
  if (opts.heapLimit === false) return `V8's own heap sizing (${tick}--no-heap-limit${tick}).`;
  const flags = opts.sizes.map((n) => `${fmtInt(n)}: ${memoryLimitFor(n)}Mi -> ${tick}${chartNodeFlags(n).join(' ')}${tick}`).join('; ');
  return `V8 flags as the chart's defaults set them (${tick}heapPercent${tick} 60% of the memory limit its values table recommends for N, ${tick}semiSpaceMiB${tick} 4; bench/sizing.ts): ${flags}.`;
}

export interface Goal {
  what: string;
  measured: string;
  target: string;
  status: 'met' | 'MISSED' | 'not measured';
}

const goal = (what: string, target: string, measured: number | undefined, met: (v: number) => boolean, show: (v: number) => string): Goal =>
  measured === undefined || Number.isNaN(measured)
    ? { what, measured: 'n/m', target, status: 'not measured' }
    : { what, measured: show(measured), target, status: met(measured) ? 'met' : 'MISSED' };

const sizeOf = (results: readonly SizeResult[], n: number) => results.find((r) => r.n === n);
const steadyMs = (r: SizeResult) => median(r.service.steady.map((p) => p.durationMs));

/** The issue's goals, in its order, each measured, met or missed, or not measured by this run. */
export function goals(results: readonly SizeResult[], burst: BurstResult | undefined): Goal[] {
  const r100k = sizeOf(results, 100_000);
  const r10k = sizeOf(results, 10_000);
  const out: Goal[] = [];
  out.push(goal("N=100,000: steady pass excluding the daemon's answer", '< 1 s', r100k ? steadyMs(r100k) - num(r100k.daemonListMs) : undefined, (v) => v < 1000, fmtMs));
  out.push(goal('N=100,000: peak RSS (VmHWM) of the service, whole run', '< 400 MB', r100k ? num(r100k.service.peakRssKb) * 1024 : undefined, (v) => v < 400 * MB, fmtMb));
  out.push(goal('N=10,000: peak RSS (VmHWM) of the service, whole run', '< 150 MB', r10k ? num(r10k.service.peakRssKb) * 1024 : undefined, (v) => v < 150 * MB, fmtMb));
  const cold = goal(
    'N=10,000: cold pass against one bulk upsert of 10,000 rows (same run)',
    r10k ? `<= 2x bulk (2 x ${fmtMs(r10k.bulk.ms)} = ${fmtMs(2 * r10k.bulk.ms)})` : '<= 2x bulk',
    r10k ? r10k.service.cold.durationMs : undefined,
    (v) => v <= 2 * r10k!.bulk.ms,
    (v) => `${fmtMs(v)} (${(v / r10k!.bulk.ms).toFixed(1)}x bulk)`,
  );
  out.push(cold);
  const at200 = burst && burst.perSecond === 200 ? burst : undefined;
  const b = goal('burst 200/s: event received -> row committed, p99', '< 20 ms', at200?.recvToCommit.p99, (v) => v < 20, fmtMs);
  if (burst && !at200) b.measured = `n/m (the burst ran at ${burst.perSecond}/s)`;
  out.push(b);
  return out;
}

export function passTables(results: SizeResult[]): { main: string; phases: string; baseline: string } {
  const rows: string[][] = [];
  for (const r of results) {
    const b = r.baseline;
    const s = r.service;
    const N = fmtInt(r.n);
    const bSteady = b && b.steady.length ? median(b.steady.map((t) => t.ms)) : NaN;
    const sSteady = steadyMs(r);
    const sList = median(s.steady.map((p) => p.phases?.list ?? NaN));
    const bStmts = b && b.steadyStatements.length ? median(b.steadyStatements) : NaN;
    const sStmts = median(s.steadyStatements);
    const ratio = bSteady / sSteady;
    const exclDaemon = sSteady - num(r.daemonListMs);
    const c = r.cacheOnly;

    const g10k = r.n === 10_000;
    const g100k = r.n === 100_000;
    const mark = (on: boolean, text: string, met: boolean) => (on ? [text, met ? 'yes' : 'NO'] : ['', '']);
    rows.push([N, 'cold first pass (empty table)', fmtMs(b?.cold.ms), fmtMs(s.cold.durationMs), b ? `${(b.cold.ms / s.cold.durationMs).toFixed(1)}x` : '', ...mark(g10k, `<= 2x bulk (${fmtMs(2 * r.bulk.ms)})`, s.cold.durationMs <= 2 * r.bulk.ms)]);
    rows.push([N, 'cold pass excl. list phase', fmtMs(b ? b.cold.ms - b.cold.listMs : NaN), fmtMs(s.cold.durationMs - (s.cold.phases?.list ?? 0)), '', '', '']);
    rows.push([N, 'one bulk upsert of N rows (reference)', '', fmtMs(r.bulk.ms) + (r.bulk.statements > 1 ? ` (${r.bulk.statements} stmts)` : ''), '', '', '']);
    rows.push([N, `steady pass, median (${b?.steady.length ?? 0} / ${s.steady.length} passes; service: a list every pass)`, fmtMs(bSteady), fmtMs(sSteady), Number.isNaN(ratio) ? '' : `${ratio.toFixed(0)}x`, '', '']);
    rows.push([N, 'steady pass excl. the daemon answering the list', fmtMs(b ? bSteady - num(r.daemonListMs) : NaN), fmtMs(exclDaemon), '', ...mark(g100k, '< 1 s', exclDaemon < 1000)]);
    rows.push([N, 'steady pass excl. the whole list phase', fmtMs(b ? bSteady - median(b.steady.map((t) => t.listMs)) : NaN), fmtMs(sSteady - sList), '', '', '']);
    const cSteady = c ? median(c.steady.map((p) => p.durationMs)) : NaN;
    rows.push([N, `steady pass from the cache, median (${c ? `${c.steady.length} passes, RELIST_INTERVAL=${c.relistInterval}` : 'not measured'}; no list)`, '', fmtMs(cSteady), b && c ? `${(bSteady / cSteady).toFixed(0)}x` : '', '', '']);
    rows.push([N, 'daemon list time (raw HTTP) / list phase', fmtMs(b ? median(b.steady.map((t) => t.listMs)) : NaN) + ' phase', `${fmtMs(r.daemonListMs)} raw / ${fmtMs(sList)} phase`, '', '', '']);
    rows.push([N, 'statements per steady pass (service: with a list / from the cache)', fmtInt(bStmts), `${fmtInt(sStmts)} / ${c ? fmtInt(median(c.steadyStatements)) : 'n/m'}`, '', '', '']);
    const bChurn = b && b.churn.length ? median(b.churn.map((t) => t.ms)) : NaN;
    const sChurn = median(s.churn.map((p) => p.durationMs));
    rows.push([N, `pass after 1% churn, median (${b?.churn.length ?? 0} / ${s.churn.length})`, fmtMs(bChurn), fmtMs(sChurn), Number.isNaN(bChurn) ? '' : `${(bChurn / sChurn).toFixed(0)}x`, '', '']);
    rows.push([N, 'statements per churn pass (service: + event-driven writes)', fmtInt(b && b.churnStatements.length ? median(b.churnStatements) : NaN), fmtInt(median(s.churnStatements)), '', '', '']);
    const peak = num(s.peakRssKb) * 1024;
    const rssGoal = g10k ? 150 : g100k ? 400 : 0;
    rows.push([N, 'peak RSS (VmHWM) of the process, whole run (baseline: a Node process)', fmtMb(num(b?.peakRssKb) * 1024), fmtMb(peak), '', ...mark(rssGoal > 0, `< ${rssGoal} MB`, peak < rssGoal * MB)]);
    rows.push([N, 'peak RSS over boot + cold pass / over the steady passes', '', `${fmtMb(num(s.coldPeakRssKb) * 1024)} / ${fmtMb(num(s.steadyOnlyPeakRssKb) * 1024)}`, '', '', '']);
    rows.push([N, 'peak RSS of the service with RELIST_INTERVAL (own process, whole run)', '', fmtMb(num(c?.peakRssKb) * 1024), '', '', '']);
    rows.push([N, 'live heap after a full GC (kept between passes)', fmtMb(num(b?.heapAfterGc)), fmtMb(num(s.heapAfterGc)), '', '', '']);
  }
  const main = table(['N', 'measure', 'baseline (Go port)', 'service', 'ratio', 'goal', 'met?'], rows);

  const phRows: string[][] = [];
  for (const r of results) {
    const cold = r.service.cold.phases ?? {};
    const st = medianPhases(r.service.steady);
    const ch = medianPhases(r.service.churn);
    phRows.push([fmtInt(r.n), 'cold', ...PHASES.map((p) => fmtMsWhole(cold[p])), fmtMsWhole(r.service.cold.durationMs)]);
    phRows.push([fmtInt(r.n), 'steady (median)', ...PHASES.map((p) => fmtMsWhole(st[p])), fmtMsWhole(steadyMs(r))]);
    if (r.cacheOnly) phRows.push([fmtInt(r.n), 'from the cache (median)', ...PHASES.map((p) => fmtMsWhole(medianPhases(r.cacheOnly!.steady)[p])), fmtMsWhole(median(r.cacheOnly.steady.map((x) => x.durationMs)))]);
    if (r.service.churn.length) phRows.push([fmtInt(r.n), '1% churn (median)', ...PHASES.map((p) => fmtMsWhole(ch[p])), fmtMsWhole(median(r.service.churn.map((x) => x.durationMs)))]);
  }
  const phases = table(['N', 'pass', ...PHASES, 'total'], phRows);

  const bRows: string[][] = [];
  for (const r of results) {
    if (!r.baseline) continue;
    const kinds = Object.entries(r.baseline.perTick).sort((a, b) => b[1].ms - a[1].ms);
    for (const [k, v] of kinds) bRows.push([fmtInt(r.n), k, fmtInt(v.n), fmtMs(v.ms), fmtMs(v.ms / Math.max(1, v.n))]);
    const t = r.baseline.steady;
    if (t.length) bRows.push([fmtInt(r.n), '(docker list)', '1', fmtMs(median(t.map((x) => x.listMs))), '']);
  }
  const baseline = table(['N', 'baseline statement', 'per tick', 'ms per tick', 'ms each'], bRows);
  return { main, phases, baseline };
}

/** One line of the per-hour table: a setting at one N, per hour of steady state at RECONCILE_INTERVAL=30s. */
export interface HourRow {
  n: number;
  setting: string;
  /** Wall time of one pass (mean; a tick for the baseline; with RELIST_INTERVAL a pass from the cache). */
  passMs: number;
  /** With RELIST_INTERVAL: wall time and CPU of a pass that lists (the default setting's). */
  listPass?: { ms: number; cpuMs: number };
  passesPerHour: number;
  /** Of which list the daemon. */
  listsPerHour: number;
  listRequestsPerHour: number;
  cpuPerPassMs: number;
  idleCpuMsPerS: number;
  serviceCpuSPerHour: number;
  /** The daemon's answer time per list request (each alone, to the last byte). */
  answerMsPerRequest: number;
  daemonListCpuSPerHour: number;
  /** The simulator's own CPU over the measured passes, per hour. */
  simCpuSPerHour: number;
}

/**
 * Per hour of steady state at RECONCILE_INTERVAL=30s, for each N: the baseline (a 30 s ticker),
 * the service with a list every pass, and the service with RELIST_INTERVAL=5m (bench/hourly.ts).
 */
export function hourRows(results: readonly SizeResult[]): HourRow[] {
  const out: HourRow[] = [];
  for (const r of results) {
    const lc = r.listCost;
    const b = r.baseline;
    if (b?.segment && b.idle && b.steady.length) {
      const seg = b.segment;
      const tick = mean(b.steady.map((t) => t.ms));
      const ticks = tickerTicksPerHour(tick);
      const reqPerTick = seg.listRequests / seg.passes;
      const answer = num(lc?.managed.ms);
      out.push({
        n: r.n,
        setting: 'Go original (port): a tick every 30 s',
        passMs: tick,
        passesPerHour: ticks,
        listsPerHour: ticks,
        listRequestsPerHour: ticks * reqPerTick,
        cpuPerPassMs: seg.cpuPerPassMs,
        idleCpuMsPerS: b.idle.cpuMsPerS,
        serviceCpuSPerHour: cpuSecondsPerHour([{ count: ticks, passMs: tick, cpuMs: seg.cpuPerPassMs }], b.idle.cpuMsPerS),
        answerMsPerRequest: answer,
        daemonListCpuSPerHour: daemonListSecondsPerHour(ticks * reqPerTick, answer),
        simCpuSPerHour: (ticks * seg.simCpuMs) / seg.passes / 1000,
      });
    }
    const s = r.service;
    if (!s.segment || !s.idle) continue;
    const seg = s.segment;
    const pass = mean([...(s.paced ? [s.paced] : []), ...s.steady].map((p) => p.durationMs));
    const passes = servicePassesPerHour(pass);
    const reqPerList = seg.listRequests / seg.passes;
    const answer = lc ? (lc.managed.ms + lc.compose.ms) / 2 : NaN;
    const simPerPass = seg.simCpuMs / seg.passes;
    out.push({
      n: r.n,
      setting: 'service, RELIST_INTERVAL=0 (default): a list every pass',
      passMs: pass,
      passesPerHour: passes,
      listsPerHour: passes,
      listRequestsPerHour: passes * reqPerList,
      cpuPerPassMs: seg.cpuPerPassMs,
      idleCpuMsPerS: s.idle.cpuMsPerS,
      serviceCpuSPerHour: cpuSecondsPerHour([{ count: passes, passMs: pass, cpuMs: seg.cpuPerPassMs }], s.idle.cpuMsPerS),
      answerMsPerRequest: answer,
      daemonListCpuSPerHour: daemonListSecondsPerHour(passes * reqPerList, answer),
      simCpuSPerHour: (passes * simPerPass) / 1000,
    });
    const c = r.cacheOnly;
    if (!c) continue;
    const cPass = mean([c.paced, ...c.steady].map((p) => p.durationMs));
    const sched = relistSchedule({ listPassMs: pass, cachePassMs: cPass });
    const cSimPerPass = c.segment.simCpuMs / c.segment.passes;
    out.push({
      n: r.n,
      setting: `service, RELIST_INTERVAL=${RELIST_MS / 60_000}m: ${sched.lists} lists an hour, passes from the cache between`,
      passMs: cPass,
      listPass: { ms: pass, cpuMs: seg.cpuPerPassMs },
      passesPerHour: sched.lists + sched.cache,
      listsPerHour: sched.lists,
      listRequestsPerHour: sched.lists * reqPerList,
      cpuPerPassMs: c.segment.cpuPerPassMs,
      idleCpuMsPerS: c.idle.cpuMsPerS,
      serviceCpuSPerHour: cpuSecondsPerHour(
        [
          { count: sched.lists, passMs: pass, cpuMs: seg.cpuPerPassMs },
          { count: sched.cache, passMs: cPass, cpuMs: c.segment.cpuPerPassMs },
        ],
        c.idle.cpuMsPerS,
      ),
      answerMsPerRequest: answer,
      daemonListCpuSPerHour: daemonListSecondsPerHour(sched.lists * reqPerList, answer),
      simCpuSPerHour: (sched.lists * simPerPass + sched.cache * cSimPerPass) / 1000,
    });
  }
  return out;
}

/** CPU seconds an hour, with the share of one core. */
function fmtCpuHour(s: number): string {
  if (Number.isNaN(s)) return 'n/m';
  const v = s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2);
  return `${v} s (${((s / (HOUR_MS / 1000)) * 100).toFixed(2)}%)`;
}

export function hourTable(rows: readonly HourRow[]): string {
  return table(
    ['N', 'setting (RECONCILE_INTERVAL=30s)', 'pass (mean; from the cache / listing)', 'passes/h', 'list requests/h', 'CPU per pass (from the cache / listing)', 'idle CPU', 'service CPU per hour (% of a core)', 'daemon answer per request', "daemon's list CPU per hour (estimate)", 'simulator CPU per hour (measured)'],
    rows.map((h) => [
      fmtInt(h.n),
      h.setting,
      h.listPass ? `${fmtMs(h.passMs)} / ${fmtMs(h.listPass.ms)}` : fmtMs(h.passMs),
      h.listsPerHour === h.passesPerHour ? fmtInt(h.passesPerHour) : `${fmtInt(h.passesPerHour)} (${fmtInt(h.listsPerHour)} list)`,
      fmtInt(h.listRequestsPerHour),
      h.listPass ? `${fmtMs(h.cpuPerPassMs)} / ${fmtMs(h.listPass.cpuMs)}` : fmtMs(h.cpuPerPassMs),
      Number.isNaN(h.idleCpuMsPerS) ? 'n/m' : `${h.idleCpuMsPerS.toFixed(2)} ms/s`,
      fmtCpuHour(h.serviceCpuSPerHour),
      fmtMs(h.answerMsPerRequest),
      fmtCpuHour(h.daemonListCpuSPerHour),
      fmtCpuHour(h.simCpuSPerHour),
    ]),
  );
}

export function latencyTables(real: RealEngineResult | undefined, burst: BurstResult | undefined, burstN: number): { text: string } {
  const row = (what: string, d: Dist | undefined, g = '', met = ''): string[] => [what, d ? fmtInt(d.n) : 'n/m', fmtMs(d?.p50), fmtMs(d?.p95), fmtMs(d?.p99), fmtMs(d?.max), g, met];
  const rows: string[][] = [];
  // The Go original: a change is seen at the next tick: uniform over the 30 s interval.
  rows.push(['Go original (30 s tick): change -> row, any change', '-', '15 s', '28.5 s', '29.7 s', '30 s + tick', '', '']);
  if (real) {
    rows.push(row(`real engine: event emitted -> row committed (${real.ops} docker ops)`, real.emitToCommit));
    rows.push(row('real engine: event received -> row committed', real.recvToCommit));
    rows.push(row('real engine: destroy emitted -> row missing', real.destroyToMissing));
    rows.push(row('real engine: `docker rm -f` returned -> row missing', real.rmReturnToMissing));
    rows.push(row('real engine: `docker rm -f` invoked -> row missing', real.rmInvokeToMissing));
    rows.push(row('(real engine: docker CLI call itself)', real.cliMs));
  }
  if (burst) {
    const at200 = burst.perSecond === 200;
    const met = burst.recvToCommit.p99 < 20;
    rows.push(
      row(
        `simulator, ${burst.perSecond} changes/s (${fmtInt(burst.events)} events in ${burst.seconds.toFixed(1)} s, N=${fmtInt(burstN)}): received -> committed`,
        burst.recvToCommit,
        at200 ? 'p99 < 20 ms' : '',
        at200 ? (met ? 'yes' : 'NO') : '',
      ),
    );
    rows.push(row('simulator burst: event emitted -> row committed', burst.emitToCommit));
  }
  let text = table(['measure', 'n', 'p50', 'p95', 'p99', 'max', 'goal', 'met?'], rows);
  if (real) {
    text += '\n\nBy transition (real engine, event emitted -> committed):\n\n';
    text += table(
      ['transition', 'n', 'p50', 'p95', 'p99'],
      Object.entries(real.byTransition).map(([k, d]) => [k, fmtInt(d.n), fmtMs(d.p50), fmtMs(d.p95), fmtMs(d.p99)]),
    );
  }
  return { text };
}

const goalsTable = (gs: readonly Goal[]) => table(['goal', 'measured', 'target', 'met?'], gs.map((g) => [g.what, g.measured, g.target, g.status === 'met' ? 'met' : g.status === 'MISSED' ? '**MISSED**' : 'not measured']));

/** The report of a run: the console text and the markdown of docs/benchmarks.md (`plotHref`: the plot, relative to the document). */
export function renderReport(run: RawRun, o: { plotHref?: string } = {}): { text: string; doc: string } {
  const { machine: m, load0, results, real, options: opts } = run;
  const pt = passTables(results);
  const burst = results.find((r) => r.burst)?.burst;
  const lt = latencyTables(real, burst, opts.burstSize);
  const gs = goals(results, burst);
  const hours = hourTable(hourRows(results));

  const out: string[] = [];
  out.push(`Machine: ${m.cpu}, ${m.ram} RAM, ${m.os}, Node ${m.node}, MariaDB ${m.mariadb} (${run.dbConfig})`);
  out.push(`Date: ${m.date}; load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${m.loadavg}; run took ${run.elapsedSeconds} s${opts.quick ? ' (--quick)' : ''}`);
  out.push('');
  out.push('Resync passes (baseline = faithful port of the Go original, bench/baseline-go-port.ts):');
  out.push('');
  out.push(pt.main);
  out.push('');
  out.push('Steady state per hour at RECONCILE_INTERVAL=30s:');
  out.push('');
  out.push(hours);
  out.push('');
  out.push('Service pass phases (PassReport.phases):');
  out.push('');
  out.push(pt.phases);
  out.push('');
  out.push('Baseline statements per steady tick:');
  out.push('');
  out.push(pt.baseline);
  out.push('');
  out.push('Event -> row latency:');
  out.push('');
  out.push(lt.text);
  out.push('');
  out.push('Goals:');
  for (const g of gs) out.push(`  [${g.status === 'met' ? 'met' : g.status}] ${g.what}: ${g.measured} (goal ${g.target})`);
  return { text: out.join('\n'), doc: renderDoc(run, pt, lt, gs, hours, o.plotHref ?? 'img/bench-scale.svg') };
}

function renderDoc(run: RawRun, pt: ReturnType<typeof passTables>, lt: ReturnType<typeof latencyTables>, gs: Goal[], hours: string, plotHref: string): string {
  const { machine: m, dbConfig, load0, results, real, options: opts } = run;
  const big = results.find((r) => r.n === 100_000) ?? results.at(-1);
  const notes = docNotes(results, real, opts);
  const idleS = num(opts.idleSeconds);
  return `# Benchmarks

Generated by \`make bench\` (\`node --expose-gc dist/bench/run.js${opts.quick ? ' --quick' : ''}${opts.sizes.join(',') !== '1000,10000,100000' ? ` --sizes ${opts.sizes.join(',')}` : ''}\`); re-run it to refresh this file and its plot.
Raw figures of the last run: \`${rawPath(opts)}\` (\`--render-from\` re-renders both from them).

## Goals

${goalsTable(gs)}

## Scale

Steady pass and peak RSS against the number of containers, log-log, the Go original's port and the service
in the same run (figures in the tables below):

![Steady pass time and peak RSS against N, the Go original (port) and the service, log-log](${plotHref})

## Machine

| | |
| --- | --- |
| date | ${m.date} |
| CPU | ${m.cpu} |
| RAM | ${m.ram} |
| OS | ${m.os} |
| Node | ${m.node} |
| MariaDB | ${m.mariadb}, a dedicated throwaway server (spec/support/mariadb.ts) for the run: ${dbConfig} |
| load average | ${load0.map((x) => x.toFixed(2)).join(' ')} at start, ${m.loadavg} at end (the machine is shared: other jobs ran at the same time) |
| duration | ${run.elapsedSeconds} s |

## Set-up

- **Baseline**: \`bench/baseline-go-port.ts\`, a faithful port of the Go original's \`ReconcileOnce\`: list the managed containers
  (dockerode), then per container, sequentially, the Go original's dispatch with one \`SELECT\` by Docker ID (or \`GetWorkloadByRef\`,
  and \`GetAllStacks\` for legacy compose containers) and one single-row \`INSERT ... ON DUPLICATE KEY UPDATE\`; then
  \`ListContainers\` (every row) and one \`UPDATE\` per missing row. mysql2, pool of 4, text protocol. It runs in its own
  process (\`bench/baseline-child.ts\`), so its CPU time and peak RSS are its own: those of a Node process, not of the Go binary.
- **Service**: the real \`App\` (src/main.ts) in its own process (\`bench/service-child.ts\`, driven over IPC because the CLI
  cannot be told to run a pass now); passes are forced with \`runPassNow()\` (RECONCILE_INTERVAL=5m, so no timer pass interferes);
  its boot pass on an empty table is the cold pass. Default settings (4 workers, batches of 500, pool of 10, RELIST_INTERVAL=0: a
  list every pass), LEADER_ELECTION=false, workload-status service included (it records every row transition). Phase times come
  from \`Date.now()\` (whole milliseconds). ${heapText(opts)}
- **Service from the cache**: a second service process on the table the first one left, with RELIST_INTERVAL=1h (it must exceed the
  5m interval to take effect): its boot pass and the pass the event stream's opening triggers list; every measured pass after
  them decides from the cache the event stream keeps (the simulator's count of list requests checks it: see the per-hour table).
- **Simulator**: \`spec/support/docker-sim.ts\` in its own process (\`bench/sim-server.ts\`), so serving the list costs the service nothing.
- **Fleet** (\`bench/fleet.ts\`): every container owns exactly one row; 60% projects, 10% sites, 10% legacy static sites
  (\`tinyforge.static-site\` label), 20% compose stacks of 4 services (one stack in ten is a legacy compose-only stack dispatched
  through \`stacks.compose_project_name\`); about 80% running. \`workloads\`/\`stacks\` rows are inserted in bulk beforehand
  (plus 5% spare for containers created by churn).
- **Statements**: MariaDB's global \`Questions\` counter on the dedicated server, read before and after, minus the reading statement.
- **Churn**: \`churnOnce(0.01)\` on the simulator right before the pass: 1% of containers change (80% state flips, 20% removed and
  replaced), with their Docker events. The service reacts to those events while the pass runs; its statement count covers both.
- **Peak RSS**: the process's \`VmHWM\` (kernel peak resident set) over its whole life at that N: for the service boot, cold pass,
  steady and churn passes, the idle window, the list timings and, at 10,000, the event burst.
- **Live heap**: \`heapUsed\` after a full GC at the end (what the process keeps between passes).
- **CPU per hour of steady state**: the process's own CPU time (\`process.cpuUsage()\`, user + system) over an idle window of
  ${Number.isNaN(idleS) ? 'some' : idleS} s (the baseline's: at most 10 s) and then over its steady passes back to back, the first one right after the idle
  window (work a pass leaves behind counts; the idle rate over the gaps between passes is taken off). Per hour at
  RECONCILE_INTERVAL=30s (\`bench/hourly.ts\`): the service waits the interval after each pass (3600 s / (30 s + pass) passes),
  the Go original ticks every 30 s, back to back when a tick is longer (3600 s / max(30 s, tick)); CPU = passes x CPU per pass +
  the idle rate over the rest of the hour. With RELIST_INTERVAL=5m: 12 lists an hour (the loop wakes for them; each costs a
  listing pass as measured above) and passes from the cache in the rest of the hour.
- **Daemon's list CPU per hour**: an estimate, list requests an hour x the daemon's answer time per request, each request timed
  alone to the last byte. The simulator stands in for dockerd, which is not measured here. List requests per pass are counted by the
  simulator over the measured passes: the baseline sends one per tick (managed), the service two per list (managed + compose, in
  parallel), none in a pass from the cache. The simulator's own CPU over those passes is given beside it.
- **Daemon list time**: the two list requests the service sends, issued in parallel from the harness and read to the last byte
  without parsing. "Excl. the daemon" subtracts that from the pass; "excl. the whole list phase" subtracts the service's list phase
  (request + JSON parse + mapping).
- **Bulk upsert reference**: one multi-row \`INSERT ... ON DUPLICATE KEY UPDATE\` of the N rows into an empty table, same server,
  same run (statements of at most 10,000 rows, MariaDB's 16 MB packet limit).

## Running

\`make bench\` (about 10-15 minutes on this machine). Options of \`node --expose-gc dist/bench/run.js\`: \`--sizes 1000,10000,100000\`,
\`--quick\` (1,000 and 10,000, fewer passes, short event runs and idle windows), \`--no-events\`, \`--no-real-engine\`, \`--no-baseline\`,
\`--no-cache-only\` (no second service process with RELIST_INTERVAL), \`--idle-seconds S\` (the idle window, default 30),
\`--no-write\` (print only), \`--out FILE\` (the plot and the raw figures then go beside FILE, not to \`docs/img/\` and \`.tmp/bench/\`),
\`--profile\` (CPU profiles of the service's cold and steady passes in \`.tmp/bench/prof/\`; summarise with
\`node dist/bench/profile-top.js FILE\`), \`--fast-db\` (tmpfs datadir and innodb_flush_log_at_trx_commit=2 as in the tests),
\`--service-env K=V,...\`, \`--service-node-options '...'\`, \`--service-preload module.mjs\` (loaded into the service process first,
to try a change before it goes into src/), \`--cycles N\` (real-engine stop/start/rm/run cycles), \`--burst-seconds S\`, \`--burst-rate R\`,
\`--render-from FILE\` (re-render this file and the plot from saved figures).

## Resync passes

${pt.main}

## Steady state per hour

${hours}

### Service pass phases (\`PassReport.phases\`, ms)

${pt.phases}
${big ? `\nAt N=${fmtInt(big.n)} the steady pass is dominated by ${dominant(big)}.\n` : ''}
### Baseline: where a steady tick goes

${pt.baseline}

## Event -> row latency

${lt.text}

The Go original has no watch: a change shows at its next tick, uniformly 0-30 s later with the default interval
(mean 15 s), plus the tick's own duration (see the steady tick of the baseline above: seconds at 10,000 containers).

## Notes

${notes.join('\n')}
`;
}

/** Where the run's raw figures went: relative to the repository when inside it. */
function rawPath(opts: BenchOptions): string {
  if (!opts.raw) return '.tmp/bench/last-run.json';
  const rel = path.relative(repoRoot, opts.raw);
  return rel.startsWith('..') || path.isAbsolute(rel) ? opts.raw : rel.split(path.sep).join('/');
}

function dominant(r: SizeResult): string {
  const ph = medianPhases(r.service.steady);
  const sorted = Object.entries(ph)
    .filter(([, v]) => !Number.isNaN(v))
    .sort((a, b) => b[1] - a[1]);
  return sorted
    .slice(0, 3)
    .map(([k, v]) => `${k} (${fmtMs(v)})`)
    .join(', ');
}

function docNotes(results: SizeResult[], real: RealEngineResult | undefined, opts: BenchOptions): string[] {
  const notes: string[] = [];
  for (const r of results) {
    const s = r.service;
    const sSteady = steadyMs(r);
    const sList = median(s.steady.map((p) => p.phases?.list ?? NaN));
    const mb = (r.daemonListBytes / MB).toFixed(0);
    const peak = num(s.peakRssKb) * 1024;
    if (r.n === 10_000) {
      const c = s.cold;
      if (c.durationMs > 2 * r.bulk.ms) {
        const ph = c.phases ?? {};
        notes.push(
          `- **N=10,000, cold pass ${fmtMs(c.durationMs)} vs 2x bulk ${fmtMs(2 * r.bulk.ms)}**: list ${fmtMsWhole(ph.list)}, desired ${fmtMsWhole(ph.desired)}, prefetch ${fmtMsWhole(ph.prefetch)} ` +
            `(one bulk lookup of every unknown container and row ID), reconcile ${fmtMsWhole(ph.reconcile)} (every key through the queue and workers, written in ` +
            `batches of WRITE_BATCH_SIZE=500 rows one statement at a time, plus the workload-status service recording ${fmtInt(r.n)} row creations and, at start-up, recomputing every workload at the same time). Excluding the list ` +
            `phase the cold pass is ${((c.durationMs - (ph.list ?? 0)) / r.bulk.ms).toFixed(1)}x the bulk upsert.`,
        );
      }
    }
    if (r.n === 100_000) {
      const excl = sSteady - num(r.daemonListMs);
      if (excl >= 1000) {
        const ph = medianPhases(s.steady);
        notes.push(
          `- **N=100,000, steady pass excl. the daemon ${fmtMs(excl)} (>= 1 s)**: the list phase takes ${fmtMs(sList)} while the daemon answers in ${fmtMs(r.daemonListMs)}: ` +
            `${fmtMs(sList - r.daemonListMs)} go to receiving and parsing ${mb} MB of JSON in the service (streamed entry by entry; compose entries already in the managed list are skipped before parsing). ` +
            `The other phases: ${PHASES.filter((p) => p !== 'list').map((p) => `${p} ${fmtMsWhole(ph[p])}`).join(', ')} (${fmtMs(sSteady - sList)} together).` +
            (r.cacheOnly ? ` A pass from the cache (RELIST_INTERVAL) takes ${fmtMs(median(r.cacheOnly.steady.map((p) => p.durationMs)))}.` : ''),
        );
      }
    }
    const rssGoal = r.n === 10_000 ? 150 : r.n === 100_000 ? 400 : 0;
    if (rssGoal > 0 && peak >= rssGoal * MB) {
      notes.push(
        `- **N=${fmtInt(r.n)}, peak RSS ${fmtMb(peak)} (>= ${rssGoal} MB)**: what the service keeps between passes is smaller (live heap ${fmtMb(num(s.heapAfterGc))} ` +
          `after a full GC); the peak is per-pass garbage that V8 lets pile up before it collects: a pass with a list parses ${mb} MB of list JSON ` +
          `(streamed, but each entry is still a parsed object before it is mapped). Boot + cold pass peaked at ${fmtMb(num(s.coldPeakRssKb) * 1024)}, ` +
          `the steady passes alone at ${fmtMb(num(s.steadyOnlyPeakRssKb) * 1024)}` +
          (r.cacheOnly ? `; the service with RELIST_INTERVAL, whose passes mostly do not list, peaked at ${fmtMb(num(r.cacheOnly.peakRssKb) * 1024)} (its boot lists twice).` : '.'),
      );
    }
    if (r.baselineRows && r.baselineRows.live !== r.n) notes.push(`- N=${fmtInt(r.n)}: the baseline's table has ${fmtInt(r.baselineRows.live)} live rows for ${fmtInt(r.n)} containers.`);
    if (r.serviceRows.live !== r.n) notes.push(`- N=${fmtInt(r.n)}: the service's table has ${fmtInt(r.serviceRows.live)} live rows for ${fmtInt(r.n)} containers.`);
  }
  const burst = results.find((r) => r.burst)?.burst;
  if (burst && burst.recvToCommit.p99 >= 20) {
    notes.push(
      `- **burst ${burst.perSecond}/s, received -> committed p99 ${fmtMs(burst.recvToCommit.p99)} (>= 20 ms)**: the service's event loop was delayed ` +
        `p99 ${fmtMs(burst.loopDelayMs?.p99)} (max ${fmtMs(burst.loopDelayMs?.max)}) during the burst, its CPU ${burst.cpuPercent === undefined ? 'n/m' : `${burst.cpuPercent.toFixed(0)}%`} of one core; ` +
        `${burst.dropped} events dropped by the simulator, ${burst.pendingRows} rows still pending at the end.`,
    );
  }
  // How the per-hour figures came about.
  const idle = num(opts.idleSeconds);
  for (const r of [...results].reverse()) {
    if (!r.service.segment || !r.service.paced) continue;
    const refreshed = median(r.service.steady.map((p) => num(p.refreshed)));
    const due = (r.n * INTERVAL_MS) / (5 * 60_000);
    notes.push(
      `- N=${fmtInt(r.n)}, CPU per pass: a pass refreshes the \`last_seen_at\` that fell due since the previous one (LAST_SEEN_MAX_AGE=5m: about N x gap / 5 min rows, ` +
        `${fmtInt(due)} at 30 s apart). The pass after the ${Number.isNaN(idle) ? '' : `${idle} s `}idle window refreshed ${fmtInt(num(r.service.paced.refreshed))}, the passes back to back ${fmtInt(refreshed)} each (median)` +
        `${idle < INTERVAL_MS / 1000 ? '; with an idle window shorter than the interval the CPU per pass leaves part of that refresh out' : ''}.`,
    );
    break;
  }
  for (const r of results) {
    const c = r.cacheOnly;
    if (c && c.segment.listRequests !== 0) notes.push(`- N=${fmtInt(r.n)}: the service with RELIST_INTERVAL=${c.relistInterval} sent ${c.segment.listRequests} list requests during its ${c.segment.passes} measured passes (a relist was due: reconnect or interrupted stream); its per-hour figures include them.`);
    const seg = r.service.segment;
    if (seg && seg.listRequests !== 2 * seg.passes) notes.push(`- N=${fmtInt(r.n)}: the service sent ${seg.listRequests} list requests in ${seg.passes} steady passes (2 per pass expected: managed + compose).`);
    const bs = r.baseline?.segment;
    if (bs && bs.listRequests !== bs.passes) notes.push(`- N=${fmtInt(r.n)}: the baseline sent ${bs.listRequests} list requests in ${bs.passes} steady ticks (1 per tick expected).`);
  }
  for (const r of results) {
    if (r.service.extraPasses !== 0) notes.push(`- N=${fmtInt(r.n)}: ${r.service.extraPasses} pass(es) besides the forced ones ran during the measurements.`);
    if (r.baseline && r.baseline.errors > 0) notes.push(`- N=${fmtInt(r.n)}: the baseline logged ${r.baseline.errors} statement errors.`);
    if (r.baseline && r.baseline.churn.length === 0) notes.push(`- N=${fmtInt(r.n)}: the baseline was not measured under churn (its tick does the same statements whatever changed; see its steady tick).`);
  }
  if (real && real.unmatchedCommits > 0)
    notes.push(`- real engine: ${real.unmatchedCommits} row commits had no event pending (e.g. the inspect after \`die\` already answered 404, so the row went missing before the \`destroy\` event arrived); they are in the \`docker rm\` figures, not in the event ones.`);
  notes.push('- The machine is shared with other jobs (see the load average): figures vary by tens of percent from run to run; the tails (p99) most.');
  if (real && real.fallbacks > 0) notes.push(`- real engine: ${real.fallbacks} commits could not be matched to their own event action and were timed from the first event of the row.`);
  return notes;
}
