import { realClock, type Clock } from '../util/clock-source.js';
import { objectOption } from '../util/options.js';
import { ExponentialFailureRateLimiter, type RateLimiter } from './rate-limiter.js';

export type { Clock } from '../util/clock-source.js';

/**
 * Hooks the queue calls as it works, shaped after client-go's `MetricsProvider`. Durations are
 * in seconds. `unfinishedWorkSeconds` and `longestRunningProcessorSeconds` are pulled by the
 * metrics module at scrape time from {@link WorkQueue}.
 */
export interface QueueMetrics {
  add(): void;
  depth(n: number): void;
  queueDuration(seconds: number): void;
  workDuration(seconds: number): void;
  retry(): void;
}

export const noopQueueMetrics: QueueMetrics = { add() {}, depth() {}, queueDuration() {}, workDuration() {}, retry() {} };

export interface WorkQueueOptions<K> {
  /** Per-key retry backoff for {@link WorkQueue.addRateLimited}; default 5 ms doubling up to 60 s. */
  rateLimiter?: RateLimiter<K>;
  /** Default: none. */
  metrics?: QueueMetrics;
  /** Time for durations and delays; default the system clock (its timers do not hold the process). */
  clock?: Clock;
}

/**
 * A rate-limited, delaying work queue with client-go semantics:
 * - a key added several times before it is handed out is handed out once (dirty set);
 * - a key being processed is never handed to a second worker: re-adding it while it is
 *   processed marks it dirty, and it is queued again only when {@link done} is called;
 * - {@link addRateLimited} retries a key after its per-key exponential backoff, {@link forget}
 *   clears that history; {@link addAfter} queues a key after a delay (earliest wins);
 * - {@link shutDown} stops intake and wakes blocked getters; queued keys are still handed out
 *   until the queue is empty; {@link shutDownWithDrain} also waits for in-flight keys to be done.
 */
export class WorkQueue<K = string> {
  private items: K[] = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Map<K, number>();
  /** When each dirty key was first added, for the queue-duration histogram. */
  private readonly addedAt = new Map<K, number>();
  private getters: Array<(k: K | undefined) => void> = [];
  private shuttingDown = false;
  private drainWaiters: Array<() => void> = [];

  // Delaying part: a min-heap of (readyAt, key) with lazy deletion through `waitingReadyAt`.
  private readonly heap: Array<{ at: number; key: K }> = [];
  private readonly waitingReadyAt = new Map<K, number>();
  private timer: unknown = undefined;
  private timerAt = Infinity;

  private readonly rateLimiter: RateLimiter<K>;
  private readonly metrics: QueueMetrics;
  private readonly clock: Clock;

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.rateLimiter = objectOption('rateLimiter', opts.rateLimiter ?? new ExponentialFailureRateLimiter<K>(), ['when', 'forget', 'numRequeues']);
    this.metrics = objectOption('metrics', opts.metrics ?? noopQueueMetrics, ['add', 'depth', 'queueDuration', 'workDuration', 'retry']);
    this.clock = objectOption('clock', opts.clock ?? realClock, ['now', 'setTimeout', 'clearTimeout']);
  }

  /** Marks `key` as needing processing. No-op after shutdown. */
  add(key: K): void {
    if (this.shuttingDown) return;
    this.metrics.add();
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds many keys; same semantics as calling {@link add} for each. */
  addAll(keys: Iterable<K>): void {
    for (const k of keys) this.add(k);
  }

  /** Adds `key` after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + delayMs;
    const existing = this.waitingReadyAt.get(key);
    if (existing !== undefined && existing <= at) return;
    this.waitingReadyAt.set(key, at);
    this.heapPush({ at, key });
    this.armTimer();
  }

  /** Adds `key` after its rate limiter's backoff (one more failure). */
  addRateLimited(key: K): void {
    if (this.shuttingDown) return;
    this.metrics.retry();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Forgets the failure history of `key`: call after it was processed successfully. */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /**
   * Waits for the next key and marks it as processing. Resolves `undefined` once the queue is
   * shut down and empty. Every key handed out must be given back with {@link done}.
   */
  get(): Promise<K | undefined> {
    const k = this.tryGet();
    if (k !== undefined || this.shuttingDown) return Promise.resolve(k);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Non-blocking {@link get}: `undefined` when nothing is queued. */
  tryGet(): K | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as K;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.metrics.depth(this.len());
    const now = this.clock.now();
    const added = this.addedAt.get(key);
    if (added !== undefined) {
      this.metrics.queueDuration((now - added) / 1000);
      this.addedAt.delete(key);
    }
    this.processing.set(key, now);
    this.dirty.delete(key);
    return key;
  }

  /** Ends processing of `key`; if it was re-added meanwhile it is queued again now. */
  done(key: K): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.metrics.workDuration((this.clock.now() - started) / 1000);
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
    if (this.processing.size === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Keys queued and not yet handed out. */
  len(): number {
    return this.items.length - this.head;
  }

  /** Keys handed out and not yet done. */
  processingCount(): number {
    return this.processing.size;
  }

  /** Queued (or re-added while processing) and not yet handed out. */
  isDirty(key: K): boolean {
    return this.dirty.has(key);
  }

  isProcessing(key: K): boolean {
    return this.processing.has(key);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Sum of the time the keys now processing have been processed, in seconds. */
  unfinishedWorkSeconds(): number {
    const now = this.clock.now();
    let total = 0;
    for (const started of this.processing.values()) total += now - started;
    return total / 1000;
  }

  /** How long the longest-running key has been processed, in seconds. */
  longestRunningProcessorSeconds(): number {
    const now = this.clock.now();
    let oldest = now;
    for (const started of this.processing.values()) if (started < oldest) oldest = started;
    return (now - oldest) / 1000;
  }

  /** Stops intake (adds are ignored, delayed keys dropped) and wakes blocked getters. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap.length = 0;
    this.waitingReadyAt.clear();
    if (this.len() === 0) {
      const getters = this.getters;
      this.getters = [];
      for (const g of getters) g(undefined);
    }
  }

  /** {@link shutDown}, then resolves when no key is being processed any more. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private push(key: K): void {
    const getter = this.getters.shift();
    if (getter) {
      // Hand over directly: the key never sits in the queue.
      this.items.push(key);
      getter(this.tryGet());
      return;
    }
    this.items.push(key);
    this.metrics.depth(this.len());
  }

  private heapPush(e: { at: number; key: K }): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private heapPop(): { at: number; key: K } | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  private armTimer(): void {
    const next = this.heap[0];
    if (!next || next.at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = this.clock.setTimeout(() => this.fireReady(), Math.max(0, next.at - this.clock.now()));
  }

  private fireReady(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const e = this.heapPop()!;
      // Stale heap entry: the key was rescheduled earlier (and already fired) or dropped.
      if (this.waitingReadyAt.get(e.key) !== e.at) continue;
      this.waitingReadyAt.delete(e.key);
      this.add(e.key);
    }
    this.armTimer();
  }
}
