/**
 * Process plumbing shared by the throwaway test servers (mariadb.ts, dockerd.ts, podman.ts, ...);
 * their common start/stop/kill/dispose lifecycle is built on it in server-process.ts.
 *
 * - ManagedProcess: a child started with its output in a log file, optionally bound to this
 *   process's life with PR_SET_PDEATHSIG (via util-linux `setpriv`), with an awaitable exit.
 * - A registry of live servers: `disposeAllServers()` (used by hooks.ts) tears them all down,
 *   and a synchronous best-effort kill runs on process 'exit' and on SIGINT/SIGTERM/SIGHUP.
 * - Janitor: each server owns one mkdtemp dir with an owner.json; dirs whose owner process is
 *   dead (a crashed or SIGKILLed earlier run) are swept: their processes (found by the dir path
 *   in their command line, or by a container ID in their cgroup) are killed, mounts under the dir
 *   are detached, and the dir is removed.
 *
 * Nothing here runs at import time except cheap definitions: a test run that never starts a
 * server starts nothing and installs no handlers.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Last `maxLines` lines of a text file ('' if it cannot be read). */
export function tailFile(file: string, maxLines = 40): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      const lines = buf.toString('utf8').split('\n');
      if (lines.length && lines[lines.length - 1] === '') lines.pop();
      return lines.slice(-maxLines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

const handedOutPorts = new Set<number>();

/** A TCP port on 127.0.0.1 that was free a moment ago (bind :0, close). Never returns the same port twice per process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port > 0 && !handedOutPorts.has(port)) {
      handedOutPorts.add(port);
      return port;
    }
  }
  throw new Error('freePort: could not find a free TCP port on 127.0.0.1');
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
  allowFail?: boolean;
}

/** Run a command to completion, capturing output. Throws on a non-zero exit unless allowFail. */
export function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // EPIPE if the command exits without reading
      child.stdin!.end(opts.input);
    }
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const res: RunResult = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : -1),
      };
      const shown = [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
      if (timedOut) {
        reject(new Error(`timed out after ${timeoutMs} ms: ${shown}\n${clip(res.stderr)}`));
      } else if (res.code !== 0 && !opts.allowFail) {
        reject(new Error(`exit code ${res.code}: ${shown}\n--- stderr ---\n${clip(res.stderr)}\n--- stdout ---\n${clip(res.stdout)}`));
      } else {
        resolve(res);
      }
    });
  });
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return os.constants.signals[sig];
}

function clip(s: string, max = 4000): string {
  const t = s.trim();
  return t.length > max ? `...${t.slice(-max)}` : t;
}

const SETPRIV = '/usr/bin/setpriv';
let setprivOk: boolean | undefined;
function canUseSetpriv(): boolean {
  if (setprivOk === undefined) {
    try {
      const help = execFileSync(SETPRIV, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      setprivOk = help.includes('--pdeathsig');
    } catch {
      setprivOk = false;
    }
  }
  return setprivOk;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

/**
 * A long-running child process. stdout+stderr go (appended) to `logFile`. The child does not keep
 * the event loop alive (unref), and gets SIGKILL if this Node process dies (pdeathsig), so a
 * SIGKILLed test runner leaves no server behind.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;

  constructor(
    readonly description: string,
    cmd: string,
    args: string[],
    opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
  ) {
    const fd = fs.openSync(opts.logFile, 'a');
    try {
      const [file, argv] = canUseSetpriv() ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', cmd, ...args]] : [cmd, args];
      this.child = spawn(file, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('error', (error) => {
        this.exitInfo ??= { code: null, signal: null, error };
        resolve(this.exitInfo);
      });
      this.child.once('exit', (code, signal) => {
        this.exitInfo ??= { code, signal };
        resolve(this.exitInfo);
      });
    });
    this.child.unref();
    if (this.child.pid === undefined) {
      // spawn failed synchronously-ish (ENOENT etc.); 'error' will fire.
      this.pid = -1;
    } else {
      this.pid = this.child.pid;
    }
  }

  get running(): boolean {
    return this.exitInfo === undefined && this.pid > 0;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  describeExit(): string {
    const e = this.exitInfo;
    if (!e) return 'still running';
    if (e.error) return `failed to spawn: ${e.error.message}`;
    return e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      /* already gone */
    }
  }

  /** Resolves true if the process exited within timeoutMs. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.exited.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send `sig`, wait up to graceMs, then SIGKILL and wait again. Throws if the process survives. */
  async terminate(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    if (!this.running) return;
    this.signal(sig);
    if (await this.waitExit(graceMs)) return;
    if (sig !== 'SIGKILL') {
      this.signal('SIGKILL');
      if (await this.waitExit(10_000)) return;
    }
    throw new Error(`${this.description} (pid ${this.pid}) did not exit after ${sig}`);
  }
}

/**
 * Poll `probe` until it returns true. Fails early when `dead()` returns a reason, and on timeout;
 * the thrown error message is built by `explain(reason)`.
 */
export async function waitUntil(
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; dead?: () => string | undefined; explain: (reason: string) => string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  let lastError = '';
  for (;;) {
    const deadReason = opts.dead?.();
    if (deadReason) throw new Error(opts.explain(deadReason));
    try {
      if (await probe()) return;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    const deadReason2 = opts.dead?.();
    if (deadReason2) throw new Error(opts.explain(deadReason2));
    if (Date.now() >= deadline) {
      throw new Error(opts.explain(`not ready after ${opts.timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}`));
    }
    await sleep(interval);
  }
}

// ---------------------------------------------------------------------------------------------
// Owned temp dirs, hard cleanup, janitor
// ---------------------------------------------------------------------------------------------

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True if `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function procStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime); fields after the ")" of comm start at field 3
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

/** mkdtemp(prefix) + owner.json naming this process, so a later run can tell the dir is stale. */
export async function makeOwnedTempDir(prefix: string): Promise<string> {
  const dir = await fsp.mkdtemp(prefix);
  await fsp.writeFile(
    path.join(dir, 'owner.json'),
    JSON.stringify({ pid: process.pid, starttime: procStartTime(process.pid), argv: process.argv.slice(0, 3) }) + '\n',
  );
  return dir;
}

function ownerAlive(dir: string): boolean | undefined {
  let owner: { pid?: number; starttime?: string };
  try {
    owner = JSON.parse(fs.readFileSync(path.join(dir, 'owner.json'), 'utf8'));
  } catch {
    return undefined; // not one of ours (or not yet written)
  }
  if (typeof owner.pid !== 'number') return undefined;
  const st = procStartTime(owner.pid);
  return st !== undefined && st === owner.starttime;
}

function listPids(): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(name)) pids.push(Number(name));
  }
  return pids;
}

/**
 * Synchronously and best-effort: SIGKILL every process whose command line mentions `dir`
 * (servers, containerd, shims) and every process in the cgroup of one of `containerIds`,
 * detach every mount under `dir`, then remove `dir`. Never touches anything else.
 */
export function hardCleanupDirSync(dir: string, containerIds: string[] = []): void {
  const self = process.pid;
  const needle = dir.endsWith('/') ? dir : dir + '/';
  const ids = containerIds.filter((id) => /^[0-9a-f]{64}$/.test(id));
  for (let round = 0; round < 3; round++) {
    let killed = 0;
    for (const pid of listPids()) {
      if (pid === self || pid === 1) continue;
      let hit = false;
      try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        hit = argv.some((a) => a === dir || a.includes(needle) || a.endsWith(`=${dir}`));
      } catch {
        continue;
      }
      if (!hit && ids.length) {
        try {
          const cg = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
          hit = ids.some((id) => cg.includes(id));
        } catch {
          /* gone */
        }
      }
      if (hit) {
        try {
          process.kill(pid, 'SIGKILL');
          killed++;
        } catch {
          /* gone */
        }
      }
    }
    if (!killed) break;
    // give the kernel a moment to tear the processes down before unmounting
    sleepSync(100);
  }
  unmountUnderSync(dir);
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // a busy mount we could not detach; try once more after another lazy unmount
    unmountUnderSync(dir);
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* leave it; reported by callers that check */
    }
  }
}

function unescapeMount(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function mountsUnder(dir: string): string[] {
  let info = '';
  try {
    info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const res: string[] = [];
  for (const line of info.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 5) continue;
    const mp = unescapeMount(fields[4]!);
    if (mp === dir || mp.startsWith(dir + '/')) res.push(mp);
  }
  return res;
}

function unmountUnderSync(dir: string): void {
  for (let i = 0; i < 5; i++) {
    const mps = mountsUnder(dir).sort((a, b) => b.length - a.length);
    if (!mps.length) return;
    for (const mp of mps) {
      try {
        execFileSync('umount', ['-l', mp], { stdio: 'ignore' });
      } catch {
        /* ignore */
      }
    }
  }
}

/** Container IDs known to a docker data-root (its containers/ subdirectory). */
export function containerIdsIn(dataRoot: string): string[] {
  try {
    return fs.readdirSync(path.join(dataRoot, 'containers')).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch {
    return [];
  }
}

const sweptPrefixes = new Set<string>();
/** Remove dirs `<prefix>*` left behind by dead earlier runs (once per prefix per process). */
export function sweepStaleDirs(prefix: string, cleanup: (dir: string) => void): void {
  if (sweptPrefixes.has(prefix)) return;
  sweptPrefixes.add(prefix);
  const parent = path.dirname(prefix);
  const base = path.basename(prefix);
  let names: string[] = [];
  try {
    names = fs.readdirSync(parent).filter((n) => n.startsWith(base));
  } catch {
    return;
  }
  for (const n of names) {
    const dir = path.join(parent, n);
    if (ownerAlive(dir) === false) {
      try {
        cleanup(dir);
      } catch {
        /* best effort */
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Registry of live servers + emergency handlers
// ---------------------------------------------------------------------------------------------

export interface TrackedServer {
  readonly label: string;
  /** Graceful teardown: stop processes, remove the temp dir. Idempotent. */
  dispose(): Promise<void>;
  /** Synchronous last-resort teardown for process exit / fatal signals. Idempotent. */
  hardKillSync(): void;
}

const live = new Set<TrackedServer>();
let handlersInstalled = false;

function hardKillAllSync(): void {
  for (const s of [...live]) {
    try {
      s.hardKillSync();
    } catch {
      /* best effort */
    }
    live.delete(s);
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', hardKillAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      hardKillAllSync();
      process.removeListener(sig, handler);
      // re-raise: with no other listener left, the default action terminates the process
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

export function registerServer(s: TrackedServer): void {
  installHandlers();
  live.add(s);
}

export function unregisterServer(s: TrackedServer): void {
  live.delete(s);
}

export function liveServers(): readonly TrackedServer[] {
  return [...live];
}

/** Dispose every server still alive (shared singletons and forgotten ones). Used by hooks.ts. */
export async function disposeAllServers(): Promise<void> {
  const errors: unknown[] = [];
  // dispose in parallel: independent servers
  await Promise.all(
    [...live].map(async (s) => {
      try {
        await s.dispose();
      } catch (e) {
        errors.push(e);
        try {
          s.hardKillSync();
        } catch {
          /* ignore */
        }
      } finally {
        live.delete(s);
      }
    }),
  );
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'disposing test servers failed');
}

/**
 * A lazily started server shared by the whole mocha run (disposed by hooks.ts): the first call
 * starts it; a later call finds it stopped (some test stopped it) and restarts it rather than
 * failing every test after.
 */
export type SharedServer<T> = (() => Promise<T>) & {
  /** Called when `s` is disposed: the next call starts a fresh server. */
  forget(s: T): void;
};

export interface SharedServerOptions<T> {
  /** Brings a stopped server back (its start(), or podman's startService()). */
  restart(s: T): Promise<void>;
  /**
   * A failed first start is forgotten, so the next call tries again. Default false: every later
   * call gets the same rejection at once (a server that cannot start fails each test fast).
   */
  retryAfterFailure?: boolean;
}

export function sharedServer<T extends { readonly running: boolean }>(startFresh: () => Promise<T>, opts: SharedServerOptions<T>): SharedServer<T> {
  let promise: Promise<T> | undefined;
  let instance: T | undefined;
  const get = () => {
    if (!promise) {
      const p = startFresh().then((s) => {
        instance = s;
        return s;
      });
      promise = p;
      if (opts.retryAfterFailure) {
        p.catch(() => {
          if (promise === p) promise = undefined;
        });
      }
    } else if (instance && !instance.running) {
      const s = instance;
      promise = opts.restart(s).then(() => s);
    }
    return promise;
  };
  return Object.assign(get, {
    forget(s: T) {
      if (instance === s) {
        instance = undefined;
        promise = undefined;
      }
    },
  });
}
