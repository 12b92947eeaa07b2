/**
 * The Docker socket proxy the chart runs as a sidecar (`tinyforge-reconciler docker-proxy`): the
 * only process in the pod that holds the node's Docker socket. It listens on a unix socket in a
 * volume shared with the reconciler and lets through only the calls of src/proxy/allow-list.ts;
 * everything else gets `403 {"message": ...}` and never reaches the engine.
 *
 * - Allowed requests are forwarded as new requests built from the method, the target and a few
 *   harmless headers (never the client's bytes), so nothing the client smuggles into framing or
 *   hop-by-hop headers reaches the engine.
 * - Responses stream through with backpressure (`pipe`), headers flushed at once: `/events` is
 *   never buffered and never timed out; a client that goes away closes its upstream request.
 * - Headers are bounded (`maxHeaderSize`), slow headers time out, every refusal closes the
 *   connection, and a request the HTTP parser cannot read is refused with the same 403.
 * - The unix socket gets `socketMode` (0660 by default): in the chart both containers run as
 *   uid 10001 in an emptyDir owned by the pod's fsGroup (10001), so the owner (and that group)
 *   can connect and nobody else; see charts/tinyforge-reconciler/README.md.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import { checkRequest, type AllowedRoute, type RefusalReason } from './allow-list.js';
import { RefusalLog, type RefusalLogOptions } from './refusal-log.js';

/** Where the proxy listens, or where the engine is. */
export type ProxyAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/**
 * Parses `unix:///abs/path` or `tcp://host:port` (IPv6 literals in brackets). Returns a message
 * naming `name` when `raw` is neither.
 */
export function parseProxyAddress(name: string, raw: string): ProxyAddress | string {
  if (raw.startsWith('unix://')) {
    const path = raw.slice('unix://'.length);
    if (!path.startsWith('/')) return `${name}: "${raw}" needs an absolute socket path (unix:///run/tinyforge/docker.sock)`;
    if (Buffer.byteLength(path) > 107) return `${name}: socket path "${path}" is longer than 107 bytes, the unix socket limit`;
    return { kind: 'unix', path };
  }
  const m = /^tcp:\/\/(\[[^[\]]+\]|[^:/[\]]+):(\d+)\/?$/.exec(raw);
  if (m) {
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return `${name}: port out of range in "${raw}"`;
    return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port };
  }
  return `${name}: "${raw}" is not unix:///path or tcp://host:port`;
}

/** `unix:///path` or `tcp://host:port`. */
export function formatProxyAddress(a: ProxyAddress): string {
  return a.kind === 'unix' ? `unix://${a.path}` : `tcp://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

export interface DockerProxyOptions {
  listen: ProxyAddress;
  upstream: ProxyAddress;
  log: Logger;
  /** Mode of the listening unix socket (default 0o660). */
  socketMode?: number;
  /** Largest request head accepted, bytes (default 8 KiB); a bigger one is refused. */
  maxHeaderBytes?: number;
  /** Time a client has to send its request head, ms (default 10 s). */
  headersTimeoutMs?: number;
  /** Connections open at once (default 256); more are dropped by the server. */
  maxConnections?: number;
  /** Rate limit of the refusal log. */
  refusalLog?: RefusalLogOptions;
}

/** What the proxy did so far. */
export interface DockerProxyStats {
  /** Allowed requests, by route. */
  allowed: Record<AllowedRoute, number>;
  /** Refused requests, by reason. */
  refused: Record<RefusalReason, number>;
  /** Responses streaming right now (long-lived: `/events`). */
  openStreams: number;
  /** Requests whose engine call failed before a response (answered 502). */
  upstreamErrors: number;
}

/** Request headers worth passing on; everything else (hop-by-hop, cookies, auth) stays behind. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'user-agent'];
/** Response headers that describe one hop, not the response. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function messageBody(message: string): string {
  return `${JSON.stringify({ message })}\n`;
}

/**
 * An allow-list proxy in front of the Docker Engine API. {@link start} listens, {@link stop}
 * closes the listener and every open connection (event streams included) and removes the socket
 * file.
 */
export class DockerProxy {
  private readonly server: http.Server;
  private readonly agent: http.Agent;
  private readonly refusals: RefusalLog;
  private readonly sockets = new Set<Socket>();
  private readonly refusedSockets = new WeakSet<object>();
  private readonly allowed: Record<AllowedRoute, number> = { '/_ping': 0, '/version': 0, '/containers/json': 0, '/containers/{id}/json': 0, '/events': 0 };
  private streams = 0;
  private upstreamErrors = 0;
  private listening = false;

  constructor(private readonly opts: DockerProxyOptions) {
    this.refusals = new RefusalLog(opts.log, opts.refusalLog);
    const maxConnections = opts.maxConnections ?? 256;
    // As many engine connections as client ones: a long-lived event stream never queues another call.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: maxConnections });
    const headersTimeout = opts.headersTimeoutMs ?? 10_000;
    this.server = http.createServer(
      {
        maxHeaderSize: opts.maxHeaderBytes ?? 8192,
        requireHostHeader: false,
        // How often slow request heads are looked for (Node's default is 30 s).
        connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(headersTimeout / 2))),
      },
      (req, res) => this.handle(req, res),
    );
    // Slow request heads are cut (allowed requests have no body, so the head is the request);
    // nothing bounds how long a response may stream (the event stream).
    this.server.headersTimeout = headersTimeout;
    this.server.requestTimeout = headersTimeout;
    this.server.timeout = 0;
    this.server.keepAliveTimeout = 5_000;
    this.server.maxConnections = maxConnections;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    // A request Node's parser refuses (both Content-Length and Transfer-Encoding, an oversized
    // head, a bad target) gets the same 403 as any other refusal.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      this.refusals.record({ method: '-', target: '-', reason: 'malformed' });
      socket.end(this.rawRefusal('docker-proxy: malformed or oversized request refused'));
    });
    // CONNECT would otherwise close the connection silently: refuse it like the rest.
    this.server.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
      this.refusals.record({ method: req.method ?? 'CONNECT', target: req.url ?? '', reason: 'method' });
      socket.end(this.rawRefusal(`docker-proxy: ${req.method ?? 'CONNECT'} is not allowed`));
    });
  }

  /** Listens; for a unix socket, replaces a stale socket file and applies the mode. */
  async start(): Promise<void> {
    const { listen } = this.opts;
    if (listen.kind === 'unix') removeStaleSocket(listen.path);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        resolve();
      };
      if (listen.kind === 'unix') this.server.listen(listen.path, done);
      else this.server.listen(listen.port, listen.host, done);
    });
    this.listening = true;
    if (listen.kind === 'unix') chmodSync(listen.path, this.opts.socketMode ?? 0o660);
    this.opts.log.info({ listen: formatProxyAddress(this.address), upstream: formatProxyAddress(this.opts.upstream), socketMode: listen.kind === 'unix' ? `0${(this.opts.socketMode ?? 0o660).toString(8)}` : undefined }, 'docker-proxy: listening');
  }

  /** The address it listens on (with the actual port for `tcp://host:0`). */
  get address(): ProxyAddress {
    const a = this.server.address();
    if (this.opts.listen.kind === 'tcp' && a && typeof a === 'object') return { kind: 'tcp', host: this.opts.listen.host, port: a.port };
    return this.opts.listen;
  }

  stats(): DockerProxyStats {
    return { allowed: { ...this.allowed }, refused: this.refusals.counts(), openStreams: this.streams, upstreamErrors: this.upstreamErrors };
  }

  /** Stops listening, drops every connection (open event streams included) and removes the socket file. */
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
    this.agent.destroy();
    this.refusals.flush();
    this.opts.log.info({ ...this.stats() }, 'docker-proxy: stopped');
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? '';
    const target = req.url ?? '';
    // A request pipelined behind a refused one on the same connection is dropped unanswered:
    // the connection closes after the refusal, and nothing sent after a refused head is acted on.
    if (this.refusedSockets.has(req.socket)) {
      res.destroy();
      return;
    }
    const verdict = checkRequest(method, target, req.headers);
    if (!verdict.allowed) {
      this.refusedSockets.add(req.socket);
      this.refusals.record({ method, target, reason: verdict.reason });
      const shown = target.length > 120 ? `${target.slice(0, 120)}...` : target;
      const body = messageBody(`docker-proxy: ${method.slice(0, 16)} ${shown} is not allowed (${verdict.reason}); only ping, version, container list and inspect, and events are`);
      res.shouldKeepAlive = false;
      res.writeHead(403, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
      res.end(body);
      req.resume();
      return;
    }
    this.allowed[verdict.route]++;
    this.forward(req, res, method, target);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, method: string, target: string): void {
    const { upstream } = this.opts;
    let clientGone = false;
    const headers: http.OutgoingHttpHeaders = { host: 'docker' };
    for (const name of FORWARDED_REQUEST_HEADERS) if (req.headers[name] !== undefined) headers[name] = req.headers[name];
    const where = upstream.kind === 'unix' ? { socketPath: upstream.path } : { host: upstream.host, port: upstream.port };
    const up = http.request({ ...where, method, path: target, headers, agent: this.agent }, (upRes) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(upRes.statusCode ?? 502, out);
      // Headers at once: a watcher learns its event stream is open before the first event.
      res.flushHeaders();
      this.streams++;
      let counted = true;
      const done = () => {
        if (counted) {
          counted = false;
          this.streams--;
        }
      };
      upRes.on('end', done);
      upRes.on('close', () => {
        done();
        // The engine closed mid-response: end the client's response the same way.
        if (!upRes.complete && !res.destroyed) res.destroy();
      });
      upRes.on('error', () => res.destroy());
      // pipe() pauses the engine's response while the client is not reading: no buffering.
      upRes.pipe(res);
    });
    up.on('error', (err) => {
      if (clientGone) return;
      if (!res.headersSent) {
        this.upstreamErrors++;
        const body = messageBody(`docker-proxy: the Docker engine did not answer: ${err.message}`);
        res.writeHead(502, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } else res.destroy();
    });
    // The client went away (for example it closed its event stream): close the engine call too.
    res.on('close', () => {
      if (res.writableFinished) return;
      clientGone = true;
      up.destroy();
    });
    req.resume();
    up.end();
  }

  private rawRefusal(message: string): string {
    const body = messageBody(message);
    return `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  }
}

/** Removes a socket left by an earlier run (a restarted container keeps its emptyDir); refuses to remove anything else. */
function removeStaleSocket(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new Error(`docker-proxy: ${path} exists and is not a socket; refusing to replace it`);
  unlinkSync(path);
}
