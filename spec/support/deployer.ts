/**
 * A deployer that behaves like Tinyforge's: it pre-creates the `containers` row with its own ID
 * (a UUID) and an empty `container_id`, runs `docker create` with Tinyforge's labels, binds the
 * row (`UPDATE containers SET container_id = ? WHERE id = ?`), then `docker start`s the container.
 * Every database statement goes through its own session ({@link OtherSession}: on MariaDB a
 * connection that never sets `time_zone`), every Docker step through the docker CLI.
 *
 * Two ways to run it:
 * - in-process, step by step (`new Deployer(session, dockerHost)`; `precreate`, `create`, `bind`,
 *   `start`), so a test can put a step exactly where it wants it (between a pass's list and its
 *   sweep, for example);
 * - as a separate OS process doing the whole sequence (`runDeployerProcess`, which runs
 *   `node dist/spec/support/deployer.js --database-url ... --docker-host ...`), with its own
 *   database connection, while the service runs.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SYSTEM_PATH, runCommand } from './proc.js';
import { OtherSession } from './invariants.js';

export interface DeploySpec {
  workloadId: string;
  /** `tinyforge.workload.kind` label and `workload_kind` column; '' leaves the label off. */
  kind: string;
  /** `tinyforge.role` label and `role` column; '' leaves the label off. */
  role: string;
  /** The `host` column: the HOST_NAME of the agent of the daemon it deploys to. */
  host: string;
  /** The image reference to create the container from. */
  image: string;
  /** The row's ID; default a fresh UUID. */
  rowId?: string;
  name?: string;
  /** More labels (e.g. a test's own markers). */
  labels?: Record<string, string>;
  /** Command; default ['sleep', '3600']. */
  cmd?: string[];
  /**
   * Milliseconds between `docker create` and the binding (default 0): a deployer busy with
   * something else meanwhile, so the service's event path sees the container first.
   */
  bindDelayMs?: number;
}

export interface DeployResult {
  rowId: string;
  containerId: string;
  /** Milliseconds each step took. */
  steps: { precreate: number; create: number; bind: number; start: number };
}

function dockerCli(): string {
  // The distro CLI matches the distro daemon (as spec/support/dockerd.ts chooses).
  for (const c of ['/usr/bin/docker', '/usr/local/bin/docker']) if (fs.existsSync(c)) return c;
  throw new Error('docker CLI not found (package docker.io)');
}

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}` };
  for (const k of Object.keys(env)) if (k.startsWith('DOCKER_')) delete env[k];
  return env;
}

export class Deployer {
  constructor(
    readonly session: OtherSession,
    readonly dockerHost: string,
  ) {}

  private async docker(args: string[]): Promise<string> {
    const res = await runCommand(dockerCli(), ['--host', this.dockerHost, ...args], { env: cliEnv(), timeoutMs: 60_000 });
    return res.stdout.trim();
  }

  /** Tinyforge's labels for `spec` (plus its extra labels). */
  static labels(spec: DeploySpec): Record<string, string> {
    const l: Record<string, string> = { 'tinyforge.managed': 'true', 'tinyforge.workload.id': spec.workloadId };
    if (spec.kind !== '') l['tinyforge.workload.kind'] = spec.kind;
    if (spec.role !== '') l['tinyforge.role'] = spec.role;
    return { ...l, ...spec.labels };
  }

  /** Step 1: the row, with its own ID and an empty `container_id`. Returns the row ID. */
  async precreate(spec: DeploySpec): Promise<string> {
    const rowId = spec.rowId ?? randomUUID();
    await this.session.run(
      "INSERT INTO containers (id, workload_id, workload_kind, role, container_id, image_ref, host, state) VALUES (?, ?, ?, ?, '', ?, ?, 'created')",
      [rowId, spec.workloadId, spec.kind, spec.role, spec.image, spec.host],
    );
    return rowId;
  }

  /** Step 2: `docker create` (always `--network none`). Returns the full container ID. */
  async create(spec: DeploySpec): Promise<string> {
    const args = ['create', '--network', 'none'];
    if (spec.name) args.push('--name', spec.name);
    for (const [k, v] of Object.entries(Deployer.labels(spec))) args.push('--label', `${k}=${v}`);
    args.push(spec.image, ...(spec.cmd ?? ['sleep', '3600']));
    const out = await this.docker(args);
    const id = out.split('\n').pop()!.trim();
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`docker create: expected a container ID, got ${JSON.stringify(out)}`);
    return id;
  }

  /** Step 3: bind the row to the container. */
  async bind(rowId: string, containerId: string): Promise<void> {
    const n = await this.session.run('UPDATE containers SET container_id = ? WHERE id = ?', [containerId, rowId]);
    if (n !== 1) throw new Error(`bind: UPDATE of row ${rowId} changed ${n} rows`);
  }

  /** Step 4: `docker start`. */
  async start(containerId: string): Promise<void> {
    await this.docker(['start', containerId]);
  }

  /** `docker stop -t 1` (a later redeploy's first step). */
  async stop(containerId: string): Promise<void> {
    await this.docker(['stop', '-t', '1', containerId]);
  }

  /** The whole sequence, in Tinyforge's order. */
  async deploy(spec: DeploySpec): Promise<DeployResult> {
    let t = Date.now();
    const lap = () => {
      const now = Date.now();
      const d = now - t;
      t = now;
      return d;
    };
    const rowId = await this.precreate(spec);
    const precreate = lap();
    const containerId = await this.create(spec);
    const create = lap();
    if (spec.bindDelayMs) await new Promise((r) => setTimeout(r, spec.bindDelayMs));
    await this.bind(rowId, containerId);
    const bind = lap();
    await this.start(containerId);
    const start = lap();
    return { rowId, containerId, steps: { precreate, create, bind, start } };
  }
}

/** This file, compiled (dist/spec/support/deployer.js). */
export const DEPLOYER_SCRIPT = fileURLToPath(import.meta.url);

/**
 * Runs the whole deploy sequence as a separate OS process (`node deployer.js`), with its own
 * database connection. Resolves with what it deployed; throws with its output if it failed.
 */
export async function runDeployerProcess(databaseUrl: string, dockerHost: string, spec: DeploySpec, timeoutMs = 60_000): Promise<DeployResult> {
  const args = [DEPLOYER_SCRIPT, '--database-url', databaseUrl, '--docker-host', dockerHost, '--workload', spec.workloadId, '--kind', spec.kind, '--role', spec.role, '--host', spec.host, '--image', spec.image];
  if (spec.rowId) args.push('--row-id', spec.rowId);
  if (spec.name) args.push('--name', spec.name);
  if (spec.bindDelayMs) args.push('--bind-delay-ms', String(spec.bindDelayMs));
  for (const [k, v] of Object.entries(spec.labels ?? {})) args.push('--label', `${k}=${v}`);
  const res = await runCommand(process.execPath, args, { env: cliEnv(), timeoutMs });
  const last = res.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as DeployResult;
  } catch {
    throw new Error(`deployer process printed no result:\n${res.stdout}\n${res.stderr}`);
  }
}

function parseArgs(argv: string[]): { url: string; dockerHost: string; spec: DeploySpec } {
  const get = new Map<string, string>();
  const labels: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (!k.startsWith('--') || v === undefined) throw new Error(`usage: deployer.js --database-url URL --docker-host HOST --workload W --kind K --role R --host H --image I [--row-id ID] [--name N] [--bind-delay-ms MS] [--label k=v]...; bad argument ${JSON.stringify(k)}`);
    if (k === '--label') {
      const eq = v.indexOf('=');
      labels[v.slice(0, eq)] = v.slice(eq + 1);
    } else get.set(k.slice(2), v);
  }
  const need = (k: string) => {
    const v = get.get(k);
    if (v === undefined) throw new Error(`deployer.js: --${k} is required`);
    return v;
  };
  return {
    url: need('database-url'),
    dockerHost: need('docker-host'),
    spec: { workloadId: need('workload'), kind: get.get('kind') ?? '', role: get.get('role') ?? '', host: need('host'), image: need('image'), rowId: get.get('row-id'), name: get.get('name'), labels, bindDelayMs: Number(get.get('bind-delay-ms') ?? 0) },
  };
}

async function main(): Promise<void> {
  const { url, dockerHost, spec } = parseArgs(process.argv.slice(2));
  const session = await OtherSession.open(url);
  try {
    const res = await new Deployer(session, dockerHost).deploy(spec);
    process.stdout.write(`${JSON.stringify(res)}\n`);
  } finally {
    await session.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`deployer failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
