/**
 * Cutting text short, three ways, each for one purpose: {@link clip} fits a value into a column
 * (code points, as MySQL counts utf8mb4 characters; no marker), {@link ellipsize} shortens a
 * message a person reads (with a `…`), {@link truncateForLog} shortens untrusted text quoted in a
 * log line or a refusal detail (and says how long it was).
 */

/** The length of `s` in code points, as MySQL counts utf8mb4 characters (a surrogate pair is one). */
export function charLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Cuts `s` to at most `max` characters (code points, as MySQL counts utf8mb4), without a marker. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, max).join('');
}

/** `s` unchanged if it has at most `max` UTF-16 units, else cut so that with a trailing `…` it has `max`. */
export function ellipsize(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Shortens untrusted text for a log line or error: the first `max` units and the original length. */
export function truncateForLog(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}...(${s.length} chars)`;
}
