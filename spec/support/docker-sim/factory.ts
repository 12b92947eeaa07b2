/**
 * The default container factory (populate, churn): containers that look like Tinyforge's, deterministic per index.
 */
import { sha256hex } from './ids.js';
import type { SimContainer, SimPort, SimState } from './types.js';

const WORKLOAD_KINDS = ['project', 'stack', 'site'] as const;
const ROLES: Record<(typeof WORKLOAD_KINDS)[number], string[]> = {
  project: ['app'],
  stack: ['web', 'db', 'cache', 'worker'],
  site: ['web'],
};
const IMAGES: Record<string, string> = {
  app: 'ghcr.io/tinyforge/app-runtime:1.4.2',
  web: 'nginx:1.27-alpine',
  db: 'mysql:8.4',
  cache: 'redis:7.4-alpine',
  worker: 'ghcr.io/tinyforge/worker:1.4.2',
};

const composeImageHashes = new Map<string, string>();
function composeImageHash(role: string): string {
  let h = composeImageHashes.get(role);
  if (!h) composeImageHashes.set(role, (h = 'sha256:' + sha256hex(IMAGES[role] ?? role)));
  return h;
}

/**
 * Default factory: containers that look like Tinyforge's. Index i maps deterministically to a workload
 * (`wl-<n>`), its kind and role; stacks get docker compose labels; web roles publish a port.
 */
export function tinyforgeContainer(i: number): Partial<SimContainer> {
  const kind = WORKLOAD_KINDS[i % 3]!;
  const roles = ROLES[kind];
  const workload = Math.floor(i / 3);
  const role = roles[workload % roles.length]!;
  const wid = `wl-${String(workload).padStart(6, '0')}`;
  // keys inserted in sorted order (Go's map order), so populate() can keep the object as is
  const labels: Record<string, string> = {};
  let name: string;
  if (kind === 'stack') {
    const project = `tinyforge-${wid}`;
    labels['com.docker.compose.config-hash'] = sha256hex(`${project}/${role}`);
    labels['com.docker.compose.container-number'] = '1';
    labels['com.docker.compose.depends_on'] = '';
    labels['com.docker.compose.image'] = composeImageHash(role);
    labels['com.docker.compose.oneoff'] = 'False';
    labels['com.docker.compose.project'] = project;
    labels['com.docker.compose.project.config_files'] = `/var/lib/tinyforge/stacks/${wid}/compose.yaml`;
    labels['com.docker.compose.project.working_dir'] = `/var/lib/tinyforge/stacks/${wid}`;
    labels['com.docker.compose.service'] = role;
    labels['com.docker.compose.version'] = '2.29.7';
    name = `${project}-${role}-1`;
  } else {
    name = `tf-${kind}-${wid}-${role}-${i}`;
  }
  labels['tinyforge.managed'] = 'true';
  labels['tinyforge.role'] = role;
  labels['tinyforge.workload.id'] = wid;
  labels['tinyforge.workload.kind'] = kind;
  const ports: SimPort[] =
    role === 'web' || role === 'app'
      ? [{ privatePort: role === 'app' ? 3000 : 80, publicPort: 20000 + (i % 40000), type: 'tcp' }]
      : role === 'db'
        ? [{ privatePort: 3306, type: 'tcp' }, { privatePort: 33060, type: 'tcp' }]
        : role === 'cache'
          ? [{ privatePort: 6379, type: 'tcp' }]
          : [];
  const r = i % 20;
  const state: SimState = r < 16 ? 'running' : r < 19 ? 'exited' : 'created';
  return {
    name,
    image: IMAGES[role] ?? 'busybox:latest',
    labels,
    ports,
    state,
    exitCode: state === 'exited' ? [0, 137, 1][i % 3]! : 0,
    cmd: role === 'db' ? ['mysqld'] : role === 'cache' ? ['redis-server'] : role === 'web' ? ['nginx', '-g', 'daemon off;'] : ['node', 'server.js'],
    restartPolicy: 'unless-stopped',
    aliases: kind === 'stack' ? [name, role] : null,
  };
}
