/**
 * The synthetic fleet the benchmarks run against: container `i` belongs to exactly one row, so no
 * two containers ever fight over a row (the simulator's default factory maps three containers
 * to one workload and can produce the same row ID twice, which makes rows flip-flop).
 *
 * Per block of 20 indices (i % 20):
 *   0..11  project (60%)    labels tinyforge.workload.{id,kind}=wp-i/project, tinyforge.role web|app|worker -> row wp-i:<role>
 *   12..13 site (10%)       workload labels, kind site, no role                                            -> row ws-i:site
 *   14..15 legacy site (10%) only tinyforge.static-site=site-i (joins workloads kind=site ref_id=site-i)    -> row wls-i:site
 *   16..19 stack (20%)      one compose stack per block (tinyforge-stk-<b>, services web/app/db/cache),
 *                            with workload labels wk-b; every 10th stack is a legacy compose-only stack
 *                            (dispatched through stacks.compose_project_name)                            -> row wk-b:<service>
 * Every container carries tinyforge.managed=true (the Go original lists only those). About 80% run.
 *
 * The three dispatch paths of the Go original (workload label, static-site label, compose project) are all
 * exercised; the legacy compose share is kept small because the Go original scans every stack
 * for each such container (GetAllStacks), which would otherwise dominate its figures.
 */
import type { SimContainer, SimPort, SimState } from '../spec/support/docker-sim.js';

export const BLOCK = 20;
const PROJECT_ROLES = ['web', 'app', 'worker'] as const;
const STACK_SERVICES = ['web', 'app', 'db', 'cache'] as const;
const IMAGES: Record<string, string> = {
  web: 'nginx:1.27-alpine',
  app: 'ghcr.io/tinyforge/app:1.4.2',
  worker: 'ghcr.io/tinyforge/worker:1.4.2',
  db: 'mariadb:11.4',
  cache: 'redis:7.4-alpine',
  site: 'nginx:1.27-alpine',
};

export type FleetKind = 'project' | 'site' | 'legacy-site' | 'stack' | 'legacy-stack';

export function kindOf(i: number): FleetKind {
  const r = i % BLOCK;
  if (r < 12) return 'project';
  if (r < 14) return 'site';
  if (r < 16) return 'legacy-site';
  return Math.floor(i / BLOCK) % 10 === 0 ? 'legacy-stack' : 'stack';
}

function stateOf(i: number): SimState {
  const h = Math.imul(i + 1, 2654435761) >>> 0;
  const s = h % 10;
  return s < 8 ? 'running' : s === 8 ? 'exited' : 'created';
}

function portsFor(role: string, i: number): SimPort[] {
  if (role === 'web' || role === 'site') return [{ privatePort: 80, publicPort: 20000 + (i % 40000), type: 'tcp' }];
  if (role === 'app') return [{ privatePort: 3000, publicPort: 20000 + (i % 40000), type: 'tcp' }];
  if (role === 'db') return [{ privatePort: 3306, type: 'tcp' }, { privatePort: 33060, type: 'tcp' }];
  if (role === 'cache') return [{ privatePort: 6379, type: 'tcp' }];
  return [];
}

/** The simulator factory (DockerSimulator.populate / churnOnce / churn `make`). */
export function fleetContainer(i: number): Partial<SimContainer> {
  const kind = kindOf(i);
  const labels: Record<string, string> = {};
  let name: string;
  let role: string;
  if (kind === 'stack' || kind === 'legacy-stack') {
    const b = Math.floor(i / BLOCK);
    role = STACK_SERVICES[(i % BLOCK) - 16]!;
    const project = `tinyforge-stk-${b}`;
    labels['com.docker.compose.container-number'] = '1';
    labels['com.docker.compose.oneoff'] = 'False';
    labels['com.docker.compose.project'] = project;
    labels['com.docker.compose.project.working_dir'] = `/var/lib/tinyforge/stacks/stk-${b}`;
    labels['com.docker.compose.service'] = role;
    labels['com.docker.compose.version'] = '2.29.7';
    labels['tinyforge.managed'] = 'true';
    if (kind === 'stack') {
      labels['tinyforge.role'] = role;
      labels['tinyforge.workload.id'] = `wk-${b}`;
      labels['tinyforge.workload.kind'] = 'stack';
    }
    // Names must be unique; a replacement (churn) of the same block/service gets a suffix from the simulator.
    name = `${project}-${role}-1`;
  } else if (kind === 'legacy-site') {
    role = 'site';
    labels['tinyforge.managed'] = 'true';
    labels['tinyforge.static-site'] = `site-${i}`;
    name = `tf-static-site-${i}`;
  } else if (kind === 'site') {
    role = 'site';
    labels['tinyforge.managed'] = 'true';
    labels['tinyforge.workload.id'] = `ws-${i}`;
    labels['tinyforge.workload.kind'] = 'site';
    name = `tf-site-ws-${i}`;
  } else {
    role = PROJECT_ROLES[i % 3]!;
    labels['tinyforge.managed'] = 'true';
    labels['tinyforge.role'] = role;
    labels['tinyforge.workload.id'] = `wp-${i}`;
    labels['tinyforge.workload.kind'] = 'project';
    name = `tf-project-wp-${i}-${role}`;
  }
  return {
    name,
    image: IMAGES[role] ?? 'busybox:latest',
    labels,
    ports: portsFor(role, i),
    state: stateOf(i),
    cmd: role === 'db' ? ['mysqld'] : role === 'cache' ? ['redis-server'] : role === 'web' || role === 'site' ? ['nginx', '-g', 'daemon off;'] : ['node', 'server.js'],
    restartPolicy: 'unless-stopped',
  };
}

export interface DesiredRows {
  workloads: Array<[id: string, kind: string, refId: string, name: string]>;
  stacks: Array<[id: string, name: string, composeProjectName: string]>;
}

/** The `workloads` / `stacks` rows that make containers [from, to) resolvable. */
export function desiredRows(from: number, to: number): DesiredRows {
  const out: DesiredRows = { workloads: [], stacks: [] };
  const blocks = new Set<number>();
  for (let i = from; i < to; i++) {
    const kind = kindOf(i);
    if (kind === 'project') out.workloads.push([`wp-${i}`, 'project', `p-${i}`, `project ${i}`]);
    else if (kind === 'site') out.workloads.push([`ws-${i}`, 'site', `s-${i}`, `site ${i}`]);
    else if (kind === 'legacy-site') out.workloads.push([`wls-${i}`, 'site', `site-${i}`, `legacy site ${i}`]);
    else {
      const b = Math.floor(i / BLOCK);
      if (blocks.has(b)) continue;
      blocks.add(b);
      out.workloads.push([`wk-${b}`, 'stack', `stk-${b}`, `stack ${b}`]);
      out.stacks.push([`stk-${b}`, `stack ${b}`, `tinyforge-stk-${b}`]);
    }
  }
  return out;
}

/**
 * The row a container of this fleet (or a workload-labelled container on the real engine) owns,
 * from its labels alone (event attributes carry the labels).
 */
export function rowIdForLabels(labels: Readonly<Record<string, string>>): string | undefined {
  const wid = labels['tinyforge.workload.id'];
  if (wid) {
    const role = labels['tinyforge.role'] ?? '';
    if (role !== '') return `${wid}:${role}`;
    if (labels['tinyforge.workload.kind'] === 'site') return `${wid}:site`;
    return undefined;
  }
  const site = labels['tinyforge.static-site'];
  if (site) return `wls-${site.slice('site-'.length)}:site`;
  const project = labels['com.docker.compose.project'];
  if (project?.startsWith('tinyforge-stk-')) {
    const n = labels['com.docker.compose.container-number'] ?? '1';
    const base = `wk-${project.slice('tinyforge-stk-'.length)}:${labels['com.docker.compose.service'] ?? ''}`;
    return n === '1' ? base : `${base}:${n}`;
  }
  return undefined;
}

/** The observed row the service would write for container `c` (for the bulk-upsert reference). */
export function observedRowFor(c: { id: string; image: string; state: string; labels: Record<string, string>; ports: SimPort[] }, host: string): unknown[] {
  const kind = c.labels['tinyforge.workload.kind'] ?? (c.labels['tinyforge.static-site'] ? 'site' : 'stack');
  const id = rowIdForLabels(c.labels)!;
  const workloadId = id.slice(0, id.indexOf(':'));
  const role = c.labels['tinyforge.role'] ?? c.labels['com.docker.compose.service'] ?? '';
  const state = c.state === 'exited' || c.state === 'dead' ? 'stopped' : c.state;
  const pub = c.ports.find((p) => p.publicPort !== undefined)?.publicPort;
  const port = state === 'running' || state === 'paused' || state === 'restarting' ? (pub ?? c.ports[0]?.privatePort ?? 0) : 0;
  return [id, workloadId, kind, role, c.id, c.image, host, state, port];
}
