/**
 * A small reader of the Prometheus text exposition format (version 0.0.4), enough for tests:
 * `# TYPE` lines and samples `name{label="value",...} value [timestamp]`, with escaped label values.
 * Also `promtool check metrics` on a body (stdin), for tests that lint real output.
 */
import { spawn } from 'node:child_process';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** `# TYPE` lines: metric family name -> type. */
  types: Map<string, string>;
  /** `# HELP` lines: metric family name -> help text. */
  help: Map<string, string>;
  samples: Sample[];
}

function parseValue(raw: string): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  // prom-client prints NaN as "Nan" (e.g. the event-loop lag gauges before their first sample); Go's parser, like Prometheus, takes any case.
  if (raw.toLowerCase() === 'nan') return NaN;
  const n = Number(raw);
  if (raw.trim() === '' || Number.isNaN(n)) throw new Error(`not a sample value: "${raw}"`);
  return n;
}

/** Parses a /metrics body; throws on a line it cannot read (so a malformed body fails the test). */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (TYPE|HELP) (\S+) ?(.*)$/.exec(line);
      if (m) (m[1] === 'TYPE' ? types : help).set(m[2]!, m[3]!);
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`line ${i + 1}: no metric name: ${line}`);
    const name = nameMatch[0];
    let pos = name.length;
    const labels: Record<string, string> = {};
    if (line[pos] === '{') {
      pos++;
      for (;;) {
        if (line[pos] === '}') {
          pos++;
          break;
        }
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(pos));
        if (!lm) throw new Error(`line ${i + 1}: bad label at column ${pos}: ${line}`);
        pos += lm[0].length;
        let value = '';
        for (;;) {
          const c = line[pos];
          if (c === undefined) throw new Error(`line ${i + 1}: unterminated label value: ${line}`);
          pos++;
          if (c === '"') break;
          if (c === '\\') {
            const e = line[pos++];
            value += e === 'n' ? '\n' : e;
          } else value += c;
        }
        labels[lm[1]!] = value;
        if (line[pos] === ',') pos++;
      }
    }
    const rest = line.slice(pos).trim().split(/\s+/);
    samples.push({ name, labels, value: parseValue(rest[0] ?? '') });
  }
  return { types, help, samples };
}

/** The samples of series `name` whose labels include `labels`. */
export function find(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The one sample of `name` with exactly `labels` (throws with the candidates when there is not exactly one). */
export function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const want = JSON.stringify(Object.entries(labels).sort());
  const hits = e.samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want);
  if (hits.length !== 1) {
    const near = e.samples.filter((s) => s.name === name).map((s) => JSON.stringify(s.labels));
    throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${hits.length}; series of that name: ${near.join(' ') || 'none'}`);
  }
  return hits[0]!.value;
}

export const PROMTOOL = process.env['PROMTOOL'] ?? '/usr/bin/promtool';

/**
 * `promtool check metrics` with `body` on stdin. Exit 0 = clean, 3 = lint problems (listed on
 * stdout), 1 = unparsable. `output` carries everything it printed, for assertion messages.
 */
export function promtoolCheckMetrics(body: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${PROMTOOL} (install Debian's prometheus package or set PROMTOOL): ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: `$ promtool check metrics <body>\n${Buffer.concat(out).toString('utf8')}` });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
  });
}
