/** The command line of `make bench` (`node --expose-gc dist/bench/run.js [options]`). */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './env.js';

export const USAGE = `node --expose-gc dist/bench/run.js [options]

  --sizes 1000,10000,100000     container counts to measure (default: all three; --quick: 1000,10000)
  --quick                       fewer passes, short event runs
  --no-events                   skip the event-latency measurements
  --no-real-engine              skip the latency run against a private Docker engine
  --no-baseline                 skip the Go original's port
  --no-cache-only               skip the second service process deciding from its cache (RELIST_INTERVAL)
  --idle-seconds S              idle window before the steady passes, for the idle CPU (default 30, the
                                production interval; --quick: at most 5)
  --no-write                    print only; do not write docs/benchmarks.md nor the plot
  --out FILE                    write the report here (default docs/benchmarks.md, plot docs/img/bench-scale.svg);
                                elsewhere the plot goes beside it (FILE without .md + -scale.svg) and the raw
                                figures too (FILE without .md + .last-run.json, instead of .tmp/bench/last-run.json)
  --profile                     CPU profiles of the service's cold and steady passes in .tmp/bench/prof/
  --fast-db                     the test harness's MariaDB (tmpfs datadir, innodb_flush_log_at_trx_commit=2)
  --service-env K=V,...         extra environment for the service (e.g. WRITE_BATCH_SIZE=2000); repeatable
  --service-preload FILE.mjs    a module loaded into the service process first (--import)
  --service-node-options '...'  extra Node flags for the service process; repeatable
  --no-heap-limit               V8's own heap sizing instead of the chart's (--max-old-space-size at
                                heapPercent of the memory limit recommended for N: bench/sizing.ts)
  --cycles N                    real-engine stop/start/rm/run cycles (default 60; --quick: at most 15)
  --burst-seconds S             length of the simulator burst (default 10; --quick: at most 4)
  --burst-rate R                state changes per second of the burst (default 200)
  --render-from FILE            only re-render the report and the plot from a saved run (.tmp/bench/last-run.json)
  --help, -h                    this text
`;

export interface BenchOptions {
  sizes: number[];
  quick: boolean;
  events: boolean;
  realEngine: boolean;
  write: boolean;
  out: string;
  /** The plot (SVG) the report links to; derived from `out`. */
  plot: string;
  /** The raw figures of the run (what --render-from reads); derived from `out`. */
  raw: string;
  /** Seconds of the idle window (CPU of a process doing nothing between passes). */
  idleSeconds: number;
  /** Measure the service with RELIST_INTERVAL too (a second process, passes from the cache). */
  cacheOnly: boolean;
  profile: boolean;
  burstSize: number;
  burstPerSecond: number;
  burstSeconds: number;
  realCycles: number;
  realContainers: number;
  baseline: boolean;
  /** The test harness's MariaDB settings (datadir on tmpfs, innodb_flush_log_at_trx_commit=2) instead of durable defaults. */
  fastDb: boolean;
  /** Extra environment for the service (e.g. WRITE_BATCH_SIZE=2000). */
  serviceEnv: Record<string, string>;
  /** A module loaded into the service process first (`--import`): to try a change before it goes into src/. */
  servicePreload?: string;
  /** Extra Node flags for the service process (e.g. --max-old-space-size=300). */
  serviceNodeOptions: string[];
  /** The chart's heap limit for N (bench/sizing.ts); false: V8's default. */
  heapLimit: boolean;
  /** Only re-render docs/benchmarks.md from a saved run. */
  renderFrom?: string;
}

/** `--help` was given: the caller prints {@link USAGE}. */
export class HelpRequested extends Error {}

/** Parses the command line (`--key value` and `--key=value`); unknown options and missing values throw. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: joinDashValues(argv, ['--service-node-options']),
    strict: true,
    allowPositionals: false,
    options: {
      sizes: { type: 'string' },
      quick: { type: 'boolean' },
      'no-events': { type: 'boolean' },
      'no-real-engine': { type: 'boolean' },
      'no-baseline': { type: 'boolean' },
      'no-cache-only': { type: 'boolean' },
      'idle-seconds': { type: 'string' },
      'no-write': { type: 'boolean' },
      out: { type: 'string' },
      profile: { type: 'boolean' },
      'fast-db': { type: 'boolean' },
      'service-env': { type: 'string', multiple: true },
      'service-preload': { type: 'string' },
      'service-node-options': { type: 'string', multiple: true },
      'no-heap-limit': { type: 'boolean' },
      cycles: { type: 'string' },
      'burst-seconds': { type: 'string' },
      'burst-rate': { type: 'string' },
      'render-from': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw new HelpRequested();

  const serviceEnv: Record<string, string> = {};
  for (const list of values['service-env'] ?? []) {
    for (const kv of list.split(',')) {
      const eq = kv.indexOf('=');
      if (eq > 0) serviceEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  const quick = values.quick ?? false;
  const out = values.out !== undefined ? path.resolve(values.out) : DEFAULT_OUT;
  const o: BenchOptions = {
    sizes: values.sizes !== undefined ? parseSizes(values.sizes) : quick ? [1000, 10_000] : [1000, 10_000, 100_000],
    quick,
    events: !values['no-events'],
    realEngine: !values['no-real-engine'],
    write: !values['no-write'],
    out,
    ...derivedPaths(out),
    idleSeconds: values['idle-seconds'] !== undefined ? Number(values['idle-seconds']) : 30,
    cacheOnly: !values['no-cache-only'],
    profile: values.profile ?? false,
    burstSize: 10_000,
    burstPerSecond: values['burst-rate'] !== undefined ? Number(values['burst-rate']) : 200,
    burstSeconds: values['burst-seconds'] !== undefined ? Number(values['burst-seconds']) : 10,
    realCycles: values.cycles !== undefined ? Number(values.cycles) : 60,
    realContainers: 10,
    baseline: !values['no-baseline'],
    fastDb: values['fast-db'] ?? false,
    serviceEnv,
    serviceNodeOptions: (values['service-node-options'] ?? []).flatMap((v) => v.split(/\s+/).filter(Boolean)),
    heapLimit: !values['no-heap-limit'],
  };
  if (values['service-preload'] !== undefined) o.servicePreload = path.resolve(values['service-preload']);
  if (values['render-from'] !== undefined) o.renderFrom = path.resolve(values['render-from']);
  if (quick) {
    o.burstSeconds = Math.min(o.burstSeconds, 4);
    o.realCycles = Math.min(o.realCycles, 15);
    o.idleSeconds = Math.min(o.idleSeconds, 5);
  }
  if (!(o.idleSeconds > 0)) throw Object.assign(new Error(`--idle-seconds: a positive number of seconds, got "${values['idle-seconds']}"`), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
  return o;
}

const DEFAULT_OUT = path.join(repoRoot, 'docs', 'benchmarks.md');

/**
 * Where the plot and the raw figures go for a report written to `out`: docs/img/bench-scale.svg
 * and .tmp/bench/last-run.json for docs/benchmarks.md; beside `out` for any other file, so a trial
 * run leaves the published ones alone.
 */
export function derivedPaths(out: string): { plot: string; raw: string } {
  if (path.resolve(out) === DEFAULT_OUT) return { plot: path.join(repoRoot, 'docs', 'img', 'bench-scale.svg'), raw: path.join(repoRoot, '.tmp', 'bench', 'last-run.json') };
  const stem = out.replace(/\.md$/i, '');
  return { plot: `${stem}-scale.svg`, raw: `${stem}.last-run.json` };
}

/**
 * `--opt -value` as `--opt=-value` for options whose value starts with a dash (Node flags):
 * parseArgs refuses the spaced form as ambiguous.
 */
function joinDashValues(argv: readonly string[], options: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (options.includes(a) && i + 1 < argv.length) out.push(`${a}=${argv[++i]}`);
    else out.push(a);
  }
  return out;
}

/** `1000,10_000` -> [1000, 10000]; anything not a positive integer is dropped. */
function parseSizes(raw: string): number[] {
  return raw
    .split(',')
    .map((s) => Number(s.trim().replace(/_/g, '')))
    .filter((n) => Number.isInteger(n) && n > 0);
}
