import type { ContainerItem } from '../domain/types.js';
import { sharedStrings } from '../util/string-pool.js';
import { LABEL_COMPOSE_NUMBER, LABEL_COMPOSE_SERVICE, LABEL_MANAGED, LABEL_ROLE, LABEL_WORKLOAD_KIND } from '../domain/labels.js';

/** What the cache holds of one container; updated in place, so a steady list allocates nothing per entry. */
interface Entry {
  item: ContainerItem;
  /** When Docker's answer held in `item` was asked for (ms). */
  at: number;
  /** The list that last showed the container ({@link ObservedCache.replaceAll}'s generation). */
  listGen: number;
  /** The stale marker the last inspect answered; 0 when `item` comes from a list. */
  inspected: number;
  /** `Config.Image` learnt by inspect, for a container whose list entry shows an image ID. */
  configImage: string | undefined;
}

/** A list being read into the cache ({@link ObservedCache.beginList}). */
export interface ListInProgress {
  add(item: ContainerItem, opts?: { ifUnseen?: boolean }): void;
  /** The whole list was read: drops what it did not show; returns how many items were accepted. */
  finish(): number;
}

/**
 * What Docker last said about each Tinyforge container (an informer cache): filled by a full
 * list, corrected by inspecting a container after an event. Handlers read it; they never trust
 * an event payload. An event marks its key stale; the next reconcile of that key inspects it.
 * A version per key makes sure an inspect that raced a newer event leaves the key stale.
 */
export class ObservedCache {
  private readonly entries = new Map<string, Entry>();
  private readonly stale = new Map<string, number>();
  /** Containers an inspect found gone (or not ours), with the stale marker it answered; until the next list. */
  private readonly gone = new Map<string, number>();
  /** Keys whose bound rows another program may have changed since they were read. */
  private readonly rowRecheck = new Set<string>();
  private version = 0;
  private listGen = 0;
  private readonly idView: ReadonlySet<string> = new KeyView(this.entries);

  /**
   * Brings the content in line with a fresh list taken at `listStartedVersion` / time `listedAt`,
   * in place: an entry the list shows unchanged keeps its object, a changed one is replaced, one
   * the list no longer shows is dropped; no second map is built.
   *
   * What an inspect learnt after the list began wins over the list, which may predate it: such
   * an entry is kept as inspected (listed or not), and a container such an inspect found gone is
   * not brought back (a container ID never comes back once removed).
   *
   * `image` is the reference the container was created from (`Config.Image`): where the list
   * shows an image ID instead (the reference was retagged or removed), the reference learnt from
   * an earlier inspect is used, or the key is left stale so the next reconcile inspects it.
   *
   * Items `accept` refuses are skipped as if not listed. Returns how many items were accepted.
   */
  replaceAll(items: readonly ContainerItem[], listStartedVersion: number, listedAt: number, accept?: (item: ContainerItem) => boolean): number {
    const list = this.beginList(listStartedVersion, listedAt, accept);
    for (const it of items) list.add(it);
    return list.finish();
  }

  /**
   * {@link replaceAll} as the list streams in: `add` each item as it is read (so the items die
   * young, and an unchanged one costs a comparison), then `finish` once the whole list was read,
   * which drops the entries the list did not show. A list that fails is simply not finished: the
   * entries it updated hold what the daemon said (as an inspect would have), and nothing is dropped.
   *
   * `add(item, { ifUnseen: true })` keeps an entry this list already showed (the second list call
   * repeats containers of the first).
   */
  beginList(listStartedVersion: number, listedAt: number, accept?: (item: ContainerItem) => boolean): ListInProgress {
    const gen = ++this.listGen;
    let accepted = 0;
    let finished = false;
    const add = (it: ContainerItem, opts?: { ifUnseen?: boolean }): void => {
      if (finished) throw new Error('ObservedCache: add() after finish()');
      if (accept !== undefined && !accept(it)) return;
      const id = it.id;
      const e = this.entries.get(id);
      if (e !== undefined && e.listGen === gen) {
        if (opts?.ifUnseen) return;
      } else accepted++;
      const goneAt = this.gone.get(id);
      if (goneAt !== undefined && goneAt > listStartedVersion) return;
      if (e !== undefined && e.inspected > listStartedVersion) {
        e.listGen = gen;
        return;
      }
      let image = it.image;
      let configImage: string | undefined;
      if (isImageId(image)) {
        configImage = e?.configImage;
        if (configImage !== undefined) image = configImage;
        // Marked after the list began, so finish() does not clear it.
        else if (!((this.stale.get(id) ?? 0) > listStartedVersion)) this.markStale(id, { rowsMayHaveChanged: false });
      }
      if (e === undefined) {
        this.entries.set(id, { item: kept(it, image), at: listedAt, listGen: gen, inspected: 0, configImage });
        return;
      }
      if (!sameItem(e.item, it, image)) e.item = kept(it, image);
      e.at = listedAt;
      e.listGen = gen;
      e.inspected = 0;
      e.configImage = configImage;
    };
    const finish = (): number => {
      if (finished) throw new Error('ObservedCache: finish() twice');
      finished = true;
      // Events that arrived after the list began keep their keys stale: the list may predate them.
      for (const [id, v] of this.stale) if (v <= listStartedVersion) this.stale.delete(id);
      for (const [id, e] of this.entries) if (e.listGen !== gen && !(e.inspected > listStartedVersion)) this.entries.delete(id);
      for (const [id, v] of this.gone) if (v <= listStartedVersion) this.gone.delete(id);
      return accepted;
    };
    return { add, finish };
  }

  /** A monotonic marker; take it before listing. */
  currentVersion(): number {
    return this.version;
  }

  get(id: string): ContainerItem | undefined {
    return this.entries.get(id)?.item;
  }

  /** When Docker's answer about `id` that the cache holds was asked for (ms). */
  observedTime(id: string): number | undefined {
    return this.entries.get(id)?.at;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** How many containers the cache holds. */
  size(): number {
    return this.entries.size;
  }

  /** The cached containers (a live view: do not change the cache while iterating). */
  values(): IterableIterator<ContainerItem> {
    return mapItems(this.entries.values());
  }

  /** The IDs of the cached containers as a set (a live view, no copy). */
  ids(): ReadonlySet<string> {
    return this.idView;
  }

  /**
   * Something happened to `id`: its cached view must be re-read before use. With
   * `rowsMayHaveChanged` (the default), the rows bound to it are read again too: the deployer
   * binds its row between `docker create` and `docker start`, so those events may follow a bind.
   */
  markStale(id: string, opts: { rowsMayHaveChanged?: boolean } = {}): void {
    this.stale.set(id, ++this.version);
    if (opts.rowsMayHaveChanged ?? true) this.rowRecheck.add(id);
  }

  /** Whether the rows bound to `id` must be read again (once: the mark is taken). */
  takeRowRecheck(id: string): boolean {
    return this.rowRecheck.delete(id);
  }

  /** Returns the stale marker of `id`, or undefined when the cache is current for it. */
  staleVersion(id: string): number | undefined {
    return this.stale.get(id);
  }

  /**
   * Records an inspect result for `id` taken after stale marker `version`: clears the mark unless
   * a newer event came in meanwhile. `item` undefined means the container is gone.
   */
  applyInspect(id: string, item: ContainerItem | undefined, version: number, inspectedAt: number): void {
    if (this.stale.get(id) !== version) return;
    this.stale.delete(id);
    if (item) {
      this.gone.delete(id);
      const e = this.entries.get(id);
      // `Config.Image` is kept until the next list, which keeps it only where the list shows an image ID.
      if (e === undefined) this.entries.set(id, { item: kept(item, item.image), at: inspectedAt, listGen: 0, inspected: version, configImage: item.image });
      else {
        e.item = kept(item, item.image);
        e.at = inspectedAt;
        e.inspected = version;
        e.configImage = item.image;
      }
    } else {
      this.entries.delete(id);
      this.gone.set(id, version);
    }
  }
}

/** The keys of a map as a read-only set, without a copy. */
class KeyView implements ReadonlySet<string> {
  constructor(private readonly map: ReadonlyMap<string, unknown>) {}
  get size(): number {
    return this.map.size;
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  values(): IterableIterator<string> {
    return this.map.keys();
  }
  *entries(): IterableIterator<[string, string]> {
    for (const k of this.map.keys()) yield [k, k];
  }
  forEach(fn: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const k of this.map.keys()) fn.call(thisArg, k, k, this);
  }
  [Symbol.iterator](): IterableIterator<string> {
    return this.map.keys();
  }
}

function* mapItems(entries: IterableIterator<Entry>): IterableIterator<ContainerItem> {
  for (const e of entries) yield e.item;
}

const NO_PORTS: readonly number[] = Object.freeze([]);
/** Labels with few distinct values (never the IDs, which would crowd the pool). */
const POOLED_LABELS = new Set([LABEL_MANAGED, LABEL_WORKLOAD_KIND, LABEL_ROLE, LABEL_COMPOSE_SERVICE, LABEL_COMPOSE_NUMBER]);

/**
 * The item as the cache keeps it (for as long as the container lives): `image` as its image, its
 * low-variety strings pooled (src/util/string-pool.ts), no array of its own for no ports.
 */
function kept(it: ContainerItem, image: string): ContainerItem {
  const labels: Record<string, string> = {};
  for (const k in it.labels) labels[k] = POOLED_LABELS.has(k) ? sharedStrings.intern(it.labels[k]!) : it.labels[k]!;
  return {
    id: it.id,
    name: it.name,
    image: sharedStrings.intern(image),
    state: sharedStrings.intern(it.state),
    labels,
    ports: it.ports.length === 0 ? (NO_PORTS as number[]) : it.ports,
  };
}

/** Whether `a` says what `b` says with `image` as its image (the list's content, compared field by field). */
function sameItem(a: ContainerItem, b: ContainerItem, image: string): boolean {
  if (a.id !== b.id || a.name !== b.name || a.image !== image || a.state !== b.state) return false;
  if (a.ports.length !== b.ports.length) return false;
  for (let i = 0; i < a.ports.length; i++) if (a.ports[i] !== b.ports[i]) return false;
  let n = 0;
  for (const k in a.labels) {
    if (a.labels[k] !== b.labels[k]) return false;
    n++;
  }
  for (const _ in b.labels) n--;
  return n === 0;
}

/** An image ID as the daemon shows it in place of a reference (`sha256:<64 hex>` or bare hex). */
export function isImageId(image: string): boolean {
  return /^(sha256:)?[0-9a-f]{64}$/.test(image);
}
