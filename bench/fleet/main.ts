/**
 * `make bench-fleet`: many agents (one per simulated Docker host, each the real App with leader
 * election on) against one throwaway MariaDB; sweeps the number of hosts and measures the
 * database in the steady state and under churn. Prints a table beside the goals, keeps the raw
 * figures as JSON and writes docs/benchmarks-fleet.md with a plot (docs/img/fleet-load.svg).
 *
 *   node --expose-gc dist/bench/fleet/main.js [options]     (the options: bench/fleet/args.ts, or --help)
 *
 * bench/fleet/orchestrate.ts measures (agents in bench/fleet/agent-child.ts processes, the
 * server side in bench/fleet/db-probe.ts), bench/fleet/report.ts and svg.ts render.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../src/domain/errors.js';
import { HelpRequested, parseFleetArgs, USAGE, type FleetOptions } from './args.js';
import { log, measureFleet, repoRoot, tmpDir, type FleetRun } from './orchestrate.js';
import { renderDoc, renderText } from './report.js';
import { renderSvg } from './svg.js';

function readRun(file: string): FleetRun {
  return JSON.parse(readFileSync(file, 'utf8'), (_k, v) => (v === 'Infinity' ? Infinity : v === 'NaN' ? NaN : v)) as FleetRun;
}

function writeRun(file: string, run: FleetRun): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(run, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}\n`);
}

function publish(run: FleetRun, opts: FleetOptions): void {
  const base = opts.baselineFrom ? (() => {
    const b = readRun(opts.baselineFrom);
    return { run: b, label: opts.baselineLabel ?? b.label ?? 'before' };
  })() : undefined;
  const extras = opts.extraFrom.map((f) => {
    const r = readRun(f);
    return { run: r, label: r.label ?? path.basename(f, '.json') };
  });
  process.stdout.write(`\n${renderText(run, base)}\n`);
  if (!opts.write) return;
  mkdirSync(path.dirname(opts.svg), { recursive: true });
  writeFileSync(opts.svg, renderSvg(run, base, extras));
  const svgRel = path.relative(path.dirname(opts.out), opts.svg);
  const notes = opts.notes ? readFileSync(opts.notes, 'utf8') : undefined;
  writeFileSync(opts.out, renderDoc(run, svgRel, base, extras, notes));
  log(`wrote ${path.relative(repoRoot, opts.out)} and ${path.relative(repoRoot, opts.svg)}`);
}

async function main(): Promise<void> {
  let opts: FleetOptions;
  try {
    opts = parseFleetArgs(process.argv.slice(2), repoRoot);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(USAGE);
      return;
    }
    process.stderr.write(`${errorMessage(err)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.renderFrom) return publish(readRun(opts.renderFrom), opts);
  const run = await measureFleet(opts);
  writeRun(path.join(tmpDir, 'last-run.json'), run);
  if (opts.label) {
    // Beside the report (docs/ by default).
    const file = path.join(path.dirname(opts.out), `bench-fleet-${opts.label}.json`);
    writeRun(file, run);
    log(`kept the raw figures in ${file}`);
  }
  publish(run, opts);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`FAILED: ${errorMessage(err, { stack: true })}`);
    process.exit(1);
  },
);
