/**
 * A least-privilege Docker socket proxy for tests: an HTTP server on 127.0.0.1:<free port> in
 * front of a unix-socket Docker engine that lets through only what a read-only watcher needs:
 *
 *   GET|HEAD  [/vX.YY]/_ping
 *   GET       [/vX.YY]/version
 *   GET       [/vX.YY]/containers/json
 *   GET       [/vX.YY]/containers/{id}/json
 *   GET       [/vX.YY]/events
 *
 * Anything else (another method, another path, a request body, an upgrade, a path trick such as
 * `..` or an encoded slash) answers 403 and is RECORDED in `forbidden`, so a test can fail when
 * the service ever asked for more. Responses are streamed through as they arrive (the event
 * stream included), and a client that goes away closes its upstream request.
 *
 *   const proxy = await startSocketProxy(docker.socketPath);
 *   ... DOCKER_HOST: proxy.dockerHost ...
 *   proxy.assertNoForbiddenCalls();
 *   await proxy.stop();
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { freePort } from './proc.js';

export interface ProxiedCall {
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  /** Normalised route ('/containers/{id}/json'...) or '' when forbidden. */
  route: string;
  status: number;
  time: number;
}

export interface SocketProxy {
  readonly port: number;
  /** tcp://127.0.0.1:<port> */
  readonly dockerHost: string;
  /** Every refused call, in order. */
  readonly forbidden: ProxiedCall[];
  /** Every allowed call, in order (bounded to the last 10,000). */
  readonly allowed: ProxiedCall[];
  /** Allowed calls per "METHOD route". */
  readonly counts: Map<string, number>;
  /** Currently open streamed responses (e.g. /events). */
  openStreams(): number;
  /** Throws an error listing every forbidden call, if any happened. */
  assertNoForbiddenCalls(): void;
  /** Clears the records. */
  reset(): void;
  /** Drops every open connection (as a restarting proxy would); the server keeps listening. */
  cutConnections(): void;
  stop(): Promise<void>;
}

const ID = '[A-Za-z0-9][A-Za-z0-9_.-]*';
const RULES: Array<{ route: string; re: RegExp; methods: readonly string[] }> = [
  { route: '/_ping', re: /^\/_ping$/, methods: ['GET', 'HEAD'] },
  { route: '/version', re: /^\/version$/, methods: ['GET'] },
  { route: '/containers/json', re: /^\/containers\/json$/, methods: ['GET'] },
  { route: '/containers/{id}/json', re: new RegExp(`^/containers/${ID}/json$`), methods: ['GET'] },
  { route: '/events', re: /^\/events$/, methods: ['GET'] },
];

/** The route a request may use, or undefined when it must be refused. Exported for the proxy's own tests. */
export function allowedRoute(method: string, target: string, headers: http.IncomingHttpHeaders = {}): string | undefined {
  if (headers.upgrade !== undefined) return undefined;
  if (headers['transfer-encoding'] !== undefined) return undefined;
  if (headers['content-length'] !== undefined && headers['content-length'] !== '0') return undefined;
  if (!target.startsWith('/')) return undefined; // absolute-form or authority-form targets
  const q = target.indexOf('?');
  let p = q === -1 ? target : target.slice(0, q);
  // No path tricks: the engine's router cleans paths, so '..', '//' or encoded separators could reach another route.
  if (/%2f|%5c|%2e|\\/i.test(p) || p.includes('//') || /(^|\/)\.\.?(\/|$)/.test(p)) return undefined;
  const v = /^\/v\d+\.\d+(\/.*)$/.exec(p);
  if (v) p = v[1]!;
  for (const r of RULES) {
    if (r.re.test(p)) {
      if (r.route === '/containers/{id}/json' && /\.\./.test(p)) return undefined;
      return r.methods.includes(method) ? r.route : undefined;
    }
  }
  return undefined;
}

/** Starts a proxy to the engine at `socketPath` on a free loopback port. */
export async function startSocketProxy(socketPath: string): Promise<SocketProxy> {
  const forbidden: ProxiedCall[] = [];
  const allowed: ProxiedCall[] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const upstreams = new Set<http.ClientRequest>();
  let streams = 0;

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const route = allowedRoute(method, url, req.headers);
    if (route === undefined) {
      forbidden.push({ method, url, route: '', status: 403, time: Date.now() });
      req.resume();
      const body = JSON.stringify({ message: `socket proxy: ${method} ${url} is not allowed (read-only)` }) + '\n';
      res.writeHead(403, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const call: ProxiedCall = { method, url, route, status: 0, time: Date.now() };
    allowed.push(call);
    if (allowed.length > 10_000) allowed.shift();
    const key = `${method} ${route}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);

    const headers = { ...req.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    headers.host = 'docker';
    const up = http.request({ socketPath, method, path: url, headers, agent: false }, (upRes) => {
      call.status = upRes.statusCode ?? 0;
      const h = { ...upRes.headers };
      delete h.connection;
      delete h['keep-alive'];
      delete h['transfer-encoding'];
      res.writeHead(upRes.statusCode ?? 502, h);
      res.flushHeaders();
      streams++;
      let counted = true;
      const done = () => {
        if (counted) {
          counted = false;
          streams--;
        }
      };
      upRes.on('data', (chunk: Buffer) => {
        res.write(chunk);
      });
      upRes.on('end', () => {
        done();
        res.end();
      });
      upRes.on('error', () => {
        done();
        res.destroy();
      });
      upRes.on('close', () => {
        done();
        if (!res.writableEnded) res.destroy();
      });
    });
    upstreams.add(up);
    up.on('close', () => upstreams.delete(up));
    up.on('error', (e) => {
      if (!res.headersSent) {
        const body = JSON.stringify({ message: `socket proxy: upstream error: ${e.message}` }) + '\n';
        res.writeHead(502, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } else res.destroy();
    });
    // The client went away (e.g. the service closed its event stream): close upstream too.
    res.on('close', () => {
      if (!up.destroyed) up.destroy();
    });
    req.resume();
    up.end();
  });
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 0;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;

  return {
    port: actualPort,
    dockerHost: `tcp://127.0.0.1:${actualPort}`,
    forbidden,
    allowed,
    counts,
    openStreams: () => streams,
    assertNoForbiddenCalls() {
      if (forbidden.length > 0) {
        throw new Error(`the service made ${forbidden.length} call(s) the read-only proxy refuses:\n${forbidden.map((c) => `  ${c.method} ${c.url}`).join('\n')}`);
      }
    },
    reset() {
      forbidden.length = 0;
      allowed.length = 0;
      counts.clear();
    },
    cutConnections() {
      for (const u of upstreams) u.destroy();
      for (const s of sockets) s.destroy();
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const u of upstreams) u.destroy();
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
