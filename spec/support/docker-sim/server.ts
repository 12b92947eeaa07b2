/**
 * The HTTP side: a node:http server on the unix socket, routing (with or without a `/vX.YY` prefix, refusing
 * versions out of range), the daemon's headers, errors as `{"message": ...}`, the streamed `/containers/json`
 * (written in slices with backpressure, yielding to the event loop), and pause/resume for fault tests.
 * Read-only: any method but GET (and HEAD on /_ping) answers 405.
 */
import http from 'node:http';
import net from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import type { ListDrip } from './drip.js';
import type { EventBus } from './events.js';
import { boolParam, eventFilter, listPredicate, parseFilters, parseTimestampNs } from './filters.js';
import { goJson } from './go-format.js';
import { HttpError } from './http-error.js';
import { apiNum, type Profile } from './profile.js';
import type { Renderer } from './render.js';
import type { RequestLog } from './requests.js';
import { runningFlag, type ContainerStore } from './state.js';

export interface ApiServerDeps {
  socketPath: string;
  profile: Profile;
  store: ContainerStore;
  renderer: Renderer;
  events: EventBus;
  requests: RequestLog;
  /** Slow list answers (drip.ts), when set. */
  listDrip?: ListDrip;
}

export class ApiServer {
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private listening = false;

  constructor(private readonly deps: ApiServerDeps) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 0; // like Go's server: idle keep-alive connections are not timed out
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60_000;
    this.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Listens on the socket, replacing a stale socket file; fails if another server answers on it. */
  async listen(): Promise<void> {
    const { socketPath } = this.deps;
    // A stale socket file (from a crashed run or a paused server) would make listen() fail with EADDRINUSE.
    try {
      const st = await lstat(socketPath);
      if (st.isSocket()) {
        const alive = await new Promise<boolean>((resolve) => {
          const c = net.connect(socketPath);
          c.once('connect', () => {
            c.destroy();
            resolve(true);
          });
          c.once('error', () => resolve(false));
        });
        if (alive) throw new Error(`${socketPath}: another server is listening`);
        await unlink(socketPath);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => reject(e);
      this.server.once('error', onErr);
      this.server.listen(socketPath, () => {
        this.server.off('error', onErr);
        resolve();
      });
    });
    this.listening = true;
  }

  /** Stops listening (connections refused), destroys open event streams and connections. No-op when paused. */
  async pause(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    this.deps.events.closeAll('destroy');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same socket. No-op when listening. */
  async resume(): Promise<void> {
    if (this.listening) return;
    await this.listen();
  }

  private commonHeaders(): Record<string, string> {
    const { profile } = this.deps;
    return {
      'Api-Version': profile.api,
      'Docker-Experimental': 'false',
      Ostype: 'linux',
      Server: `Docker/${profile.engine} (linux)`,
    };
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown, common = true): void {
    const text = (typeof body === 'string' ? body : goJson(body)) + '\n';
    res.writeHead(status, {
      ...(common ? this.commonHeaders() : {}),
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { profile, renderer } = this.deps;
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, 'http://docker');
    let p = url.pathname;
    let version: string | null = null;
    const vm = /^\/v(\d+\.\d+)(\/.*)$/.exec(p);
    if (vm) {
      version = vm[1]!;
      p = vm[2]!;
    }
    const route = routeOf(p);
    this.deps.requests.record(method, rawUrl, route);
    req.resume(); // discard any body
    try {
      if (version !== null) {
        const v = apiNum(version);
        if (v > profile.apiNum) {
          throw new HttpError(400, `client version ${version} is too new. Maximum supported API version is ${profile.api}`);
        }
        if (v < apiNum(profile.minApi)) {
          throw new HttpError(400, `client version ${version} is too old. Minimum supported API version is ${profile.minApi}, please upgrade your client to a newer version`);
        }
      }
      if (route === '/_ping' && (method === 'GET' || method === 'HEAD')) return this.ping(res, method);
      if (method !== 'GET') {
        return this.sendJson(res, 405, { message: `docker-sim: ${method} ${p} is not supported (read-only simulator; the service must only read)` });
      }
      switch (route) {
        case '/version':
          return this.sendJson(res, 200, renderer.versionDoc());
        case '/info':
          return this.sendJson(res, 200, renderer.infoDoc());
        case '/containers/json':
          if (this.deps.listDrip?.enabled) return void this.deps.listDrip.serve(res, (sink) => this.listContainers(url, sink)).catch((e) => this.fail(res, e));
          return void this.listContainers(url, res).catch((e) => this.fail(res, e));
        case '/containers/{id}/json':
          return this.inspect(decodeURIComponent(p.slice('/containers/'.length, -'/json'.length)), url, res);
        case '/events':
          return this.events(url, res);
        default:
          return this.sendJson(res, 404, { message: 'page not found' }, false);
      }
    } catch (e) {
      this.fail(res, e);
    }
  }

  private fail(res: http.ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof HttpError) this.sendJson(res, e.status, { message: e.message });
    else this.sendJson(res, 500, { message: String((e as Error)?.message ?? e) });
  }

  private ping(res: http.ServerResponse, method: string): void {
    const h: Record<string, string> = {
      ...this.commonHeaders(),
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Type': 'text/plain; charset=utf-8',
    };
    if (this.deps.profile.pingExtraHeaders) {
      h['Builder-Version'] = '2';
      h['Swarm'] = 'inactive';
    }
    if (method === 'HEAD') {
      res.writeHead(200, { ...h, 'Content-Length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { ...h, 'Content-Length': '2' });
    res.end('OK');
  }

  private async listContainers(url: URL, res: http.ServerResponse): Promise<void> {
    const { store, renderer } = this.deps;
    const q = url.searchParams;
    const filters = parseFilters(q.get('filters'));
    const pred = listPredicate(filters, (name) => store.networkIdFor(name));
    const limit = q.has('limit') ? Number(q.get('limit')) : -1;
    const all = boolParam(q.get('all')) || limit > 0 || !!filters.status?.length;
    const size = boolParam(q.get('size'));
    // Consistent snapshot: records are immutable, so holding references is enough.
    const snap = Array.from(store.values());
    const now = Date.now();
    res.writeHead(200, { ...this.commonHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    let out = '[';
    let first = true;
    let count = 0;
    let sinceYield = 0;
    for (let i = snap.length - 1; i >= 0; i--) {
      const r = snap[i]!;
      if (!all && !runningFlag(r.state)) continue;
      if (!pred(r)) continue;
      if (limit > 0 && count >= limit) break;
      count++;
      out += (first ? '' : ',') + renderer.listEntry(r, now, size);
      first = false;
      if (out.length >= 256 * 1024) {
        const ok = res.write(out);
        out = '';
        if (res.destroyed) return;
        if (!ok) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        } else if (++sinceYield >= 8) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        if (res.destroyed) return;
      }
    }
    res.end(out + ']\n');
  }

  private inspect(ref: string, url: URL, res: http.ServerResponse): void {
    const r = this.deps.store.lookup(ref);
    if (!r) return this.sendJson(res, 404, { message: `No such container: ${ref}` });
    this.sendJson(res, 200, this.deps.renderer.inspectJson(r, boolParam(url.searchParams.get('size'))));
  }

  private events(url: URL, res: http.ServerResponse): void {
    const q = url.searchParams;
    const filter = eventFilter(parseFilters(q.get('filters')));
    const sinceNs = parseTimestampNs(q.get('since'), 'since');
    const untilNs = parseTimestampNs(q.get('until'), 'until');
    res.writeHead(200, { ...this.commonHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    this.deps.events.attach(res, filter, sinceNs, untilNs);
  }
}

/** The route of a path (version prefix removed): '/containers/abc/json' -> '/containers/{id}/json'. */
function routeOf(p: string): string {
  if (p === '/_ping' || p === '/version' || p === '/info' || p === '/events' || p === '/containers/json') return p;
  const m = /^\/containers\/[^/]+\/([^/]+)$/.exec(p);
  if (m) return `/containers/{id}/${m[1]}`;
  return p;
}
