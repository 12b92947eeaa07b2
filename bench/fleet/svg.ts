/**
 * The plot of docs/benchmarks-fleet.md, written by hand (no dependencies): database load
 * (statements/s, rows written/s, rows read/s) of the fleet each step stands for (per agent at a
 * 30 s interval x hosts at 30 s, report.ts `Derived.fleet`) against that number of hosts, log
 * scales, one panel for the steady state and one for churn; an earlier run dashed beside this
 * one; points of saturated steps drawn as crosses.
 */
import type { FleetRun } from './orchestrate.js';
import { derivedRows, GOALS, type Derived } from './report.js';

interface Series {
  name: string;
  color: string;
  /** SVG stroke-dasharray ('' solid). */
  dash: string;
  points: Array<[number, number, boolean]>;
}

const METRICS: Array<{ key: 'stmtPerS' | 'writtenPerS' | 'readPerS'; name: string; color: string }> = [
  { key: 'stmtPerS', name: 'statements/s', color: '#1f77b4' },
  { key: 'writtenPerS', name: 'rows written/s', color: '#d62728' },
  { key: 'readPerS', name: 'rows read/s', color: '#2ca02c' },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmtTick(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

function seriesFor(rows: Derived[], phase: 'steady' | 'churn', label: string, dash: string): Series[] {
  const ph = rows.filter((d) => d.phase === phase).sort((a, b) => a.eqHosts - b.eqHosts);
  return METRICS.map((m) => ({
    name: `${m.name} (${label})`,
    color: m.color,
    dash,
    points: ph.map((d) => [d.eqHosts, d.fleet[m.key], d.saturated] as [number, number, boolean]).filter(([, y]) => y > 0 && Number.isFinite(y)),
  }));
}

const BASE_DASH = '6,4';
const EXTRA_DASH = '1.5,3';

/** `extras`: further runs drawn dotted (only those with this run's interval: one sweep beside another). */
export function renderSvg(run: FleetRun, base?: { run: FleetRun; label: string }, extras: Array<{ run: FleetRun; label: string }> = []): string {
  const label = run.label ?? 'this run';
  const others = extras.filter((x) => x.run.options.intervalMs === run.options.intervalMs);
  const panels = (['steady', 'churn'] as const).map((phase) => ({
    phase,
    series: [
      ...(base ? seriesFor(derivedRows(base.run), phase, base.label, BASE_DASH) : []),
      ...others.flatMap((x) => seriesFor(derivedRows(x.run), phase, x.label, EXTRA_DASH)),
      ...seriesFor(derivedRows(run), phase, label, ''),
    ],
  }));
  const all = panels.flatMap((p) => p.series.flatMap((s) => s.points));
  if (all.length === 0) return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>';
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const x0 = 10 ** Math.floor(Math.log10(Math.min(...xs)));
  const x1 = 10 ** Math.ceil(Math.log10(Math.max(...xs) * 1.01));
  // The goal lines (per host at 30 s, times the hosts) are drawn too: keep them in range.
  const y0 = 10 ** Math.floor(Math.log10(Math.min(...ys, x0 * GOALS.stmtPerAgentS)));
  const y1 = 10 ** Math.ceil(Math.log10(Math.max(...ys, x1 * GOALS.writtenPerAgentS) * 1.01));

  const W = 1000;
  const panelW = 430;
  const legendRows = Math.ceil((METRICS.length * (1 + (base ? 1 : 0) + others.length) + 3) / 3);
  const H = 50 + 300 + 55 + (legendRows - 1) * 18 + 20;
  const top = 50;
  const plotH = 300;
  const left = [70, 70 + panelW + 60];
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">Database load of a fleet at a 30 s interval (${run.options.containers.toLocaleString('en-US')} containers per host)</text>`);

  const lx = (v: number, l: number) => l + ((Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0))) * panelW;
  const ly = (v: number) => top + plotH - ((Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * plotH;

  panels.forEach((panel, pi) => {
    const l = left[pi]!;
    out.push(`<text x="${l + panelW / 2}" y="${top - 10}" text-anchor="middle" font-size="13" font-weight="bold">${panel.phase === 'steady' ? 'steady (nothing changes)' : `churn (${(run.options.churn * 100).toFixed(1)}% of containers per interval)`}</text>`);
    out.push(`<rect x="${l}" y="${top}" width="${panelW}" height="${plotH}" fill="none" stroke="#444"/>`);
    // grid: decades labelled, 2 and 5 faint
    for (let d = x0; d <= x1 * 1.0001; d *= 10) {
      for (const m of [1, 2, 5]) {
        const v = d * m;
        if (v > x1 * 1.0001) continue;
        const x = lx(v, l);
        out.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${top + plotH}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
        if (m === 1 || Math.log10(x1 / x0) <= 2) out.push(`<text x="${x.toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${fmtTick(v)}</text>`);
      }
    }
    for (let d = y0; d <= y1 * 1.0001; d *= 10) {
      const y = ly(d);
      out.push(`<line x1="${l}" y1="${y.toFixed(1)}" x2="${l + panelW}" y2="${y.toFixed(1)}" stroke="#ccc"/>`);
      out.push(`<text x="${l - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${fmtTick(d)}</text>`);
    }
    out.push(`<text x="${l + panelW / 2}" y="${top + plotH + 34}" text-anchor="middle">hosts at a 30 s interval (agents × compression)</text>`);
    out.push(`<text transform="translate(${l - 50},${top + plotH / 2}) rotate(-90)" text-anchor="middle">per second</text>`);
    // goal lines: 1 statement/s and 5 rows written/s per host
    for (const g of [
      { per: GOALS.stmtPerAgentS, color: '#1f77b4', text: `goal: ${GOALS.stmtPerAgentS} statement/s per host` },
      { per: GOALS.writtenPerAgentS, color: '#d62728', text: `goal: ${GOALS.writtenPerAgentS} rows written/s per host` },
    ]) {
      out.push(`<line x1="${lx(x0, l).toFixed(1)}" y1="${ly(x0 * g.per).toFixed(1)}" x2="${lx(x1, l).toFixed(1)}" y2="${ly(x1 * g.per).toFixed(1)}" stroke="${g.color}" stroke-opacity="0.35" stroke-width="6"/>`);
    }
    for (const s of panel.series) {
      if (s.points.length === 0) continue;
      const d = s.points.map(([x, y], i) => `${i ? 'L' : 'M'}${lx(x, l).toFixed(1)},${ly(y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
      for (const [x, y, sat] of s.points) {
        const cx = lx(x, l).toFixed(1);
        const cy = ly(y).toFixed(1);
        if (sat) {
          const [a, b] = [Number(cx), Number(cy)];
          out.push(`<path d="M${a - 5},${b - 5} L${a + 5},${b + 5} M${a - 5},${b + 5} L${a + 5},${b - 5}" stroke="${s.color}" stroke-width="2.5"><title>${esc(s.name)}: ${Math.round(y)} at ${x} hosts (saturated)</title></path>`);
          continue;
        }
        out.push(s.dash ? `<rect x="${Number(cx) - 3.5}" y="${Number(cy) - 3.5}" width="7" height="7" fill="#fff" stroke="${s.color}" stroke-width="1.5"><title>${esc(s.name)}: ${Math.round(y)} at ${x} hosts</title></rect>` : `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${s.color}"><title>${esc(s.name)}: ${Math.round(y)} at ${x} hosts</title></circle>`);
      }
    }
  });

  // legend
  let ly0 = top + plotH + 55;
  let col = 0;
  const legend = [
    ...METRICS.map((m) => ({ color: m.color, dash: '', text: `${m.name}: ${label}`, goal: false })),
    ...(base ? METRICS.map((m) => ({ color: m.color, dash: BASE_DASH, text: `${m.name}: ${base.label}`, goal: false })) : []),
    ...others.flatMap((x) => METRICS.map((m) => ({ color: m.color, dash: EXTRA_DASH, text: `${m.name}: ${x.label}`, goal: false }))),
    { color: '#1f77b4', dash: '', text: `goal ${GOALS.stmtPerAgentS} statement/s per host`, goal: true },
    { color: '#d62728', dash: '', text: `goal ${GOALS.writtenPerAgentS} rows written/s per host`, goal: true },
    { color: '#555', dash: '', text: '× a step that did not keep pace', goal: false, cross: true },
  ];
  for (const e of legend) {
    const x = 70 + col * 310;
    if ('cross' in e) {
      out.push(`<path d="M${x + 10},${ly0 - 5} L${x + 20},${ly0 + 5} M${x + 10},${ly0 + 5} L${x + 20},${ly0 - 5}" stroke="${e.color}" stroke-width="2.5"/>`);
      out.push(`<text x="${x + 36}" y="${ly0 + 4}">${esc(e.text.slice(2))}</text>`);
      col++;
      continue;
    }
    out.push(
      e.goal
        ? `<line x1="${x}" y1="${ly0}" x2="${x + 30}" y2="${ly0}" stroke="${e.color}" stroke-opacity="0.35" stroke-width="6"/>`
        : `<line x1="${x}" y1="${ly0}" x2="${x + 30}" y2="${ly0}" stroke="${e.color}" stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`,
    );
    out.push(`<text x="${x + 36}" y="${ly0 + 4}">${esc(e.text)}</text>`);
    col++;
    if (col === 3) {
      col = 0;
      ly0 += 18;
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
