/**
 * BASELINE: a faithful port of the Go original's reconciler (tiny-forge
 * internal/reconciler/reconciler.go; its behaviour is summarised in docs/architecture.md, "The Go
 * original"), used only to measure what the service replaces. It is NOT the service.
 *
 * One tick (ReconcileOnce), exactly as the Go code does it, sequentially:
 *   - list every container labelled tinyforge.managed=true (all states) through dockerode;
 *   - for each container, dispatch with the Go original's precedence:
 *       1. tinyforge.workload.id  -> GetContainerByDockerID (one SELECT), UpsertContainer (one INSERT ... ON DUPLICATE KEY UPDATE)
 *       2. tinyforge.static-site  -> GetWorkloadByRef (one SELECT), UpsertContainer
 *       3. com.docker.compose.project with prefix tinyforge- -> GetAllStacks (one SELECT of every stack, linear scan),
 *          GetWorkloadByRef, UpsertContainer
 *   - ListContainers (every row), then one MarkContainerMissing UPDATE per row not seen, bound and not yet missing.
 * Errors are logged-and-skipped per container, as in Go. The store is mysql2 with a small pool,
 * text protocol (one COM_QUERY per statement), as a Go store using database/sql would issue them
 * (one statement at a time from one goroutine).
 */
import Docker from 'dockerode';
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';

export interface ReconcileItem {
  ID: string;
  Name: string;
  Image: string;
  State: string;
  Labels: Record<string, string>;
  Ports: number[];
}

interface ContainerRow {
  ID: string;
  WorkloadID: string;
  WorkloadKind: string;
  Role: string;
  ContainerID: string;
  ImageRef: string;
  Host: string;
  State: string;
  Port: number;
  LastSeenAt: string;
}

class NotFound extends Error {}

/** The Go store's statements, one per call, on a small pool. */
export class GoStore {
  readonly pool: Pool;
  /** ms spent per statement kind (for the report). */
  readonly timing = new Map<string, { n: number; ms: number }>();

  constructor(url: string, poolSize = 4) {
    const u = new URL(url);
    this.pool = createPool({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.slice(1)),
      connectionLimit: poolSize,
      maxIdle: 2, // database/sql's default MaxIdleConns
      timezone: 'Z',
      charset: 'utf8mb4_unicode_ci',
      dateStrings: true,
    });
  }

  private async q<T extends RowDataPacket[] | unknown>(kind: string, sql: string, params: unknown[]): Promise<T> {
    const t = performance.now();
    try {
      const [rows] = await this.pool.query(sql, params);
      return rows as T;
    } finally {
      const e = this.timing.get(kind) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t;
      this.timing.set(kind, e);
    }
  }

  async getContainerByDockerID(containerId: string): Promise<ContainerRow> {
    const rows = await this.q<RowDataPacket[]>(
      'GetContainerByDockerID',
      'SELECT id, workload_id, workload_kind, role, container_id, image_ref, host, state, port, last_seen_at, created_at, updated_at FROM containers WHERE container_id = ? LIMIT 1',
      [containerId],
    );
    const r = rows[0];
    if (!r) throw new NotFound();
    return toRow(r);
  }

  async upsertContainer(c: ContainerRow): Promise<void> {
    await this.q(
      'UpsertContainer',
      'INSERT INTO containers (id, workload_id, workload_kind, role, container_id, image_ref, host, state, port, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE workload_id = VALUES(workload_id), workload_kind = VALUES(workload_kind), role = VALUES(role), container_id = VALUES(container_id), ' +
        'image_ref = VALUES(image_ref), host = VALUES(host), state = VALUES(state), port = VALUES(port), last_seen_at = VALUES(last_seen_at)',
      [c.ID, c.WorkloadID, c.WorkloadKind, c.Role, c.ContainerID, c.ImageRef, c.Host, c.State, c.Port, c.LastSeenAt],
    );
  }

  async getWorkloadByRef(kind: string, refId: string): Promise<{ ID: string }> {
    const rows = await this.q<RowDataPacket[]>('GetWorkloadByRef', 'SELECT id, kind, ref_id, name, created_at, updated_at FROM workloads WHERE kind = ? AND ref_id = ?', [kind, refId]);
    if (!rows[0]) throw new NotFound();
    return { ID: String(rows[0].id) };
  }

  async getAllStacks(): Promise<Array<{ ID: string; ComposeProjectName: string }>> {
    const rows = await this.q<RowDataPacket[]>('GetAllStacks', 'SELECT id, name, compose_project_name, created_at, updated_at FROM stacks', []);
    return rows.map((r) => ({ ID: String(r.id), ComposeProjectName: String(r.compose_project_name) }));
  }

  async listContainers(): Promise<ContainerRow[]> {
    const rows = await this.q<RowDataPacket[]>('ListContainers', 'SELECT id, workload_id, workload_kind, role, container_id, image_ref, host, state, port, last_seen_at, created_at, updated_at FROM containers', []);
    return rows.map(toRow);
  }

  async markContainerMissing(id: string): Promise<void> {
    await this.q('MarkContainerMissing', "UPDATE containers SET state = 'missing', updated_at = ? WHERE id = ?", [now(), id]);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

function toRow(r: RowDataPacket): ContainerRow {
  return {
    ID: String(r.id),
    WorkloadID: String(r.workload_id),
    WorkloadKind: String(r.workload_kind),
    Role: String(r.role),
    ContainerID: String(r.container_id),
    ImageRef: String(r.image_ref),
    Host: String(r.host),
    State: String(r.state),
    Port: Number(r.port),
    LastSeenAt: String(r.last_seen_at ?? ''),
  };
}

/** store.Now(): UTC with milliseconds. */
function now(): string {
  return new Date().toISOString().replace('T', ' ').slice(0, 23);
}

/** The Go docker layer's ListAllForReconciler: managed containers, every state. */
export class GoDockerLister {
  private readonly api: Docker;
  constructor(socketPath: string) {
    this.api = new Docker({ socketPath });
  }

  async listAllForReconciler(): Promise<ReconcileItem[]> {
    const list = (await this.api.listContainers({ all: true, filters: { label: ['tinyforge.managed=true'] } })) as unknown as Array<Record<string, any>>;
    return list.map((c) => {
      const ports: number[] = [];
      for (const p of (c.Ports ?? []) as Array<Record<string, number>>) {
        const v = p.PublicPort || p.PrivatePort;
        if (v) ports.push(v);
      }
      return {
        ID: String(c.Id),
        Name: String(((c.Names ?? [''])[0] as string) ?? '').replace(/^\//, ''),
        Image: String(c.Image ?? ''),
        State: String(c.State ?? ''),
        Labels: (c.Labels ?? {}) as Record<string, string>,
        Ports: ports,
      };
    });
  }
}

export interface TickReport {
  listed: number;
  upserted: number;
  markedMissing: number;
  ms: number;
  listMs: number;
  upsertMs: number;
  sweepMs: number;
}

/** The Go Reconciler, one method per Go function, same control flow. */
export class GoReconciler {
  private errors = 0;

  constructor(
    private readonly store: GoStore,
    private readonly docker: GoDockerLister,
  ) {}

  /** ReconcileOnce. */
  async reconcileOnce(): Promise<TickReport> {
    const t0 = performance.now();
    const items = await this.docker.listAllForReconciler();
    const t1 = performance.now();
    const seen = new Set<string>();
    let upserted = 0;
    for (const item of items) {
      const rowId = await this.upsertFromItem(item);
      if (rowId !== '') {
        seen.add(rowId);
        upserted++;
      }
    }
    const t2 = performance.now();
    const marked = await this.markMissingRows(seen);
    const t3 = performance.now();
    return { listed: items.length, upserted, markedMissing: marked, ms: t3 - t0, listMs: t1 - t0, upsertMs: t2 - t1, sweepMs: t3 - t2 };
  }

  get errorCount(): number {
    return this.errors;
  }

  private async upsertFromItem(item: ReconcileItem): Promise<string> {
    const id = item.Labels['tinyforge.workload.id'] ?? '';
    if (id !== '') return this.upsertByWorkloadLabel(item, id);
    const siteId = item.Labels['tinyforge.static-site'] ?? '';
    if (siteId !== '') return this.upsertBySiteLabel(item, siteId);
    const cp = item.Labels['com.docker.compose.project'] ?? '';
    if (cp !== '' && cp.startsWith('tinyforge-')) return this.upsertByComposeProject(item, cp);
    return '';
  }

  private async upsertByWorkloadLabel(item: ReconcileItem, workloadId: string): Promise<string> {
    const role = item.Labels['tinyforge.role'] ?? '';
    const kind = item.Labels['tinyforge.workload.kind'] ?? '';
    let rowId = workloadIDRow(workloadId, kind, role, item.ID);
    try {
      const existing = await this.store.getContainerByDockerID(item.ID);
      rowId = existing.ID;
    } catch {
      /* not found: keep the derived ID */
    }
    return this.upsert(rowId, workloadId, kind, role, item);
  }

  private async upsertBySiteLabel(item: ReconcileItem, siteId: string): Promise<string> {
    let w;
    try {
      w = await this.store.getWorkloadByRef('site', siteId);
    } catch {
      return '';
    }
    return this.upsert(w.ID + ':site', w.ID, 'site', '', item);
  }

  private async upsertByComposeProject(item: ReconcileItem, composeProject: string): Promise<string> {
    let stack;
    try {
      stack = await this.findStackByComposeProject(composeProject);
      if (!stack) return '';
    } catch {
      return '';
    }
    let w;
    try {
      w = await this.store.getWorkloadByRef('stack', stack.ID);
    } catch {
      return '';
    }
    let role = item.Labels['com.docker.compose.service'] ?? '';
    if (role === '') role = item.Name;
    return this.upsert(w.ID + ':' + role, w.ID, 'stack', role, item);
  }

  private async upsert(rowId: string, workloadId: string, kind: string, role: string, item: ReconcileItem): Promise<string> {
    try {
      await this.store.upsertContainer({
        ID: rowId,
        WorkloadID: workloadId,
        WorkloadKind: kind,
        Role: role,
        ContainerID: item.ID,
        ImageRef: item.Image,
        Host: 'local',
        State: normalizeState(item.State),
        Port: item.Ports.length > 0 ? item.Ports[0]! : 0,
        LastSeenAt: now(),
      });
    } catch {
      this.errors++;
      return '';
    }
    return rowId;
  }

  /** Linear scan of every stack, per container ("the stack count is small in practice"). */
  private async findStackByComposeProject(composeProject: string): Promise<{ ID: string } | undefined> {
    const stacks = await this.store.getAllStacks();
    for (const s of stacks) if (s.ComposeProjectName === composeProject) return s;
    return undefined;
  }

  private async markMissingRows(seen: Set<string>): Promise<number> {
    let rows;
    try {
      rows = await this.store.listContainers();
    } catch {
      return 0;
    }
    let n = 0;
    for (const row of rows) {
      if (seen.has(row.ID)) continue;
      if (row.ContainerID === '') continue;
      if (row.State === 'missing') continue;
      try {
        await this.store.markContainerMissing(row.ID);
        n++;
      } catch {
        this.errors++;
      }
    }
    return n;
  }
}

function workloadIDRow(workloadId: string, kind: string, role: string, containerId: string): string {
  if (role !== '') return workloadId + ':' + role;
  if (kind === 'site') return workloadId + ':site';
  return workloadId + ':' + containerId;
}

function normalizeState(s: string): string {
  switch (s) {
    case 'running':
      return 'running';
    case 'exited':
    case 'dead':
    case 'stopped':
      return 'stopped';
    default:
      return s;
  }
}
