/**
 * The `filters`, `since`/`until` and boolean query parameters, with the daemon's semantics and error messages:
 * which containers a `/containers/json` filter keeps (`listPredicate`), which events an `/events` filter lets
 * through (`eventFilter`). Unknown filters and bad values are 400s.
 */
import { HttpError } from './http-error.js';
import { STATES } from './state.js';
import type { EventRec, Rec, SimState } from './types.js';

/** A decoded `filters` parameter: filter name -> values. */
export interface ParsedFilters {
  [key: string]: string[];
}

const LIST_FILTERS = new Set(['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume']);
const EVENT_FILTERS = new Set(['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume']);

/** Both encodings the daemon accepts: `{"label": ["a=b"]}` and the legacy `{"label": {"a=b": true}}`. */
export function parseFilters(raw: string | null): ParsedFilters {
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new HttpError(400, `invalid filter: ${raw}`);
  }
  const out: ParsedFilters = {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'invalid filter: not an object');
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (Array.isArray(val)) out[k] = val.map(String);
    else if (val && typeof val === 'object') out[k] = Object.keys(val as object).filter((x) => (val as Record<string, unknown>)[x]);
    else throw new HttpError(400, `invalid filter '${k}'`);
  }
  return out;
}

/** filters.Args.MatchKVList */
function matchKV(wanted: string[] | undefined, src: Record<string, string>): boolean {
  if (!wanted || wanted.length === 0) return true;
  for (const w of wanted) {
    const eq = w.indexOf('=');
    const k = eq < 0 ? w : w.slice(0, eq);
    if (!Object.prototype.hasOwnProperty.call(src, k)) return false;
    if (eq >= 0 && src[k] !== w.slice(eq + 1)) return false;
  }
  return true;
}

/** filters.Args.Match: exact or (unanchored) regular expression. */
function regexMatcher(values: string[] | undefined): ((s: string) => boolean) | null {
  if (!values || values.length === 0) return null;
  const res: RegExp[] = [];
  for (const v of values) {
    try {
      res.push(new RegExp(v));
    } catch {
      /* invalid patterns are skipped, as in the daemon */
    }
  }
  const set = new Set(values);
  return (s) => set.has(s) || res.some((r) => r.test(s));
}

/** filters.Args.FuzzyMatch: exact or prefix. */
function fuzzy(values: string[], s: string): boolean {
  return values.some((v) => s === v || s.startsWith(v));
}

/** `since`/`until`: Unix seconds with up to nine decimals, as nanoseconds; null when absent. */
export function parseTimestampNs(raw: string | null, param: string): bigint | null {
  if (raw === null || raw === '') return null;
  const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(raw.trim());
  if (!m) throw new HttpError(400, `failed to parse value of ${param}: ${raw}`);
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

/** The daemon's httputils.BoolValue: absent, '', 0, no, false and none are false, anything else true. */
export function boolParam(v: string | null): boolean {
  if (v === null) return false;
  const s = v.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none');
}

/** The `/containers/json` filter as a predicate over records. `networkIdFor` lets `network=` match an ID too. */
export function listPredicate(f: ParsedFilters, networkIdFor: (name: string) => string): (r: Rec) => boolean {
  for (const k of Object.keys(f)) if (!LIST_FILTERS.has(k)) throw new HttpError(400, `invalid filter '${k}'`);
  const status = f.status;
  if (status) for (const s of status) if (!STATES.includes(s as SimState)) throw new HttpError(400, `invalid filter 'status=${s}'`);
  const health = f.health;
  if (health) for (const h of health) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw new HttpError(400, `Unrecognised filter value for health: ${h}`);
  const exited = f.exited?.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n)) throw new HttpError(400, `invalid filter 'exited=${x}'`);
    return n;
  });
  const idM = regexMatcher(f.id);
  const nameM = regexMatcher(f.name);
  const label = f.label;
  const network = f.network;
  const ancestor = f.ancestor;
  const portSpec = (vals: string[] | undefined) =>
    vals?.map((v) => {
      const [port, proto] = v.split('/');
      return { port: Number(port), proto: proto ?? 'tcp' };
    });
  const publish = portSpec(f.publish);
  const expose = portSpec(f.expose);
  return (r) => {
    if (status && !status.includes(r.state)) return false;
    if (label && !matchKV(label, r.labels)) return false;
    if (idM && !idM(r.id)) return false;
    if (nameM && !nameM('/' + r.name)) return false;
    if (exited && !(r.state === 'exited' && exited.includes(r.exitCode))) return false;
    if (health && !health.includes(r.health ?? 'none')) return false;
    if (network && !network.some((n) => n === r.networkMode || n === networkIdFor(r.networkMode))) return false;
    if (ancestor && !ancestor.some((a) => a === r.image || a === r.image.replace(/:[^:/]+$/, '') || a === r.imageId)) return false;
    if (publish && !publish.some((q) => r.ports.some((p) => p.publicPort === q.port && p.type === q.proto))) return false;
    if (expose && !expose.some((q) => r.ports.some((p) => p.privatePort === q.port && p.type === q.proto))) return false;
    return true;
  };
}

/** The `/events` filter as a predicate over published events. */
export function eventFilter(f: ParsedFilters): (e: EventRec) => boolean {
  for (const k of Object.keys(f)) if (!EVENT_FILTERS.has(k)) throw new HttpError(400, `invalid filter '${k}'`);
  const type = f.type;
  const ev = f.event;
  const fuzzyEvent = ev?.some((x) => x === 'health_status' || x === 'exec_create' || x === 'exec_start') ?? false;
  const container = f.container;
  const image = f.image;
  const label = f.label;
  const scope = f.scope;
  const otherTypes = (['network', 'volume', 'plugin', 'service', 'node', 'secret', 'config', 'daemon'] as const).filter((k) => f[k]?.length);
  return (e) => {
    if (type?.length && !type.includes(e.type)) return false;
    if (ev?.length && !(fuzzyEvent ? fuzzy(ev, e.action) : ev.includes(e.action))) return false;
    if (scope?.length && !scope.includes('local')) return false;
    if (label?.length && !matchKV(label, e.attrs)) return false;
    if (container?.length) {
      if (e.type !== 'container' || !(fuzzy(container, e.id) || fuzzy(container, e.name))) return false;
    }
    if (image?.length) {
      const img = e.attrs.image ?? e.image;
      const bare = img.replace(/:[^:/]+$/, '');
      if (!image.some((i) => i === img || i === bare || i === e.id)) return false;
    }
    for (const k of otherTypes) {
      if (e.type !== k || !(fuzzy(f[k]!, e.id) || fuzzy(f[k]!, e.name))) return false;
    }
    return true;
  };
}
