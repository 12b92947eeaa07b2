import type { RowLookup } from '../domain/decide.js';
import type { ObservedRow } from '../domain/types.js';
import { keepAliveClock, type Clock } from '../util/clock-source.js';
import { numberOption } from '../util/options.js';

/** The shared answer for a container without rows (callers never mutate it). */
const NONE: ObservedRow[] = [];

export interface RowFinder {
  findByContainerOrRowIds(containerIds: readonly string[], rowIds: readonly string[]): Promise<ObservedRow[]>;
}

export interface RowIndexOptions {
  /** How long a first {@link RowIndex.ensure} waits for others to share its lookup, 0 to 1000 ms; default 1. */
  lingerMs?: number;
  /** Timers for the linger; default the system clock. */
  clock?: Clock;
}

/**
 * What the controller knows of the `containers` table: the rows of its host (reloaded at every
 * pass) plus rows looked up on demand, keyed by row ID and by Docker ID (several rows can name
 * one container until the pass resolves it), and what is known to be absent. Lookups of unknown
 * keys are coalesced into one statement per burst. Writes in flight claim their row, so two
 * containers never bind one row at once.
 */
export class RowIndex implements RowLookup {
  private byId = new Map<string, ObservedRow>();
  /** Docker ID -> row ID, or row IDs when several rows name the container. */
  private byContainer = new Map<string, string | string[]>();
  private absentContainers = new Set<string>();
  private absentRows = new Set<string>();
  private readonly claims = new Map<string, string>();
  private pending: { containerIds: Set<string>; rowIds: Set<string>; waiters: Array<{ ok: () => void; fail: (e: unknown) => void }> } | undefined;

  private readonly lingerMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly finder: RowFinder,
    opts: RowIndexOptions = {},
  ) {
    this.lingerMs = numberOption('lingerMs', opts.lingerMs ?? 1, 0, 1000);
    this.clock = opts.clock ?? keepAliveClock;
  }

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
    if (prev && prev.containerId !== '' && prev.containerId !== row.containerId) this.unlink(prev.containerId, row.id);
    this.byId.set(row.id, row);
    if (row.containerId !== '') {
      this.link(row.containerId, row.id);
      this.absentContainers.delete(row.containerId);
    }
    this.absentRows.delete(row.id);
  }

  /** Marks the rows of `host` bound to `containerId` as missing, as the database now has them. */
  markMissing(containerId: string, host: string): void {
    for (const row of this.boundTo(containerId)) if (row.host === host && row.state !== 'missing') this.byId.set(row.id, { ...row, state: 'missing' });
  }

  /** Every known row bound to `containerId`. */
  boundTo(containerId: string): ObservedRow[] {
    const ids = this.byContainer.get(containerId);
    if (ids === undefined) return NONE;
    if (typeof ids === 'string') {
      const r = this.byId.get(ids);
      return r ? [r] : NONE;
    }
    const out: ObservedRow[] = [];
    for (const id of ids) {
      const r = this.byId.get(id);
      if (r) out.push(r);
    }
    return out;
  }

  /** Whether any known row is bound to `containerId` (no allocation: the pass asks for every container). */
  hasBound(containerId: string): boolean {
    return this.byContainer.has(containerId);
  }

  getRow(id: string): ObservedRow | undefined {
    return this.byId.get(id);
  }

  /** Reserves `rowId` for `containerId` while its write is in flight; false if another holds it. */
  claim(rowId: string, containerId: string): boolean {
    const cur = this.claims.get(rowId);
    if (cur !== undefined && cur !== containerId) return false;
    this.claims.set(rowId, containerId);
    return true;
  }

  release(rowId: string, containerId: string): void {
    if (this.claims.get(rowId) === containerId) this.claims.delete(rowId);
  }

  claimedBy(rowId: string): string | undefined {
    return this.claims.get(rowId);
  }

  /**
   * Forgets what is known about `containerId` being unbound, so the next {@link ensure} asks
   * the database again (another program may have bound a row to it meanwhile).
   */
  forgetAbsence(containerId: string): void {
    this.absentContainers.delete(containerId);
  }

  /** Whether {@link boundTo} and {@link getRow} answers for these keys are authoritative. */
  knows(containerId: string, rowId?: string): boolean {
    if (!this.byContainer.has(containerId) && !this.absentContainers.has(containerId)) return false;
    return rowId === undefined || this.byId.has(rowId) || this.absentRows.has(rowId);
  }

  /** Fetches unknown keys in bulk (one statement per chunk) and records what is absent. */
  async prefetch(containerIds: readonly string[], rowIds: readonly string[]): Promise<void> {
    const c = containerIds.filter((x) => !this.byContainer.has(x) && !this.absentContainers.has(x));
    const r = rowIds.filter((x) => !this.byId.has(x) && !this.absentRows.has(x));
    if (c.length === 0 && r.length === 0) return;
    await this.refetch(c, r);
  }

  /**
   * Makes sure the keys are known, coalescing concurrent callers into one lookup. With
   * `recheck`, rows bound to `containerId` are read again even if known (another program may
   * have bound one since).
   */
  ensure(containerId: string, rowId?: string, recheck = false): Promise<void> {
    if (!recheck && this.knows(containerId, rowId)) return Promise.resolve();
    if (!this.pending) {
      const batch = { containerIds: new Set<string>(), rowIds: new Set<string>(), waiters: [] as Array<{ ok: () => void; fail: (e: unknown) => void }> };
      this.pending = batch;
      this.clock.setTimeout(() => {
        if (this.pending === batch) this.pending = undefined;
        this.refetch([...batch.containerIds], [...batch.rowIds]).then(
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

  /** Reads these keys from the database whether known or not, and records what it found. */
  private async refetch(containerIds: readonly string[], rowIds: readonly string[]): Promise<void> {
    const found = await this.finder.findByContainerOrRowIds(containerIds, rowIds);
    for (const row of found) this.put(row);
    const foundRows = new Set(found.map((r) => r.id));
    for (const x of containerIds) {
      // Rows the index held as bound to x that the database no longer binds to it: forget them
      // (their current content is read when needed).
      for (const r of this.boundTo(x)) {
        if (foundRows.has(r.id)) continue;
        this.byId.delete(r.id);
        this.unlink(x, r.id);
      }
      if (!this.byContainer.has(x)) this.absentContainers.add(x);
    }
    for (const x of rowIds) if (!this.byId.has(x)) this.absentRows.add(x);
  }

  private link(containerId: string, rowId: string): void {
    const cur = this.byContainer.get(containerId);
    if (cur === undefined) this.byContainer.set(containerId, rowId);
    else if (typeof cur === 'string') {
      if (cur !== rowId) this.byContainer.set(containerId, [cur, rowId]);
    } else if (!cur.includes(rowId)) cur.push(rowId);
  }

  private unlink(containerId: string, rowId: string): void {
    const cur = this.byContainer.get(containerId);
    if (cur === undefined) return;
    if (typeof cur === 'string') {
      if (cur === rowId) this.byContainer.delete(containerId);
      return;
    }
    const rest = cur.filter((x) => x !== rowId);
    if (rest.length === 0) this.byContainer.delete(containerId);
    else this.byContainer.set(containerId, rest.length === 1 ? rest[0]! : rest);
  }
}
