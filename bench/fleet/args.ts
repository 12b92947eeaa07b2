/** The command line of `make bench-fleet` (`node --expose-gc dist/bench/fleet/main.js [options]`). */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../src/config.js';

export const USAGE = `node --expose-gc dist/bench/fleet/main.js [options]      (make bench-fleet ARGS='...')

  --hosts 10,50,100,200      agents (one per simulated Docker host) per step of the sweep
  --containers N             containers per host (default 1000)
  --interval D               RECONCILE_INTERVAL of every agent (default 3s: 30 s compressed 10x)
  --window D                 length of each measured window, steady and churn (default 60s)
  --churn F                  fraction of each host's containers changed per interval in the churn phase (default 0.01)
  --workloads per-host|shared  each host runs its own workloads (default: the desired-state tables grow
                             with the fleet) or every host the same ones (tables of one host's size)
  --per-process N            agents per child process (default 20)
  --start-spread D           agents start at random moments within this time (default: the interval, at least 0.5 s per host)
  --pool-size N              DB_POOL_SIZE of every agent (default 2)
  --env K=V,...              extra environment for every agent (e.g. RETRY_PERIOD=10s); repeatable
  --stop-when-saturated      stop the sweep after the first step the database or the machine could not keep up with (default on)
  --no-stop-when-saturated   run every step anyway
  --fast-db                  the test harness's MariaDB (tmpfs datadir, innodb_flush_log_at_trx_commit=2)
  --quick                    a smoke run in under 3 minutes (hosts 5,20, 200 containers, interval 2s, window 15s)
  --label NAME               also keep the raw figures as bench-fleet-NAME.json beside --out (docs/)
  --baseline-from FILE       a previous run's JSON, shown side by side as "before" in the report
  --baseline-label TEXT      what to call it (default: its own label, else "before")
  --extra-from FILE          a further saved run shown in full below (e.g. a 30 s reference run); repeatable
  --notes FILE               markdown put into the report under "Findings" (what the figures say)
  --out FILE                 the report (default docs/benchmarks-fleet.md; --no-write: print only)
  --svg FILE                 the plot (default docs/img/fleet-load.svg)
  --no-write                 print only
  --render-from FILE         only re-render the report and plot from a saved run
  --help, -h                 this text
`;

export interface FleetOptions {
  hosts: number[];
  containers: number;
  intervalMs: number;
  windowMs: number;
  churn: number;
  /** per-host: every host its own range of workloads; shared: every host the same workloads. */
  workloads: 'per-host' | 'shared';
  perProcess: number;
  /** Agents start at random moments within this many ms. */
  startSpreadMs: number;
  poolSize: number;
  env: Record<string, string>;
  stopWhenSaturated: boolean;
  fastDb: boolean;
  quick: boolean;
  label?: string;
  baselineFrom?: string;
  baselineLabel?: string;
  extraFrom: string[];
  notes?: string;
  out: string;
  svg: string;
  write: boolean;
  renderFrom?: string;
}

export class HelpRequested extends Error {}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`Expected \`--${name}\` to be an integer from 1 and up, got ${JSON.stringify(v)}`);
  return n;
}

function durationMs(name: string, v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined || !(ms > 0)) throw new Error(`Expected \`--${name}\` to be a duration like 3s, 500ms or 2m, got ${JSON.stringify(v)}`);
  return ms;
}

export function parseFleetArgs(argv: string[], repoRoot: string): FleetOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      hosts: { type: 'string' },
      containers: { type: 'string' },
      interval: { type: 'string' },
      window: { type: 'string' },
      churn: { type: 'string' },
      workloads: { type: 'string' },
      'per-process': { type: 'string' },
      'start-spread': { type: 'string' },
      'pool-size': { type: 'string' },
      env: { type: 'string', multiple: true },
      'stop-when-saturated': { type: 'boolean' },
      'no-stop-when-saturated': { type: 'boolean' },
      'fast-db': { type: 'boolean' },
      quick: { type: 'boolean' },
      label: { type: 'string' },
      'baseline-from': { type: 'string' },
      'baseline-label': { type: 'string' },
      'extra-from': { type: 'string', multiple: true },
      notes: { type: 'string' },
      out: { type: 'string' },
      svg: { type: 'string' },
      'no-write': { type: 'boolean' },
      'render-from': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw new HelpRequested();
  const quick = values.quick ?? false;
  const hosts = (values.hosts ?? (quick ? '5,20' : '10,50,100,200')).split(',').map((s) => positiveInt('hosts', s.trim()));
  const env: Record<string, string> = {};
  for (const part of (values.env ?? []).flatMap((e) => e.split(','))) {
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`Expected \`--env\` entries like K=V, got ${JSON.stringify(part)}`);
    env[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  const churn = Number(values.churn ?? '0.01');
  if (!(churn >= 0 && churn <= 1)) throw new Error(`Expected \`--churn\` to be a fraction from 0 to 1, got ${JSON.stringify(values.churn)}`);
  if (values.label !== undefined && !/^[A-Za-z0-9._-]+$/.test(values.label)) throw new Error(`Expected \`--label\` to be letters, digits, '.', '_' or '-', got ${JSON.stringify(values.label)}`);
  const workloads = values.workloads ?? 'per-host';
  if (workloads !== 'per-host' && workloads !== 'shared') throw new Error(`Expected \`--workloads\` to be per-host or shared, got ${JSON.stringify(workloads)}`);
  const abs = (p: string) => path.resolve(repoRoot, p);
  const intervalMs = durationMs('interval', values.interval ?? (quick ? '2s' : '3s'));
  return {
    hosts,
    containers: positiveInt('containers', values.containers ?? (quick ? '200' : '1000')),
    intervalMs,
    windowMs: durationMs('window', values.window ?? (quick ? '15s' : '60s')),
    churn,
    workloads,
    perProcess: positiveInt('per-process', values['per-process'] ?? '20'),
    startSpreadMs: values['start-spread'] ? durationMs('start-spread', values['start-spread']) : Math.max(intervalMs, Math.max(...hosts) * 500),
    poolSize: positiveInt('pool-size', values['pool-size'] ?? '2'),
    env,
    stopWhenSaturated: values['no-stop-when-saturated'] ? false : (values['stop-when-saturated'] ?? true),
    fastDb: values['fast-db'] ?? false,
    quick,
    label: values.label,
    baselineFrom: values['baseline-from'] ? abs(values['baseline-from']) : undefined,
    baselineLabel: values['baseline-label'],
    extraFrom: (values['extra-from'] ?? []).map(abs),
    notes: values.notes ? abs(values.notes) : undefined,
    out: abs(values.out ?? 'docs/benchmarks-fleet.md'),
    svg: abs(values.svg ?? 'docs/img/fleet-load.svg'),
    write: !(values['no-write'] ?? false),
    renderFrom: values['render-from'] ? abs(values['render-from']) : undefined,
  };
}
