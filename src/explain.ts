/**
 * `tinyforge-reconciler explain <container>`: why a container has the row it has, or none. It
 * reads Docker and the database (never writes) and runs the same pure decision as the controller
 * (src/domain/decide.ts), so what it prints is what the agent does.
 */
import type { Config } from './config.js';
import { decide, derivedRowId, rankBound, type Decision } from './domain/decide.js';
import { DesiredStateCache } from './cache/desired-cache.js';
import { routeByLabels, type LabelRoute } from './domain/dispatch.js';
import type { ContainerItem, ObservedRow } from './domain/types.js';
import { RowIndex } from './cache/row-index.js';
import type { DockerClient } from './docker/docker.client.js';
import { ContainersRepository } from './store/containers.repository.js';
import { parseDbTime, type Database } from './store/database.js';
import { DesiredStateRepository } from './store/desired-state.repository.js';

export interface Explanation {
  host: string;
  container: Pick<ContainerItem, 'id' | 'name' | 'image' | 'state' | 'labels'>;
  /** Whether the controller lists this container at all (managed label or tinyforge- compose project). */
  candidate: boolean;
  route: LabelRoute;
  /** The row ID dispatch derives ('' when the workload is unknown). */
  derivedId: string;
  /** Rows bound to the container (any host). */
  bound: ObservedRow[];
  /** The row with the derived ID, if it exists. */
  derivedRow: ObservedRow | undefined;
  decision: Decision | undefined;
  /** What `container_refusals` holds for this container on this host. */
  recorded: { reason: string; detail: string; since: string } | undefined;
}

/** Builds the explanation of `ref` (a container ID, ID prefix or name) as seen from `config.hostName`. */
export async function explainContainer(ref: string, deps: { config: Config; docker: DockerClient; db: Database }): Promise<Explanation | undefined> {
  const { config, docker, db } = deps;
  const found = await docker.inspectAny(ref);
  if (!found) return undefined;
  const { item, candidate } = found;
  const host = config.hostName;
  const desired = new DesiredStateCache(new DesiredStateRepository(db));
  await desired.refresh();
  const repo = new ContainersRepository(db);
  const rows = new RowIndex(repo);
  const derivedId = derivedRowId(item, desired, host) ?? '';
  await rows.prefetch([item.id], derivedId !== '' ? [derivedId] : []);
  const derivedRow = derivedId !== '' ? rows.getRow(derivedId) : undefined;
  // Liveness of the containers that hold the rows in question, asked of Docker directly.
  const holders = new Set<string>();
  if (derivedRow && derivedRow.containerId !== '' && derivedRow.containerId !== item.id) holders.add(derivedRow.containerId);
  const live = new Set<string>([item.id]);
  for (const h of holders) if ((await docker.inspectAny(h)) !== undefined) live.add(h);
  const decision = candidate ? decide(item, { host, desired, rows, isLive: (c) => live.has(c) }) : undefined;
  const { rows: recorded } = await db.query<{ reason: string; detail: string; since: unknown }>('SELECT `reason`, `detail`, `since` FROM `container_refusals` WHERE `host` = ? AND `container_id` = ?', [host, item.id]);
  const rec = recorded[0];
  return {
    host,
    container: { id: item.id, name: item.name, image: item.image, state: item.state, labels: item.labels },
    candidate,
    route: routeByLabels(item.labels),
    derivedId,
    bound: rankBound(rows.boundTo(item.id), derivedId),
    derivedRow,
    decision,
    recorded: rec ? { reason: rec.reason, detail: rec.detail, since: new Date(parseDbTime(rec.since) ?? 0).toISOString() } : undefined,
  };
}

function describeRoute(r: LabelRoute): string {
  switch (r.path) {
    case 'workload':
      return `workload label: tinyforge.workload.id=${r.workloadId}${r.kind ? `, kind=${r.kind}` : ''}${r.role ? `, role=${r.role}` : ''}`;
    case 'site':
      return `static-site label: tinyforge.static-site=${r.siteId}`;
    case 'compose':
      return `compose project ${r.project}, service ${r.service || '(none: the container name)'}, replica ${r.number}`;
    case 'none':
      return `none (${r.reason})`;
  }
}

function describeRow(r: ObservedRow): string {
  return `${r.id} (host ${r.host || '(none)'}, state ${r.state}, container ${r.containerId ? r.containerId.slice(0, 12) : '(unbound)'}, workload ${r.workloadId})`;
}

/** Human-readable lines. */
export function formatExplanation(e: Explanation): string {
  const lines: string[] = [];
  const c = e.container;
  lines.push(`container   ${c.id.slice(0, 12)} ${c.name ? `(${c.name}) ` : ''}state ${c.state}, image ${c.image}`);
  lines.push(`agent host  ${e.host}`);
  if (!e.candidate) {
    lines.push('decision    not listed: no tinyforge.managed=true label and no tinyforge- compose project; the agent never looks at it');
    return lines.join('\n');
  }
  lines.push(`path        ${describeRoute(e.route)}`);
  lines.push(`derived ID  ${e.derivedId || '(none: the workload is not known)'}`);
  lines.push(`bound rows  ${e.bound.length === 0 ? '(none)' : e.bound.map(describeRow).join('\n            ')}`);
  if (e.derivedRow && !e.bound.some((b) => b.id === e.derivedRow!.id)) lines.push(`derived row ${describeRow(e.derivedRow)}`);
  const d = e.decision!;
  if (!d.ok) {
    lines.push(`decision    REFUSED (${d.reason}): ${d.detail}`);
  } else {
    const what = !d.existing ? 'would be created' : d.changed ? `would be updated (${d.existing.state} -> ${d.row.state})` : 'is up to date';
    lines.push(`decision    row ${d.row.id} ${what}${d.orphaned ? '; ORPHANED: its workload no longer exists, the row follows the container' : ''}`);
    for (const s of d.supersede) lines.push(`            row ${s.id} is superseded by it and would be marked missing`);
  }
  lines.push(`recorded    ${e.recorded ? `refused since ${e.recorded.since} (${e.recorded.reason}): ${e.recorded.detail}` : 'no refusal recorded for this host'}`);
  return lines.join('\n');
}
