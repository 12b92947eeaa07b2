import { COMPOSE_PROJECT_PREFIX, DISPATCH_LABELS, LABEL_COMPOSE_PROJECT, LABEL_MANAGED } from '../domain/labels.js';
import type { ContainerItem } from '../domain/types.js';
import { PickedArray, PickedFields, type Picked, type RootKind } from './json-scan.js';

/**
 * Pure mapping from what a real daemon returns to {@link ContainerItem}. Daemons return null or
 * empty `Names`, null `Labels`, no `Ports`, and one port entry per address family
 * (`0.0.0.0` and `::`) for the same published port; all of that is cleaned here.
 */

/** Labels as a plain string map; null, non-object or non-string values are cleaned. */
export function cleanLabels(raw: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return out;
  const src = raw as Record<string, unknown>;
  for (const k in src) {
    if (!Object.prototype.hasOwnProperty.call(src, k)) continue;
    out[k] = cleanValue(src[k]);
  }
  return out;
}

function cleanValue(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
}

/**
 * Only the labels dispatch reads, cleaned like {@link cleanLabels}: at 100,000 containers the
 * rest (compose hashes, paths, descriptions) would be most of the controller's memory.
 */
export function dispatchLabels(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return out;
  const src = raw as Record<string, unknown>;
  for (const k of DISPATCH_LABELS) if (Object.prototype.hasOwnProperty.call(src, k)) out[k] = cleanValue(src[k]);
  return out;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
}

function portNumber(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : undefined;
}

/** Published ports first (ascending), then unpublished private ports (ascending), without duplicates. */
export function orderPorts(published: Iterable<number>, privateOnly: Iterable<number>): number[] {
  const pub = [...new Set(published)].sort((a, b) => a - b);
  const seen = new Set(pub);
  const priv = [...new Set(privateOnly)].filter((p) => !seen.has(p)).sort((a, b) => a - b);
  return [...pub, ...priv];
}

/** A `GET /containers/json` entry -> item. */
export function itemFromListEntry(e: Record<string, unknown>): ContainerItem {
  const names = Array.isArray(e.Names) ? (e.Names as unknown[]) : [];
  const first = names.map(str).find((n) => n !== '') ?? '';
  const published: number[] = [];
  const priv: number[] = [];
  if (Array.isArray(e.Ports)) {
    for (const p of e.Ports as Array<Record<string, unknown>>) {
      if (p === null || typeof p !== 'object') continue;
      const pub = portNumber(p.PublicPort);
      const pr = portNumber(p.PrivatePort);
      if (pub !== undefined) published.push(pub);
      else if (pr !== undefined) priv.push(pr);
    }
  }
  return {
    id: str(e.Id),
    name: first.replace(/^\//, ''),
    image: str(e.Image),
    state: str(e.State).toLowerCase(),
    labels: dispatchLabels(e.Labels),
    ports: orderPorts(published, priv),
  };
}

/**
 * What `str()` (or `cleanValue()`, which agrees with it on every JSON value) gives for a picked
 * value: undefined when only the parsed value can tell. That is an array (`String()` joins its
 * elements), an object (`String()` throws when the object has its own `toString` key), a string
 * longer than was kept, a number longer than was kept (its value is unknown) and a value that is
 * not JSON (`JSON.parse` throws).
 */
function pickedText(v: Picked | undefined): string | undefined {
  if (v === undefined) return '';
  switch (v.kind) {
    case 'string':
      return v.value;
    case 'number':
      return Number.isNaN(v.value) ? undefined : String(v.value);
    case 'true':
      return 'true';
    case 'false':
      return 'false';
    case 'null':
      return '';
    default:
      return undefined;
  }
}

/** What `portNumber()` gives for a picked value; null when only the parsed value can tell. */
function pickedPort(v: Picked | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  switch (v.kind) {
    case 'number':
      return Number.isNaN(v.value) ? null : portNumber(v.value);
    case 'string':
      return portNumber(v.value);
    // A long string may be a port written with many leading zeros.
    case 'too_long':
    case 'invalid':
      return null;
    default:
      return undefined;
  }
}

/**
 * {@link itemFromListEntry} from the fields the splitter picked out of the entry's bytes
 * (`LIST_ENTRY_PICK`, src/docker/list-entry.ts), without parsing the entry: exactly what
 * `itemFromListEntry(JSON.parse(entry))` returns, or undefined when the picked fields cannot tell
 * (see {@link pickedText}, plus arrays with more elements than were kept); the caller then parses
 * the entry. `spec/docker/items.picked.spec.ts` checks it against the parse on random entries.
 *
 * It reads only the picked fields: bytes the scanner stepped over are not validated as JSON
 * (brackets, quotes and colons are), which `JSON.parse` would refuse; a daemon's encoder does not
 * write such entries.
 */
export function itemFromPicked(f: PickedFields, rootKind: RootKind): ContainerItem | undefined {
  if (rootKind !== 'object') return undefined;
  const id = pickedText(f.value('Id'));
  const image = pickedText(f.value('Image'));
  const state = pickedText(f.value('State'));
  if (id === undefined || image === undefined || state === undefined) return undefined;

  // Every name is converted (as `names.map(str)` does), then the first non-empty one is taken.
  let first: string | undefined;
  const names = f.array('Names');
  if (names) {
    if (!names.complete) return undefined;
    for (const n of names.items) {
      const t = n instanceof PickedFields || n instanceof PickedArray ? undefined : pickedText(n);
      if (t === undefined) return undefined;
      if (first === undefined && t !== '') first = t;
    }
  }

  const published: number[] = [];
  const priv: number[] = [];
  const ports = f.array('Ports');
  if (ports) {
    if (!ports.complete) return undefined;
    for (const p of ports.items) {
      // null, scalars and arrays are skipped, as in itemFromListEntry (an array has no PublicPort).
      if (!(p instanceof PickedFields)) continue;
      const pub = pickedPort(p.value('PublicPort'));
      const pr = pickedPort(p.value('PrivatePort'));
      if (pub === null || pr === null) return undefined;
      if (pub !== undefined) published.push(pub);
      else if (pr !== undefined) priv.push(pr);
    }
  }

  const labels: Record<string, string> = {};
  const raw = f.object('Labels');
  if (raw) {
    for (const k of DISPATCH_LABELS) {
      if (!raw.has(k)) continue;
      const t = pickedText(raw.value(k));
      if (t === undefined) return undefined;
      labels[k] = t;
    }
  }

  return {
    id,
    name: (first ?? '').replace(/^\//, ''),
    image,
    state: state.toLowerCase(),
    labels,
    ports: orderPorts(published, priv),
  };
}

/** A `GET /containers/{id}/json` document -> item. */
export function itemFromInspect(d: Record<string, unknown>): ContainerItem {
  const state = (d.State ?? {}) as Record<string, unknown>;
  const config = (d.Config ?? {}) as Record<string, unknown>;
  const net = (d.NetworkSettings ?? {}) as Record<string, unknown>;
  const published: number[] = [];
  const priv: number[] = [];
  const ports = net.Ports;
  if (ports && typeof ports === 'object') {
    for (const [key, bindings] of Object.entries(ports as Record<string, unknown>)) {
      const pr = portNumber(key.split('/')[0]);
      let any = false;
      if (Array.isArray(bindings)) {
        for (const b of bindings as Array<Record<string, unknown>>) {
          const pub = portNumber(b?.HostPort);
          if (pub !== undefined) {
            published.push(pub);
            any = true;
          }
        }
      }
      if (!any && pr !== undefined) priv.push(pr);
    }
  }
  return {
    id: str(d.Id),
    name: str(d.Name).replace(/^\//, ''),
    image: str(config.Image) || str(d.Image),
    state: str(state.Status).toLowerCase(),
    labels: dispatchLabels(config.Labels),
    ports: orderPorts(published, priv),
  };
}

/** Whether the controller lists this container at all: managed, or a `tinyforge-` compose project. */
export function isTinyforgeCandidate(labels: Readonly<Record<string, string>>): boolean {
  if (labels[LABEL_MANAGED] === 'true') return true;
  const p = labels[LABEL_COMPOSE_PROJECT];
  return p !== undefined && p.startsWith(COMPOSE_PROJECT_PREFIX);
}
