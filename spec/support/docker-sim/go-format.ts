/**
 * How Go writes things, byte for byte: encoding/json strings (HTML-safe escapes) and maps (sorted keys),
 * time.RFC3339Nano, and go-units' HumanDuration. Everything the simulator sends goes through these, which is
 * what lets the conformance spec compare its output with a real daemon's.
 */

const ZERO_TIME = '0001-01-01T00:00:00Z';
const HTML_CHARS = /[<>&\u2028\u2029]/;
const HTML_CHARS_G = /[<>&\u2028\u2029]/g;

/** Characters that make a string need more than plain quoting (Go also escapes <, >, & and U+2028/9). */
const UNSAFE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

/** JSON string the way Go's encoding/json writes it (HTML-safe escapes). */
export function gs(s: string): string {
  if (!UNSAFE.test(s)) return '"' + s + '"';
  const j = JSON.stringify(s);
  return HTML_CHARS.test(j) ? goEscape(j) : j;
}

function goEscape(json: string): string {
  return json.replace(HTML_CHARS_G, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Any JSON value as Go writes it (the caller orders map keys: see sortedObject). */
export function goJson(v: unknown): string {
  const j = JSON.stringify(v);
  return HTML_CHARS.test(j) ? goEscape(j) : j;
}

/** JSON of label keys (a small, repetitive set), bounded. */
const keyJsonCache = new Map<string, string>();
function keyJson(k: string): string {
  let j = keyJsonCache.get(k);
  if (j === undefined) {
    if (keyJsonCache.size >= 10_000) keyJsonCache.clear();
    keyJsonCache.set(k, (j = gs(k)));
  }
  return j;
}

/** A string map (keys already sorted) as Go writes map[string]string. */
export function mapJson(m: Record<string, string>): string {
  let out = '{';
  let first = true;
  for (const k in m) {
    out += (first ? '' : ',') + keyJson(k) + ':' + gs(m[k]!);
    first = false;
  }
  return out + '}';
}

/** A copy with the keys in Go's map order (sorted) and every value a string. */
export function sortedObject(o: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!o) return out;
  for (const k of Object.keys(o).sort()) out[k] = String(o[k]);
  return out;
}

/** `o` itself when its keys are already in Go's (sorted) order and all values are strings, else a sorted copy. */
export function sortedOrSame(o: Record<string, string> | undefined): Record<string, string> {
  if (!o) return {};
  let prev = '';
  for (const k in o) {
    if (k < prev || typeof o[k] !== 'string') return sortedObject(o);
    prev = k;
  }
  return o;
}

/** RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's time.RFC3339Nano. */
export function rfc3339Nano(ms: number): string {
  if (!ms) return ZERO_TIME;
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString();
  const subNs = Math.min(999_999, Math.round((ms - whole) * 1e6));
  const frac = (String(whole % 1000).padStart(3, '0') + String(subNs).padStart(6, '0')).replace(/0+$/, '');
  return iso.slice(0, 19) + (frac ? '.' + frac : '') + 'Z';
}

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}
