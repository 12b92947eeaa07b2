import type { Logger } from '../log.js';
import type { Verdict } from './list-entry.js';

/**
 * Entries larger than DOCKER_MAX_ENTRY_BYTES (the bounds are described on `DockerClient`,
 * src/docker/docker.client.ts): a list entry, an event line or an inspect answer that was
 * dropped unread. Each is
 * counted; each container is logged once, so a container that stays too large does not flood
 * the log at every pass.
 */

/** Where an oversized entry came from: the metric's `source` label values. */
export const OVERSIZED_SOURCES = ['list', 'event', 'inspect'] as const;
export type OversizedSource = (typeof OVERSIZED_SOURCES)[number];

export interface OversizedEntry {
  source: OversizedSource;
  /** The container, when its ID went by before the cap; undefined when unknown. */
  containerId: string | undefined;
  /** The entry's size when it was followed to its end (list), else undefined (more than the cap). */
  bytes?: number;
  /** Whether it is a Tinyforge container, when the bytes that went by tell (list). */
  candidate?: Verdict;
}

export interface OversizedReporterOptions {
  limitBytes: number;
  /** Counts one entry (the metric). */
  count?: (source: OversizedSource) => void;
  log?: Pick<Logger, 'warn'>;
  /** Containers remembered as logged (default 10,000); beyond, the memory starts over. */
  maxRemembered?: number;
  /** Entries of unknown containers are logged at most this often per source (default 10 min). */
  unknownLogIntervalMs?: number;
  now?: () => number;
}

export class OversizedReporter {
  private readonly logged = new Set<string>();
  private readonly unknownLoggedAt = new Map<OversizedSource, number>();
  private readonly maxRemembered: number;
  private readonly unknownEveryMs: number;
  private readonly now: () => number;

  constructor(private readonly o: OversizedReporterOptions) {
    this.maxRemembered = o.maxRemembered ?? 10_000;
    this.unknownEveryMs = o.unknownLogIntervalMs ?? 600_000;
    this.now = o.now ?? Date.now;
  }

  get limitBytes(): number {
    return this.o.limitBytes;
  }

  report(e: OversizedEntry): void {
    this.o.count?.(e.source);
    if (!this.shouldLog(e)) return;
    this.o.log?.warn(
      {
        source: e.source,
        containerId: e.containerId ?? 'unknown',
        ...(e.bytes !== undefined ? { bytes: e.bytes } : {}),
        limitBytes: this.o.limitBytes,
        ...(e.candidate !== undefined ? { tinyforge: e.candidate } : {}),
      },
      'docker entry larger than DOCKER_MAX_ENTRY_BYTES skipped unread (logged once per container)',
    );
  }

  private shouldLog(e: OversizedEntry): boolean {
    if (e.containerId === undefined) {
      const last = this.unknownLoggedAt.get(e.source);
      const t = this.now();
      if (last !== undefined && t - last < this.unknownEveryMs) return false;
      this.unknownLoggedAt.set(e.source, t);
      return true;
    }
    if (this.logged.has(e.containerId)) return false;
    if (this.logged.size >= this.maxRemembered) this.logged.clear();
    this.logged.add(e.containerId);
    return true;
  }
}
