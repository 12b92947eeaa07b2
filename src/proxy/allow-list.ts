/**
 * The Docker Engine API calls the reconciler may make, and nothing else: a pure matcher over the
 * method, the raw request target and the headers of one request, as the proxy received them.
 *
 *   GET|HEAD [/v1.NN]/_ping
 *   GET      [/v1.NN]/version
 *   GET      [/v1.NN]/containers/json
 *   GET      [/v1.NN]/containers/{id or name}/json
 *   GET      [/v1.NN]/events
 *
 * Nothing is normalised: the engine's router cleans paths (`/containers/json/../create` reaches
 * create) and decodes percent-escapes, so a target is allowed only when its path is exactly one
 * of these, byte for byte: no `%`, no `.` or `..` segment, no `//`, no absolute-form target. A
 * body (Content-Length other than 0, any Transfer-Encoding), an Upgrade or `Connection: upgrade`
 * (the engine's hijack for attach and exec) or `Expect` is refused whatever the path. The
 * reconciler's own Docker client (src/docker/docker.client.ts) makes only these calls.
 */

/** The routes the proxy lets through (the path without the version prefix, `{id}` for the container). */
export type AllowedRoute = '/_ping' | '/version' | '/containers/json' | '/containers/{id}/json' | '/events';

/** Why a request was refused: a closed list, used as a log field and a counter key. */
export type RefusalReason =
  /** The method is not GET (or HEAD on /_ping). */
  | 'method'
  /** The path is not exactly one of the allowed routes (includes every path trick). */
  | 'path'
  /** The query holds a character outside RFC 3986's query set, or a malformed `%` escape. */
  | 'query'
  /** The target is longer than {@link MAX_TARGET_LENGTH}. */
  | 'too_long'
  /** A request body: Content-Length other than 0, or any Transfer-Encoding. */
  | 'body'
  /** Upgrade or `Connection: upgrade`: the engine's stream hijack (attach, exec). */
  | 'upgrade'
  /** `Expect` (for example 100-continue, which announces a body). */
  | 'expect'
  /** The HTTP parser could not read the request (set by the server, never by {@link checkRequest}). */
  | 'malformed';

export const REFUSAL_REASONS: readonly RefusalReason[] = ['method', 'path', 'query', 'too_long', 'body', 'upgrade', 'expect', 'malformed'];

export type Verdict = { allowed: true; route: AllowedRoute } | { allowed: false; reason: RefusalReason };

/** Longest request target accepted (path and query). The reconciler's longest is a list with two label filters, under 200 bytes. */
export const MAX_TARGET_LENGTH = 2048;

/** Headers as Node's parser hands them (lower-case names). */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

const VERSION_PREFIX = String.raw`(?:/v1\.[0-9]{1,3})?`;
/**
 * A container ID, ID prefix or name as the engine accepts them (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`).
 * The first character is never a dot, so a segment is never `.` or `..`.
 */
const CONTAINER = '[A-Za-z0-9][A-Za-z0-9_.-]{0,127}';

const ROUTES: ReadonlyArray<{ route: AllowedRoute; path: RegExp; methods: readonly string[] }> = [
  { route: '/_ping', path: new RegExp(`^${VERSION_PREFIX}/_ping$`), methods: ['GET', 'HEAD'] },
  { route: '/version', path: new RegExp(`^${VERSION_PREFIX}/version$`), methods: ['GET'] },
  { route: '/containers/json', path: new RegExp(`^${VERSION_PREFIX}/containers/json$`), methods: ['GET'] },
  { route: '/containers/{id}/json', path: new RegExp(`^${VERSION_PREFIX}/containers/${CONTAINER}/json$`), methods: ['GET'] },
  { route: '/events', path: new RegExp(`^${VERSION_PREFIX}/events$`), methods: ['GET'] },
];

/** RFC 3986 query characters (unreserved, sub-delims, `:`, `@`, `/`, `?`) and well-formed `%XX` escapes; nothing else. */
const QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;

function header(headers: RequestHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Whether one request may reach the engine, and as which route. Pure: the same request always
 * gets the same verdict. `target` is the request target exactly as received (`req.url`).
 */
export function checkRequest(method: string, target: string, headers: RequestHeaders = {}): Verdict {
  if (target.length > MAX_TARGET_LENGTH) return { allowed: false, reason: 'too_long' };
  if (headers.upgrade !== undefined) return { allowed: false, reason: 'upgrade' };
  const connection = header(headers, 'connection');
  if (connection !== undefined && /(^|[\s,])upgrade($|[\s,])/i.test(connection)) return { allowed: false, reason: 'upgrade' };
  if (headers['transfer-encoding'] !== undefined) return { allowed: false, reason: 'body' };
  const length = header(headers, 'content-length');
  if (length !== undefined && length !== '0') return { allowed: false, reason: 'body' };
  if (headers.expect !== undefined) return { allowed: false, reason: 'expect' };

  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1);
  const rule = ROUTES.find((r) => r.path.test(path));
  if (!rule) return { allowed: false, reason: 'path' };
  if (!rule.methods.includes(method)) return { allowed: false, reason: 'method' };
  if (!QUERY.test(query)) return { allowed: false, reason: 'query' };
  return { allowed: true, route: rule.route };
}
