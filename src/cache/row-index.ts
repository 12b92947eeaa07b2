import type { RowLookup } from '../domain/decide.js';
import type { ObservedRow } from '../domain/types.js';
import { observedRowChecksum, type StoredRow, type ViewChecksum } from '../store/containers.repository.js';
import { keepAliveClock, type Clock } from '../util/clock-source.js';
import { numberOption } from '../util/options.js';
import { sharedStrings } from '../util/string-pool.js';

/**
 * A row read from the table as the index keeps it: a literal of fixed shape (an object rest
 * `{ lastSeenAt, ...row }` gave every row a hidden class of its own, ~330 bytes each), its
 * low-variety columns pooled (src/util/string-pool.ts).
 */
function observedOf(r: StoredRow): ObservedRow {
  return {
    id: r.id,
    workloadId: r.workloadId,
    workloadKind: sharedStrings.intern(r.workloadKind),
    role: sharedStrings.intern(r.role),
    containerId: r.containerId,
    imageRef: sharedStrings.intern(r.imageRef),
    host: sharedStrings.intern(r.host),
    state: sharedStrings.intern(r.state) as ObservedRow['state'],
    port: r.port,
  };
}

/** The shared answer for a container without rows (callers never mutate it). */
const NONE: ObservedRow[] = [];

export interface RowFinder {
  /** Rows as stored; `lastSeenAt` (database clock, ms) when the finder reads it. */
  findByContainerOrRowIds(containerIds: readonly string[], rowIds: readonly string[]): Promise<StoredRow[]>;
}

export interface RowIndexOptions {
  /** How long a first {@link RowIndex.ensure} waits for others to share its lookup, 0 to 1000 ms; default 1. */
  lingerMs?: number;
  /** Timers for the linger; default the system clock. */
  clock?: Clock;
  /**
   * This agent's host: the rows of the host view (`host` = this host, or no host and bound to a
   * container; what `listForHost` reads) are the ones the index keeps across passes and
   * checksums. Default '' (tests of the lookup logic only).
   */
  host?: string;
  /** The database's clock (ms): `last_seen_at` of a row the service just wrote. Default `Date.now`. */
  dbNow?: () => number;
}

/** What the index knows of a row of the host view besides its columns. */
interface ViewMeta {
  crc: number;
  /** `last_seen_at` as last read or written (database clock, ms); null when never seen. */
  lastSeenAt: number | null;
  /** The index's write sequence when the row was last recorded. */
  seq: number;
}

/**
 * What the controller knows of the `containers` table: the rows of its host view, kept across
 * passes and updated in place from what the service writes and reads, plus rows looked up on
 * demand (forgotten at every pass), keyed by row ID and by Docker ID (several rows can name one
 * container until the pass resolves it), and what is known to be absent. Lookups of unknown keys
 * are coalesced into one statement per burst. Writes in flight claim their row, so two
 * containers never bind one row at once.
 *
 * The index keeps the count, sum and XOR of the CRC32 of its view rows (the same checksum the
 * database computes, containers.repository.ts): when the database's checksum of the view equals
 * it, nobody else changed the host's rows and the pass needs no re-read (docs/architecture.md,
 * "Steady state costs O(changes)").
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
  private readonly host: string;
  private readonly dbNow: () => number;
  /** Rows of the host view and what is known of them besides their columns. */
  private meta = new Map<string, ViewMeta>();
  private view: ViewChecksum = { count: 0, sum: 0, xor: 0 };
  private seqNo = 0;
  private writes = 0;
  private loaded = false;

  constructor(
    private readonly finder: RowFinder,
    opts: RowIndexOptions = {},
  ) {
    this.lingerMs = numberOption('lingerMs', opts.lingerMs ?? 1, 0, 1000);
    this.clock = opts.clock ?? keepAliveClock;
    this.host = opts.host ?? '';
    this.dbNow = opts.dbNow ?? Date.now;
  }

  /** Replaces everything with a fresh snapshot of the host view (rows with their `lastSeenAt`). */
  replace(rows: readonly StoredRow[]): void {
    this.byId = new Map();
    this.byContainer = new Map();
    this.absentContainers = new Set();
    this.absentRows = new Set();
    this.meta = new Map();
    this.view = { count: 0, sum: 0, xor: 0 };
    for (const r of rows) this.put(observedOf(r), r.lastSeenAt ?? null);
    this.loaded = true;
  }

  /** Whether a snapshot was ever loaded (the first pass reads the host's rows in full). */
  isLoaded(): boolean {
    return this.loaded;
  }

  /**
   * At the start of a pass that keeps the index: forgets what it knows outside the host view
   * (rows of other hosts looked up on demand, keys known to be absent), which others may have
   * changed since. The view rows stay, as the checksum just proved them current.
   */
  forgetOutsideView(): void {
    for (const [id, r] of this.byId) {
      if (this.meta.has(id)) continue;
      this.byId.delete(id);
      if (r.containerId !== '') this.unlink(r.containerId, id);
    }
    this.absentContainers.clear();
    this.absentRows.clear();
  }

  /** Count, sum and XOR of the CRC32 of the host view's rows, as the database computes them. */
  viewChecksum(): ViewChecksum {
    return { ...this.view };
  }

  /**
   * Runs a write to the table together with the index update that follows it. While any runs,
   * the database may already hold what the index does not yet (or the reverse), so a checksum
   * comparison is not conclusive (src/resync/resync.ts `refreshRows`).
   */
  async writing<T>(fn: () => Promise<T>): Promise<T> {
    this.writes++;
    try {
      return await fn();
    } finally {
      this.writes--;
    }
  }

  /** How many {@link writing} calls run now. */
  writesInFlight(): number {
    return this.writes;
  }

  /** The current write sequence: rows recorded later have a higher one. */
  seq(): number {
    return this.seqNo;
  }

  /** Calls `fn` with each row of this host's view and what is known of it (no object per row: every pass walks the whole view). */
  forEachViewRow(fn: (row: ObservedRow, lastSeenAt: number | null, seq: number, crc: number) => void): void {
    for (const [id, m] of this.meta) {
      const row = this.byId.get(id);
      if (row) fn(row, m.lastSeenAt, m.seq, m.crc);
    }
  }

  /** `last_seen_at` of a view row as the index knows it (null: never seen; undefined: not in the view). */
  lastSeenOf(id: string): number | null | undefined {
    return this.meta.get(id)?.lastSeenAt;
  }

  /** Records that the database set `last_seen_at` of these rows to `at` (database clock, ms). */
  touched(ids: Iterable<string>, at: number): void {
    for (const id of ids) {
      const m = this.meta.get(id);
      if (m) m.lastSeenAt = at;
    }
  }

  /**
   * Records a row as it now is in the database. `lastSeenAt` as read with it; when omitted the
   * service just wrote the row, which sets `last_seen_at` to the database's clock.
   */
  put(row: ObservedRow, lastSeenAt?: number | null): void {
    const prev = this.byId.get(row.id);
    if (prev && prev.containerId !== '' && prev.containerId !== row.containerId) this.unlink(prev.containerId, row.id);
    this.setRow(row, lastSeenAt === undefined ? this.dbNow() : lastSeenAt);
    if (row.containerId !== '') {
      this.link(row.containerId, row.id);
      this.absentContainers.delete(row.containerId);
    }
    this.absentRows.delete(row.id);
  }

  /** Marks the rows of `host` bound to `containerId` as missing, as the database now has them. */
  markMissing(containerId: string, host: string): void {
    for (const row of this.boundTo(containerId)) if (row.host === host && row.state !== 'missing') this.setRow({ ...row, state: 'missing' }, this.meta.get(row.id)?.lastSeenAt ?? null);
  }

  private inView(row: ObservedRow): boolean {
    return row.host === this.host || (row.host === '' && row.containerId !== '');
  }

  /** Every change of `byId` goes through here or {@link dropRow}, which keep the view checksum. */
  private setRow(row: ObservedRow, lastSeenAt: number | null): void {
    this.dropMeta(row.id);
    this.byId.set(row.id, row);
    if (!this.inView(row)) return;
    const crc = observedRowChecksum(row);
    this.meta.set(row.id, { crc, lastSeenAt, seq: ++this.seqNo });
    this.view.count++;
    this.view.sum += crc;
    this.view.xor = (this.view.xor ^ crc) >>> 0;
  }

  private dropRow(id: string): void {
    this.dropMeta(id);
    this.byId.delete(id);
  }

  private dropMeta(id: string): void {
    const m = this.meta.get(id);
    if (!m) return;
    this.meta.delete(id);
    this.view.count--;
    this.view.sum -= m.crc;
    this.view.xor = (this.view.xor ^ m.crc) >>> 0;
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

  /** The row bound to `containerId` when it is the only one known (no allocation); undefined otherwise. */
  soleBound(containerId: string): ObservedRow | undefined {
    const ids = this.byContainer.get(containerId);
    return typeof ids === 'string' ? this.byId.get(ids) : undefined;
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
    for (const r of found) this.put(observedOf(r), r.lastSeenAt ?? null);
    const foundRows = new Set(found.map((r) => r.id));
    for (const x of containerIds) {
      // Rows the index held as bound to x that the database no longer binds to it: forget them
      // (their current content is read when needed).
      for (const r of this.boundTo(x)) {
        if (foundRows.has(r.id)) continue;
        this.dropRow(r.id);
        this.unlink(x, r.id);
      }
      if (!this.byContainer.has(x)) this.absentContainers.add(x);
    }
    for (const x of rowIds) {
      if (foundRows.has(x)) continue;
      // Asked for by ID and not found: deleted by another program.
      const gone = this.byId.get(x);
      if (gone) {
        this.dropRow(x);
        if (gone.containerId !== '') this.unlink(gone.containerId, x);
      }
      this.absentRows.add(x);
    }
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
