/**
 * Splits a streamed top-level JSON array (`[{...},{...}]`) into its elements as they arrive,
 * without ever holding the whole document: the list of 100,000 containers is over 100 MB of JSON,
 * and parsing it whole costs that much memory several times over (chunks, one string, the tree).
 * Each element is handed out as the bytes of one JSON value, for `JSON.parse` and mapping right away.
 */
export class JsonArraySplitter {
  private state: 'start' | 'between' | 'element' | 'done' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: Buffer[] = [];
  private partStart = 0;

  /** Feeds one chunk; returns the elements it completed, in order. Throws on a malformed document. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = chunk.length;
    let i = 0;
    this.partStart = 0;
    while (i < n) {
      const c = chunk[i]!;
      if (this.state === 'element') {
        if (this.inString) {
          if (this.escaped) {
            this.escaped = false;
            i++;
            continue;
          }
          // Jump to the next quote natively (strings are most of the bytes); it closes the string
          // unless an odd run of backslashes right before it escapes it. No escape is pending at
          // `i`, so the run is counted from `i` on.
          const q = chunk.indexOf(0x22, i);
          const end = q === -1 ? n : q;
          let run = 0;
          while (end - run - 1 >= i && chunk[end - run - 1] === 0x5c) run++;
          if (q === -1) {
            this.escaped = run % 2 === 1;
            i = n;
          } else {
            if (run % 2 === 0) this.inString = false;
            i = q + 1;
          }
          continue;
        }
        if (c === 0x22) this.inString = true;
        else if (c === 0x7b || c === 0x5b) this.depth++; // { [
        else if (c === 0x7d || c === 0x5d) {
          // } ]
          if (this.depth === 0) {
            // `]` closing the outer array right after a scalar element.
            this.finishElement(chunk, i, out);
            this.state = 'done';
            i++;
            continue;
          }
          this.depth--;
          if (this.depth === 0) {
            this.finishElement(chunk, i + 1, out);
            this.state = 'between';
          }
        } else if (c === 0x2c && this.depth === 0) {
          // `,` after a scalar element
          this.finishElement(chunk, i, out);
          this.state = 'between';
        }
        i++;
        continue;
      }
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        i++;
        continue;
      }
      if (this.state === 'start') {
        if (c !== 0x5b) throw new Error('expected a JSON array');
        this.state = 'between';
      } else if (this.state === 'between') {
        if (c === 0x2c) {
          i++;
          continue;
        }
        if (c === 0x5d) {
          this.state = 'done';
          i++;
          continue;
        }
        this.state = 'element';
        this.depth = 0;
        this.parts = [];
        this.partStart = i;
        continue; // re-read this byte as part of the element
      } else if (this.state === 'done') {
        throw new Error('data after the end of the JSON array');
      }
      i++;
    }
    if (this.state === 'element') this.parts.push(chunk.subarray(this.partStart));
    return out;
  }

  /** Throws unless the array was complete. */
  end(): void {
    if (this.state !== 'done') throw new Error('truncated JSON array');
  }

  private finishElement(chunk: Buffer, endExclusive: number, out: Buffer[]): void {
    const tail = chunk.subarray(this.partStart, endExclusive);
    out.push(this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail]));
    this.parts = [];
  }
}
