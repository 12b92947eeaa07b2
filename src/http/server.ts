import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
}

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

  const probe = (p: Probe, res: Response) => res.status(p.ok ? 200 : 503).json({ status: p.ok ? 'ok' : 'unavailable', reason: p.reason, ...(p.details ? { details: p.details } : {}) });
  app.get('/healthz', (_req, res) => probe(deps.liveness(), res));
  app.get('/livez', (_req, res) => probe(deps.liveness(), res));
  app.get('/readyz', async (_req, res) => probe(await deps.readiness(), res));
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

/** A started HTTP server that closes cleanly (idle keep-alive sockets included). */
export class HttpServer {
  private constructor(private readonly server: Server) {}

  static listen(app: express.Express, port: number, host: string): Promise<HttpServer> {
    return new Promise((resolve, reject) => {
      const server = app.listen(port, host);
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
