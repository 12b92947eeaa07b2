/**
 * A daemon that answers `/containers/json` a few bytes at a time: the headers at once, then the
 * real answer trickling out (a daemon wedged behind a slow disk, or a hostile one). While a drip
 * is set, every list answer drips; each answer stops when its connection closes (the client cut
 * it, or the simulator paused or stopped). Hooked into server.ts's routing.
 */
import type http from 'node:http';

export interface DripOptions {
  /** Bytes written per tick (default 1). */
  bytesPerTick?: number;
  /** Time between ticks (default 1000 ms: one byte a second). */
  tickMs?: number;
}

/** A response stand-in that collects what the list handler writes (it never applies backpressure). */
class Collector {
  status = 200;
  headers: http.OutgoingHttpHeaders = {};
  readonly chunks: string[] = [];
  readonly destroyed = false;
  private done!: () => void;
  readonly ended = new Promise<void>((resolve) => (this.done = resolve));

  writeHead(status: number, headers: http.OutgoingHttpHeaders): this {
    this.status = status;
    this.headers = headers;
    return this;
  }
  flushHeaders(): void {}
  write(s: string): boolean {
    this.chunks.push(s);
    return true;
  }
  end(s?: string): void {
    if (s) this.chunks.push(s);
    this.done();
  }
  on(): this {
    return this;
  }
  off(): this {
    return this;
  }
}

export class ListDrip {
  private options: Required<DripOptions> | undefined;
  /** List answers being dripped now. */
  active = 0;
  /** List answers that dripped to their end. */
  completed = 0;

  /** Starts dripping every list answer (`undefined`: answer at full speed again, from the next request on). */
  set(opts: DripOptions | undefined): void {
    this.options = opts ? { bytesPerTick: opts.bytesPerTick ?? 1, tickMs: opts.tickMs ?? 1000 } : undefined;
  }

  get enabled(): boolean {
    return this.options !== undefined;
  }

  /**
   * Serves one list answer: `render` writes the real answer into a collector, which is then sent
   * a few bytes per tick.
   */
  async serve(res: http.ServerResponse, render: (sink: http.ServerResponse) => Promise<void>): Promise<void> {
    const o = this.options!;
    const sink = new Collector();
    await render(sink as unknown as http.ServerResponse);
    await sink.ended;
    const body = Buffer.from(sink.chunks.join(''));
    res.writeHead(sink.status, sink.headers);
    res.flushHeaders();
    this.active++;
    let at = 0;
    let stopped = false;
    // Runs once: at the end of the body, or when the connection closes first.
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      res.off('close', stop);
      this.active--;
    };
    const timer = setInterval(() => {
      if (res.destroyed) return stop();
      const next = Math.min(body.length, at + o.bytesPerTick);
      res.write(body.subarray(at, next));
      at = next;
      if (at >= body.length) {
        res.end();
        this.completed++;
        stop();
      }
    }, o.tickMs);
    res.on('close', stop);
  }
}
