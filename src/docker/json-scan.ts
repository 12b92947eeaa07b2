/**
 * A resumable byte-level scanner for ONE JSON value that picks a few fields out of it without
 * materialising it: the bytes of everything else are stepped over as they stream in (strings are
 * skipped with a native search for the closing quote), so a 300 MB label costs no memory. The
 * values it picks are exactly what `JSON.parse` would give for them (duplicate keys: the last one
 * wins, as in `JSON.parse`), which `spec/docker/json-array-stream.scan.spec.ts` checks against
 * `JSON.parse` on random documents.
 *
 * It decides whether a container list entry is worth parsing at all and reads the entry's item
 * without parsing it (src/docker/list-entry.ts, src/docker/items.ts `itemFromPicked`), and finds
 * the container of an oversized entry or event line.
 */

/**
 * What to pick under one key: `true` picks the value there; a {@link FieldSpec} descends into an
 * object value; {@link each}`(spec)` descends into every element of an array value.
 */
export type Spec = true | FieldSpec | EachSpec;

/** What to pick from an object, by key. */
export interface FieldSpec {
  readonly [key: string]: Spec;
}

/** Descends into every element of an array value, keeping at most `maxItems` of them; see {@link each}. */
export class EachSpec {
  constructor(
    readonly element: Spec,
    readonly maxItems: number,
  ) {}
}

/**
 * `each(spec)`: the value at this key is an array, and `spec` applies to every element, e.g.
 * `{ Names: each(true), Ports: each({ PublicPort: true }) }`. The elements are kept in order
 * ({@link PickedArray}), the first `maxItems` of them: the others are stepped over like unpicked
 * content and only counted, so memory stays bounded whatever the array's length.
 */
export function each(element: Spec, opts: { maxItems?: number } = {}): EachSpec {
  return new EachSpec(element, opts.maxItems ?? 256);
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

/** What was picked for one value: the value itself, the fields of an object, or the elements of an array. */
export type PickedValue = Picked | PickedFields | PickedArray;

/** The keys of an object of the spec, by position. */
interface KeyIndex {
  readonly names: readonly string[];
  readonly slotOf: ReadonlyMap<string, number>;
}

const NO_KEYS: KeyIndex = { names: [], slotOf: new Map() };

/**
 * The fields picked under one object of the spec: a key maps to a value, or to the fields of a
 * nested object, or to the elements of an array. A key the spec descends into (an object or
 * {@link each}) whose value is of another kind is left out, as if absent.
 */
export class PickedFields {
  /**
   * What was picked at the spec's keys, by their position in the spec (an array, not a map: a
   * list has 100,000 entries, each with a few of these).
   * @internal written by {@link JsonFieldScanner}
   */
  readonly slots: Array<PickedValue | undefined>;

  /** @internal made by {@link JsonFieldScanner} for an object of the spec */
  constructor(private readonly keys: KeyIndex = NO_KEYS) {
    this.slots = new Array<PickedValue | undefined>(keys.names.length);
  }

  /** What was picked at `key`, or undefined when absent (or not a key of the spec). */
  get(key: string): PickedValue | undefined {
    const slot = this.keys.slotOf.get(key);
    return slot === undefined ? undefined : this.slots[slot];
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** The keys picked, with what was picked there, in the spec's order. */
  *entries(): IterableIterator<[string, PickedValue]> {
    for (let k = 0; k < this.slots.length; k++) {
      const v = this.slots[k];
      if (v !== undefined) yield [this.keys.names[k]!, v];
    }
  }

  /** How many keys were picked. */
  get size(): number {
    let n = 0;
    for (const v of this.slots) if (v !== undefined) n++;
    return n;
  }

  /** The value at `key`, or undefined when absent (or when the spec descends there). */
  value(key: string): Picked | undefined {
    const v = this.get(key);
    return v instanceof PickedFields || v instanceof PickedArray ? undefined : v;
  }

  /** The nested object at `key`, or undefined when absent or not an object. */
  object(key: string): PickedFields | undefined {
    const v = this.get(key);
    return v instanceof PickedFields ? v : undefined;
  }

  /** The array at `key` (where the spec says {@link each}), or undefined when absent or not an array. */
  array(key: string): PickedArray | undefined {
    const v = this.get(key);
    return v instanceof PickedArray ? v : undefined;
  }

  /** The string at `key`, or undefined when absent or not a string. */
  string(key: string): string | undefined {
    const v = this.value(key);
    return v?.kind === 'string' ? v.value : undefined;
  }
}

/**
 * The elements of an array picked with {@link each}, in order. Each element is there: its fields
 * (an object where the spec descends into objects), its elements (an array under `each(each(..))`),
 * or else the element itself as `true` would pick it (a `null` port, a number among the names).
 */
export class PickedArray {
  readonly items: PickedValue[] = [];
  /** How many elements the array has: more than `items` holds when it had more than `maxItems`. */
  count = 0;

  /** Whether every element was kept (false: too many, only the first `maxItems` are in `items`). */
  get complete(): boolean {
    return this.count === this.items.length;
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
  /** The keys when the spec descends into an object (a key's slot is its position); null otherwise. */
  readonly keys: KeyIndex | null;
  /** The children's nodes, by slot. */
  readonly children: readonly Node[];
  /** The element's node when the spec descends into an array ({@link each}); null otherwise. */
  readonly element: Node | null;
  readonly maxItems: number;
  /** The children's slots by the byte length of their key as UTF-8, for matching unescaped keys without decoding. */
  readonly byLength: ReadonlyArray<Array<{ raw: Buffer; slot: number }> | undefined>;
  /** Longest key of a child as JSON may write it (every character as `\uXXXX`). */
  readonly maxKeyBytes: number;
}

function compile(spec: Spec): Node {
  if (spec === true) return LEAF;
  if (spec instanceof EachSpec) return { keys: null, children: [], element: compile(spec.element), maxItems: spec.maxItems, byLength: [], maxKeyBytes: 0 };
  const names = Object.keys(spec);
  const slotOf = new Map<string, number>();
  const children: Node[] = [];
  const byLength: Array<Array<{ raw: Buffer; slot: number }> | undefined> = [];
  let maxKeyBytes = 0;
  names.forEach((key, slot) => {
    slotOf.set(key, slot);
    children.push(compile(spec[key]!));
    const raw = Buffer.from(key, 'utf8');
    (byLength[raw.length] ??= []).push({ raw, slot });
    maxKeyBytes = Math.max(maxKeyBytes, 6 * key.length);
  });
  return { keys: { names, slotOf }, children, element: null, maxItems: 0, byLength, maxKeyBytes };
}

const LEAF: Node = { keys: null, children: [], element: null, maxItems: 0, byLength: [], maxKeyBytes: 0 };

// Modes of the byte loop.
const VALUE = 0; // expecting a value
const KEY = 1; // in a picked-into object: expecting a key or `}`
const COLON = 2;
const AFTER = 3; // in a picked-into object, after a member: `,` or `}`
const STRING = 4;
const SCALAR = 5;
const SKIP = 6; // stepping over an object or array nobody picks from
const DONE = 7;
const ELEMENT = 8; // in a picked-into array: expecting an element or `]`
const ELEMENT_AFTER = 9; // in a picked-into array, after an element: `,` or `]`

// What the string being read is.
const S_SKIP = 0; // inside a skipped container
const S_KEY = 1; // a key of a picked-into object
const S_VALUE = 2; // a picked value (at a picked key, or an element of a picked array)
const S_IGNORED = 3; // a value nobody picks (a member of a picked-into object, or the root)

const MAX_SCALAR_BYTES = 64;

/** One object or array being picked into (the root's object included). */
interface Frame {
  node: Node;
  /** The object's fields, or undefined for an array. */
  fields: PickedFields | undefined;
  /** The array's elements, or undefined for an object. */
  array: PickedArray | undefined;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Bytes that can belong to a JSON number or literal (anything else ends one). */
function isScalarByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2e || c === 0x2b || c === 0x2d;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

// The picks without a value, shared: the scanner allocates nothing for them (most values of an
// entry are stepped over, and stepping over an object or array passes through here).
const TRUE: Picked = Object.freeze({ kind: 'true' });
const FALSE: Picked = Object.freeze({ kind: 'false' });
const NULL: Picked = Object.freeze({ kind: 'null' });
const OBJECT: Picked = Object.freeze({ kind: 'object' });
const ARRAY: Picked = Object.freeze({ kind: 'array' });
const INVALID: Picked = Object.freeze({ kind: 'invalid' });

function scalarOf(raw: string, overflow: boolean): Picked {
  // Longer than any number a daemon writes: a number (value unknown) if it starts like one.
  if (overflow) return /^-?\d/.test(raw) ? { kind: 'number', value: Number.NaN } : INVALID;
  if (raw === 'true') return TRUE;
  if (raw === 'false') return FALSE;
  if (raw === 'null') return NULL;
  return NUMBER.test(raw) ? { kind: 'number', value: Number(raw) } : INVALID;
}

/**
 * The index just past the quote that closes a string whose inner bytes start at `i` (no escape
 * pending there); -1 when the chunk ends inside the string, -2 when it ends on a backslash that
 * escapes the next chunk's first byte.
 */
function closingQuote(chunk: Buffer, i: number): number {
  const n = chunk.length;
  // Most strings are short and plain: a loop finds their end sooner than a native call.
  const stop = Math.min(n, i + 24);
  for (let k = i; k < stop; k++) {
    const c = chunk[k]!;
    if (c === 0x22) return k + 1;
    if (c === 0x5c) break;
  }
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

/** The JSON integer `chunk[from..to)` of at most 15 digits, exactly as `Number()` reads it; undefined for anything else. */
function integerOf(chunk: Buffer, from: number, to: number): number | undefined {
  const negative = chunk[from] === 0x2d;
  const start = negative ? from + 1 : from;
  const digits = to - start;
  // No leading zero (JSON has none but `0` itself), and few enough digits to add up exactly.
  if (digits < 1 || digits > 15 || (digits > 1 && chunk[start] === 0x30)) return undefined;
  let v = 0;
  for (let k = start; k < to; k++) {
    const d = chunk[k]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return negative ? -v : v;
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
 * Scans one JSON value fed in chunks and picks the fields of `spec`. Memory: the fields picked
 * (at most `maxItems` elements per picked array), at most `maxValueBytes` of the string being
 * picked, and one small frame per level of the spec, whatever the size or the depth of the value.
 */
export class JsonFieldScanner {
  private readonly root: Node;
  private readonly maxValueBytes: number;
  private mode: number = VALUE;
  /** The frames `0..depth-1` are open; the array keeps closed ones for reuse (a list reads 100,000 entries). */
  private readonly frames: Frame[] = [];
  private depth = 0;
  private picked: PickedFields;
  private kind: RootKind;
  /**
   * Where the value being read goes: the node picked there (null: nowhere), whether it is picked
   * as a value when the spec does not descend into its kind, and the slot of its key in the
   * frame's fields or the array it is appended to.
   */
  private targetNode: Node | null;
  private targetLeaf = false;
  private targetSlot = -1;
  private targetFields: PickedFields | undefined;
  private targetArray: PickedArray | undefined;
  private strRole = S_IGNORED;
  private escaped = false;
  private readonly parts: Buffer[] = [];
  private partsLength = 0;
  private overflow = false;
  private limit = 0;
  private skipDepth = 0;
  private scalarRaw = '';
  private scalarPicked = false;
  private scalarOverflow = false;

  constructor(spec: FieldSpec, opts: { maxValueBytes?: number } = {}) {
    this.root = compile(spec);
    this.picked = new PickedFields(this.root.keys!);
    this.maxValueBytes = opts.maxValueBytes ?? 4096;
    this.targetNode = this.root;
  }

  /** Ready for the next value (the fields of the last one stay with whoever holds them). */
  reset(): void {
    this.mode = VALUE;
    while (this.depth > 0) this.popFrame();
    this.picked = new PickedFields(this.root.keys!);
    this.kind = undefined;
    this.targetNode = this.root;
    this.targetLeaf = false;
    this.targetFields = undefined;
    this.targetArray = undefined;
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
          if (this.scalarPicked && i < n && this.scalarRaw === '' && !this.scalarOverflow) {
            // The whole number is in this chunk (no bytes of it came before, kept or not): an
            // integer (a port) is read off its digits.
            const v = integerOf(chunk, from, i);
            if (v !== undefined) {
              this.pick({ kind: 'number', value: v });
              this.valueDone();
              if (this.done) return i;
              break;
            }
          }
          if (this.scalarPicked && !this.scalarOverflow) {
            if (this.scalarRaw.length + (i - from) > MAX_SCALAR_BYTES) {
              this.scalarOverflow = true;
              // Its first two bytes still tell a number from anything else, however it was cut.
              if (this.scalarRaw.length < 2) this.scalarRaw += chunk.toString('latin1', from, from + 2 - this.scalarRaw.length);
            } else this.scalarRaw += chunk.toString('latin1', from, i);
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
          this.startString(S_KEY, this.top().node.maxKeyBytes);
          return i + 1;
        }
        if (c === 0x7d) return this.closeContainer(i);
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
        if (c === 0x7d) return this.closeContainer(i);
        throw new JsonScanError(`expected ',' or '}' at byte ${i}`);
      case ELEMENT:
        // `]` right after a comma is tolerated, as `}` is after one in objects.
        if (c === 0x5d) return this.closeContainer(i);
        this.startElement();
        return this.startValue(c, i);
      case ELEMENT_AFTER:
        if (c === 0x2c) {
          this.mode = ELEMENT;
          return i + 1;
        }
        if (c === 0x5d) return this.closeContainer(i);
        throw new JsonScanError(`expected ',' or ']' at byte ${i}`);
      default:
        return i;
    }
  }

  private startValue(c: number, i: number): number {
    const node = this.targetNode;
    const isRoot = this.depth === 0;
    if (c === 0x7b) {
      if (isRoot) this.kind = 'object';
      if (node?.keys) {
        const fields = isRoot ? this.picked : new PickedFields(node.keys);
        if (!isRoot) this.place(fields);
        this.pushFrame(node, fields, undefined);
        this.mode = KEY;
      } else {
        this.pick(OBJECT);
        this.skipDepth = 1;
        this.mode = SKIP;
      }
      return i + 1;
    }
    if (c === 0x5b) {
      if (isRoot) this.kind = 'array';
      if (node?.element && !isRoot) {
        const array = new PickedArray();
        this.place(array);
        this.pushFrame(node, undefined, array);
        this.mode = ELEMENT;
      } else {
        this.pick(ARRAY);
        this.skipDepth = 1;
        this.mode = SKIP;
      }
      return i + 1;
    }
    if (c === 0x22) {
      if (isRoot) this.kind = 'string';
      this.startString(this.targetLeaf ? S_VALUE : S_IGNORED, this.maxValueBytes);
      return i + 1;
    }
    if (isScalarByte(c)) {
      if (isRoot) this.kind = 'scalar';
      this.scalarPicked = this.targetLeaf;
      this.scalarRaw = '';
      this.scalarOverflow = false;
      this.mode = SCALAR;
      return i;
    }
    throw new JsonScanError(`expected a value at byte ${i}`);
  }

  private top(): Frame {
    return this.frames[this.depth - 1]!;
  }

  private pushFrame(node: Node, fields: PickedFields | undefined, array: PickedArray | undefined): void {
    const f = this.frames[this.depth];
    if (f) {
      f.node = node;
      f.fields = fields;
      f.array = array;
    } else this.frames.push({ node, fields, array });
    this.depth++;
  }

  private popFrame(): void {
    const f = this.frames[--this.depth]!;
    // What was picked belongs to its holder now.
    f.fields = undefined;
    f.array = undefined;
  }

  /** Records `v` where the value being read is picked as a value (if it is). */
  private pick(v: Picked): void {
    if (this.targetLeaf) this.place(v);
  }

  /** Records what was picked for the value being read: at its key, or appended to its array. */
  private place(v: PickedValue): void {
    if (this.targetArray) this.targetArray.items.push(v);
    else this.targetFields!.slots[this.targetSlot] = v;
  }

  /** An element of the picked-into array on top starts: it is picked unless the array already has `maxItems`. */
  private startElement(): void {
    const frame = this.top();
    const array = frame.array!;
    array.count++;
    if (array.items.length < frame.node.maxItems) {
      this.targetNode = frame.node.element;
      // An element is always recorded: as a value when the spec does not descend into its kind.
      this.targetLeaf = true;
      this.targetArray = array;
    } else {
      this.targetNode = null;
      this.targetLeaf = false;
      this.targetArray = undefined;
    }
    this.mode = VALUE;
  }

  /** `}` or `]` closes the object or array on top. */
  private closeContainer(i: number): number {
    this.popFrame();
    this.valueDone();
    return i + 1;
  }

  /** A value ended: back to its object or array, or done at the root. */
  private valueDone(): void {
    this.targetNode = null;
    this.targetLeaf = false;
    this.targetArray = undefined;
    this.mode = this.depth === 0 ? DONE : this.top().array ? ELEMENT_AFTER : AFTER;
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
      if (this.parts.length > 0) this.parts.length = 0;
      return;
    }
    this.parts.push(chunk.subarray(from, to));
  }

  private dropCapture(): void {
    if (this.parts.length > 0) this.parts.length = 0;
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
        this.keyRead(this.overflow ? -1 : this.matchKey(this.top().node, this.captured()));
        return;
      case S_VALUE: {
        if (this.overflow) return this.valueRead({ kind: 'too_long', bytes: this.partsLength });
        const s = decodeString(this.captured());
        this.valueRead(s === undefined ? INVALID : { kind: 'string', value: s });
        return;
      }
      default:
        this.valueDone();
    }
  }

  /** A key of a picked-into object was read: the slot of the spec's key it names, or -1. */
  private keyRead(slot: number): void {
    const frame = this.top();
    this.dropCapture();
    const node = slot < 0 ? null : frame.node.children[slot]!;
    this.targetNode = node;
    this.targetLeaf = node !== null && node.keys === null && node.element === null;
    this.targetSlot = slot;
    this.targetFields = frame.fields;
    this.targetArray = undefined;
    // The last occurrence of a key wins, as in JSON.parse: forget what an earlier one gave.
    if (slot >= 0) frame.fields!.slots[slot] = undefined;
    this.mode = COLON;
  }

  /** A picked string was read. */
  private valueRead(v: Picked): void {
    this.pick(v);
    this.dropCapture();
    this.valueDone();
  }

  /** {@link matchKey} on key bytes known to hold no escape, in place. */
  private matchPlainKey(chunk: Buffer, from: number, to: number): number {
    const cands = this.top().node.byLength[to - from];
    if (!cands) return -1;
    next: for (const c of cands) {
      for (let k = 0; k < c.raw.length; k++) if (chunk[from + k] !== c.raw[k]) continue next;
      return c.slot;
    }
    return -1;
  }

  /** The slot of the child key these key bytes name, or -1. Unescaped keys are matched on bytes without decoding. */
  private matchKey(node: Node, raw: Buffer): number {
    if (!raw.includes(0x5c)) {
      for (const c of node.byLength[raw.length] ?? []) if (raw.equals(c.raw)) return c.slot;
      return -1;
    }
    const key = decodeString(raw);
    return key === undefined ? -1 : (node.keys!.slotOf.get(key) ?? -1);
  }

  private endScalar(): void {
    if (this.scalarPicked) this.pick(scalarOf(this.scalarRaw, this.scalarOverflow));
    this.scalarRaw = '';
    this.valueDone();
  }
}
