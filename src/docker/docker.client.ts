import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { DockerConfig } from '../config.js';
import { COMPOSE_PROJECT_PREFIX, LABEL_COMPOSE_PROJECT, LABEL_MANAGED, type ContainerItem } from '../controller/dispatch.js';
import type { EventStreamOpener } from './event-watcher.js';
import { isTinyforgeCandidate, itemFromInspect, itemFromListEntry } from './items.js';

/**
 * The only module that talks to dockerode. Read-only by construction: it calls
 * `GET /_ping`, `GET /version`, `GET /containers/json`, `GET /containers/{id}/json` and
 * `GET /events`, nothing else, so it works through a read-only socket proxy.
 */
export class DockerClient implements EventStreamOpener {
  private readonly api: Docker;
  private readonly streamApi: Docker;

  /**
   * `timeoutMs` bounds every request; `eventStreamIdleTimeoutMs` (off by default) cuts an event
   * stream that stayed silent that long, which the watcher treats like any other ending.
   */
  constructor(cfg: DockerConfig, opts: { timeoutMs?: number; eventStreamIdleTimeoutMs?: number } = {}) {
    const base: Docker.DockerOptions =
      cfg.kind === 'unix' ? { socketPath: cfg.socketPath } : { host: cfg.host, port: cfg.port, protocol: cfg.protocol };
    this.api = new Docker({ ...base, timeout: opts.timeoutMs ?? 30_000 });
    // No client timeout on the event stream: it is idle for long stretches by nature.
    this.streamApi = new Docker(opts.eventStreamIdleTimeoutMs ? { ...base, timeout: opts.eventStreamIdleTimeoutMs } : base);
  }

  /**
   * Every Tinyforge container in every state: `tinyforge.managed=true` ones and compose
   * containers whose project starts with `tinyforge-` (two list calls, merged by ID).
   */
  async listManaged(): Promise<ContainerItem[]> {
    const [managed, compose] = await Promise.all([
      this.api.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } }),
      this.api.listContainers({ all: true, filters: { label: [LABEL_COMPOSE_PROJECT] } }),
    ]);
    const byId = new Map<string, ContainerItem>();
    for (const e of managed as unknown as Array<Record<string, unknown>>) {
      const item = itemFromListEntry(e);
      if (item.id !== '') byId.set(item.id, item);
    }
    for (const e of compose as unknown as Array<Record<string, unknown>>) {
      const item = itemFromListEntry(e);
      if (item.id === '' || byId.has(item.id)) continue;
      if ((item.labels[LABEL_COMPOSE_PROJECT] ?? '').startsWith(COMPOSE_PROJECT_PREFIX)) byId.set(item.id, item);
    }
    return [...byId.values()];
  }

  /**
   * The current state of one container; `undefined` when it does not exist (404) or is not a
   * Tinyforge container.
   */
  async inspect(id: string): Promise<ContainerItem | undefined> {
    try {
      const doc = (await this.api.getContainer(id).inspect()) as unknown as Record<string, unknown>;
      const item = itemFromInspect(doc);
      return isTinyforgeCandidate(item.labels) ? item : undefined;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.api.ping();
  }

  async version(): Promise<{ version: string; apiVersion: string }> {
    const v = (await this.api.version()) as unknown as { Version?: string; ApiVersion?: string };
    return { version: v.Version ?? '', apiVersion: v.ApiVersion ?? '' };
  }

  /** `GET /events?filters={"type":["container"]}`; resolves once the response has started. */
  async openEvents(signal: AbortSignal): Promise<Readable> {
    const stream = (await this.streamApi.getEvents({ filters: { type: ['container'] }, abortSignal: signal } as Docker.GetEventsOptions)) as unknown as Readable;
    return stream;
  }
}
