/**
 * The plot of docs/benchmarks.md (docs/img/bench-scale.svg), written by hand (no dependencies; the
 * drawing follows bench/fleet/svg.ts): the steady pass and the peak RSS against the number of
 * containers, log-log, the Go original's port beside the service (listing every pass, and deciding
 * from its cache between relists), with the goals marked. Specified in spec/unit/bench-plot.spec.ts.
 */
import type { SizeResult } from './orchestrate.js';
import { median } from './stats.js';

export interface PlotSeries {
  name: string;
  color: string;
  /** SVG stroke-dasharray ('' solid). */
  dash: string;
  /** [N, value] */
  points: Array<[number, number]>;
}

/** A goal at one N: the value must stay below it. */
export interface PlotGoal {
  n: number;
  value: number;
  label: string;
}

export interface PlotPanel {
  title: string;
  unit: 'ms' | 'MB';
  series: PlotSeries[];
  goals: PlotGoal[];
}

export interface ScalePlot {
  title: string;
  panels: PlotPanel[];
}

const ORIGINAL = '#d62728';
const SERVICE = '#1f77b4';
const CACHE = '#2ca02c';

const num = (x: unknown): number => (typeof x === 'number' ? x : NaN);
const mb = (kb: unknown): number => num(kb) / 1024;

/** What the plot shows of a run's results (sizes without a figure are left out of that series). */
export function scalePlot(results: readonly SizeResult[]): ScalePlot {
  const rs = [...results].sort((a, b) => a.n - b.n);
  const pts = (f: (r: SizeResult) => number): Array<[number, number]> =>
    rs.map((r) => [r.n, f(r)] as [number, number]).filter(([, v]) => Number.isFinite(v) && v > 0);
  const steady = (r: SizeResult) => median(r.service.steady.map((p) => p.durationMs));
  return {
    title: 'Steady pass and peak RSS against the number of containers: the Go original (port) and the service, same run',
    panels: [
      {
        title: 'steady pass (median)',
        unit: 'ms',
        series: [
          { name: 'Go original (port): steady tick', color: ORIGINAL, dash: '', points: pts((r) => (r.baseline?.steady.length ? median(r.baseline.steady.map((t) => t.ms)) : NaN)) },
          { name: 'service: steady pass (a list every pass, the default)', color: SERVICE, dash: '', points: pts(steady) },
          { name: "service: the same, excluding the daemon's answer", color: SERVICE, dash: '6,4', points: pts((r) => steady(r) - num(r.daemonListMs)) },
          { name: 'service: pass from the cache (RELIST_INTERVAL)', color: CACHE, dash: '', points: pts((r) => (r.cacheOnly ? median(r.cacheOnly.steady.map((p) => p.durationMs)) : NaN)) },
        ],
        goals: [{ n: 100_000, value: 1000, label: "goal at 100,000: < 1 s excluding the daemon's answer" }],
      },
      {
        title: 'peak RSS (VmHWM) of the process, whole run',
        unit: 'MB',
        series: [
          { name: 'Go original (port; a Node process, not the Go binary)', color: ORIGINAL, dash: '', points: pts((r) => mb(r.baseline?.peakRssKb)) },
          { name: 'service (a list every pass, the default)', color: SERVICE, dash: '', points: pts((r) => mb(r.service.peakRssKb)) },
          { name: 'service with RELIST_INTERVAL (its own process)', color: CACHE, dash: '', points: pts((r) => mb(r.cacheOnly?.peakRssKb)) },
        ],
        goals: [
          { n: 10_000, value: 150, label: 'goal at 10,000: < 150 MB' },
          { n: 100_000, value: 400, label: 'goal at 100,000: < 400 MB' },
        ],
      },
    ],
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A log10 axis over [lo, hi] (values, lo < hi) onto [from, to] (pixels; to < from for a y axis). */
export function logAxis(lo: number, hi: number, from: number, to: number): (v: number) => number {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return (v) => from + ((Math.log10(v) - a) / (b - a)) * (to - from);
}

/** The domain of an axis: the values' range in log space, padded so no point sits on the frame. */
export function logDomain(values: readonly number[]): [number, number] {
  const logs = values.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log10);
  if (logs.length === 0) return [1, 10];
  const a = Math.min(...logs);
  const b = Math.max(...logs);
  const pad = b - a < 1e-9 ? 0.5 : Math.max(0.12, 0.08 * (b - a));
  return [10 ** (a - pad), 10 ** (b + pad)];
}

/** Tick values in [lo, hi]: 1-2-5 of every decade over a short range, decades only over a long one. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const mult = Math.log10(hi / lo) <= 2.5 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mult) {
      const v = Number((m * 10 ** e).toPrecision(3));
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

function fmtN(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

function fmtValue(v: number, unit: 'ms' | 'MB'): string {
  if (unit === 'ms') return v >= 1000 ? `${Number((v / 1000).toPrecision(3))} s` : `${Number(v.toPrecision(3))} ms`;
  return `${Number(v.toPrecision(3)).toLocaleString('en-US')} MB`;
}

const W = 1000;
const PANEL_W = 380;
const PLOT_H = 300;
const TOP = 64;
const LEFT = [90, 90 + PANEL_W + 110];

export function renderScaleSvg(plot: ScalePlot): string {
  const xDomain = logDomain(plot.panels.flatMap((p) => [...p.series.flatMap((s) => s.points.map(([n]) => n)), ...p.goals.map((g) => g.n)]));
  const legendRows = Math.max(...plot.panels.map((p) => p.series.length + p.goals.length));
  const H = TOP + PLOT_H + 52 + legendRows * 18 + 12;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(plot.title)}</text>`);

  plot.panels.forEach((panel, pi) => {
    const l = LEFT[pi] ?? LEFT[0]!;
    const values = [...panel.series.flatMap((s) => s.points.map(([, v]) => v)), ...panel.goals.map((g) => g.value)];
    const [y0, y1] = logDomain(values);
    const x = logAxis(xDomain[0], xDomain[1], l, l + PANEL_W);
    const y = logAxis(y0, y1, TOP + PLOT_H, TOP);
    out.push(`<g class="panel" data-unit="${panel.unit}">`);
    out.push(`<text x="${l + PANEL_W / 2}" y="${TOP - 12}" text-anchor="middle" font-size="13" font-weight="bold">${esc(panel.title)}</text>`);
    out.push(`<rect x="${l}" y="${TOP}" width="${PANEL_W}" height="${PLOT_H}" fill="none" stroke="#444"/>`);
    for (const v of logTicks(xDomain[0], xDomain[1])) {
      const px = x(v).toFixed(1);
      const decade = Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;
      out.push(`<line x1="${px}" y1="${TOP}" x2="${px}" y2="${TOP + PLOT_H}" stroke="${decade ? '#ccc' : '#eee'}"/>`);
      out.push(`<text x="${px}" y="${TOP + PLOT_H + 16}" text-anchor="middle">${fmtN(v)}</text>`);
    }
    for (const v of logTicks(y0, y1)) {
      const py = y(v).toFixed(1);
      out.push(`<line x1="${l}" y1="${py}" x2="${l + PANEL_W}" y2="${py}" stroke="#ddd"/>`);
      out.push(`<text x="${l - 6}" y="${(Number(py) + 4).toFixed(1)}" text-anchor="end">${esc(fmtValue(v, panel.unit))}</text>`);
    }
    out.push(`<text x="${l + PANEL_W / 2}" y="${TOP + PLOT_H + 34}" text-anchor="middle">containers (N), log scale</text>`);
    out.push(`<text transform="translate(${l - 70},${TOP + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${panel.unit === 'ms' ? 'pass time' : 'peak RSS'}, log scale</text>`);
    // goals: a broad translucent bar at the goal's value, around its N
    for (const g of panel.goals) {
      const gx0 = x(g.n / 10 ** 0.12);
      const gx1 = x(g.n * 10 ** 0.12);
      const gy = y(g.value).toFixed(1);
      out.push(`<line class="goal" data-n="${g.n}" data-v="${g.value}" x1="${gx0.toFixed(1)}" y1="${gy}" x2="${gx1.toFixed(1)}" y2="${gy}" stroke="#ff7f0e" stroke-opacity="0.5" stroke-width="6"><title>${esc(g.label)}</title></line>`);
    }
    for (const s of panel.series) {
      if (s.points.length === 0) continue;
      const d = s.points.map(([n, v], i) => `${i ? 'L' : 'M'}${x(n).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
      for (const [n, v] of s.points) {
        const label = `${s.name}: ${fmtValue(v, panel.unit)} at N=${n.toLocaleString('en-US')}`;
        const cx = x(n).toFixed(1);
        const cy = y(v).toFixed(1);
        out.push(
          s.dash
            ? `<rect class="pt" data-series="${esc(s.name)}" data-n="${n}" data-v="${v}" x="${(Number(cx) - 3.5).toFixed(1)}" y="${(Number(cy) - 3.5).toFixed(1)}" width="7" height="7" fill="#fff" stroke="${s.color}" stroke-width="1.5"><title>${esc(label)}</title></rect>`
            : `<circle class="pt" data-series="${esc(s.name)}" data-n="${n}" data-v="${v}" cx="${cx}" cy="${cy}" r="3.5" fill="${s.color}"><title>${esc(label)}</title></circle>`,
        );
      }
    }
    // legend under the panel
    let ly = TOP + PLOT_H + 56;
    for (const s of panel.series) {
      out.push(`<line x1="${l}" y1="${ly}" x2="${l + 30}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
      out.push(`<text x="${l + 36}" y="${ly + 4}"${s.points.length === 0 ? ' fill="#999"' : ''}>${esc(s.name)}${s.points.length === 0 ? ' (not measured)' : ''}</text>`);
      ly += 18;
    }
    for (const g of panel.goals) {
      out.push(`<line x1="${l}" y1="${ly}" x2="${l + 30}" y2="${ly}" stroke="#ff7f0e" stroke-opacity="0.5" stroke-width="6"/>`);
      out.push(`<text x="${l + 36}" y="${ly + 4}">${esc(g.label)}</text>`);
      ly += 18;
    }
    out.push('</g>');
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
