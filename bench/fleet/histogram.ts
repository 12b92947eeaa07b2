/**
 * Small measurement vocabulary shared by the fleet harness and its agent processes: a mergeable
 * latency histogram (plain data, so it crosses the IPC channel as it is) and the statement
 * kinds the client-side counters group by.
 */

/** Log-spaced buckets, 16 per doubling (each bucket ~4.4% wide), from 1 µs up. */
const PER_DOUBLING = 16;
const FLOOR_MS = 0.001;

export interface Hist {
  /** bucket index -> count (sparse). */
  b: Record<number, number>;
  n: number;
  sumMs: number;
  maxMs: number;
}

export function newHist(): Hist {
  return { b: {}, n: 0, sumMs: 0, maxMs: 0 };
}

export function histAdd(h: Hist, ms: number): void {
  const i = ms <= FLOOR_MS ? 0 : Math.ceil(Math.log2(ms / FLOOR_MS) * PER_DOUBLING);
  h.b[i] = (h.b[i] ?? 0) + 1;
  h.n++;
  h.sumMs += ms;
  if (ms > h.maxMs) h.maxMs = ms;
}

export function histMerge(into: Hist, from: Hist): Hist {
  for (const [k, v] of Object.entries(from.b)) into.b[Number(k)] = (into.b[Number(k)] ?? 0) + v;
  into.n += from.n;
  into.sumMs += from.sumMs;
  into.maxMs = Math.max(into.maxMs, from.maxMs);
  return into;
}

/** The upper bound of the bucket holding the p-th percentile (p in 0..100); NaN when empty. */
export function histPercentile(h: Hist, p: number): number {
  if (h.n === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * h.n));
  let seen = 0;
  for (const i of Object.keys(h.b).map(Number).sort((a, b) => a - b)) {
    seen += h.b[i]!;
    if (seen >= rank) return Math.min(h.maxMs, FLOOR_MS * 2 ** (i / PER_DOUBLING));
  }
  return h.maxMs;
}

/**
 * A short, stable name for what a statement does: its verb and table (`UPDATE containers SET
 * last_seen_at`, `SELECT containers`), with a few statements named for their purpose (checksums
 * by the tables they read, the clock read, the ping). Statements of code written after this
 * harness get a name too, by the same rule.
 */
export function statementKind(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  if (/BIT_XOR\(/i.test(s)) {
    // Checksums (the desired-state fingerprint, a host's rows): named by the tables they read.
    const tables = [...new Set([...s.matchAll(/\bFROM\s+`?(\w+)`?/gi)].map((m) => m[1]!))];
    return `SELECT checksum (${tables.join(', ')})`;
  }
  if (/^SELECT UTC_TIMESTAMP\(3\) AS `?now`?$/i.test(s)) return 'SELECT now (clock)';
  if (/^SELECT 1 AS `?ok`?$/i.test(s)) return 'SELECT 1 (ping)';
  const verb = (/^\(?\s*([A-Za-z]+)/.exec(s)?.[1] ?? '?').toUpperCase();
  let table: string | undefined;
  if (verb === 'SELECT' || verb === 'DELETE') table = /\bFROM\s+`?(\w+)`?/i.exec(s)?.[1];
  else if (verb === 'INSERT' || verb === 'REPLACE') table = /\bINTO\s+`?(\w+)`?/i.exec(s)?.[1];
  else if (verb === 'UPDATE') {
    table = /^UPDATE\s+`?(\w+)`?/i.exec(s)?.[1];
    const set = /\bSET\s+`?(\w+)`?/i.exec(s)?.[1];
    return `UPDATE ${table ?? '?'}${set ? ` SET ${set}` : ''}`;
  }
  if (verb === 'INSERT' && /ON DUPLICATE KEY UPDATE/i.test(s)) return `UPSERT ${table ?? '?'}`;
  return table ? `${verb} ${table}` : verb;
}

/** Statements of the leader election (renewed on wall-clock time, not per pass). */
export function isLeaseKind(kind: string): boolean {
  return / leases\b/.test(kind);
}

/** Per statement kind, what the agents of one process (or all, merged) saw in a window. */
export interface KindStats {
  n: number;
  errors: number;
  /** Rows the statements returned (SELECT). */
  rowsReturned: number;
  /** Rows the statements reported as affected (writes). */
  affected: number;
  hist: Hist;
}

export function newKindStats(): KindStats {
  return { n: 0, errors: 0, rowsReturned: 0, affected: 0, hist: newHist() };
}

export function mergeKinds(into: Record<string, KindStats>, from: Record<string, KindStats>): Record<string, KindStats> {
  for (const [k, v] of Object.entries(from)) {
    const t = (into[k] ??= newKindStats());
    t.n += v.n;
    t.errors += v.errors;
    t.rowsReturned += v.rowsReturned;
    t.affected += v.affected;
    histMerge(t.hist, v.hist);
  }
  return into;
}
