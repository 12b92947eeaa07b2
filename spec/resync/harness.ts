/**
 * A resync over the real caches, handler and refusal registry, with Docker, the table and the
 * worker loop faked (spec/support/fakes.ts), plus the event path as the pipeline wires it
 * (src/app/pipeline.ts): an event marks its key stale and a worker reconciles it.
 */
import { DesiredStateCache, type DesiredStateLoader } from '../../src/cache/desired-cache.js';
import { ObservedCache } from '../../src/cache/observed-cache.js';
import { RowIndex } from '../../src/cache/row-index.js';
import type { ContainerItem, ObservedRow } from '../../src/domain/types.js';
import { ContainerHandler } from '../../src/handlers/container.handler.js';
import { RefusalRegistry } from '../../src/refusals/refusal-registry.js';
import type { PassReport } from '../../src/domain/pass.js';
import { Resync } from '../../src/resync/resync.js';
import { BatchWriter } from '../../src/store/batch-writer.js';
import { DatabaseClock } from '../../src/util/clock.js';
import { desiredLoader, FakeDocker, FakeTable, HOST, recordingLog, recordingMetrics, recordingRefusalSink } from '../support/fakes.js';

/** The worker loop as the pass sees it: records each pass's keys. */
export class FakeController {
  readonly passes: string[][] = [];
  async enqueuePass(keys: readonly string[]): Promise<{ errors: number }> {
    this.passes.push([...keys]);
    return { errors: 0 };
  }
  isBusy(): boolean {
    return false;
  }
}

export interface HarnessOptions {
  docker?: ContainerItem[];
  rows?: ObservedRow[];
  relistIntervalMs?: number;
  lastSeenMaxAgeMs?: number;
  /** The desired state's loader (default: `desiredLoader()`, which reloads at every pass). */
  desiredLoader?: DesiredStateLoader;
  /** DESIRED_STATE_RECHECK (ms); default 0, a fingerprint check at every pass. */
  desiredRecheckMs?: number;
}

export function resyncHarness(o: HarnessOptions = {}) {
  const docker = new FakeDocker(o.docker ?? []);
  const table = new FakeTable(o.rows ?? []);
  const observed = new ObservedCache();
  const desired = new DesiredStateCache(o.desiredLoader ?? desiredLoader().loader, { recheckEveryMs: o.desiredRecheckMs ?? 0 });
  const clock = new DatabaseClock(() => Date.now());
  const rows = new RowIndex(table, { lingerMs: 0, host: HOST, dbNow: () => clock.now() });
  const writer = new BatchWriter(table, HOST, { lingerMs: 0 });
  const refusals = new RefusalRegistry(recordingRefusalSink(), {}, { flushDelayMs: 0 });
  const metrics = recordingMetrics();
  const log = recordingLog();
  const handler = new ContainerHandler({ host: HOST, docker, observed, desired, rows, writer, retire: (h, seen) => table.markMissingIfBound(h, seen), refusals, metrics, log });
  const controller = new FakeController();
  const reports: PassReport[] = [];
  const resync = new Resync({
    host: HOST,
    docker,
    store: table,
    observed,
    desired,
    rows,
    controller,
    handler,
    refusals,
    metrics,
    log,
    observer: { passStarted: () => undefined, passFinished: (r) => reports.push(r) },
    clock,
    ...(o.relistIntervalMs !== undefined ? { relistIntervalMs: o.relistIntervalMs } : {}),
    ...(o.lastSeenMaxAgeMs !== undefined ? { lastSeenMaxAgeMs: o.lastSeenMaxAgeMs } : {}),
  });
  /** Calls Docker got (`list`, `inspect <id>`). */
  const dockerCalls = () => docker.calls.length;
  const lists = () => docker.calls.filter((c) => c === 'list').length;
  /** What the pipeline does with a container event, then what a worker does with its key. */
  const event = async (id: string): Promise<void> => {
    observed.markStale(id);
    const outcome = await handler.reconcile(id);
    await outcome.commit;
  };
  const listReasons = () => Object.fromEntries(['start', 'interval', 'reconnect', 'interrupted'].map((r) => [r, metrics.get(`docker_lists{reason=${r}}`)]));
  return { docker, table, observed, desired, rows, metrics, log, controller, reports, resync, dockerCalls, lists, event, listReasons };
}
