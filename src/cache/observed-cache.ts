import type { ContainerItem } from '../domain/types.js';

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
  /** `Config.Image` learnt by inspect, for containers whose list entry shows an image ID. */
  private configImages = new Map<string, string>();
  /** Keys whose bound rows another program may have changed since they were read. */
  private readonly rowRecheck = new Set<string>();
  private version = 0;

  /**
   * Replaces the whole content with a fresh list taken at `listStartedVersion` / time `listedAt`.
   * `image` is the reference the container was created from (`Config.Image`): where the list
   * shows an image ID instead (the reference was retagged or removed), the reference learnt from
   * an earlier inspect is used, or the key is left stale so the next reconcile inspects it.
   */
  replaceAll(items: readonly ContainerItem[], listStartedVersion: number, listedAt: number): void {
    const next = new Map<string, ContainerItem>();
    const at = new Map<string, number>();
    const needInspect: string[] = [];
    const images = new Map<string, string>();
    for (let it of items) {
      if (isImageId(it.image)) {
        const known = this.configImages.get(it.id);
        if (known !== undefined) {
          it = { ...it, image: known };
          images.set(it.id, known);
        } else needInspect.push(it.id);
      }
      next.set(it.id, it);
      at.set(it.id, listedAt);
    }
    this.items = next;
    this.observedAt = at;
    this.configImages = images;
    // Events that arrived after the list began keep their keys stale: the list may predate them.
    for (const [id, v] of this.stale) if (v <= listStartedVersion) this.stale.delete(id);
    for (const id of needInspect) if (!this.stale.has(id)) this.markStale(id, { rowsMayHaveChanged: false });
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
      this.items.set(id, item);
      this.observedAt.set(id, inspectedAt);
      // Kept until the next list, which keeps it only where the list shows an image ID.
      this.configImages.set(id, item.image);
    } else {
      this.items.delete(id);
      this.observedAt.delete(id);
    }
  }
}

/** An image ID as the daemon shows it in place of a reference (`sha256:<64 hex>` or bare hex). */
export function isImageId(image: string): boolean {
  return /^(sha256:)?[0-9a-f]{64}$/.test(image);
}
