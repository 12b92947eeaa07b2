/**
 * `make bench`: the Go original's algorithm (bench/baseline-go-port.ts, the BASELINE) and this
 * service (src/, the real App), side by side against one throwaway MariaDB and one Engine API
 * simulator, for N = 1,000, 10,000 and 100,000 containers; then event-to-row latency against a
 * private Docker engine and under a burst against the simulator. Prints tables and writes
 * docs/benchmarks.md.
 *
 *   node --expose-gc dist/bench/run.js [options]     (the options: bench/args.ts, or --help)
 *
 * bench/args.ts reads the command line, bench/orchestrate.ts measures (the harness in this
 * process: orchestration, statement counting, the baseline; the simulator, bench/sim-server.ts,
 * and the service, bench/service-child.ts, each in their own process, so the service's CPU and
 * RSS are its own), bench/report.ts renders.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../src/domain/errors.js';
import { HelpRequested, parseBenchArgs, USAGE, type BenchOptions } from './args.js';
import { log, repoRoot, tmpDir } from './env.js';
import { measure, type RawRun } from './orchestrate.js';
import { renderReport } from './report.js';

/** Re-renders the report from a saved run (`--render-from .tmp/bench/last-run.json`), e.g. after changing the notes. */
function renderFrom(file: string, opts: BenchOptions): void {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawRun;
  writeFileSync(opts.out, renderReport(raw).doc);
  log(`wrote ${path.relative(repoRoot, opts.out)} from ${file}`);
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
  const report = renderReport(run);
  process.stdout.write(`\n${report.text}\n`);
  writeFileSync(path.join(tmpDir, 'last-run.json'), JSON.stringify(run, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
  if (opts.write) {
    writeFileSync(opts.out, report.doc);
    log(`wrote ${path.relative(repoRoot, opts.out)}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`FAILED: ${errorMessage(err, { stack: true })}`);
    process.exit(1);
  },
);
