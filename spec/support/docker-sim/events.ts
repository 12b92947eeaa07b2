/**
 * Event streams: every event gets a strictly increasing nanosecond time, is kept in a bounded history for
 * `since` replays, and is written to each open `/events` response whose filter and `until` let it through. A
 * stream whose client does not read is not buffered without bound: past `bufferLimit` unsent bytes its events
 * are dropped (and counted), as the daemon drops them for slow subscribers.
 */
import type http from 'node:http';
import { nowMs } from './clock.js';
import { sortedObject } from './go-format.js';
import { eventLine, netName, networkEventLine } from './render.js';
import type { EventRec, Rec } from './types.js';

interface EventStream {
  res: http.ServerResponse;
  filter: (e: EventRec) => boolean;
  untilNs: bigint | null;
  timer?: NodeJS.Timeout;
}

export interface EventBusOptions {
  /** How many past events `since` can replay (at least; trimmed in batches). */
  historyMax: number;
  /** Per-stream limit of unsent bytes. */
  bufferLimit: number;
  /** ID of a network, for network events. */
  networkIdFor(name: string): string;
}

export class EventBus {
  /** Events not delivered to a stream whose client does not read. */
  droppedEvents = 0;
  private readonly streams = new Set<EventStream>();
  private readonly history: EventRec[] = [];
  private lastNs = 0n;

  constructor(private readonly opts: EventBusOptions) {}

  get openStreams(): number {
    return this.streams.size;
  }

  /** A container event; its attributes are the labels, `extra`, `image` and `name` (these two win). */
  container(action: string, r: Rec, extra: Record<string, string> = {}): void {
    this.raw('container', action, r.id, r.name, r.image, Object.assign({}, r.labels, extra, { image: r.image, name: r.name }));
  }

  /** `network connect/disconnect` of the container's network (none for host networking). */
  network(action: 'connect' | 'disconnect', r: Rec): void {
    if (r.networkMode === 'host') return;
    const name = netName(r);
    const type = name === 'none' ? 'null' : name === 'host' ? 'host' : 'bridge';
    const ns = this.nextNs();
    const attrs = sortedObject({ container: r.id, name, type });
    const id = this.opts.networkIdFor(name);
    this.publish({ ns, type: 'network', action, id, name, image: '', attrs, line: networkEventLine(ns, action, id, attrs) });
  }

  /** Any event in the container-event line format. */
  raw(type: string, action: string, id: string, name: string, image: string, attributes: Record<string, string>): void {
    const ns = this.nextNs();
    const attrs = sortedObject(attributes);
    this.publish({ ns, type, action, id, name, image, attrs, line: eventLine(ns, type, action, id, image, attrs) });
  }

  /**
   * Serves an `/events` response whose headers are sent: replays the history from `sinceNs`, then streams live
   * events until `untilNs` (ends at once when that is past) or until the client goes away.
   */
  attach(res: http.ServerResponse, filter: (e: EventRec) => boolean, sinceNs: bigint | null, untilNs: bigint | null): void {
    if (sinceNs !== null) {
      for (const e of this.history) {
        if (e.ns < sinceNs) continue;
        if (untilNs !== null && e.ns > untilNs) continue;
        if (filter(e)) res.write(e.line);
      }
    }
    const nowNs = BigInt(Math.floor(nowMs() * 1e3)) * 1000n;
    if (untilNs !== null && untilNs <= nowNs) {
      res.end();
      return;
    }
    const s: EventStream = { res, filter, untilNs };
    if (untilNs !== null) {
      const waitMs = Number((untilNs - nowNs) / 1_000_000n);
      s.timer = setTimeout(() => this.close(s, 'end'), Math.min(waitMs, 2 ** 31 - 1));
    }
    this.streams.add(s);
    const gone = () => {
      if (this.streams.delete(s) && s.timer) clearTimeout(s.timer);
    };
    // (not req 'close': for an IncomingMessage that fires as soon as the request body has been consumed)
    res.on('close', gone);
  }

  /** Closes every open stream: 'destroy' resets the connection, 'end' ends the chunked body cleanly. */
  closeAll(mode: 'destroy' | 'end'): void {
    for (const s of [...this.streams]) this.close(s, mode);
  }

  /** Writes `chunk` as is to every open stream. */
  writeRaw(chunk: string): void {
    for (const s of this.streams) s.res.write(chunk);
  }

  private nextNs(): bigint {
    const ms = nowMs();
    const whole = Math.floor(ms);
    let ns = BigInt(whole) * 1_000_000n + BigInt(Math.min(999_999, Math.round((ms - whole) * 1e6)));
    if (ns <= this.lastNs) ns = this.lastNs + 1n;
    this.lastNs = ns;
    return ns;
  }

  private publish(e: EventRec): void {
    this.history.push(e);
    if (this.history.length > this.opts.historyMax * 2) this.history.splice(0, this.history.length - this.opts.historyMax);
    for (const s of this.streams) {
      if (s.untilNs !== null && e.ns > s.untilNs) continue;
      if (!s.filter(e)) continue;
      if (s.res.writableLength > this.opts.bufferLimit) this.droppedEvents++;
      else s.res.write(e.line);
    }
  }

  private close(s: EventStream, mode: 'destroy' | 'end'): void {
    this.streams.delete(s);
    if (s.timer) clearTimeout(s.timer);
    if (mode === 'end') s.res.end();
    else s.res.destroy();
  }
}
