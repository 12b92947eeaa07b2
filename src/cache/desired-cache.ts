import type { DesiredStateView, StackRef, WorkloadRef } from '../domain/types.js';
import { numberOption } from '../util/options.js';

export interface DesiredStateLoader {
  load(): Promise<{ workloads: WorkloadRef[]; stacks: StackRef[] }>;
  /** A cheap fingerprint that changes whenever `load()` would return something else. */
  fingerprint?(): Promise<string>;
}

export interface DesiredStateCacheOptions {
  /** Miss-driven reloads start at most once per this many ms, 0 to 3,600,000; default 1000. */
  minReloadMs?: number;
  /** The local clock; default `Date.now`. */
  now?: () => number;
  /**
   * `refresh({ ifChanged: true })` asks the database at most once per this many ms (0: at every
   * call). Between checks a container naming something unknown still reloads on its miss, so
   * only deletions and renames wait for the next check. Default 0.
   */
  recheckEveryMs?: number;
}

/**
 * The desired state (workloads, stacks) held in memory: loaded once per pass, and reloaded on a
 * miss at most once per `minReloadMs` (concurrent misses share one reload), so a container
 * started right after its workload was created is resolved without waiting for a resync, and a
 * forged label cannot make every event cost a query.
 */
export class DesiredStateCache implements DesiredStateView {
  private workloads = new Map<string, WorkloadRef>();
  private workloadsByRef = new Map<string, WorkloadRef>();
  private stacks = new Map<string, StackRef>();
  private loadedAt = -Infinity;
  private gen = 0;
  private inflight: Promise<void> | undefined;
  private loadedFingerprint: string | undefined;

  private readonly minReloadMs: number;
  private readonly now: () => number;
  private readonly recheckEveryMs: number;
  private checkedAt = -Infinity;

  constructor(
    private readonly loader: DesiredStateLoader,
    opts: DesiredStateCacheOptions = {},
  ) {
    this.minReloadMs = numberOption('minReloadMs', opts.minReloadMs ?? 1000, 0, 3_600_000);
    this.now = opts.now ?? Date.now;
    this.recheckEveryMs = numberOption('recheckEveryMs', opts.recheckEveryMs ?? 0, 0, 86_400_000);
  }

  /** Changes whenever the content was reloaded (a decision made on an earlier generation may be stale). */
  generation(): number {
    return this.gen;
  }

  /**
   * Loads everything now (shares an in-flight load). With `ifChanged`, first compares the
   * loader's fingerprint and skips the load when nothing changed (every resync pass does this:
   * at 100,000 workloads the load is most of the pass's garbage).
   */
  refresh(opts: { ifChanged?: boolean } = {}): Promise<void> {
    if (this.inflight) return this.inflight;
    if (opts.ifChanged && this.loadedFingerprint !== undefined && this.now() - this.checkedAt < this.recheckEveryMs) return Promise.resolve();
    this.inflight = (async () => {
      try {
        const started = this.now();
        this.checkedAt = started;
        const fp = this.loader.fingerprint ? await this.loader.fingerprint() : undefined;
        if (opts.ifChanged && fp !== undefined && fp === this.loadedFingerprint) {
          this.loadedAt = started;
          return;
        }
        const snap = await this.loader.load();
        const w = new Map<string, WorkloadRef>();
        const byRef = new Map<string, WorkloadRef>();
        for (const x of snap.workloads) {
          w.set(x.id, x);
          byRef.set(refKey(x.kind, x.refId), x);
        }
        const s = new Map<string, StackRef>();
        for (const x of snap.stacks) s.set(x.composeProjectName, x);
        this.gen++;
        this.workloads = w;
        this.workloadsByRef = byRef;
        this.stacks = s;
        this.loadedAt = started;
        this.loadedFingerprint = fp;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  /** Reloads unless a load started less than `minReloadMs` ago. Returns whether it reloaded. */
  async refreshIfStale(): Promise<boolean> {
    if (this.now() - this.loadedAt < this.minReloadMs) {
      if (this.inflight) await this.inflight;
      return false;
    }
    await this.refresh();
    return true;
  }

  /** When the loaded snapshot was asked for (ms); -Infinity before the first load. */
  loadedAtMs(): number {
    return this.loadedAt;
  }

  msUntilReloadAllowed(): number {
    return Math.max(0, this.loadedAt + this.minReloadMs - this.now());
  }

  workloadById(id: string): WorkloadRef | undefined {
    return this.workloads.get(id);
  }

  workloadByRef(kind: string, refId: string): WorkloadRef | undefined {
    return this.workloadsByRef.get(refKey(kind, refId));
  }

  stackByComposeProject(project: string): StackRef | undefined {
    return this.stacks.get(project);
  }
}

function refKey(kind: string, refId: string): string {
  return `${kind}\u0000${refId}`;
}
