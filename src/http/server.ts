import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { STATUS_CODES, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { errorMessage } from '../domain/errors.js';
import type { Probe } from '../health.js';
import type { Logger } from '../log.js';

export interface HttpDeps {
  liveness(): Probe;
  readiness(): Promise<Probe>;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Extra routes mounted under /api (the read API). */
  api?: Router;
  log: Logger;
  /** The clock of the probe log (tests). */
  now?: () => number;
}

/**
 * Sent with every answer (API, probes, metrics, errors, 404s): nothing is sniffed as another
 * type, cached, framed, or loaded as a page resource. The answers are JSON and plain text for
 * programs; no browser needs more.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** A failing probe is logged again, unchanged, at most this often (kubelet probes every few seconds). */
export const PROBE_LOG_EVERY_MS = 60_000;

/** An error with an HTTP status, rendered as JSON by the error handler. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The express app: `/healthz`, `/readyz`, `/metrics`, the API; unknown paths 404; errors as JSON
 * without stack traces.
 */
export function createHttpApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.set(SECURITY_HEADERS);
    next();
  });

  const probeLog = new ProbeLog(deps.log, deps.now ?? Date.now);
  // The body is the probe's fixed words; what went wrong, with error text, goes to the log.
  const probe = (name: 'liveness' | 'readiness', p: Probe, res: Response) => {
    probeLog.record(name, p);
    res.status(p.ok ? 200 : 503).json(p.body);
  };
  app.get('/healthz', (_req, res) => probe('liveness', deps.liveness(), res));
  app.get('/livez', (_req, res) => probe('liveness', deps.liveness(), res));
  app.get('/readyz', async (_req, res) => probe('readiness', await deps.readiness(), res));
  app.get('/metrics', async (_req, res) => {
    const m = await deps.metrics();
    res.set('Content-Type', m.contentType).send(m.body);
  });
  if (deps.api) app.use('/api', deps.api);

  app.use((req: Request, _res: Response, next: NextFunction) => next(new HttpError(404, `no route for ${req.method} ${req.path}`)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof HttpError ? err.status : typeof (err as { status?: unknown }).status === 'number' ? ((err as { status: number }).status) : 500;
    if (status >= 500) deps.log.error({ err }, 'http handler failed');
    const message = status >= 500 && !(err instanceof HttpError) ? 'internal error' : errorMessage(err);
    res.status(status).json({ error: { status, message } });
  });
  return app;
}

/**
 * Logs a failing probe with its detail when its checks change, and again at most every
 * {@link PROBE_LOG_EVERY_MS} while they stay the same; logs once when it passes again.
 */
class ProbeLog {
  private readonly failing = new Map<string, { checks: string; at: number }>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  record(name: string, p: Probe): void {
    const last = this.failing.get(name);
    if (p.ok) {
      if (last) this.log.info({ probe: name, checks: p.body.checks }, `${name} probe passes again`);
      this.failing.delete(name);
      return;
    }
    const checks = JSON.stringify(p.body.checks);
    const now = this.now();
    if (last && last.checks === checks && now - last.at < PROBE_LOG_EVERY_MS) return;
    this.failing.set(name, { checks, at: now });
    // Waiting for the database connection or the first pass is how every start looks: info, not warn.
    const starting = Object.values(p.body.checks).every((c) => c === 'ok' || c === 'pending' || c === 'connecting');
    this.log[starting ? 'info' : 'warn']({ probe: name, checks: p.body.checks, detail: p.detail }, `${name} probe fails`);
  }
}

/**
 * Node's own answer to a request it cannot parse (400, 431, 408), with the security headers and
 * a JSON body like every other error. Only on a socket that has not answered anything yet.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable || socket.bytesWritten > 0 || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({ error: { status, message: STATUS_CODES[status]!.toLowerCase() } });
  const headers = { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close', ...SECURITY_HEADERS };
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
}

/** A started HTTP server that closes cleanly (idle keep-alive sockets included). */
export class HttpServer {
  private constructor(private readonly server: Server) {}

  static listen(app: express.Express, port: number, host: string): Promise<HttpServer> {
    return new Promise((resolve, reject) => {
      const server = app.listen(port, host);
      server.on('clientError', answerClientError);
      server.once('listening', () => resolve(new HttpServer(server)));
      server.once('error', reject);
    });
  }

  address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 2000).unref();
    });
  }
}
