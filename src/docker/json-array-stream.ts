import { JsonFieldScanner, JsonScanError, type FieldSpec, type PickedFields, type RootKind } from './json-scan.js';

/** One element of the array. */
export interface SplitElement {
  /** The element's bytes; undefined when it was larger than the cap (they were dropped as they streamed). */
  bytes: Buffer | undefined;
  /** Its size in bytes. */
  size: number;
  /** The fields of the splitter's `pick` spec, read from the element's bytes as they went by. */
  fields: PickedFields;
  rootKind: RootKind;
}

export interface JsonArraySplitterOptions {
  /** Larger elements are not kept (their `bytes` are undefined); default: no cap. */
  maxElementBytes?: number;
  /** Fields to pick from every element (default: none). */
  pick?: FieldSpec;
  /** Longest picked string kept (as written); see {@link JsonFieldScanner}. */
  maxValueBytes?: number;
}

/**
 * Splits a streamed top-level JSON array (`[{...},{...}]`) into its elements as they arrive,
 * without ever holding the whole document: the list of 100,000 containers is over 100 MB of JSON,
 * and parsing it whole costs that much memory several times over (chunks, one string, the tree).
 * Each element is handed out as the bytes of one JSON value with the fields picked on the way
 * ({@link JsonFieldScanner}): enough for a caller to decide whether the element matters and, for
 * container list entries, to map it without parsing it (src/docker/items.ts `itemFromPicked`);
 * the bytes are there for `JSON.parse` when the picked fields cannot tell.
 *
 * Memory is bounded by `maxElementBytes` (plus one chunk): an element that grows beyond it is
 * still followed to its end, across chunks, strings with brackets and escapes included, but its
 * bytes are dropped as they stream; it is handed out with its size, its picked fields and no bytes.
 */
export class JsonArraySplitter {
  private state: 'start' | 'first' | 'next' | 'after' | 'element' | 'done' = 'start';
  private readonly scanner: JsonFieldScanner;
  private readonly cap: number;
  /**
   * The kept bytes of the element being read: `parts[0..kept-1]`. One array for every element
   * (nothing allocated per element; a list has 100,000 of them).
   */
  private readonly parts: Array<Buffer | undefined> = [];
  private kept = 0;
  private size = 0;
  private dropped = 0;

  constructor(opts: JsonArraySplitterOptions = {}) {
    this.cap = opts.maxElementBytes ?? Number.POSITIVE_INFINITY;
    this.scanner = new JsonFieldScanner(opts.pick ?? {}, { maxValueBytes: opts.maxValueBytes });
  }

  /** Feeds one chunk; returns the elements it completed, in order. Throws on a malformed document. */
  push(chunk: Buffer): SplitElement[] {
    const out: SplitElement[] = [];
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.state === 'element') {
        let end: number;
        try {
          end = this.scanner.push(chunk, i);
        } catch (e) {
          throw new Error(e instanceof JsonScanError ? `malformed element: ${e.message}` : String(e));
        }
        this.grow(chunk, i, end === -1 ? n : end);
        if (end === -1) break;
        this.finishElement(out);
        i = end;
        continue;
      }
      const c = chunk[i]!;
      i++;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      switch (this.state) {
        case 'start':
          if (c !== 0x5b) throw new Error('expected a JSON array');
          this.state = 'first';
          break;
        case 'after':
          if (c === 0x2c) this.state = 'next';
          else if (c === 0x5d) this.state = 'done';
          else throw new Error('expected "," or "]" after an element');
          break;
        case 'first':
        case 'next':
          // `]` after a comma is tolerated, as before.
          if (c === 0x5d) {
            this.state = 'done';
            break;
          }
          this.state = 'element';
          this.scanner.reset();
          this.size = 0;
          i--; // the scanner reads this byte
          break;
        default:
          throw new Error('data after the end of the JSON array');
      }
    }
    return out;
  }

  /** Bytes of oversized elements dropped so far (see src/docker/reclaim.ts). */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** Throws unless the array was complete. */
  end(): void {
    if (this.state !== 'done') throw new Error('truncated JSON array');
  }

  /** Counts (and, under the cap, keeps) the element's bytes `from..to` of this chunk. */
  private grow(chunk: Buffer, from: number, to: number): void {
    this.size += to - from;
    if (this.size > this.cap) {
      // What was kept of it goes too, the first time it crosses the cap.
      this.dropped += this.kept > 0 ? this.size : to - from;
      this.release();
      return;
    }
    if (to > from) this.parts[this.kept++] = chunk.subarray(from, to);
  }

  /** Forgets the kept bytes (the chunks they are in may go). */
  private release(): void {
    for (let k = 0; k < this.kept; k++) this.parts[k] = undefined;
    this.kept = 0;
  }

  private finishElement(out: SplitElement[]): void {
    const underCap = this.size <= this.cap;
    const bytes = !underCap ? undefined : this.kept === 1 ? this.parts[0]! : Buffer.concat(this.parts.slice(0, this.kept) as Buffer[], this.size);
    out.push({ bytes, size: this.size, fields: this.scanner.fields, rootKind: this.scanner.rootKind });
    this.release();
    this.state = 'after';
  }
}
