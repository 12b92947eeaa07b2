/**
 * One pool over several MySQL-compatible servers that all accept writes (a MariaDB Galera
 * cluster): every connection goes to the first server of DATABASE_URL's host list that is up,
 * so all agents write through one node and certification conflicts between them stay rare; when
 * it fails, to the next one. A server that failed is probed in the background and preferred
 * again once it answers, so no statement waits on a dead server's connect timeout twice.
 *
 * It offers the two calls TypeORM's MySQL driver makes on a pool, `getConnection(cb)` and
 * `end(cb)` (src/store/data-source.ts installs it in place of the driver's single pool).
 */

/** A pooled connection as the driver sees it. */
export interface PooledConnection {
  query(...args: unknown[]): unknown;
  release(): void;
  destroy?(): void;
}

/** One server's mysql2 pool (the calls this module makes). */
export interface NodePool {
  getConnection(cb: (err: NodeJS.ErrnoException | null, conn?: PooledConnection) => void): void;
  end(cb?: (err?: Error | null) => void): void;
}

export interface FailoverNode {
  /** `host:port`, as logs and metrics name it (never credentials). */
  name: string;
  pool: NodePool;
}

export interface FailoverPoolOptions {
  /** How often a failed server is probed in the background, ms (default 2000). */
  probeEveryMs?: number;
  /** Told when the server in use changes (logs, metrics). */
  onSwitch?: (from: string, to: string, reason: string) => void;
  setTimer?: (fn: () => void, ms: number) => { unref?(): void };
  clearTimer?: (t: unknown) => void;
}

/**
 * Errors that say the server (not the statement) is unusable: the connection could not be made
 * or was lost, the server is shutting down, or a Galera node left the primary component and
 * refuses statements (1047 WSREP has not yet prepared node for application use).
 */
const SERVER_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_UNKNOWN_COM_ERROR',
  'ER_CON_COUNT_ERROR',
]);
const SERVER_ERRNOS = new Set([1047, 1053, 1040, 2002, 2003, 2006, 2013]);

export function isServerDown(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; errno?: unknown; fatal?: unknown };
  if (typeof e.code === 'string' && SERVER_ERROR_CODES.has(e.code)) return true;
  if (typeof e.errno === 'number' && SERVER_ERRNOS.has(e.errno)) return true;
  return e.fatal === true;
}

/** What a probe asks a recovered server; on a server without Galera the answer is empty. */
export const PROBE_SQL = "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment')";

/** Whether a probe's answer says the server takes statements: no Galera, or Galera ready and Synced. */
export function probeSaysReady(rows: unknown): boolean {
  if (!Array.isArray(rows)) return false;
  const status = new Map(rows.map((r: { Variable_name?: unknown; Value?: unknown }) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
  const ready = status.get('wsrep_ready');
  const state = status.get('wsrep_local_state_comment');
  return (ready === undefined || ready === 'ON') && (state === undefined || state === 'Synced');
}

interface NodeState {
  node: FailoverNode;
  up: boolean;
  probing: boolean;
}

export class FailoverPool {
  private readonly nodes: NodeState[];
  private readonly probeEveryMs: number;
  private current: string;
  private ended = false;
  private readonly timers = new Set<unknown>();

  constructor(
    nodes: readonly FailoverNode[],
    private readonly opts: FailoverPoolOptions = {},
  ) {
    if (nodes.length === 0) throw new Error('FailoverPool: no servers');
    this.nodes = nodes.map((node) => ({ node, up: true, probing: false }));
    this.probeEveryMs = opts.probeEveryMs ?? 2000;
    this.current = nodes[0]!.name;
  }

  /** The server connections currently go to. */
  active(): string {
    return this.current;
  }

  /** Which servers are considered up, in order of preference. */
  states(): Array<{ name: string; up: boolean }> {
    return this.nodes.map((s) => ({ name: s.node.name, up: s.up }));
  }

  getConnection(cb: (err: NodeJS.ErrnoException | null, conn?: PooledConnection) => void): void {
    if (this.ended) {
      cb(Object.assign(new Error('pool is closed'), { code: 'POOL_CLOSED' }));
      return;
    }
    // Servers that are up first, in order; if none is, try them all anyway (they may be back).
    const order = [...this.nodes.filter((s) => s.up), ...this.nodes.filter((s) => !s.up)];
    let lastErr: NodeJS.ErrnoException | null = null;
    const tryAt = (i: number): void => {
      const s = order[i];
      if (!s) {
        cb(lastErr ?? new Error('no server available'));
        return;
      }
      s.node.pool.getConnection((err, conn) => {
        if (err || !conn) {
          lastErr = err ?? new Error('no connection');
          if (isServerDown(lastErr)) this.markDown(s, lastErr);
          // A statement-level error (bad credentials, unknown database) is the same everywhere.
          if (!isServerDown(lastErr)) return cb(lastErr);
          return tryAt(i + 1);
        }
        if (!s.up) this.markUp(s);
        this.use(s, lastErr ? `${order[0]!.node.name} failed: ${lastErr.code ?? lastErr.message}` : 'preferred server');
        cb(null, this.watch(s, conn));
      });
    };
    tryAt(0);
  }

  end(cb?: (err?: Error | null) => void): void {
    this.ended = true;
    for (const t of this.timers) (this.opts.clearTimer ?? clearTimeout)(t as NodeJS.Timeout);
    this.timers.clear();
    let pending = this.nodes.length;
    let first: Error | null = null;
    for (const s of this.nodes) {
      s.node.pool.end((err) => {
        if (err && !first) first = err;
        if (--pending === 0) cb?.(first);
      });
    }
  }

  private use(s: NodeState, reason: string): void {
    if (this.current === s.node.name) return;
    const from = this.current;
    this.current = s.node.name;
    this.opts.onSwitch?.(from, s.node.name, reason);
  }

  /** Marks the server down when a statement on one of its connections fails as a server failure. */
  private watch(s: NodeState, conn: PooledConnection): PooledConnection {
    const query = conn.query.bind(conn);
    const pool = this;
    return new Proxy(conn, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
        return (...args: unknown[]) => {
          const i = args.findIndex((a) => typeof a === 'function');
          if (i >= 0) {
            const done = args[i] as (err: unknown, ...rest: unknown[]) => void;
            args[i] = (err: unknown, ...rest: unknown[]) => {
              if (err && isServerDown(err)) pool.markDown(s, err as NodeJS.ErrnoException);
              done(err, ...rest);
            };
          }
          return query(...args);
        };
      },
    });
  }

  private markDown(s: NodeState, err: NodeJS.ErrnoException): void {
    if (this.nodes.length === 1 || !s.up) return;
    s.up = false;
    const next = this.nodes.find((x) => x.up);
    if (next && this.current === s.node.name) this.use(next, `${s.node.name} failed: ${err.code ?? err.message}`);
    this.probe(s);
  }

  private markUp(s: NodeState): void {
    s.up = true;
    // Back to the most preferred server that is up.
    const best = this.nodes.find((x) => x.up)!;
    this.use(best, `${best.node.name} answers again`);
  }

  /** Tries the failed server every `probeEveryMs` until it gives a connection. */
  private probe(s: NodeState): void {
    if (s.probing || this.ended) return;
    s.probing = true;
    const set = this.opts.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    const tick = () => {
      const t = set(() => {
        this.timers.delete(t);
        if (this.ended) return;
        s.node.pool.getConnection((err, conn) => {
          if (err || !conn) return tick();
          // A Galera node that accepts connections may still refuse statements (not in the
          // primary component) or block writes (a donor during a state transfer): wait for Synced.
          conn.query(PROBE_SQL, (qerr: unknown, rows: unknown) => {
            if (qerr) conn.destroy?.();
            else conn.release();
            if (qerr || !probeSaysReady(rows)) return tick();
            s.probing = false;
            this.markUp(s);
          });
        });
      }, this.probeEveryMs);
      t.unref?.();
      this.timers.add(t);
    };
    tick();
  }
}
