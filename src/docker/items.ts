import { COMPOSE_PROJECT_PREFIX, DISPATCH_LABELS, LABEL_COMPOSE_PROJECT, LABEL_MANAGED } from '../domain/labels.js';
import type { ContainerItem } from '../domain/types.js';

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
