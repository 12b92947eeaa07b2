/**
 * A resumable byte-level scanner for ONE JSON value that picks a few fields out of it without
 * materialising it: the bytes of everything else are stepped over as they stream in (strings are
 * skipped with a native search for the closing quote), so a 300 MB label costs no memory. The
 * values it picks are exactly what `JSON.parse` would give for them (duplicate keys: the last one
 * wins, as in `JSON.parse`), which `spec/docker/json-scan.spec.ts` checks against `JSON.parse` on
 * random documents.
 *
 * It decides whether a container list entry is worth parsing at all (src/docker/list-entry.ts)
 * and finds the container of an oversized entry or event line. Arrays are stepped over as a
 * whole; picking inside them (ports, names) is the next step towards reading entries without
 * `JSON.parse`.
 */

/** What to pick: `true` picks the value at that key; an object descends into an object value. */
export interface FieldSpec {
  readonly [key: string]: true | FieldSpec;
}

/** A picked value as `JSON.parse` would see it (containers by kind only). */
export type Picked =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'true' }
  | { kind: 'false' }
  | { kind: 'null' }
  | { kind: 'object' }
  | { kind: 'array' }
  /** A string longer than the scanner's `maxValueBytes` (as written, escapes included). */
  | { kind: 'too_long'; bytes: number }
  /** Not valid JSON (a bad literal, number or escape). */
  | { kind: 'invalid' };

/** The fields picked under one object of the spec: a key maps to a value, or to the fields of a nested object. */
export class PickedFields {
  readonly values = new Map<string, Picked | PickedFields>();

  /** The value at `key`, or undefined when absent (or when the spec descends there). */
  value(key: string): Picked | undefined {
    const v = this.values.get(key);
    return v instanceof PickedFields ? undefined : v;
  }

  /** The nested object at `key`, or undefined when absent or not an object. */
  object(key: string): PickedFields | undefined {
    const v = this.values.get(key);
    return v instanceof PickedFields ? v : undefined;
  }

  /** The string at `key`, or undefined when absent or not a string. */
  string(key: string): string | undefined {
    const v = this.value(key);
    return v?.kind === 'string' ? v.value : undefined;
  }
}

/** The document is not JSON in a way that hides where the value ends (a bracket or a colon out of place). */
export class JsonScanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonScanError';
  }
}

/** The kind of the whole value (the first byte decides). */
export type RootKind = 'object' | 'array' | 'string' | 'scalar' | undefined;

interface Node {
  /** Children by key; null for a picked leaf. */
  readonly children: Map<string, Node> | null;
  /** Unescaped children by the byte length of their key, for matching without decoding. */
  readonly byLength: Map<number, Array<{ raw: Buffer; key: string }>>;
  /** Longest key of a child as JSON may write it (every character as `\uXXXX`). */
  readonly maxKeyBytes: number;
}

function compile(spec: FieldSpec): Node {
  const children = new Map<string, Node>();
  const byLength = new Map<number, Array<{ raw: Buffer; key: string }>>();
  let maxKeyBytes = 0;
  for (const key of Object.keys(spec)) {
    const sub = spec[key]!;
    children.set(key, sub === true ? LEAF : compile(sub));
    const raw = Buffer.from(key, 'utf8');
    const list = byLength.get(raw.length) ?? [];
    list.push({ raw, key });
    byLength.set(raw.length, list);
    maxKeyBytes = Math.max(maxKeyBytes, 6 * key.length);
  }
  return { children, byLength, maxKeyBytes };
}

const LEAF: Node = { children: null, byLength: new Map(), maxKeyBytes: 0 };

// Modes of the byte loop.
const VALUE = 0; // expecting a value
const KEY = 1; // in a picked-into object: expecting a key or `}`
const COLON = 2;
const AFTER = 3; // in a picked-into object, after a member: `,` or `}`
const STRING = 4;
const SCALAR = 5;
const SKIP = 6; // stepping over an object or array nobody picks from
const DONE = 7;

// What the string being read is.
const S_SKIP = 0; // inside a skipped container
const S_KEY = 1; // a key of a picked-into object
const S_VALUE = 2; // a value at a picked key
const S_IGNORED = 3; // a value nobody picks (a member of a picked-into object, or the root)

const MAX_SCALAR_BYTES = 64;

interface Frame {
  node: Node;
  fields: PickedFields;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Bytes that can belong to a JSON number or literal (anything else ends one). */
function isScalarByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2e || c === 0x2b || c === 0x2d;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function scalarOf(raw: string, overflow: boolean): Picked {
  // Longer than any number a daemon writes: a number (value unknown) if it starts like one.
  if (overflow) return /^-?\d/.test(raw) ? { kind: 'number', value: Number.NaN } : { kind: 'invalid' };
  if (raw === 'true') return { kind: 'true' };
  if (raw === 'false') return { kind: 'false' };
  if (raw === 'null') return { kind: 'null' };
  return NUMBER.test(raw) ? { kind: 'number', value: Number(raw) } : { kind: 'invalid' };
}

/**
 * The index just past the quote that closes a string whose inner bytes start at `i` (no escape
 * pending there); -1 when the chunk ends inside the string, -2 when it ends on a backslash that
 * escapes the next chunk's first byte.
 */
function closingQuote(chunk: Buffer, i: number): number {
  const n = chunk.length;
  for (;;) {
    const q = chunk.indexOf(0x22, i);
    const end = q === -1 ? n : q;
    // The quote closes the string unless an odd run of backslashes right before it escapes it.
    let run = 0;
    while (end - run - 1 >= i && chunk[end - run - 1] === 0x5c) run++;
    if (q === -1) return run % 2 === 1 ? -2 : -1;
    if (run % 2 === 0) return q + 1;
    i = q + 1;
  }
}

/** Whether `chunk[from..to)` holds no backslash and no control byte (a string's bytes that mean themselves). */
function plainBytes(chunk: Buffer, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const c = chunk[k]!;
    if (c === 0x5c || c < 0x20) return false;
  }
  return true;
}

/** The string a JSON string literal's inner bytes stand for, exactly as `JSON.parse` decodes it; undefined when invalid. */
function decodeString(raw: Buffer): string | undefined {
  let plain = true;
  for (let k = 0; k < raw.length; k++) {
    const c = raw[k]!;
    if (c === 0x5c || c < 0x20) {
      plain = false;
      break;
    }
  }
  if (plain) return raw.toString('utf8');
  try {
    return JSON.parse(`"${raw.toString('utf8')}"`) as string;
  } catch {
    return undefined;
  }
}

/**
 * Scans one JSON value fed in chunks and picks the fields of `spec`. Memory: the fields picked,
 * at most `maxValueBytes` of the string being picked, and one small frame per level of the spec,
 * whatever the size or the depth of the value.
 */
export class JsonFieldScanner {
  private readonly root: Node;
  private readonly maxValueBytes: number;
  private mode: number = VALUE;
  private frames: Frame[] = [];
  private picked = new PickedFields();
  private kind: RootKind;
  /** Where the value being read goes: the node picked there (null: nowhere) and the key in the frame's fields. */
  private targetNode: Node | null;
  private targetKey = '';
  private targetFields: PickedFields | undefined;
  private strRole = S_IGNORED;
  private escaped = false;
  private parts: Buffer[] = [];
  private partsLength = 0;
  private overflow = false;
  private limit = 0;
  private skipDepth = 0;
  private scalarRaw = '';
  private scalarPicked = false;
  private scalarOverflow = false;

  constructor(spec: FieldSpec, opts: { maxValueBytes?: number } = {}) {
    this.root = compile(spec);
    this.maxValueBytes = opts.maxValueBytes ?? 4096;
    this.targetNode = this.root;
  }

  /** Ready for the next value (the fields of the last one stay with whoever holds them). */
  reset(): void {
    this.mode = VALUE;
    this.frames = [];
    this.picked = new PickedFields();
    this.kind = undefined;
    this.targetNode = this.root;
    this.targetFields = undefined;
    this.escaped = false;
    this.dropCapture();
    this.skipDepth = 0;
  }

  /** The fields picked so far (complete once {@link done}). */
  get fields(): PickedFields {
    return this.picked;
  }

  /** The kind of the value, known from its first byte. */
  get rootKind(): RootKind {
    return this.kind;
  }

  get done(): boolean {
    return this.mode === DONE;
  }

  /**
   * Feeds bytes from `start` on. Returns the index just past the value once it is complete (a
   * number or literal ends at the first byte that cannot belong to it, which is not consumed),
   * or -1 when every byte was consumed and the value goes on. Throws {@link JsonScanError} when
   * the structure is broken.
   */
  push(chunk: Buffer, start = 0): number {
    const n = chunk.length;
    let i = start;
    while (i < n) {
      switch (this.mode) {
        case STRING: {
          if (this.escaped) {
            this.escaped = false;
            this.take(chunk, i, i + 1);
            i++;
            break;
          }
          if (this.limit < 0) {
            // Nobody keeps this string: only its end matters.
            const e = closingQuote(chunk, i);
            if (e < 0) {
              this.escaped = e === -2;
              i = n;
              break;
            }
            i = e;
            this.endString();
            if (this.done) return i;
            break;
          }
          if (this.partsLength === 0) {
            // The common case, decided on the chunk's bytes without copying them: the whole
            // string is in this chunk, short enough, without escapes or control bytes.
            const q = chunk.indexOf(0x22, i);
            if (q !== -1 && q - i <= this.limit && plainBytes(chunk, i, q)) {
              if (this.strRole === S_KEY) this.keyRead(this.matchPlainKey(chunk, i, q));
              else this.valueRead({ kind: 'string', value: chunk.toString('utf8', i, q) });
              i = q + 1;
              if (this.done) return i;
              break;
            }
          }
          // Jump to the next quote natively; it closes the string unless an odd run of
          // backslashes right before it escapes it. No escape is pending at `i`, so the run is
          // counted from `i` on.
          const q = chunk.indexOf(0x22, i);
          const end = q === -1 ? n : q;
          let run = 0;
          while (end - run - 1 >= i && chunk[end - run - 1] === 0x5c) run++;
          if (q === -1) {
            this.take(chunk, i, n);
            this.escaped = run % 2 === 1;
            i = n;
          } else if (run % 2 === 1) {
            this.take(chunk, i, q + 1);
            i = q + 1;
          } else {
            this.take(chunk, i, q);
            i = q + 1;
            this.endString();
            if (this.done) return i;
          }
          break;
        }
        case SKIP: {
          // A tight loop: most of an entry is stepped over here.
          let depth = this.skipDepth;
          let closed = false;
          while (i < n) {
            const c = chunk[i++]!;
            if (c === 0x22) {
              const e = closingQuote(chunk, i);
              if (e < 0) {
                this.startString(S_SKIP, 0);
                this.escaped = e === -2;
                i = n;
                break;
              }
              i = e;
            } else if (c === 0x7b || c === 0x5b) depth++;
            else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
              closed = true;
              break;
            }
          }
          this.skipDepth = depth;
          if (closed) {
            this.valueDone();
            if (this.done) return i;
          }
          break;
        }
        case SCALAR: {
          const from = i;
          while (i < n && isScalarByte(chunk[i]!)) i++;
          if (this.scalarPicked && !this.scalarOverflow) {
            if (this.scalarRaw.length + (i - from) > MAX_SCALAR_BYTES) this.scalarOverflow = true;
            else this.scalarRaw += chunk.toString('latin1', from, i);
          }
          if (i === n) return -1;
          this.endScalar();
          if (this.done) return i;
          break;
        }
        case DONE:
          return i;
        default: {
          const c = chunk[i]!;
          if (isWhitespace(c)) {
            i++;
            break;
          }
          i = this.structural(c, i);
          if (this.done) return i;
        }
      }
    }
    return this.mode === DONE ? i : -1;
  }

  /** End of input: completes a number or literal at the root; throws when the value is incomplete. */
  end(): void {
    if (this.mode === SCALAR) this.endScalar();
    if (this.mode !== DONE) throw new JsonScanError('truncated JSON value');
  }

  /** One byte outside strings, numbers and skipped containers; returns the next index. */
  private structural(c: number, i: number): number {
    switch (this.mode) {
      case VALUE:
        return this.startValue(c, i);
      case KEY:
        if (c === 0x22) {
          this.startString(S_KEY, this.frames[this.frames.length - 1]!.node.maxKeyBytes);
          return i + 1;
        }
        if (c === 0x7d) return this.closeObject(i);
        throw new JsonScanError(`expected a key at byte ${i}`);
      case COLON:
        if (c !== 0x3a) throw new JsonScanError(`expected ':' at byte ${i}`);
        this.mode = VALUE;
        return i + 1;
      case AFTER:
        if (c === 0x2c) {
          this.mode = KEY;
          return i + 1;
        }
        if (c === 0x7d) return this.closeObject(i);
        throw new JsonScanError(`expected ',' or '}' at byte ${i}`);
      default:
        return i;
    }
  }

  private startValue(c: number, i: number): number {
    const node = this.targetNode;
    const isRoot = this.frames.length === 0;
    if (c === 0x7b) {
      if (isRoot) this.kind = 'object';
      if (node?.children) {
        const fields = isRoot ? this.picked : new PickedFields();
        if (!isRoot) this.targetFields!.values.set(this.targetKey, fields);
        this.frames.push({ node, fields });
        this.mode = KEY;
      } else {
        this.pick({ kind: 'object' });
        this.skipDepth = 1;
        this.mode = SKIP;
      }
      return i + 1;
    }
    if (c === 0x5b) {
      if (isRoot) this.kind = 'array';
      this.pick({ kind: 'array' });
      this.skipDepth = 1;
      this.mode = SKIP;
      return i + 1;
    }
    if (c === 0x22) {
      if (isRoot) this.kind = 'string';
      const leaf = node !== null && node.children === null && !isRoot;
      this.startString(leaf ? S_VALUE : S_IGNORED, this.maxValueBytes);
      return i + 1;
    }
    if (isScalarByte(c)) {
      if (isRoot) this.kind = 'scalar';
      this.scalarPicked = node !== null && node.children === null && !isRoot;
      this.scalarRaw = '';
      this.scalarOverflow = false;
      this.mode = SCALAR;
      return i;
    }
    throw new JsonScanError(`expected a value at byte ${i}`);
  }

  /** Records `v` at the picked leaf being read (if any). */
  private pick(v: Picked): void {
    const node = this.targetNode;
    if (node !== null && node.children === null && this.targetFields) this.targetFields.values.set(this.targetKey, v);
  }

  private closeObject(i: number): number {
    this.frames.pop();
    this.valueDone();
    return i + 1;
  }

  /** A value ended: back to its object, or done at the root. */
  private valueDone(): void {
    this.targetNode = null;
    this.mode = this.frames.length === 0 ? DONE : AFTER;
  }

  private startString(role: number, limit: number): void {
    this.strRole = role;
    this.mode = STRING;
    this.escaped = false;
    this.dropCapture();
    this.limit = role === S_KEY || role === S_VALUE ? limit : -1;
  }

  /** Keeps bytes of a picked string or key (up to its limit; beyond it only counts them). */
  private take(chunk: Buffer, from: number, to: number): void {
    if (this.limit < 0 || to <= from) return;
    this.partsLength += to - from;
    if (this.overflow) return;
    if (this.partsLength > this.limit) {
      this.overflow = true;
      this.parts = [];
      return;
    }
    this.parts.push(chunk.subarray(from, to));
  }

  private dropCapture(): void {
    if (this.parts.length > 0) this.parts = [];
    this.partsLength = 0;
    this.overflow = false;
  }

  private captured(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsLength);
  }

  private endString(): void {
    switch (this.strRole) {
      case S_SKIP:
        this.mode = SKIP;
        return;
      case S_KEY:
        this.keyRead(this.overflow ? undefined : this.matchKey(this.frames[this.frames.length - 1]!.node, this.captured()));
        return;
      case S_VALUE: {
        if (this.overflow) return this.valueRead({ kind: 'too_long', bytes: this.partsLength });
        const s = decodeString(this.captured());
        this.valueRead(s === undefined ? { kind: 'invalid' } : { kind: 'string', value: s });
        return;
      }
      default:
        this.valueDone();
    }
  }

  /** A key of a picked-into object was read: `key` if the spec names it, else undefined. */
  private keyRead(key: string | undefined): void {
    const frame = this.frames[this.frames.length - 1]!;
    this.dropCapture();
    this.targetNode = key === undefined ? null : frame.node.children!.get(key)!;
    this.targetKey = key ?? '';
    this.targetFields = frame.fields;
    // The last occurrence of a key wins, as in JSON.parse: forget what an earlier one gave.
    if (key !== undefined) frame.fields.values.delete(key);
    this.mode = COLON;
  }

  /** A picked string was read. */
  private valueRead(v: Picked): void {
    this.pick(v);
    this.dropCapture();
    this.valueDone();
  }

  /** {@link matchKey} on key bytes known to hold no escape, in place. */
  private matchPlainKey(chunk: Buffer, from: number, to: number): string | undefined {
    const cands = this.frames[this.frames.length - 1]!.node.byLength.get(to - from);
    if (!cands) return undefined;
    next: for (const c of cands) {
      for (let k = 0; k < c.raw.length; k++) if (chunk[from + k] !== c.raw[k]) continue next;
      return c.key;
    }
    return undefined;
  }

  /** The child key these key bytes name, or undefined. Unescaped keys are matched on bytes without decoding. */
  private matchKey(node: Node, raw: Buffer): string | undefined {
    if (!raw.includes(0x5c)) {
      for (const c of node.byLength.get(raw.length) ?? []) if (raw.equals(c.raw)) return c.key;
      return undefined;
    }
    const key = decodeString(raw);
    return key !== undefined && node.children!.has(key) ? key : undefined;
  }

  private endScalar(): void {
    if (this.scalarPicked) this.pick(scalarOf(this.scalarRaw, this.scalarOverflow));
    this.scalarRaw = '';
    this.valueDone();
  }
}
