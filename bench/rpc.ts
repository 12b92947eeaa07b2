/**
 * A tiny request/response protocol over the Node IPC channel of a forked child, used to drive
 * the simulator and the service from the benchmark harness while they run in their own
 * processes (so their CPU and memory are measured apart from the harness).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { errorMessage } from '../src/domain/errors.js';

interface Request {
  rpc: number;
  cmd: string;
  args: unknown;
}
interface Response {
  rpc: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
/** Unsolicited message from the child. */
export interface Notice {
  notice: string;
  data: unknown;
}

export type Handlers = Record<string, (args: any) => unknown>;

/** Child side: answers requests with the handler's (awaited) result. */
export function serveRpc(handlers: Handlers): void {
  if (!process.send) throw new Error('serveRpc: not started with an IPC channel (use fork)');
  process.on('message', (m: Request) => {
    if (!m || typeof m.rpc !== 'number') return;
    const h = handlers[m.cmd];
    Promise.resolve()
      .then(() => {
        if (!h) throw new Error(`unknown command ${m.cmd}`);
        return h(m.args);
      })
      .then(
        (result) => process.send!({ rpc: m.rpc, ok: true, result } satisfies Response),
        (err: unknown) => process.send!({ rpc: m.rpc, ok: false, error: errorMessage(err, { stack: true }) } satisfies Response),
      );
  });
  // The parent going away ends the child.
  process.on('disconnect', () => process.exit(0));
}

export function notify(notice: string, data: unknown): void {
  process.send?.({ notice, data } satisfies Notice);
}

export class RpcChild {
  private next = 1;
  private readonly waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void; cmd: string }>();
  private exited = false;
  readonly exit: Promise<number | null>;
  private noticeHandlers: Array<(n: Notice) => void> = [];

  private constructor(readonly proc: ChildProcess, readonly name: string) {
    proc.on('message', (m: Response | Notice) => {
      if ('notice' in m) {
        for (const h of this.noticeHandlers) h(m);
        return;
      }
      const w = this.waiting.get(m.rpc);
      if (!w) return;
      this.waiting.delete(m.rpc);
      if (m.ok) w.ok(m.result);
      else w.fail(new Error(`${name}.${w.cmd}: ${m.error}`));
    });
    this.exit = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        this.exited = true;
        for (const [, w] of this.waiting) w.fail(new Error(`${name} exited (code ${code}, signal ${signal}) during ${w.cmd}`));
        this.waiting.clear();
        resolve(code);
      }),
    );
  }

  /** Forks `modulePath` (compiled JS) with an IPC channel ('advanced' serialisation: bigint, Map...). Output goes to `logFile`. */
  static start(name: string, modulePath: string, opts: { logFile: string; execArgv?: string[]; env?: NodeJS.ProcessEnv }): RpcChild {
    const fd = openSync(opts.logFile, 'a');
    const proc = fork(modulePath, [], {
      execArgv: opts.execArgv ?? [],
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd, 'ipc'],
      serialization: 'advanced',
    });
    return new RpcChild(proc, name);
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  onNotice(fn: (n: Notice) => void): void {
    this.noticeHandlers.push(fn);
  }

  call<T = unknown>(cmd: string, args: unknown = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const rpc = this.next++;
    return new Promise<T>((ok, fail) => {
      this.waiting.set(rpc, { ok: ok as (v: unknown) => void, fail, cmd });
      this.proc.send({ rpc, cmd, args } satisfies Request);
    });
  }

  /** Asks the child to stop (`stop` command), then waits for it to exit; kills it (by PID) after `graceMs`. */
  async close(graceMs = 30_000): Promise<void> {
    if (this.exited) return;
    const timer = setTimeout(() => {
      if (!this.exited) this.proc.kill('SIGKILL');
    }, graceMs);
    try {
      await this.call('stop').catch(() => undefined);
      if (!this.exited && this.proc.connected) this.proc.disconnect();
      await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }
}
