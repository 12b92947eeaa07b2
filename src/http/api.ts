import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { COLUMN_LENGTHS } from '../domain/columns.js';
import { ellipsize } from '../domain/text.js';
import { ROW_STATES } from '../domain/types.js';
import type { StatusReader } from '../status/workload-status.service.js';
import type { ContainerEventRecord, ContainerRecord, RefusalKey, StoredRefusal, StoredStatus } from '../store/status.repository.js';
import { LIMIT_DEFAULT, LIMIT_MAX, LIMIT_MIN, openApiDocument, REFUSAL_REASONS } from './openapi.js';
import { HttpError } from './server.js';

export interface ApiDeps {
  /** Bearer token required on every call when non-empty (API_TOKEN). */
  apiToken: string;
  /** The status service once the database is connected; `undefined` before (the API answers 503). */
  reader: () => StatusReader | undefined;
}

const REALM = 'tinyforge-reconciler';
/** Longest filter values: the columns they are compared with. */
const MAX_WORKLOAD = COLUMN_LENGTHS.containers.workloadId;
const MAX_HOST = COLUMN_LENGTHS.containers.host;
/** User input echoed in a message: 64 characters and a `…`. */
const ECHO_MAX = 65;

/**
 * The read API, mounted by the HTTP app at `/api`: `GET /v1/containers`, `GET /v1/refusals`,
 * `GET /v1/workloads/:id/status`, `GET /v1/workloads/:id/events`, `GET /v1/openapi.json`.
 * Errors are {@link HttpError}s, rendered as JSON by the app's error handler.
 */
export function createApiRouter(deps: ApiDeps): Router {
  const router = express.Router();
  const doc = openApiDocument();

  if (deps.apiToken !== '') router.use(bearerAuth(deps.apiToken));

  const reader = (): StatusReader => {
    const r = deps.reader();
    if (!r) throw new HttpError(503, 'the database is not connected yet');
    return r;
  };

  router.get('/v1/openapi.json', (_req, res) => {
    res.json(doc);
  });

  router.get('/v1/containers', async (req, res) => {
    const q = query(req, ['workload', 'state', 'host', 'cursor', 'limit']);
    const limit = parseLimit(q.limit);
    const state = q.state;
    if (state !== undefined && !(ROW_STATES as readonly string[]).includes(state)) throw new HttpError(400, `state: expected one of ${ROW_STATES.join(', ')}, got "${clip(state)}"`);
    const workload = nonEmpty('workload', q.workload, MAX_WORKLOAD);
    const host = nonEmpty('host', q.host, MAX_HOST);
    const afterId = q.cursor === undefined ? undefined : decodeCursor(q.cursor, 'c');
    const rows = await reader().listContainers({ workload, state, host, afterId, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor('c', page[page.length - 1]!.id) : null;
    res.json({ items: page.map(containerJson), nextCursor });
  });

  router.get('/v1/refusals', async (req, res) => {
    const q = query(req, ['host', 'reason', 'workload', 'cursor', 'limit']);
    const limit = parseLimit(q.limit);
    const reason = q.reason;
    if (reason !== undefined && !REFUSAL_REASONS.includes(reason)) throw new HttpError(400, `reason: expected one of ${REFUSAL_REASONS.join(', ')}, got "${clip(reason)}"`);
    const host = nonEmpty('host', q.host, MAX_HOST);
    const workload = nonEmpty('workload', q.workload, MAX_WORKLOAD);
    const afterKey = q.cursor === undefined ? undefined : decodeRefusalCursor(q.cursor);
    const rows = await reader().listRefusals({ host, reason, workload, afterKey, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > limit && last ? encodeCursor('r', JSON.stringify([last.host, last.containerId])) : null;
    res.json({ items: page.map(refusalJson), nextCursor });
  });

  router.get('/v1/workloads/:id/status', async (req, res) => {
    query(req, []);
    const id = String(req.params.id);
    const s = await reader().getStatus(id);
    if (!s) throw new HttpError(404, `workload "${clip(id)}" not found`);
    res.json(statusJson(s));
  });

  router.get('/v1/workloads/:id/events', async (req, res) => {
    const q = query(req, ['order', 'cursor', 'limit']);
    const limit = parseLimit(q.limit);
    const order = q.order ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw new HttpError(400, `order: expected asc or desc, got "${clip(order)}"`);
    let afterId: number | undefined;
    if (q.cursor !== undefined) {
      const raw = decodeCursor(q.cursor, order === 'asc' ? 'ea' : 'ed');
      if (!/^[1-9]\d{0,15}$/.test(raw)) throw new HttpError(400, 'cursor: not a cursor of this endpoint');
      afterId = Number(raw);
    }
    const id = String(req.params.id);
    const events = await reader().listEvents(id, { afterId, limit: limit + 1, order });
    if (!events) throw new HttpError(404, `workload "${clip(id)}" not found`);
    const page = events.slice(0, limit);
    const nextCursor = events.length > limit ? encodeCursor(order === 'asc' ? 'ea' : 'ed', String(page[page.length - 1]!.id)) : null;
    res.json({ items: page.map(eventJson), nextCursor });
  });

  // The API is read-only: other methods on known paths get 405 with the allowed ones.
  for (const path of ['/v1/containers', '/v1/refusals', '/v1/workloads/:id/status', '/v1/workloads/:id/events', '/v1/openapi.json']) {
    router.all(path, (req, res, next) => {
      if (req.method === 'GET' || req.method === 'HEAD') return next();
      res.set('Allow', 'GET, HEAD');
      next(new HttpError(405, `${req.method} is not allowed; the API is read-only`));
    });
  }
  return router;
}

/** `Authorization: Bearer <token>`, compared in constant time (both sides hashed to equal length). */
function bearerAuth(token: string) {
  const expected = createHash('sha256').update(token).digest();
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    const m = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    const presented = m ? createHash('sha256').update(m[1]!).digest() : undefined;
    if (presented && timingSafeEqual(presented, expected)) return next();
    res.set('WWW-Authenticate', header === undefined ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`);
    next(new HttpError(401, header === undefined ? 'missing bearer token' : 'invalid bearer token'));
  };
}

/** The query as single strings; unknown or repeated parameters are 400s. */
function query(req: Request, allowed: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
    if (!allowed.includes(k)) {
      throw new HttpError(400, allowed.length === 0 ? `unknown query parameter "${clip(k)}" (this endpoint takes none)` : `unknown query parameter "${clip(k)}" (expected ${allowed.join(', ')})`);
    }
    if (typeof v !== 'string') throw new HttpError(400, `${k}: give it once, as a plain value`);
    out[k] = v;
  }
  return out;
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return LIMIT_DEFAULT;
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= LIMIT_MIN && n <= LIMIT_MAX)) throw new HttpError(400, `limit: expected an integer from ${LIMIT_MIN} to ${LIMIT_MAX}, got "${clip(raw)}"`);
  return n;
}

function nonEmpty(name: string, v: string | undefined, max: number): string | undefined {
  if (v === undefined) return undefined;
  if (v === '' || v.length > max) throw new HttpError(400, `${name}: expected 1 to ${max} characters, got ${v.length}`);
  return v;
}

/** Cursors are opaque: base64url of `<kind>:<last key>`; the kind ties a cursor to its endpoint and order. */
export function encodeCursor(kind: string, key: string): string {
  return Buffer.from(`${kind}:${key}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, kind: string): string {
  const bad = () => new HttpError(400, 'cursor: not a cursor of this endpoint (use nextCursor of the previous page as given)');
  if (!/^[A-Za-z0-9_-]{1,2800}$/.test(cursor)) throw bad();
  const buf = Buffer.from(cursor, 'base64url');
  if (buf.toString('base64url') !== cursor) throw bad();
  const text = buf.toString('utf8');
  if (!text.startsWith(`${kind}:`) || Buffer.from(text, 'utf8').toString('base64url') !== cursor) throw bad();
  const key = text.slice(kind.length + 1);
  if (key === '') throw bad();
  return key;
}

/** A refusals cursor: the JSON `[host, containerId]` of the last item of the previous page. */
function decodeRefusalCursor(cursor: string): RefusalKey {
  const raw = decodeCursor(cursor, 'r');
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = undefined;
  }
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string' || v[1] === '') {
    throw new HttpError(400, 'cursor: not a cursor of this endpoint (use nextCursor of the previous page as given)');
  }
  return { host: v[0], containerId: v[1] };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function containerJson(r: ContainerRecord) {
  return { ...r, lastSeenAt: iso(r.lastSeenAt), createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) };
}

function statusJson(s: StoredStatus) {
  return { workloadId: s.workloadId, phase: s.phase, conditions: s.conditions, counts: s.counts, observedAt: new Date(s.observedAt).toISOString(), observedGeneration: s.observedGeneration };
}

function refusalJson(r: StoredRefusal) {
  return {
    host: r.host,
    containerId: r.containerId,
    containerName: r.containerName,
    dispatch: r.dispatch,
    reason: r.reason,
    workloadId: r.workloadId,
    rowId: r.rowId,
    detail: r.detail,
    since: new Date(r.since).toISOString(),
  };
}

function eventJson(e: ContainerEventRecord) {
  return { id: e.id, rowId: e.rowId, workloadId: e.workloadId, from: e.from, to: e.to, reason: e.reason, at: new Date(e.at).toISOString() };
}

/** Echoes user input in messages, cut short. */
function clip(s: string): string {
  return ellipsize(s, ECHO_MAX);
}
