import { hostScopedRowId } from '../../src/domain/dispatch.js';
/**
 * Comparing the `containers` table with what the Docker engine says (the "truth"), for the fault,
 * leader, proxy and shutdown tests. The mapping is written out here on purpose rather than taken
 * from src/: a test must not agree with the code because it is the code.
 */
import type { MariaDbServer } from './mariadb.js';
import type { DockerSimulator, SimContainer } from './docker-sim.js';
import type { PrivateDockerd } from './dockerd.js';

export interface DbRow {
  id: string;
  workload_id: string;
  workload_kind: string;
  role: string;
  container_id: string;
  image_ref: string;
  host: string;
  state: string;
  port: number;
}

/** One container's claim on a row: which row ID it derives and what that row must say. */
export interface Claim {
  rowId: string;
  containerId: string;
  /** The row state (`running`, `stopped`...). */
  state: string;
  workloadId: string;
  role: string;
  imageRef?: string;
  port?: number;
}

/** Docker state -> row state, as normalizeState in src/domain/dispatch.ts (exited and dead are `stopped`); undefined = not written. */
export function rowStateOf(dockerState: string): string | undefined {
  const s = dockerState.toLowerCase();
  if (s === 'exited' || s === 'dead' || s === 'stopped') return 'stopped';
  if (['running', 'created', 'restarting', 'paused', 'removing'].includes(s)) return s;
  return undefined;
}

export function dbNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

export async function readRows(maria: MariaDbServer, db: string, host?: string): Promise<DbRow[]> {
  const rows = (await maria.query(
    `SELECT id, workload_id, workload_kind, role, container_id, image_ref, host, state, port FROM \`${db}\`.containers ${host === undefined ? '' : 'WHERE host = ?'} ORDER BY id`,
    host === undefined ? [] : [host],
  )) as DbRow[];
  return rows.map((r) => ({ ...r, port: Number(r.port) }));
}

/**
 * Claims of simulator containers labelled `tinyforge.workload.id` in `known` with a non-empty
 * `tinyforge.role`: row `<workload>:<role>`.
 */
export function simClaims(sim: DockerSimulator, known: ReadonlySet<string>): Claim[] {
  return sim.list().flatMap((c) => claimOf(c, known));
}

function claimOf(c: SimContainer, known: ReadonlySet<string>): Claim[] {
  const wid = c.labels['tinyforge.workload.id'] ?? '';
  const role = c.labels['tinyforge.role'] ?? '';
  if (c.labels['tinyforge.managed'] !== 'true' || !known.has(wid) || role === '') return [];
  const state = rowStateOf(c.state);
  if (state === undefined) return [];
  return [{ rowId: `${wid}:${role}`, containerId: c.id, state, workloadId: wid, role, imageRef: c.image }];
}

/** What a real engine says about the containers of workload `wid` (role label -> row `wid:role`). */
export async function dockerClaims(docker: PrivateDockerd, wid: string): Promise<Claim[]> {
  const ps = await docker.docker(['ps', '-a', '--no-trunc', '--filter', `label=tinyforge.workload.id=${wid}`, '--format', '{{.ID}}\t{{.State}}\t{{.Label "tinyforge.role"}}']);
  return ps.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'))
    .map(([id, state, role]) => ({ rowId: `${wid}:${role}`, containerId: id!, state: rowStateOf(state!)!, workloadId: wid, role: role! }));
}

/**
 * Everything wrong with `rows` given the live `claims` and the container IDs known to be gone:
 * - every claimed row ID exists once, bound to one of its claimants, with that claimant's state;
 * - a row bound to a gone container is `missing`;
 * - no other row, and no container bound to two rows.
 * Returns human-readable problems (empty = the table is exactly right).
 */
export function compareToTruth(rows: readonly DbRow[], unscopedClaims: readonly Claim[], gone: ReadonlySet<string>, host: string): string[] {
  const problems: string[] = [];
  const byRow = new Map<string, Claim[]>();
  // Claims name the original row IDs; an agent whose host is not `local` scopes them by host.
  const claims = unscopedClaims.map((c) => ({ ...c, rowId: hostScopedRowId(c.rowId, host) }));
  for (const c of claims) {
    const list = byRow.get(c.rowId) ?? [];
    list.push(c);
    byRow.set(c.rowId, list);
  }
  const rowsById = new Map<string, DbRow>();
  for (const r of rows) {
    if (rowsById.has(r.id)) problems.push(`row ${show(r.id)} twice`);
    rowsById.set(r.id, r);
  }
  for (const [rowId, cs] of byRow) {
    const r = rowsById.get(rowId);
    if (!r) {
      problems.push(`row ${show(rowId)} is missing from the table (claimed by ${cs.map((c) => c.containerId.slice(0, 12)).join(', ')})`);
      continue;
    }
    const owner = cs.find((c) => c.containerId === r.container_id);
    if (!owner) {
      problems.push(`row ${show(rowId)} is bound to ${r.container_id.slice(0, 12) || '(none)'} (state ${r.state}), not to a live claimant (${cs.map((c) => `${c.containerId.slice(0, 12)}=${c.state}`).join(', ')})`);
      continue;
    }
    if (r.state !== owner.state) problems.push(`row ${show(rowId)}: state ${r.state}, Docker says ${owner.state}`);
    if (r.host !== host) problems.push(`row ${show(rowId)}: host ${show(r.host)}, expected ${show(host)}`);
    if (r.workload_id !== owner.workloadId) problems.push(`row ${show(rowId)}: workload_id ${show(r.workload_id)}, expected ${show(owner.workloadId)}`);
    if (r.role !== owner.role) problems.push(`row ${show(rowId)}: role ${show(r.role)}, expected ${show(owner.role)}`);
    if (owner.imageRef !== undefined && r.image_ref !== owner.imageRef) problems.push(`row ${show(rowId)}: image_ref ${show(r.image_ref)}, expected ${show(owner.imageRef)}`);
    if (owner.port !== undefined && r.port !== owner.port) problems.push(`row ${show(rowId)}: port ${r.port}, expected ${owner.port}`);
  }
  const seenContainers = new Map<string, string>();
  for (const r of rows) {
    if (r.container_id !== '') {
      const other = seenContainers.get(r.container_id);
      if (other !== undefined) problems.push(`container ${r.container_id.slice(0, 12)} is bound to two rows: ${show(other)} and ${show(r.id)}`);
      seenContainers.set(r.container_id, r.id);
    }
    if (byRow.has(r.id)) continue;
    if (gone.has(r.container_id)) {
      if (r.state !== 'missing') problems.push(`row ${show(r.id)} of the removed container ${r.container_id.slice(0, 12)} is ${r.state}, not missing`);
    } else problems.push(`unexpected row ${show(r.id)} (container ${r.container_id.slice(0, 12) || '(none)'}, state ${r.state})`);
  }
  return problems;
}

function show(s: string): string {
  const t = s.length > 60 ? `${s.slice(0, 60)}...(${s.length})` : s;
  return JSON.stringify(t);
}

/** Polls until `compareToTruth` finds nothing; returns the last problems on timeout (never throws). */
export async function waitForTruth(check: () => Promise<string[]>, timeoutMs: number, everyMs = 200): Promise<{ problems: string[]; tookMs: number }> {
  const t0 = Date.now();
  let problems: string[] = ['not checked yet'];
  for (;;) {
    try {
      problems = await check();
    } catch (e) {
      problems = [`check failed: ${e instanceof Error ? e.message : String(e)}`];
    }
    if (problems.length === 0 || Date.now() - t0 > timeoutMs) return { problems, tookMs: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A small seeded PRNG (mulberry32), so random tests are reproducible from their seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls GET `url` every `everyMs` until stopped; records every answer that is not 200. */
export function pollStatus(url: string, everyMs = 100): { stop(): Promise<{ polls: number; failures: string[] }> } {
  let stopped = false;
  let polls = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      polls++;
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2500) });
        const body = await r.text();
        if (r.status !== 200) failures.push(`${new Date().toISOString()} ${r.status} ${body.slice(0, 200)}`);
      } catch (e) {
        failures.push(`${new Date().toISOString()} ${e instanceof Error ? e.message : String(e)}`);
      }
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { polls, failures };
    },
  };
}
