/**
 * The REAL service as a separate process: `node dist/src/cli.js <args>` with a given environment,
 * stdout and stderr (JSON logs) captured to buffers and mirrored to files, the PID, the HTTP port,
 * signals, the exit status and /metrics.
 *
 *   const svc = await startService({ DATABASE_URL: url, DOCKER_HOST: host, HOST_NAME: 'h' });
 *   await svc.waitReady();                 // /readyz 200
 *   await svc.metric('tinyforge_reconciler_leader');
 *   svc.kill('SIGTERM'); const exit = await svc.waitExit(10_000);
 *
 * Every process is registered with the server registry of proc.ts, so a test that forgets one (or
 * a mocha run that dies) does not leave it behind: hooks.ts SIGKILLs it by PID, and `setpriv
 * --pdeathsig` kills it if this runner dies. Processes are only ever signalled by their own PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, registerServer, runCommand, unregisterServer, type RunResult, type TrackedServer } from './proc.js';
import { parseExposition, type Exposition } from './exposition.js';

/** The repository root (this file runs from dist/spec/support/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');
/** Per-process log copies, for post-mortems (git-ignored). */
export const SERVICE_LOG_DIR = path.join(REPO_ROOT, '.tmp', 'faults', 'logs');

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LogLine {
  level?: string;
  msg?: string;
  [k: string]: unknown;
}

/** Only what the service needs from the environment: nothing inherited can change its config. */
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'TZ', 'NODE_OPTIONS'];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

const SETPRIV = '/usr/bin/setpriv';

let seq = 0;

export class ServiceProcess implements TrackedServer {
  readonly label: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ServiceExit>;
  readonly logFile: string;
  private readonly out: Buffer[] = [];
  private readonly err: Buffer[] = [];
  private exitInfo: ServiceExit | undefined;
  private readonly stream: fs.WriteStream;

  constructor(
    readonly name: string,
    readonly args: string[],
    readonly env: Record<string, string>,
    /** The HTTP port (0 when the command serves none). */
    readonly port: number,
  ) {
    this.label = `service[${name}]`;
    fs.mkdirSync(SERVICE_LOG_DIR, { recursive: true });
    this.logFile = path.join(SERVICE_LOG_DIR, `${Date.now()}-${process.pid}-${++seq}-${name.replace(/[^\w.-]/g, '_')}.log`);
    this.stream = fs.createWriteStream(this.logFile);
    const nodeArgs = [CLI, ...args];
    const useSetpriv = fs.existsSync(SETPRIV);
    const [file, argv] = useSetpriv ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
    this.child = spawn(file, argv, { cwd: REPO_ROOT, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid ?? -1;
    this.child.stdout!.on('data', (b: Buffer) => {
      this.out.push(b);
      this.stream.write(b);
    });
    this.child.stderr!.on('data', (b: Buffer) => {
      this.err.push(b);
      this.stream.write(b);
    });
    this.exited = new Promise<ServiceExit>((resolve) => {
      this.child.once('error', () => {
        this.exitInfo ??= { code: null, signal: null };
        resolve(this.exitInfo);
      });
      // 'close': the process ended AND its stdio drained, so the buffers are complete.
      this.child.once('close', (code, signal) => {
        this.exitInfo ??= { code, signal };
        this.stream.end();
        unregisterServer(this);
        resolve(this.exitInfo);
      });
    });
    registerServer(this);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): ServiceExit | undefined {
    return this.exitInfo;
  }

  get stdout(): string {
    return Buffer.concat(this.out).toString('utf8');
  }

  get stderr(): string {
    return Buffer.concat(this.err).toString('utf8');
  }

  /** stdout + stderr, as captured so far. */
  output(): string {
    return this.stdout + this.stderr;
  }

  /** The JSON log lines of stdout (non-JSON lines are skipped). */
  logs(): LogLine[] {
    const out: LogLine[] = [];
    for (const line of this.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as LogLine);
      } catch {
        /* a half line at the end */
      }
    }
    return out;
  }

  /** Sends `sig` to this process (by PID). No-op once it exited. */
  kill(sig: NodeJS.Signals): void {
    if (!this.running || this.pid <= 0) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      /* gone */
    }
  }

  /** Resolves with the exit status, or undefined after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<ServiceExit | undefined> {
    if (this.exitInfo) return this.exitInfo;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async get(pathname: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.baseUrl}${pathname}`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  }

  /** The raw /metrics body. */
  async metrics(timeoutMs = 3000): Promise<string> {
    const r = await this.get('/metrics', timeoutMs);
    if (r.status !== 200) throw new Error(`${this.label}: /metrics answered ${r.status}`);
    return r.body;
  }

  async exposition(): Promise<Exposition> {
    return parseExposition(await this.metrics());
  }

  /** One sample's value (labels must match exactly the given ones, others ignored); undefined when absent. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const e = await this.exposition();
    const s = e.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    return s?.value;
  }

  /** Polls /readyz until 200. Fails early when the process exits. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    await this.waitFor(async () => (await this.get('/readyz')).status === 200, '/readyz 200', timeoutMs);
  }

  /** Polls /healthz (or any endpoint) until it answers, i.e. the HTTP server is up. */
  async waitHttp(timeoutMs = 15_000): Promise<void> {
    await this.waitFor(async () => (await this.get('/healthz')).status > 0, 'the HTTP server', timeoutMs);
  }

  /** Polls until a JSON log line matches. */
  async waitForLog(pred: (l: LogLine) => boolean, what: string, timeoutMs = 15_000): Promise<LogLine> {
    return this.waitFor(async () => this.logs().find(pred), `log line: ${what}`, timeoutMs);
  }

  async waitFor<T>(fn: () => Promise<T | undefined | false | null>, what: string, timeoutMs: number, everyMs = 50): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      if (!this.running) throw new Error(`${this.label} exited (${JSON.stringify(this.exitInfo)}) while waiting for ${what}\n${this.tail()}`);
      try {
        const v = await fn();
        if (v) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) throw new Error(`${this.label}: timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** The last lines of the output, for failure messages. */
  tail(lines = 25): string {
    const all = this.output().split('\n');
    return `--- last ${lines} lines of ${this.label} (pid ${this.pid}, full log ${this.logFile}) ---\n${all.slice(-lines).join('\n')}`;
  }

  /** SIGKILL (after SIGCONT, in case it was stopped) and wait. Idempotent. */
  async dispose(): Promise<void> {
    if (!this.running) return;
    this.kill('SIGCONT');
    this.kill('SIGKILL');
    await this.waitExit(10_000);
  }

  hardKillSync(): void {
    if (!this.running || this.pid <= 0) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export interface StartServiceOptions {
  /** Command and arguments after cli.js; default ['run']. */
  args?: string[];
  /** A short name for logs. */
  name?: string;
  /** Wait until the HTTP server answers (default true for `run`). */
  waitHttp?: boolean;
}

/**
 * Starts `node dist/src/cli.js run` with `env` on a free HTTP port on 127.0.0.1 (HTTP_PORT and
 * HTTP_HOST are set unless `env` sets them). LOG_LEVEL defaults to info.
 */
export async function startService(env: Record<string, string>, opts: StartServiceOptions = {}): Promise<ServiceProcess> {
  const args = opts.args ?? ['run'];
  const port = env.HTTP_PORT !== undefined ? Number(env.HTTP_PORT) : await freePort();
  const full: Record<string, string> = { HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, HTTP_PORT: String(port) };
  const svc = new ServiceProcess(opts.name ?? `${args[0] ?? 'run'}-${seq + 1}`, args, full, port);
  if (opts.waitHttp ?? args[0] === 'run') await svc.waitHttp();
  return svc;
}

/** Runs a one-shot CLI command (e.g. `migrate`) to completion with `env`; never throws on a non-zero exit. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<RunResult> {
  return runCommand(process.execPath, [CLI, ...args], { env: { ...baseEnv(), ...env }, cwd: REPO_ROOT, allowFail: true, timeoutMs });
}
