/**
 * One copy of each repeated short string the caches hold for a long time (image references,
 * states, workload kinds, roles, host names): every daemon answer and database row brings its own
 * copy, and at 100,000 containers the duplicates were tens of megabytes of the live heap
 * (docs/benchmarks.md). Bounded: at most `maxEntries` strings of at most `maxLength` characters
 * are pooled; beyond that a string is returned as it is. Only for values whose variety is small
 * (never container or row IDs).
 */
export class StringPool {
  private readonly pool = new Map<string, string>();

  constructor(
    private readonly maxEntries = 4096,
    private readonly maxLength = 256,
  ) {}

  /** The pooled copy of `s` (the first one seen), or `s` itself when it is not pooled. */
  intern(s: string): string {
    if (s.length > this.maxLength) return s;
    const hit = this.pool.get(s);
    if (hit !== undefined) return hit;
    if (this.pool.size >= this.maxEntries) return s;
    this.pool.set(s, s);
    return s;
  }

  get size(): number {
    return this.pool.size;
  }
}

/** The pool the caches share. */
export const sharedStrings = new StringPool();
