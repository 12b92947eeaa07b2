import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { DockerConfig } from '../config.js';
import { errorMessage } from '../domain/errors.js';
import { COMPOSE_PROJECT_PREFIX, LABEL_COMPOSE_PROJECT, LABEL_MANAGED } from '../domain/labels.js';
import type { ContainerItem } from '../domain/types.js';
import type { EventStreamOpener } from './event-watcher.js';
import { isTinyforgeCandidate, itemFromInspect, itemFromListEntry } from './items.js';
import { JsonArraySplitter } from './json-array-stream.js';

/**
 * The only module that talks to dockerode. Read-only by construction: it calls
 * `GET /_ping`, `GET /containers/json`, `GET /containers/{id}/json` and
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
    const byId = new Map<string, ContainerItem>();
    // The compose list repeats every managed compose container: those are skipped by a byte
    // search before parsing (and deduplicated by ID in any case).
    const managedMarker = Buffer.from(`"${LABEL_MANAGED}":"true"`);
    await Promise.all([
      this.streamList({ label: [`${LABEL_MANAGED}=true`] }, (item) => {
        if (item.id !== '') byId.set(item.id, item);
      }),
      this.streamList({ label: [LABEL_COMPOSE_PROJECT] }, (item) => {
        if (item.id !== '' && !byId.has(item.id) && (item.labels[LABEL_COMPOSE_PROJECT] ?? '').startsWith(COMPOSE_PROJECT_PREFIX)) byId.set(item.id, item);
      }, managedMarker),
    ]);
    return [...byId.values()];
  }

  /**
   * `GET /containers/json?all=1&filters=...`, parsed entry by entry as the response streams in,
   * so memory holds items, never the whole document. Entries containing `skipIfContains` are
   * not parsed at all.
   */
  private streamList(filters: Record<string, string[]>, onItem: (item: ContainerItem) => void, skipIfContains?: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const opts = {
        path: '/containers/json?',
        method: 'GET',
        options: { all: true, filters: JSON.stringify(filters) },
        isStream: true,
        statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
      };
      (this.api.modem as unknown as { dial(o: unknown, cb: (err: unknown, res?: Readable) => void): void }).dial(opts, (err, res) => {
        if (err || !res) return reject(err ?? new Error('no response'));
        const splitter = new JsonArraySplitter();
        let failed = false;
        const fail = (e: unknown) => {
          if (failed) return;
          failed = true;
          res.destroy();
          reject(e);
        };
        res.on('data', (chunk: Buffer) => {
          if (failed) return;
          try {
            for (const el of splitter.push(chunk)) {
              if (skipIfContains && el.includes(skipIfContains)) continue;
              onItem(itemFromListEntry(JSON.parse(el.toString('utf8')) as Record<string, unknown>));
            }
          } catch (e) {
            fail(new Error(`malformed container list from the daemon: ${errorMessage(e)}`));
          }
        });
        res.on('error', fail);
        res.on('end', () => {
          if (failed) return;
          try {
            splitter.end();
            failed = true; // settled: a later 'close' is expected
            resolve();
          } catch (e) {
            fail(e);
          }
        });
        res.on('close', () => fail(new Error('container list response closed early')));
      });
    });
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

  /**
   * Any container by ID or name (for `explain`): the item and whether the controller lists it
   * at all; `undefined` when the daemon knows no such container.
   */
  async inspectAny(ref: string): Promise<{ item: ContainerItem; candidate: boolean } | undefined> {
    try {
      const doc = (await this.api.getContainer(ref).inspect()) as unknown as Record<string, unknown>;
      const item = itemFromInspect(doc);
      return { item, candidate: isTinyforgeCandidate(item.labels) };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.api.ping();
  }

  /** `GET /events?filters={"type":["container"]}`; resolves once the response has started. */
  async openEvents(signal: AbortSignal): Promise<Readable> {
    const stream = (await this.streamApi.getEvents({ filters: { type: ['container'] }, abortSignal: signal } as Docker.GetEventsOptions)) as unknown as Readable;
    return stream;
  }
}
