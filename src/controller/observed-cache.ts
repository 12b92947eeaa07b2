import type { ContainerItem } from './dispatch.js';

/**
 * What Docker last said about each Tinyforge container (an informer cache): filled by a full
 * list, corrected by inspecting a container after an event. Handlers read it; they never trust
 * an event payload. An event marks its key stale; the next reconcile of that key inspects it.
 * A version per key makes sure an inspect that raced a newer event leaves the key stale.
 */
export class ObservedCache {
  private items = new Map<string, ContainerItem>();
  private observedAt = new Map<string, number>();
  private readonly stale = new Map<string, number>();
  private version = 0;

  /** Replaces the whole content with a fresh list taken at `listStartedVersion` / time `listedAt`. */
  replaceAll(items: readonly ContainerItem[], listStartedVersion: number, listedAt: number): void {
    const next = new Map<string, ContainerItem>();
    const at = new Map<string, number>();
    for (const it of items) {
      next.set(it.id, it);
      at.set(it.id, listedAt);
    }
    this.items = next;
    this.observedAt = at;
    // Events that arrived after the list began keep their keys stale: the list may predate them.
    for (const [id, v] of this.stale) if (v <= listStartedVersion) this.stale.delete(id);
  }

  /** A monotonic marker; take it before listing. */
  currentVersion(): number {
    return this.version;
  }

  get(id: string): ContainerItem | undefined {
    return this.items.get(id);
  }

  /** When Docker's answer about `id` that the cache holds was asked for (ms). */
  observedTime(id: string): number | undefined {
    return this.observedAt.get(id);
  }

  has(id: string): boolean {
    return this.items.has(id);
  }

  ids(): IterableIterator<string> {
    return this.items.keys();
  }

  size(): number {
    return this.items.size;
  }

  /** Something happened to `id`: its cached view must be re-read before use. */
  markStale(id: string): void {
    this.stale.set(id, ++this.version);
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
      this.items.set(id, item);
      this.observedAt.set(id, inspectedAt);
    } else {
      this.items.delete(id);
      this.observedAt.delete(id);
    }
  }

  /** Drops `id` at once (destroy event: nothing left to inspect). */
  delete(id: string): void {
    this.items.delete(id);
    this.observedAt.delete(id);
    this.stale.delete(id);
  }
}
