import type { ObservedRow } from './dispatch.js';

export interface RowFinder {
  findByContainerOrRowIds(containerIds: readonly string[], rowIds: readonly string[]): Promise<ObservedRow[]>;
}

/**
 * What the controller knows of the `containers` table: the rows of its host (reloaded at every
 * pass) plus rows looked up on demand, keyed by row ID and by Docker ID, and what is known to be
 * absent. Lookups of unknown keys are coalesced into one statement per burst.
 */
export class RowIndex {
  private byId = new Map<string, ObservedRow>();
  private byContainer = new Map<string, string>();
  private absentContainers = new Set<string>();
  private absentRows = new Set<string>();
  private pending: { containerIds: Set<string>; rowIds: Set<string>; waiters: Array<{ ok: () => void; fail: (e: unknown) => void }> } | undefined;

  constructor(
    private readonly finder: RowFinder,
    private readonly lingerMs = 1,
  ) {}

  /** Replaces everything with a fresh snapshot of the host's rows. */
  replace(rows: readonly ObservedRow[]): void {
    this.byId = new Map();
    this.byContainer = new Map();
    this.absentContainers = new Set();
    this.absentRows = new Set();
    for (const r of rows) this.put(r);
  }

  /** Records a row as it now is in the database. */
  put(row: ObservedRow): void {
    const prev = this.byId.get(row.id);
    if (prev && prev.containerId !== row.containerId && this.byContainer.get(prev.containerId) === row.id) this.byContainer.delete(prev.containerId);
    this.byId.set(row.id, row);
    if (row.containerId !== '') {
      this.byContainer.set(row.containerId, row.id);
      this.absentContainers.delete(row.containerId);
    }
    this.absentRows.delete(row.id);
  }

  /** Marks the rows bound to `containerId` as missing, as the database now has them. */
  markMissing(containerId: string, host: string): void {
    const id = this.byContainer.get(containerId);
    const row = id === undefined ? undefined : this.byId.get(id);
    if (row && row.host === host && row.containerId === containerId) this.byId.set(row.id, { ...row, state: 'missing' });
  }

  rows(): IterableIterator<ObservedRow> {
    return this.byId.values();
  }

  /** The row bound to `containerId`, if known. */
  boundTo(containerId: string): ObservedRow | undefined {
    const id = this.byContainer.get(containerId);
    return id === undefined ? undefined : this.byId.get(id);
  }

  getRow(id: string): ObservedRow | undefined {
    return this.byId.get(id);
  }

  /** Whether {@link boundTo} and {@link getRow} answers for these keys are authoritative. */
  knows(containerId: string, rowId?: string): boolean {
    if (this.byContainer.has(containerId)) return true;
    if (!this.absentContainers.has(containerId)) return false;
    return rowId === undefined || this.byId.has(rowId) || this.absentRows.has(rowId);
  }

  /** Fetches unknown keys in bulk (one statement per chunk) and records what is absent. */
  async prefetch(containerIds: readonly string[], rowIds: readonly string[]): Promise<void> {
    const c = containerIds.filter((x) => !this.byContainer.has(x) && !this.absentContainers.has(x));
    const r = rowIds.filter((x) => !this.byId.has(x) && !this.absentRows.has(x));
    if (c.length === 0 && r.length === 0) return;
    const found = await this.finder.findByContainerOrRowIds(c, r);
    for (const row of found) this.put(row);
    for (const x of c) if (!this.byContainer.has(x)) this.absentContainers.add(x);
    for (const x of r) if (!this.byId.has(x)) this.absentRows.add(x);
  }

  /** Makes sure the keys are known, coalescing concurrent callers into one lookup. */
  ensure(containerId: string, rowId?: string): Promise<void> {
    if (this.knows(containerId, rowId)) return Promise.resolve();
    if (!this.pending) {
      const batch = { containerIds: new Set<string>(), rowIds: new Set<string>(), waiters: [] as Array<{ ok: () => void; fail: (e: unknown) => void }> };
      this.pending = batch;
      setTimeout(() => {
        if (this.pending === batch) this.pending = undefined;
        this.prefetch([...batch.containerIds], [...batch.rowIds]).then(
          () => batch.waiters.forEach((w) => w.ok()),
          (e) => batch.waiters.forEach((w) => w.fail(e)),
        );
      }, this.lingerMs);
    }
    const p = this.pending;
    p.containerIds.add(containerId);
    if (rowId !== undefined) p.rowIds.add(rowId);
    return new Promise((ok, fail) => p.waiters.push({ ok, fail }));
  }
}
