/**
 * The lifecycle every throwaway server shares (mariadb.ts, dockerd.ts, podman.ts): one server process at a
 * time, started with its output appended to a log and polled until ready; stopped by PID (SIGTERM, then
 * SIGKILL after a grace period) or killed (SIGKILL); restarted on the same files; disposed once (stop, remove
 * everything under the server's dir, leave the registry of live servers that hooks.ts tears down).
 *
 * A ServerProcess spans restarts: each start spawns a new ManagedProcess (proc.ts), and `pid` stays the last
 * one's after it stopped. The server classes keep what differs: their arguments, readiness probe, extra
 * preparation before a start, and their public methods.
 */
import * as fs from 'node:fs';
import { ManagedProcess, registerServer, tailFile, unregisterServer, waitUntil, type TrackedServer } from './proc.js';

/** How long kill9() waits for the exit after SIGKILL before it throws. */
const KILL_WAIT_MS = 10_000;
/** The same for a process that did not become ready (its error is the one thrown). */
const NOT_READY_KILL_WAIT_MS = 5_000;

export interface ServerProcessOptions {
  /** 'mariadb[shared]': names the server in the registry, in process descriptions and in errors. */
  label: string;
  /** The program as errors name it: 'mariadbd', 'dockerd', 'podman system service'. */
  program: string;
  /** The log the process's stdout and stderr are appended to, after a banner per start. */
  logFile: string;
  /** How long a start may take to become ready. Default 60 s. */
  startTimeoutMs?: number;
  /** stop(): SIGTERM, and SIGKILL when the process is still there after this long. */
  stopGraceMs: number;
  /** dispose(): the same, usually shorter (the data is thrown away anyway). */
  disposeGraceMs: number;
  /** Synchronous, best-effort removal of everything the server left (processes by dir or cgroup, mounts, its dir). */
  cleanupSync(): void;
  /** Runs first in dispose(), while the server still counts as not disposed (podman removes its containers). Errors are ignored. */
  beforeDispose?(): Promise<void>;
  /** Runs last in dispose() (a shared singleton forgets the server). */
  afterDispose?(): void;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** What the banner in the log says is starting (default: the program). */
  banner?: string;
}

export interface ReadyOptions {
  /** Polled until it resolves true (a rejection counts as not yet). */
  probe: () => Promise<boolean>;
  /** What did not become ready, for the error: 'MariaDB on 127.0.0.1:3307'. */
  subject: string;
  intervalMs?: number;
}

/** A start that failed: the process exited (`exited`) or did not answer in time. It has been killed. */
export class NotReadyError extends Error {
  constructor(
    message: string,
    /** The process exited by itself before it became ready (as opposed to a timeout). */
    readonly exited: boolean,
  ) {
    super(message);
    this.name = 'NotReadyError';
  }
}

/**
 * One server's process across restarts, registered with the live-server registry from construction until
 * dispose(). Signals go to the PID of the process it started, never to anything found by name.
 */
export class ServerProcess implements TrackedServer {
  readonly label: string;
  private proc: ManagedProcess | undefined;
  private lastPid = 0;
  private isDisposed = false;
  private disposing: Promise<void> | undefined;

  constructor(private readonly opts: ServerProcessOptions) {
    this.label = opts.label;
    registerServer(this);
  }

  /** PID of the current (or, when stopped, the last) process; 0 before the first start. */
  get pid(): number {
    return this.proc?.pid ?? this.lastPid;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** How the current (or last) process ended: 'still running', 'exited with code 1', 'killed by SIGKILL'. */
  describeExit(): string {
    return this.proc?.describeExit() ?? 'never started';
  }

  /** True from the moment dispose() (after its beforeDispose step) or hardKillSync() began. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Throws `<label>: <what> after dispose()` once disposed. */
  assertNotDisposed(what: string): void {
    if (this.isDisposed) throw new Error(`${this.label}: ${what} after dispose()`);
  }

  /**
   * Spawns `cmd args` as the server's process (after a banner line in the log) and waits until `ready.probe`
   * answers. When the process exits first, or does not answer within the start timeout, it is killed and a
   * NotReadyError with the tail of the log is thrown.
   */
  async start(cmd: string, args: string[], spawn: SpawnOptions, ready: ReadyOptions): Promise<void> {
    this.spawn(cmd, args, spawn);
    await this.waitReady(ready);
  }

  private spawn(cmd: string, args: string[], opts: SpawnOptions): void {
    if (this.running) throw new Error(`${this.label}: ${this.opts.program} is already running (pid ${this.pid})`);
    const { label, program, logFile } = this.opts;
    fs.appendFileSync(logFile, `\n==== tinyforge test harness: starting ${opts.banner ?? program} at ${new Date().toISOString()} ====\n`);
    const proc = new ManagedProcess(`${label} ${program}`, cmd, args, { logFile, env: opts.env, cwd: opts.cwd });
    this.proc = proc;
    if (proc.pid > 0) this.lastPid = proc.pid;
  }

  private async waitReady(ready: ReadyOptions): Promise<void> {
    const proc = this.proc;
    if (!proc) throw new Error(`${this.label}: no process to wait for`);
    const { label, program, logFile } = this.opts;
    try {
      await waitUntil(ready.probe, {
        timeoutMs: this.opts.startTimeoutMs ?? 60_000,
        intervalMs: ready.intervalMs,
        dead: () => (proc.running ? undefined : `${program} ${proc.describeExit()}`),
        explain: (reason) => `${label}: ${ready.subject} did not become ready: ${reason}\n--- tail of ${logFile} ---\n${tailFile(logFile, 40)}`,
      });
    } catch (e) {
      const exited = !proc.running;
      await proc.terminate('SIGKILL', NOT_READY_KILL_WAIT_MS).catch(() => undefined);
      throw new NotReadyError(e instanceof Error ? e.message : String(e), exited);
    }
  }

  /** SIGTERM by PID; SIGKILL after the stop grace. No-op when not running. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    await proc.terminate('SIGTERM', this.opts.stopGraceMs);
  }

  /** SIGKILL by PID and wait for the exit. No-op when not running. */
  async kill9(): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    await proc.terminate('SIGKILL', KILL_WAIT_MS);
  }

  /**
   * beforeDispose, then SIGTERM (SIGKILL after the dispose grace), then, whatever happened, remove everything
   * and leave the registry. Idempotent: a second call gets the first call's promise.
   */
  dispose(): Promise<void> {
    this.disposing ??= this.isDisposed ? Promise.resolve() : this.disposeOnce();
    return this.disposing;
  }

  private async disposeOnce(): Promise<void> {
    try {
      if (this.opts.beforeDispose) await this.opts.beforeDispose().catch(() => undefined);
      this.isDisposed = true;
      const proc = this.proc;
      if (proc?.running) await proc.terminate('SIGTERM', this.opts.disposeGraceMs);
    } finally {
      this.isDisposed = true;
      this.opts.cleanupSync();
      unregisterServer(this);
      this.opts.afterDispose?.();
    }
  }

  /** Synchronous last resort (process exit, fatal signal): SIGKILL by PID and remove everything. */
  hardKillSync(): void {
    this.isDisposed = true;
    if (this.proc?.running) this.proc.signal('SIGKILL');
    this.opts.cleanupSync();
  }
}
