/**
 * `make bench`: the Go original's algorithm (bench/baseline-go-port.ts, the BASELINE) and this
 * service (src/, the real App), side by side against one throwaway MariaDB and one Engine API
 * simulator, for N = 1,000, 10,000 and 100,000 containers; then event-to-row latency against a
 * private Docker engine and under a burst against the simulator. Prints tables and writes
 * docs/benchmarks.md and its plot, docs/img/bench-scale.svg (bench/plot.ts).
 *
 *   node --expose-gc dist/bench/run.js [options]     (the options: bench/args.ts, or --help)
 *
 * bench/args.ts reads the command line, bench/orchestrate.ts measures (the harness in this
 * process: orchestration and statement counting; the simulator, bench/sim-server.ts, the
 * baseline, bench/baseline-child.ts, and the service, bench/service-child.ts, each in their own
 * process, so their CPU and RSS are their own), bench/report.ts renders.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../src/domain/errors.js';
import { HelpRequested, parseBenchArgs, USAGE, type BenchOptions } from './args.js';
import { log, repoRoot } from './env.js';
import { measure, type RawRun } from './orchestrate.js';
import { renderScaleSvg, scalePlot } from './plot.js';
import { renderReport } from './report.js';

/** Writes the report to opts.out and its plot to opts.plot (linked from the report by a relative path). */
function writeReport(run: RawRun, opts: BenchOptions, doc: string): void {
  mkdirSync(path.dirname(opts.plot), { recursive: true });
  writeFileSync(opts.plot, renderScaleSvg(scalePlot(run.results)));
  writeFileSync(opts.out, doc);
  log(`wrote ${path.relative(repoRoot, opts.out)} and ${path.relative(repoRoot, opts.plot)}`);
}

const plotHref = (opts: BenchOptions) => path.relative(path.dirname(opts.out), opts.plot).split(path.sep).join('/');

/** Re-renders the report and the plot from a saved run (`--render-from .tmp/bench/last-run.json`), e.g. after changing the notes. */
function renderFrom(file: string, opts: BenchOptions): void {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawRun;
  writeReport(raw, opts, renderReport(raw, { plotHref: plotHref(opts) }).doc);
  log(`(from ${file})`);
}

async function main(): Promise<void> {
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(USAGE);
      return;
    }
    // A bad command line: say what is wrong and how it goes, without a stack trace.
    if (String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${errorMessage(err)}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (opts.renderFrom) return renderFrom(opts.renderFrom, opts);
  const run = await measure(opts);
  const report = renderReport(run, { plotHref: plotHref(opts) });
  process.stdout.write(`\n${report.text}\n`);
  mkdirSync(path.dirname(opts.raw), { recursive: true });
  writeFileSync(opts.raw, JSON.stringify(run, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
  log(`raw figures in ${path.relative(repoRoot, opts.raw)}`);
  if (opts.write) writeReport(run, opts, report.doc);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`FAILED: ${errorMessage(err, { stack: true })}`);
    process.exit(1);
  },
);
