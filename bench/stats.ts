/** Small statistics and table-formatting helpers for the benchmarks. */

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100); NaN for an empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return 'n/m';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function fmtInt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return 'n/m';
  return Math.round(n).toLocaleString('en-US');
}

export function fmtMb(bytes: number | undefined): string {
  if (bytes === undefined || Number.isNaN(bytes)) return 'n/m';
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

/** A markdown table (also readable as plain text). */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Whole milliseconds (for figures measured with Date.now(), such as PassReport.phases). */
export function fmtMsWhole(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return 'n/m';
  if (ms >= 1000) return fmtMs(ms);
  return `${Math.round(ms)} ms`;
}
