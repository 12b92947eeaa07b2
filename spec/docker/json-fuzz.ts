/**
 * Random JSON texts for the fuzz specs of the byte-level scanners (src/docker/json-scan.ts and
 * what builds on it): keys that repeat, every escape (short ones, `\uXXXX` for any character,
 * surrogate pairs, `\/`), raw UTF-8 of every width, brackets and quotes inside strings, nesting,
 * and whitespace wherever JSON allows it. The truth is always `JSON.parse` of the same bytes.
 */
import { PickedFields, type FieldSpec, type Picked } from '../../src/docker/json-scan.js';
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
  const n = int(r, 4);
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

// ---- the truth: what the scanner must pick, from JSON.parse's tree ----

export type Plain = { [k: string]: Picked | Plain };

function pickedOf(v: unknown): Picked {
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (typeof v === 'number') return { kind: 'number', value: v };
  if (v === true) return { kind: 'true' };
  if (v === false) return { kind: 'false' };
  if (v === null) return { kind: 'null' };
  return Array.isArray(v) ? { kind: 'array' } : { kind: 'object' };
}

export const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What the scanner must pick, computed from JSON.parse's tree. */
export function project(v: unknown, spec: FieldSpec): Plain {
  const out: Plain = {};
  if (!isObject(v)) return out;
  for (const key of Object.keys(spec)) {
    if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
    const sub = spec[key]!;
    const x = v[key];
    if (sub === true) out[key] = pickedOf(x);
    else if (isObject(x)) out[key] = project(x, sub);
  }
  return out;
}

export function plain(f: PickedFields): Plain {
  const out: Plain = {};
  for (const [k, v] of f.values) out[k] = v instanceof PickedFields ? plain(v) : v;
  return out;
}

