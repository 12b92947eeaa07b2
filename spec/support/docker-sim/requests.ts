/**
 * What was asked of the simulator: every request counted per "METHOD /route", the recent ones kept, and every
 * mutating one kept, so a test can assert the service only ever reads.
 */
import type { SimRequest } from './types.js';

export class RequestLog {
  /** Counts per "METHOD /route" since start (or reset()). */
  readonly counts = new Map<string, number>();
  /** Every non-GET/HEAD request (bounded to the last 10,000). */
  readonly mutating: SimRequest[] = [];
  total = 0;
  private readonly ring: SimRequest[] = [];

  /** `max`: how many recent requests recent() keeps. */
  constructor(private readonly max: number) {}

  record(method: string, url: string, route: string): void {
    this.total++;
    const rq: SimRequest = { method, path: url, route, time: Date.now() };
    this.ring.push(rq);
    if (this.ring.length > this.max * 2) this.ring.splice(0, this.ring.length - this.max);
    const key = `${method} ${route}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (method !== 'GET' && method !== 'HEAD') {
      this.mutating.push(rq);
      if (this.mutating.length > 10_000) this.mutating.shift();
    }
  }

  /** The last `max` requests (oldest first). Trimmed lazily, in batches, so record() stays O(1). */
  recent(): SimRequest[] {
    if (this.ring.length > this.max) this.ring.splice(0, this.ring.length - this.max);
    return this.ring;
  }

  reset(): void {
    this.ring.length = 0;
    this.counts.clear();
    this.mutating.length = 0;
    this.total = 0;
  }

  /** Sum of the counts whose "METHOD /route" key matches. */
  count(match: string | RegExp): number {
    let n = 0;
    for (const [k, v] of this.counts) if (typeof match === 'string' ? k === match : match.test(k)) n += v;
    return n;
  }
}
