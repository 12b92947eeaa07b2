/**
 * `make bench-hostile`: what one hostile label costs the service's memory. The real CLI
 * (`node dist/src/cli.js run`, SQLite) runs against the Engine API simulator twice with the same
 * fleet and the same number of passes: once as is, once with one foreign compose container
 * carrying a label of `--label-mb` MB (default 100). Both peak RSS figures (the service
 * process's `VmHWM`) are printed side by side; the goal is a difference within 50 MB (the
 * service skips entries above DOCKER_MAX_ENTRY_BYTES without holding them: see
 * src/docker/docker.client.ts).
 *
 *   node --expose-gc dist/bench/hostile-label.js [--containers 1000] [--label-mb 100] [--passes 10]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DockerSimulator } from '../spec/support/docker-sim.js';
import { OtherSession } from '../spec/support/invariants.js';
import { runCli, startService, type ServiceProcess } from '../spec/support/service-process.js';
import { desiredRows, fleetContainer } from './fleet.js';

const MB = 1 << 20;
const GOAL_MB = 50;

const USAGE = `node --expose-gc dist/bench/hostile-label.js [options]

  --containers N   Tinyforge containers in the fleet (default 1000), plus 5% foreign compose ones
  --label-mb M     size of the hostile label in MB (default 100)
  --passes P       passes each run waits for after the first (default 10)
  --help
`;

interface RunResult {
  label: string;
  peakRssBytes: number;
  rssBytes: number;
  passes: number;
  failedPasses: number;
  oversized: number;
  rows: number;
  seconds: number;
}

/** Peak and current resident set of a process (bytes). */
function memoryOf(pid: number): { hwm: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

const log = (s: string) => process.stderr.write(`[bench-hostile ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

async function oneRun(label: string, containers: number, hostileBytes: number, passes: number): Promise<RunResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-hostile-'));
  const sim = await DockerSimulator.start();
  let svc: ServiceProcess | undefined;
  try {
    const url = `sqlite:${path.join(dir, 'tf.db')}`;
    const mig = await runCli(['migrate'], { DATABASE_URL: url });
    if (mig.code !== 0) throw new Error(`migrate failed: ${mig.stderr}${mig.stdout}`);
    const db = await OtherSession.open(url);
    const desired = desiredRows(0, containers);
    for (const w of desired.workloads) await db.run('INSERT INTO workloads (id, kind, ref_id, name) VALUES (?, ?, ?, ?)', w);
    for (const s of desired.stacks) await db.run('INSERT INTO stacks (id, name, compose_project_name) VALUES (?, ?, ?)', s);
    await db.close();
    sim.populate(containers, fleetContainer);
    // Other tenants' compose projects on the same host, as on any real node.
    const foreign = Math.max(1, Math.round(containers / 20));
    for (let i = 0; i < foreign; i++) sim.add({ name: `other-${i}-app-1`, labels: { 'com.docker.compose.project': `other-${i}`, 'com.docker.compose.service': 'app' } });
    if (hostileBytes > 0) sim.add({ name: 'hostile-app-1', labels: { 'com.docker.compose.project': 'hostile', 'com.docker.compose.service': 'app', 'org.example.blob': 'x'.repeat(hostileBytes) } });

    const t0 = Date.now();
    svc = await startService({ DATABASE_URL: url, DOCKER_HOST: sim.dockerHost, HOST_NAME: 'local', RECONCILE_INTERVAL: '1s', LOG_LEVEL: 'warn' }, { name: `bench-hostile-${label}` });
    await svc.waitReady(120_000);
    const s = svc;
    const ticks = async (result: string) => (await s.metric('tinyforge_reconciler_ticks_total', { result })) ?? 0;
    const first = await ticks('success');
    await s.waitFor(async () => (await ticks('success')) >= first + passes || undefined, `${passes} passes`, 300_000, 100);
    const mem = memoryOf(s.pid);
    const result: RunResult = {
      label,
      peakRssBytes: mem.hwm,
      rssBytes: mem.rss,
      passes: await ticks('success'),
      failedPasses: await ticks('error'),
      oversized: ((await s.metric('tinyforge_reconciler_docker_oversized_entries_total', { source: 'list' })) ?? 0) + ((await s.metric('tinyforge_reconciler_docker_oversized_entries_total', { source: 'event' })) ?? 0),
      rows: 0,
      seconds: (Date.now() - t0) / 1000,
    };
    const check = await OtherSession.open(url);
    result.rows = Number((await check.query<{ n: number }>("SELECT COUNT(*) AS n FROM containers WHERE state <> 'missing'"))[0]!.n);
    await check.close();
    s.kill('SIGTERM');
    const exit = await s.waitExit(30_000);
    if (exit?.code !== 0) log(`${label}: the service exited ${JSON.stringify(exit)}`);
    return result;
  } finally {
    await svc?.dispose();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { containers: { type: 'string', default: '1000' }, 'label-mb': { type: 'string', default: '100' }, passes: { type: 'string', default: '10' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const containers = Number(values.containers);
  const labelMb = Number(values['label-mb']);
  const passes = Number(values.passes);
  if (!(containers >= 1 && labelMb > 0 && passes >= 1)) throw new Error(`bad arguments\n\n${USAGE}`);

  log(`without the hostile label: ${containers} containers, ${passes} passes`);
  const plain = await oneRun('plain', containers, 0, passes);
  log(`with a ${labelMb} MB label on a foreign compose container`);
  const hostile = await oneRun('hostile', containers, labelMb * MB, passes);

  const mb = (b: number) => `${(b / MB).toFixed(1)} MB`;
  const diff = hostile.peakRssBytes - plain.peakRssBytes;
  const rows: Array<[string, string, string]> = [
    ['', 'without', `with a ${labelMb} MB label`],
    ['peak RSS of the service (VmHWM)', mb(plain.peakRssBytes), mb(hostile.peakRssBytes)],
    ['RSS at the end', mb(plain.rssBytes), mb(hostile.rssBytes)],
    ['successful passes / failed', `${plain.passes} / ${plain.failedPasses}`, `${hostile.passes} / ${hostile.failedPasses}`],
    ['oversized entries skipped (list + event)', String(plain.oversized), String(hostile.oversized)],
    ['live rows', String(plain.rows), String(hostile.rows)],
    ['wall time of the run', `${plain.seconds.toFixed(1)} s`, `${hostile.seconds.toFixed(1)} s`],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  process.stdout.write(`\nhostile label (${containers} containers, ${passes} passes after the first, RECONCILE_INTERVAL=1s)\n\n`);
  for (const r of rows) process.stdout.write(`  ${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}\n`);
  const ok = diff <= GOAL_MB * MB && hostile.failedPasses === 0 && hostile.rows === plain.rows;
  process.stdout.write(`\n  difference of peak RSS: ${diff >= 0 ? '+' : ''}${mb(diff)} (goal: within ${GOAL_MB} MB, passes and rows unchanged): ${ok ? 'MET' : 'MISSED'}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
