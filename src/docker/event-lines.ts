import { Transform, type TransformCallback } from 'node:stream';
import { OVERSIZED_LINE_MARKER } from './events.js';
import { JsonFieldScanner } from './json-scan.js';
import { EVENT_LINE_PICK, pickedEventId } from './list-entry.js';

/**
 * Bounds the lines of the `/events` stream (newline-delimited JSON) before anyone decodes them:
 * complete lines of at most `maxLineBytes` bytes (newline not counted) pass through, whole; a
 * longer line is dropped as it streams (at most `maxLineBytes` of it is ever held), reported
 * once, with its container when the line's `id` went by before the cap, and replaced by the line
 * {@link OVERSIZED_LINE_MARKER}, so the watcher knows a line was lost (it may have been a
 * destroy: the next pass lists). A half line at the end of the stream is dropped, as the watcher
 * drops it.
 */
const MARKER = Buffer.from(`${OVERSIZED_LINE_MARKER}\n`);

export class EventLineLimiter extends Transform {
  private parts: Buffer[] = [];
  private size = 0;
  private dropping = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onOversized: (containerId: string | undefined) => void,
    /** Bytes dropped by a push (see src/docker/reclaim.ts). */
    private readonly onDropped: (bytes: number) => void = () => undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const out: Buffer[] = [];
    let start = 0;
    let dropped = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.dropping) dropped += end - start;
      else {
        if (this.size + (end - start) > this.maxLineBytes) {
          dropped += this.size + (end - start);
          this.overflow(chunk, start);
          out.push(MARKER);
        } else if (nl !== -1) {
          for (const p of this.parts) out.push(p);
          out.push(chunk.subarray(start, nl + 1));
          this.parts = [];
          this.size = 0;
        } else if (end > start) {
          this.parts.push(chunk.subarray(start, end));
          this.size += end - start;
        }
      }
      if (nl === -1) break;
      // A newline ends whatever line was being kept or dropped.
      this.dropping = false;
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    if (out.length > 0) this.push(out.length === 1 ? out[0] : Buffer.concat(out));
    if (dropped > 0) this.onDropped(dropped);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.parts = [];
    done();
  }

  /** The line being kept grew beyond the cap at this chunk: find its container in what was kept, drop it. */
  private overflow(chunk: Buffer, start: number): void {
    const scanner = new JsonFieldScanner(EVENT_LINE_PICK, { maxValueBytes: 256 });
    try {
      for (const p of this.parts) if (scanner.push(p) !== -1) break;
      if (!scanner.done) scanner.push(chunk.subarray(start, start + (this.maxLineBytes - this.size)));
    } catch {
      // Not JSON: the container stays unknown.
    }
    this.parts = [];
    this.size = 0;
    this.dropping = true;
    this.onOversized(pickedEventId(scanner.fields));
  }
}
