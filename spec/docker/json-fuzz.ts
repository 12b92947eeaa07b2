/**
 * Random JSON texts for the fuzz specs of the byte-level scanners (src/docker/json-scan.ts and
 * what builds on it): keys that repeat, every escape (short ones, `\uXXXX` for any character,
 * surrogate pairs, `\/`), raw UTF-8 of every width, brackets and quotes inside strings, nesting,
 * and whitespace wherever JSON allows it. The truth is always `JSON.parse` of the same bytes.
 */
import { EachSpec, PickedArray, PickedFields, type FieldSpec, type Picked, type PickedValue } from '../../src/docker/json-scan.js';
import { DISPATCH_LABELS, LABEL_COMPOSE_PROJECT, LABEL_MANAGED } from '../../src/domain/labels.js';

export type Rnd = () => number;

/** A seeded generator (same sequence for the same seed). */
export function seeded(seed: number): Rnd {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

export const pick = <T>(r: Rnd, a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
export const int = (r: Rnd, n: number): number => Math.floor(r() * n);

const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '{', '}', '[', ']', ',', ':', '\n', '\t', '\u0001', '\u001f', 'é', 'ß', '東', '\u2028', '🚀', 't', 'r', 'u', 'e', '-', '.'];
const WORDS = ['true', 'false', 'null', 'tinyforge-', 'tinyforge-web', 'Tinyforge-x', 'tinyforge', '', 'x', LABEL_MANAGED, LABEL_COMPOSE_PROJECT, '"tinyforge.managed":"true"', '{"Labels":{}}'];

/** Some whitespace, often none. */
export function ws(r: Rnd): string {
  if (r() < 0.7) return '';
  let s = '';
  for (let k = 1 + int(r, 3); k > 0; k--) s += pick(r, [' ', '\n', '\r', '\t']);
  return s;
}

/** A random string value. */
export function randomString(r: Rnd, maxLen = 12): string {
  if (r() < 0.3) return pick(r, WORDS);
  let s = '';
  for (let k = int(r, maxLen + 1); k > 0; k--) s += pick(r, CHARS);
  return s;
}

/** `s` as a JSON string literal, each character written raw or escaped at random (always valid JSON). */
export function jsonString(r: Rnd, s: string): string {
  let out = '"';
  for (let k = 0; k < s.length; k++) {
    const code = s.charCodeAt(k);
    const ch = s[k]!;
    const hi = code >= 0xd800 && code <= 0xdbff && k + 1 < s.length;
    const u = (c: number) => `\\u${c.toString(16).padStart(4, '0')}`;
    const upper = r() < 0.5;
    const uu = (c: number) => (upper ? u(c).toUpperCase().replace('\\U', '\\u') : u(c));
    if (hi) {
      // A surrogate pair: raw (4 bytes of UTF-8) or two escapes.
      out += r() < 0.6 ? s.slice(k, k + 2) : uu(code) + uu(s.charCodeAt(k + 1));
      k++;
      continue;
    }
    if (ch === '"') out += r() < 0.7 ? '\\"' : uu(code);
    else if (ch === '\\') out += r() < 0.7 ? '\\\\' : uu(code);
    else if (code < 0x20) out += ch === '\n' && r() < 0.5 ? '\\n' : ch === '\t' && r() < 0.5 ? '\\t' : uu(code);
    else if (ch === '/' && r() < 0.5) out += '\\/';
    else out += r() < 0.15 ? uu(code) : ch;
  }
  return out + '"';
}

/** A random scalar as JSON text. */
export function jsonScalar(r: Rnd): string {
  switch (int(r, 7)) {
    case 0:
      return 'true';
    case 1:
      return 'false';
    case 2:
      return 'null';
    case 3:
      return String(int(r, 100000) - 500);
    case 4:
      return `${int(r, 100)}.${int(r, 1000)}e${pick(r, ['', '+', '-'])}${int(r, 5)}`;
    case 5:
      return '-0';
    default:
      return jsonString(r, randomString(r));
  }
}

/** A random value: scalars, and objects and arrays down to `depth`. Object keys come from `keys` or anywhere. */
export function jsonValue(r: Rnd, depth: number, keys: readonly string[] = []): string {
  const roll = r();
  if (depth <= 0 || roll < 0.45) return jsonScalar(r);
  if (roll < 0.75) return jsonObject(r, depth, keys);
  // Now and then longer than the few elements a spec may keep (each(..., { maxItems })).
  const n = r() < 0.1 ? int(r, 12) : int(r, 4);
  const items: string[] = [];
  for (let k = 0; k < n; k++) items.push(ws(r) + jsonValue(r, depth - 1, keys) + ws(r));
  return `[${items.join(',') || ws(r)}]`;
}

/** A random object; keys may repeat (the last one wins in JSON.parse). */
export function jsonObject(r: Rnd, depth: number, keys: readonly string[] = [], members: string[] = []): string {
  const n = int(r, 5);
  const all = [...members];
  for (let k = 0; k < n; k++) {
    const key = keys.length > 0 && r() < 0.7 ? pick(r, keys) : randomString(r, 6);
    all.splice(int(r, all.length + 1), 0, member(r, key, jsonValue(r, depth - 1, keys)));
  }
  return `{${all.join(',') || ws(r)}}`;
}

export function member(r: Rnd, key: string, value: string): string {
  return `${ws(r)}${jsonString(r, key)}${ws(r)}:${ws(r)}${value}${ws(r)}`;
}

/** A label value of any JSON kind, biased towards the ones that decide candidacy. */
export function labelValue(r: Rnd): string {
  switch (int(r, 9)) {
    case 0:
      return jsonString(r, 'true');
    case 1:
      return jsonString(r, `tinyforge-${randomString(r, 4)}`);
    case 2:
      return pick(r, ['true', 'false', 'null', '0', '1e3']);
    case 3:
      return `[${ws(r)}${pick(r, ['"true"', 'true', '"tinyforge-x"', '["tinyforge-y"]', '1', '"true",1'])}${ws(r)}]`;
    case 4:
      return jsonObject(r, 2, ['true', 'tinyforge-']);
    default:
      return jsonString(r, randomString(r));
  }
}

/** A container list entry: `Id`, `Labels` (dispatch labels of any kind, repeated keys, sometimes two `Labels`) and noise. */
export function listEntry(r: Rnd): string {
  const members: string[] = [];
  if (r() < 0.9) members.push(member(r, 'Id', r() < 0.9 ? jsonString(r, `c${int(r, 1e9).toString(16)}`) : jsonScalar(r)));
  const labelObjects = r() < 0.1 ? 2 : r() < 0.95 ? 1 : 0;
  for (let k = 0; k < labelObjects; k++) {
    const labels: string[] = [];
    for (let j = int(r, 6); j > 0; j--) labels.push(member(r, pick(r, [...DISPATCH_LABELS, LABEL_MANAGED, LABEL_COMPOSE_PROJECT, 'com.example.huge', 'tinyforge.managed ']), labelValue(r)));
    members.push(member(r, 'Labels', r() < 0.93 ? `{${labels.join(',') || ws(r)}}` : pick(r, ['null', '[]', '"x"', '1'])));
  }
  return ws(r) + jsonObject(r, 3, ['Names', 'State', 'Ports', 'Labels', 'Id'], members) + ws(r);
}

// ---- whole list entries, for the item read from picked fields (src/docker/items.ts itemFromPicked) ----

/**
 * Options of {@link itemEntry}. `decidable`: only what the picked fields can always map (no
 * object or array where a string is expected, no string or number longer than is kept, no array
 * longer than is kept), so the item must never need the parse.
 */
export interface ItemEntryOptions {
  decidable?: boolean;
  /** Only the fields the item is made of, without the daemon's other fields and random members. */
  small?: boolean;
}

/** Where `itemFromListEntry` expects a string: usually `s`, else any scalar (numbers, booleans, null; escapes anywhere). */
function stringish(r: Rnd, s: string, o: ItemEntryOptions): string {
  const roll = int(r, 20);
  if (roll === 0) return jsonScalar(r);
  if (roll === 1) return pick(r, ['null', 'true', 'false', '0', '-0', '1e21', '12.50', '-3', '1E400', '0.1e-7']);
  if (!o.decidable) {
    // What only the parse can map: String() of an array joins it, of an object may throw (an own
    // `toString` key), a number or a string longer than is kept.
    if (roll === 2) return pick(r, ['["a","b"]', '[]', '[null,["x"]]', '{}', '{"toString":"x"}', '{"valueOf":1}', '{"a":[1]}']);
    if (roll === 3) return pick(r, ['1'.repeat(70), '-0.' + '0'.repeat(80) + '1', jsonString(r, 'x'.repeat(5000)), `"${'\\u0041'.repeat(700)}"`]);
  }
  return jsonString(r, s);
}

/** A name as a daemon writes it (`/name`), or an odd one. */
function nameValue(r: Rnd, o: ItemEntryOptions): string {
  switch (int(r, 8)) {
    case 0:
      return jsonString(r, '');
    case 1:
      return jsonString(r, '/');
    case 2:
      return jsonString(r, randomString(r, 8));
    case 3:
      return stringish(r, '//' + randomString(r, 4), o);
    default:
      return jsonString(r, '/' + randomString(r, 10));
  }
}

/** A port number where a daemon writes one, or another kind (numeric strings count for portNumber). */
function portValue(r: Rnd, o: ItemEntryOptions): string {
  switch (int(r, 14)) {
    case 0:
      return pick(r, ['0', '-1', '65535', '65536', '80.5', '1e3', '8e1', '-0', '1E400']);
    case 1:
      return jsonString(r, pick(r, ['8080', '080', ' 80', '80a', '', '65536', '0', '٣', '1e3', '00000000000000000000443']));
    case 2:
      return pick(r, ['true', 'false', 'null', '{}', '[]', '[80]', '{"PublicPort":80}']);
    case 3:
      // Longer than is kept: a number (value unknown) or a string (it might be digits after zeros).
      if (!o.decidable) return pick(r, ['8'.repeat(70), '80.' + '0'.repeat(70), `"${'0'.repeat(5000)}80"`]);
      return String(1 + int(r, 65535));
    default:
      return String(1 + int(r, 65535));
  }
}

function portEntry(r: Rnd, o: ItemEntryOptions): string {
  const roll = int(r, 12);
  if (roll === 0) return 'null';
  if (roll === 1) return pick(r, ['[]', '"80"', '80', 'true', '[{"PublicPort":80}]']);
  const members: string[] = [];
  if (r() < 0.9) members.push(member(r, 'PrivatePort', portValue(r, o)));
  if (r() < 0.6) members.push(member(r, 'PublicPort', portValue(r, o)));
  if (r() < 0.1) members.push(member(r, pick(r, ['PublicPort', 'PrivatePort']), portValue(r, o)));
  if (r() < 0.5) members.push(member(r, 'IP', jsonString(r, pick(r, ['0.0.0.0', '::', '127.0.0.1']))));
  if (r() < 0.7) members.push(member(r, 'Type', jsonString(r, pick(r, ['tcp', 'udp', 'sctp']))));
  // Noise, with the port keys nested (not the port's own).
  return jsonObject(r, 2, ['PublicPort', 'PrivatePort', 'x'], members);
}

/** An array of `make()`; now and then with more elements than `LIST_ENTRY_PICK` keeps (unless decidable). */
function jsonArrayOf(r: Rnd, o: ItemEntryOptions, make: () => string, usual: number): string {
  const n = !o.decidable && r() < 0.03 ? 250 + int(r, 20) : int(r, usual + 1);
  const items: string[] = [];
  for (let k = 0; k < n; k++) items.push(ws(r) + make() + ws(r));
  return `[${items.join(',') || ws(r)}]`;
}

/** The labels object of an entry: dispatch labels of any kind (but where it must be decidable), other labels, nested values. */
function labelsObject(r: Rnd, o: ItemEntryOptions): string {
  const labels: string[] = [];
  for (let j = int(r, 8); j > 0; j--) {
    const key = pick(r, [...DISPATCH_LABELS, 'com.example.huge', 'tinyforge.managed ', 'com.docker.compose.config-hash', 'toString']);
    let value = labelValue(r);
    // An array or object as a dispatch label's value: String() of it only the parse can tell.
    if (o.decidable && DISPATCH_LABELS.includes(key) && /^\s*[[{]/.test(value)) value = jsonString(r, randomString(r));
    labels.push(member(r, key, value));
  }
  return `{${labels.join(',') || ws(r)}}`;
}

/**
 * A `GET /containers/json` entry for the item mapping: every field `itemFromListEntry` reads, of
 * every JSON kind (strings with escapes and any unicode, numbers, booleans, null where strings are
 * expected, ports as strings, null ports), keys that repeat (the last one wins), the noise a daemon
 * adds (with the same keys nested inside it), sometimes a field missing or of another kind.
 */
export function itemEntry(r: Rnd, o: ItemEntryOptions = {}): string {
  const members: string[] = [];
  const add = (key: string, value: () => string, p = 0.92) => {
    if (r() < p) members.push(member(r, key, value()));
    // A repeated key: JSON.parse keeps the last one.
    if (r() < 0.05) members.splice(int(r, members.length + 1), 0, member(r, key, value()));
  };
  add('Id', () => stringish(r, int(r, 1e9).toString(16).padStart(8, '0').repeat(8), o));
  add('Names', () => (r() < 0.08 ? stringish(r, '/n', o) : jsonArrayOf(r, o, () => nameValue(r, o), 3)));
  add('Image', () => stringish(r, pick(r, ['nginx:1.27-alpine', 'ghcr.io/tinyforge/app:1.4.2', 'sha256:' + 'ab'.repeat(32), randomString(r)]), o));
  const noise = o.small ? 0 : 0.5;
  add('ImageID', () => jsonString(r, 'sha256:' + 'cd'.repeat(32)), noise);
  add('Command', () => jsonString(r, randomString(r, 20)), noise);
  add('Created', () => String(1_700_000_000 + int(r, 1e7)), noise);
  add('Ports', () => (r() < 0.08 ? pick(r, ['null', '{}', '"80/tcp"', '80']) : jsonArrayOf(r, o, () => portEntry(r, o), 4)));
  add('Labels', () => (r() < 0.07 ? pick(r, ['null', '[]', '"x"', '1', '[{"tinyforge.managed":"true"}]']) : labelsObject(r, o)));
  add('State', () => stringish(r, pick(r, ['running', 'Exited', 'CREATED', 'paused', 'İstanbul', 'ǅ', '']), o));
  add('Status', () => jsonString(r, 'Up 3 hours'), noise);
  add('HostConfig', () => jsonObject(r, 3, ['NetworkMode', 'Names', 'Ports', 'Labels', 'State']), noise);
  add('NetworkSettings', () => jsonValue(r, 4, ['Networks', 'Ports', 'Names', 'Id', 'PublicPort']), noise);
  add('Mounts', () => (r() < 0.03 ? `[${'{"Type":"volume","Name":"v"},'.repeat(400)}{}]` : jsonValue(r, 3, ['Names', 'Ports', 'Id'])), noise);
  if (o.small) return `{${members.join(',') || ws(r)}}`;
  // Noise members; unless decidable, some take the keys above (with values of any kind).
  return ws(r) + jsonObject(r, 3, o.decidable ? [] : ['Names', 'State', 'Ports', 'Labels', 'Id', 'Image'], members) + ws(r);
}

// ---- the truth: what the scanner must pick, from JSON.parse's tree ----

/** A picked array as plain data: its kept elements and how many it has. */
export interface PlainArray {
  items: PlainValue[];
  count: number;
}
export type PlainValue = Picked | Plain | PlainArray;
export type Plain = { [k: string]: PlainValue };

export function pickedOf(v: unknown): Picked {
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (typeof v === 'number') return { kind: 'number', value: v };
  if (v === true) return { kind: 'true' };
  if (v === false) return { kind: 'false' };
  if (v === null) return { kind: 'null' };
  return Array.isArray(v) ? { kind: 'array' } : { kind: 'object' };
}

export const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What the scanner must pick for the array `v` under `each(...)`. */
function projectArray(v: unknown[], spec: EachSpec): PlainArray {
  const items = v.slice(0, spec.maxItems).map((e): PlainValue => {
    const sub = spec.element;
    if (sub !== true && sub instanceof EachSpec && Array.isArray(e)) return projectArray(e, sub);
    if (sub !== true && !(sub instanceof EachSpec) && isObject(e)) return project(e, sub);
    // An element the spec does not descend into is picked as a value.
    return pickedOf(e);
  });
  return { items, count: v.length };
}

/** What the scanner must pick, computed from JSON.parse's tree. */
export function project(v: unknown, spec: FieldSpec): Plain {
  const out: Plain = {};
  if (!isObject(v)) return out;
  for (const key of Object.keys(spec)) {
    if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
    const sub = spec[key]!;
    const x = v[key];
    if (sub === true) out[key] = pickedOf(x);
    else if (sub instanceof EachSpec) {
      if (Array.isArray(x)) out[key] = projectArray(x, sub);
    } else if (isObject(x)) out[key] = project(x, sub);
  }
  return out;
}

function plainValue(v: PickedValue): PlainValue {
  if (v instanceof PickedFields) return plain(v);
  if (v instanceof PickedArray) return { items: v.items.map(plainValue), count: v.count };
  return v;
}

export function plain(f: PickedFields): Plain {
  const out: Plain = {};
  for (const [k, v] of f.entries()) out[k] = plainValue(v);
  return out;
}
