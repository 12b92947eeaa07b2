import http, { type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import { setMaxListeners } from 'node:events';
import { pipeline, type Readable } from 'node:stream';
import type { DockerConfig } from '../config.js';
import { errorMessage } from '../domain/errors.js';
import { COMPOSE_PROJECT_PREFIX, LABEL_COMPOSE_PROJECT, LABEL_MANAGED } from '../domain/labels.js';
import type { ContainerItem } from '../domain/types.js';
import type { Logger } from '../log.js';
import { EventLineLimiter } from './event-lines.js';
import type { EventStreamOpener } from './event-watcher.js';
import { isTinyforgeCandidate, itemFromInspect, itemFromListEntry, itemFromPicked } from './items.js';
import { JsonArraySplitter, type SplitElement } from './json-array-stream.js';
import { LIST_ENTRY_PICK, listVerdict, pickedId, type ListKind } from './list-entry.js';
import { OversizedReporter, type OversizedSource } from './oversized.js';
import { DroppedBytes } from './reclaim.js';

/** DOCKER_MAX_ENTRY_BYTES by default: the largest list entry, event line or inspect answer read. */
export const DEFAULT_MAX_ENTRY_BYTES = 1 << 20;
/** DOCKER_LIST_TIMEOUT by default: the whole container list, both calls. */
export const DEFAULT_LIST_TIMEOUT_MS = 60_000;
/** Per-request idle timeout, and the whole-call deadline of inspect and ping. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** The most of an error answer read for its message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface DockerClientOptions {
  /** Idle timeout of every request but the event stream; also the deadline of a whole inspect or ping (ms). */
  timeoutMs?: number;
  /** Cuts an event stream that stayed silent this long (off by default), which the watcher treats like any other ending. */
  eventStreamIdleTimeoutMs?: number;
  /** DOCKER_MAX_ENTRY_BYTES. */
  maxEntryBytes?: number;
  /** DOCKER_LIST_TIMEOUT. */
  listTimeoutMs?: number;
  /** Aborting it aborts every call in flight and fails every later one (the app's shutdown); see also {@link DockerClient.close}. */
  signal?: AbortSignal;
  /** Counts oversized entries (`tinyforge_reconciler_docker_oversized_entries_total`). */
  metrics?: { dockerOversizedEntries: { inc(labels: { source: OversizedSource }): void } };
  /** Oversized entries are logged here, once per container. */
  log?: Pick<Logger, 'warn'>;
}

/** One call to the daemon: its own signal (a pass or a worker stopping), on top of the client's. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** The daemon answered with an error status (its `message`, read up to 64 KiB). */
export class DockerApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(`(HTTP code ${statusCode}) ${message}`);
    this.name = 'DockerApiError';
  }
}

/** An answer larger than DOCKER_MAX_ENTRY_BYTES: not read. */
export class EntryTooLargeError extends Error {
  constructor(what: string, limitBytes: number) {
    super(`${what}: the daemon's answer is larger than DOCKER_MAX_ENTRY_BYTES (${limitBytes} bytes); not read`);
    this.name = 'EntryTooLargeError';
  }
}

/** A call ran out of its deadline. */
export class DockerTimeoutError extends Error {
  constructor(what: string, ms: number, setting: string) {
    super(`${what} did not complete within ${formatMs(ms)} (${setting}); cut`);
    this.name = 'DockerTimeoutError';
  }
}

/** The client was closed (shutdown) or the caller's signal aborted. */
export class DockerAbortedError extends Error {
  constructor(what: string) {
    super(`${what}: aborted (shutting down)`);
    this.name = 'DockerAbortedError';
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The only module that talks to the Engine API (plain HTTP over its socket). Read-only by
 * construction: it calls `GET /_ping`, `GET /containers/json`, `GET /containers/{id}/json` and
 * `GET /events`, nothing else, so it works through a read-only socket proxy.
 *
 * Bounded in memory and time, whatever the daemon (or a tenant's labels) sends:
 * - a list entry, an event line or an inspect answer larger than `maxEntryBytes` is never held
 *   whole: list entries and event lines are dropped as they stream (counted, logged once per
 *   container), an inspect fails with {@link EntryTooLargeError}; error answers are read up to
 *   64 KiB;
 * - only Tinyforge containers are parsed: the list decides from the entry's `Id` and dispatch
 *   labels, picked from its bytes as they stream (src/docker/list-entry.ts);
 * - a list has a deadline for the whole answer (`listTimeoutMs`), an inspect or ping one of
 *   `timeoutMs`, on top of the idle timeout; a call past its deadline is cut (the response
 *   destroyed) and fails with {@link DockerTimeoutError};
 * - {@link close} (or the `signal` option) aborts every call in flight: shutdown never waits for
 *   a daemon that drips bytes.
 */
export class DockerClient implements EventStreamOpener {
  /** Plain HTTP to the Engine API (no SDK: four GET calls do not need one, and it cost ~25 MB of RSS). */
  private readonly transport: typeof http | typeof https;
  private readonly endpoint: RequestOptions;
  private readonly eventIdleMs: number | undefined;
  private readonly closing = new AbortController();
  private readonly timeoutMs: number;
  private readonly maxEntryBytes: number;
  private readonly listTimeoutMs: number;
  private readonly oversized: OversizedReporter;
  private unread: { ids: Set<string>; unknown: boolean } = { ids: new Set(), unknown: false };
  private readonly dropped = new DroppedBytes();

  constructor(cfg: DockerConfig, opts: DockerClientOptions = {}) {
    this.endpoint = cfg.kind === 'unix' ? { socketPath: cfg.socketPath } : { host: cfg.host, port: cfg.port };
    this.transport = cfg.kind === 'tcp' && cfg.protocol === 'https' ? https : http;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxEntryBytes = opts.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    this.listTimeoutMs = opts.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
    // No idle timeout on the event stream unless asked: it is idle for long stretches by nature.
    this.eventIdleMs = opts.eventStreamIdleTimeoutMs;
    // One listener per call in flight (workers inspect concurrently): no leak warning for that.
    setMaxListeners(0, this.closing.signal);
    const metrics = opts.metrics;
    this.oversized = new OversizedReporter({
      limitBytes: this.maxEntryBytes,
      count: metrics ? (source) => metrics.dockerOversizedEntries.inc({ source }) : undefined,
      log: opts.log,
    });
    if (opts.signal) {
      if (opts.signal.aborted) this.close();
      else opts.signal.addEventListener('abort', () => this.close(), { once: true });
    }
  }

  /** Aborts every call in flight; every later call fails at once. Idempotent. */
  close(): void {
    this.closing.abort();
  }

  /**
   * Every Tinyforge container in every state: `tinyforge.managed=true` ones and compose
   * containers whose project starts with `tinyforge-` (two list calls, merged by ID). Rejects
   * when the answer is malformed, when the whole list took longer than `listTimeoutMs`, or when
   * aborted: a failed list is never a partial one.
   */
  async listManaged(opts: CallOptions = {}): Promise<ContainerItem[]> {
    const byId = new Map<string, ContainerItem>();
    await this.visitManaged((item, from) => {
      if (from === 'managed' || !byId.has(item.id)) byId.set(item.id, item);
    }, opts);
    return [...byId.values()];
  }

  /**
   * {@link listManaged} without holding the list: each item is handed to `onItem` as its entry
   * is read (`from` says which of the two calls it came from; the compose call may repeat a
   * container of the managed one, which wins), so a caller that keeps only what changed lets the
   * rest die young. Rejects like {@link listManaged}; items already handed out before a failure
   * were read whole and are true, but the list is not complete.
   */
  async visitManaged(onItem: (item: ContainerItem, from: ListKind) => void, opts: CallOptions = {}): Promise<void> {
    this.unread = { ids: new Set(), unknown: false };
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DockerTimeoutError('container list', this.listTimeoutMs, 'DOCKER_LIST_TIMEOUT')), this.listTimeoutMs);
    // One failed call cuts the other: nothing is left streaming in the background.
    const failed = new AbortController();
    const { signal, dispose } = linked([deadline.signal, failed.signal, ...this.signals(opts)]);
    const run = (kind: ListKind, filters: Record<string, string[]>) =>
      this.streamList(
        kind,
        filters,
        (item) => {
          if (item.id !== '') onItem(item, kind);
        },
        signal,
      ).catch((err: unknown) => {
        failed.abort(err);
        throw err;
      });
    try {
      await Promise.all([
        run('managed', { label: [`${LABEL_MANAGED}=true`] }),
        // The compose list repeats every managed compose container: those are skipped before parsing.
        run('compose', { label: [LABEL_COMPOSE_PROJECT] }),
      ]);
    } finally {
      clearTimeout(timer);
      dispose();
    }
  }

  /**
   * The Tinyforge containers (or possible ones) the last {@link listManaged} skipped because
   * their entry was above the cap: the pass neither writes nor sweeps their rows. `unknown`: such
   * an entry's ID did not come before the cap, so the pass must not sweep at all.
   */
  lastListUnread(): { ids: ReadonlySet<string>; unknown: boolean } {
    return this.unread;
  }

  /**
   * `GET /containers/json?all=1&filters=...`, split entry by entry as the response streams in:
   * memory holds items, never the whole document, nor an entry above the cap. An entry is parsed
   * only when its picked fields say it is one this list keeps (or cannot tell).
   */
  private async streamList(kind: ListKind, filters: Record<string, string[]>, onItem: (item: ContainerItem) => void, signal: AbortSignal): Promise<void> {
    const res = await this.open(this.timeoutMs, '/containers/json', { all: true, filters: JSON.stringify(filters) }, signal, 'container list');
    const splitter = new JsonArraySplitter({ maxElementBytes: this.maxEntryBytes, pick: LIST_ENTRY_PICK });
    const take = (el: SplitElement) => {
      const verdict = listVerdict(kind, el.fields, el.rootKind);
      if (el.bytes === undefined) {
        const id = pickedId(el.fields);
        this.oversized.report({ source: 'list', containerId: id, bytes: el.size, candidate: verdict });
        // A Tinyforge container the list could not read is not judged by the pass (see lastListUnread).
        if (verdict !== 'no') {
          if (id) this.unread.ids.add(id);
          else this.unread.unknown = true;
        }
        return;
      }
      if (verdict === 'no') return;
      const item = itemFromPicked(el.fields, el.rootKind) ?? itemFromListEntry(JSON.parse(el.bytes.toString('utf8')) as Record<string, unknown>);
      if (kind === 'managed' || (item.labels[LABEL_COMPOSE_PROJECT] ?? '').startsWith(COMPOSE_PROJECT_PREFIX)) onItem(item);
    };
    let dropped = 0;
    await consume(res, signal, 'container list', (chunk) => {
      try {
        for (const el of splitter.push(chunk)) take(el);
      } catch (e) {
        throw new Error(`malformed container list from the daemon: ${errorMessage(e)}`);
      }
      if (splitter.droppedBytes !== dropped) {
        this.dropped.add(splitter.droppedBytes - dropped);
        dropped = splitter.droppedBytes;
      }
    });
    try {
      splitter.end();
    } catch (e) {
      throw new Error(`malformed container list from the daemon: ${errorMessage(e)}`);
    }
  }

  /**
   * The current state of one container; `undefined` when it does not exist (404) or is not a
   * Tinyforge container.
   */
  async inspect(id: string, opts: CallOptions = {}): Promise<ContainerItem | undefined> {
    const doc = await this.inspectDoc(id, opts);
    if (doc === undefined) return undefined;
    const item = itemFromInspect(doc);
    return isTinyforgeCandidate(item.labels) ? item : undefined;
  }

  /**
   * Any container by ID or name (for `explain`): the item and whether the controller lists it
   * at all; `undefined` when the daemon knows no such container.
   */
  async inspectAny(ref: string, opts: CallOptions = {}): Promise<{ item: ContainerItem; candidate: boolean } | undefined> {
    const doc = await this.inspectDoc(ref, opts);
    if (doc === undefined) return undefined;
    const item = itemFromInspect(doc);
    return { item, candidate: isTinyforgeCandidate(item.labels) };
  }

  /** `GET /containers/{ref}/json`, at most `maxEntryBytes` of it, within `timeoutMs`; undefined on 404. */
  private async inspectDoc(ref: string, opts: CallOptions): Promise<Record<string, unknown> | undefined> {
    const what = `inspect of container ${ref}`;
    const body = await this.withDeadline(what, this.timeoutMs, 'the Docker request timeout', opts, async (signal) => {
      const res = await this.open(this.timeoutMs, `/containers/${encodeURIComponent(ref)}/json`, undefined, signal, what, [404]);
      if (res.statusCode === 404) {
        res.resume();
        res.destroy();
        return undefined;
      }
      const b = await readBounded(res, this.maxEntryBytes, signal, what);
      if (b === undefined) {
        this.oversized.report({ source: 'inspect', containerId: ref });
        throw new EntryTooLargeError(what, this.maxEntryBytes);
      }
      return b;
    });
    if (body === undefined) return undefined;
    const doc = JSON.parse(body.toString('utf8')) as unknown;
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${what}: the daemon's answer is not a JSON object`);
    return doc as Record<string, unknown>;
  }

  /** `GET /_ping`, within `timeoutMs`. */
  async ping(opts: CallOptions = {}): Promise<void> {
    await this.withDeadline('docker ping', this.timeoutMs, 'the Docker request timeout', opts, async (signal) => {
      const res = await this.open(this.timeoutMs, '/_ping', undefined, signal, 'docker ping');
      if ((await readBounded(res, MAX_ERROR_BODY_BYTES, signal, 'docker ping')) === undefined) throw new EntryTooLargeError('docker ping', MAX_ERROR_BODY_BYTES);
    });
  }

  /**
   * `GET /events?filters={"type":["container"]}`; resolves once the response has started. The
   * stream it returns carries only whole lines of at most `maxEntryBytes` (longer ones are
   * dropped and counted), and ends when `signal` aborts or the client closes.
   */
  async openEvents(signal: AbortSignal): Promise<Readable> {
    const both = linked([signal, this.closing.signal]);
    let res: IncomingMessage;
    try {
      res = await this.open(this.eventIdleMs, '/events', { filters: JSON.stringify({ type: ['container'] }) }, both.signal, 'event stream');
    } catch (err) {
      both.dispose();
      throw err;
    }
    const limiter = new EventLineLimiter(
      this.maxEntryBytes,
      (containerId) => this.oversized.report({ source: 'event', containerId }),
      (bytes) => this.dropped.add(bytes),
    );
    // Either end going away takes the other with it: the watcher destroys what it was given, an
    // abort destroys the response (open() cut it).
    pipeline(res, limiter, () => undefined);
    limiter.once('close', () => both.dispose());
    return limiter;
  }

  /** The client's signal and the call's. */
  private signals(opts: CallOptions): AbortSignal[] {
    return opts.signal ? [this.closing.signal, opts.signal] : [this.closing.signal];
  }

  /** Runs `work` with a signal that aborts at `ms`, on close, or with the caller's signal; a timeout rejects clearly. */
  private async withDeadline<T>(what: string, ms: number, setting: string, opts: CallOptions, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DockerTimeoutError(what, ms, setting)), ms);
    const { signal, dispose } = linked([deadline.signal, ...this.signals(opts)]);
    try {
      return await work(signal);
    } finally {
      clearTimeout(timer);
      dispose();
    }
  }

  /**
   * Sends `GET path?query` and resolves with the response once it started, status 200 (or one of
   * `accept`); any other status rejects with {@link DockerApiError} (its message read up to
   * 64 KiB). `idleMs`: how long the socket may stay silent before the request is cut. Rejects at
   * once when `signal` aborted; a later abort cuts the request, or the response, wherever it is.
   */
  private open(idleMs: number | undefined, path: string, query: Record<string, unknown> | undefined, signal: AbortSignal, what: string, accept: number[] = []): Promise<IncomingMessage> {
    if (signal.aborted) return Promise.reject(abortError(signal, what));
    const qs = query ? new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString() : '';
    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      const req = this.transport.request({ ...this.endpoint, method: 'GET', path: qs ? `${path}?${qs}` : path, ...(idleMs ? { timeout: idleMs } : {}) });
      const fail = (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        reject(e);
      };
      const onAbort = () => {
        req.destroy();
        fail(abortError(signal, what));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (idleMs) req.on('timeout', () => req.destroy(new Error(`${what}: the daemon sent nothing for ${formatMs(idleMs)}`)));
      // After the response started, its own errors reach whoever reads it.
      req.on('error', (err) => fail(signal.aborted ? abortError(signal, what) : err));
      req.on('response', (res) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        const status = res.statusCode ?? 0;
        if (status === 200 || accept.includes(status)) {
          // Later aborts (deadline, shutdown) cut the response wherever it is.
          const cut = () => res.destroy(abortError(signal, what));
          signal.addEventListener('abort', cut, { once: true });
          res.once('close', () => signal.removeEventListener('abort', cut));
          return resolve(res);
        }
        readBounded(res, MAX_ERROR_BODY_BYTES, signal, what).then(
          (body) => reject(new DockerApiError(status, errorText(body))),
          (e: unknown) => reject(e),
        );
      });
      req.end();
    });
  }
}

/**
 * A signal that aborts when any of `signals` does, with its reason; `dispose` unhooks it from
 * them (the client's signal lives as long as the app: every call must unhook what it hooked).
 */
function linked(signals: AbortSignal[]): { signal: AbortSignal; dispose(): void } {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  const hooks: Array<[AbortSignal, () => void]> = [];
  for (const s of signals) {
    if (s.aborted) {
      c.abort(s.reason);
      break;
    }
    const h = () => c.abort(s.reason);
    s.addEventListener('abort', h, { once: true });
    hooks.push([s, h]);
  }
  return {
    signal: c.signal,
    dispose: () => {
      for (const [s, h] of hooks) s.removeEventListener('abort', h);
      hooks.length = 0;
    },
  };
}

/** The error an aborted call rejects with: the deadline's own, or "aborted". */
function abortError(signal: AbortSignal, what: string): Error {
  const r: unknown = signal.reason;
  if (r instanceof DockerTimeoutError || r instanceof DockerAbortedError) return r;
  // A failed sibling call (the other list) aborted this one: its error says what happened.
  if (r instanceof Error && r.name !== 'AbortError') return r;
  return new DockerAbortedError(what);
}

/** The daemon's `{"message": ...}`, or the text as it came. */
function errorText(body: Buffer | undefined): string {
  if (body === undefined) return 'error answer larger than 64 KiB';
  const text = body.toString('utf8').trim();
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON
  }
  return text;
}

/**
 * Feeds the response's chunks to `onChunk` until it ends; rejects when it fails, is cut (the
 * signal's reason), or closes before its end. The response is destroyed on any failure.
 */
function consume(res: IncomingMessage, signal: AbortSignal, what: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      res.removeListener('data', onData);
      if (err !== undefined) {
        res.on('error', () => undefined);
        res.destroy();
        reject(err);
      } else resolve();
    };
    const onData = (chunk: Buffer) => {
      if (settled) return;
      try {
        onChunk(chunk);
      } catch (e) {
        settle(e);
      }
    };
    res.on('data', onData);
    res.once('end', () => settle());
    res.once('error', (e) => settle(signal.aborted ? abortError(signal, what) : e));
    res.once('close', () => settle(signal.aborted ? abortError(signal, what) : new Error(`${what}: response closed early`)));
    if (signal.aborted) settle(abortError(signal, what));
  });
}

/** The whole body, or undefined (and the response destroyed) once it grows beyond `max` bytes. */
async function readBounded(res: IncomingMessage, max: number, signal: AbortSignal, what: string): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  await consume(res, signal, what, (chunk) => {
    size += chunk.length;
    if (size > max) {
      tooLarge = true;
      parts.length = 0;
      throw new EntryTooLargeError(what, max);
    }
    parts.push(chunk);
  }).catch((e: unknown) => {
    if (!tooLarge) throw e;
  });
  return tooLarge ? undefined : Buffer.concat(parts, size);
}
