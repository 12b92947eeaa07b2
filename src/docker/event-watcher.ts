import type { Readable } from 'node:stream';
import { errorMessage } from '../domain/errors.js';
import { Backoff } from '../util/backoff.js';
import { sleep } from '../util/timers.js';
import { LineSplitter, parseEventLine, type ContainerEvent } from './events.js';


/** What the watcher needs from Docker: open `/events` (resolves once the response started). */
export interface EventStreamOpener {
  openEvents(signal: AbortSignal): Promise<Readable>;
}

export interface EventWatcherHooks {
  /** The stream is open: anything that happened before is now covered by a relist. */
  onConnected(): void;
  /**
   * The stream is open again after an earlier one ended: called once per reopened stream, however
   * many attempts the reconnect took (the first stream of a run is no reopening). After `onConnected`.
   */
  onReopened?(): void;
  /** A try to open the stream again after it ended or could not be opened, before its outcome is known. */
  onReconnectAttempt?(): void;
  onEvent(event: ContainerEvent): void;
  onMalformed(reason: string): void;
  /** The stream ended or an attempt to open it failed; the next attempt follows after `delayMs`. */
  onDisconnected(reason: string, delayMs: number): void;
}

/** The reconnect backoff of the watch. */
export interface WatchBackoffOptions {
  baseMs: number;
  maxMs: number;
  /** A connection that lasted this long resets the backoff. */
  healthyAfterMs: number;
}

export const DEFAULT_WATCH_BACKOFF: WatchBackoffOptions = { baseMs: 100, maxMs: 30_000, healthyAfterMs: 30_000 };

/** The watch's reconnect delays: exponential, between half and all of `min(max, base*2^attempt)`. */
export function watchBackoff(o: WatchBackoffOptions, random: () => number = Math.random): Backoff {
  return new Backoff({ baseMs: o.baseMs, maxMs: o.maxMs, jitter: 0.5, random });
}

/** The delay before reconnect number `attempt` (0 = the first): see {@link watchBackoff}. */
export function backoffDelay(attempt: number, o: WatchBackoffOptions, random: () => number = Math.random): number {
  return watchBackoff(o, random).delay(attempt);
}

/**
 * Watches container events forever: open, consume line by line, and on any ending (EOF, socket
 * error, daemon restart, a proxy or a client timeout cutting the stream) reconnect with
 * exponential backoff and jitter that never gives up. Each ending is handled exactly once and
 * the old stream is destroyed, so listeners and memory stay flat across reconnects.
 */
export class EventWatcher {
  private readonly delays: Backoff;

  constructor(
    private readonly opener: EventStreamOpener,
    private readonly hooks: EventWatcherHooks,
    private readonly backoff: WatchBackoffOptions = DEFAULT_WATCH_BACKOFF,
    private readonly now: () => number = Date.now,
    random: () => number = Math.random,
  ) {
    this.delays = watchBackoff(backoff, random);
  }

  /** Runs until `signal` aborts. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let attempts = 0;
    let opened = false;
    while (!signal.aborted) {
      let connectedAt: number | undefined;
      let reason: string;
      try {
        if (attempts++ > 0) this.call(this.hooks.onReconnectAttempt);
        const stream = await this.opener.openEvents(signal);
        connectedAt = this.now();
        this.call(this.hooks.onConnected);
        // A reopened stream, not an attempt: one daemon restart is one, however long it took.
        if (opened) this.call(this.hooks.onReopened);
        opened = true;
        reason = await this.consume(stream, signal);
      } catch (err) {
        reason = describe(err);
      }
      if (signal.aborted) break;
      if (connectedAt !== undefined && this.now() - connectedAt >= this.backoff.healthyAfterMs) this.delays.reset();
      const delay = this.delays.next();
      this.call(() => this.hooks.onDisconnected(reason, delay));
      await sleep(delay, signal);
    }
  }

  /** Calls an optional hook; a failing hook must not end the watch. */
  private call(hook: (() => void) | undefined): void {
    try {
      hook?.call(this.hooks);
    } catch {
      // The hook's failure is its own.
    }
  }

  private consume(stream: Readable, signal: AbortSignal): Promise<string> {
    const splitter = new LineSplitter();
    return new Promise<string>((resolve) => {
      let finished = false;
      const finish = (why: string) => {
        if (finished) return;
        finished = true;
        signal.removeEventListener('abort', onAbort);
        stream.removeListener('data', onData);
        stream.removeListener('end', onEnd);
        stream.removeListener('close', onClose);
        stream.removeListener('error', onError);
        // Keep a no-op error listener: destroy() may still emit one, which must not crash us.
        stream.on('error', () => undefined);
        stream.destroy();
        resolve(why);
      };
      const onData = (chunk: Buffer | string) => {
        const { lines, overflows } = splitter.push(chunk);
        for (let i = 0; i < overflows; i++) this.hooks.onMalformed('line too long');
        for (const line of lines) {
          const parsed = parseEventLine(line);
          if (parsed.kind === 'event') {
            try {
              this.hooks.onEvent(parsed.event);
            } catch {
              // The handler's failure is its own; the stream goes on.
            }
          } else if (parsed.kind === 'malformed') this.hooks.onMalformed(parsed.reason);
        }
      };
      const onEnd = () => finish('stream ended');
      const onClose = () => finish('stream closed');
      const onError = (err: unknown) => finish(describe(err));
      const onAbort = () => finish('aborted');
      stream.on('data', onData);
      stream.on('end', onEnd);
      stream.on('close', onClose);
      stream.on('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
      if (stream.destroyed) finish('stream closed');
    });
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return err instanceof Error && typeof code === 'string' ? `${code}: ${err.message}` : errorMessage(err);
}
