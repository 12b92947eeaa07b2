/**
 * Just enough of a PromQL lexer to list the vector selectors of an expression (metric name plus the raw text
 * of its label matchers), for the monitoring spec. Syntax itself is checked by promtool; this only has to tell
 * metric names apart from functions, keywords, label lists (`by (...)`), strings, durations and numbers.
 */

/** One vector selector: `name{matchers}`; `name` is '' for a bare `{...}` selector. */
export interface VectorSelector {
  name: string;
  /** Text between the braces, '' when there are none. */
  matchers: string;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2']);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** Index just past the string literal that starts at `start` (a quote or backtick). */
function skipString(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) i += quote !== '`' && expr[i] === '\\' ? 2 : 1;
  if (i >= expr.length) throw new Error(`unterminated string at ${start} in: ${expr}`);
  return i + 1;
}

/** Index just past the bracket group that opens at `start`, skipping strings inside. */
function skipGroup(expr: string, start: number, open: string, close: string): number {
  let depth = 0;
  let i = start;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
    i++;
  }
  throw new Error(`unbalanced ${open}${close} at ${start} in: ${expr}`);
}

function skipSpace(expr: string, i: number): number {
  while (i < expr.length && /\s/.test(expr[i]!)) i++;
  return i;
}

/** The vector selectors of `expr`, in order of appearance. */
export function vectorSelectors(expr: string): VectorSelector[] {
  const out: VectorSelector[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '[') {
      i = skipGroup(expr, i, '[', ']'); // range or subquery: durations and Grafana interval variables
    } else if (c === '{') {
      const end = skipGroup(expr, i, '{', '}');
      out.push({ name: '', matchers: expr.slice(i + 1, end - 1).trim() });
      i = end;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(expr[i + 1] ?? ''))) {
      // Numbers, hex, exponents and durations (`offset 5m`).
      i++;
      while (i < expr.length && (/[\w.]/.test(expr[i]!) || (/[+-]/.test(expr[i]!) && /[eE]/.test(expr[i - 1]!)))) i++;
    } else if (c === '$') {
      i++; // a Grafana variable outside a string
      while (i < expr.length && /[\w{}]/.test(expr[i]!)) i++;
    } else if (/[A-Za-z_:]/.test(c)) {
      const start = i;
      while (i < expr.length && /[\w:]/.test(expr[i]!)) i++;
      const word = expr.slice(start, i);
      const lower = word.toLowerCase();
      const next = skipSpace(expr, i);
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (expr[next] === '(') i = skipGroup(expr, next, '(', ')');
      } else if (KEYWORDS.has(lower) || expr[next] === '(' || /^(by|without)\s*\(/i.test(expr.slice(next))) {
        // keyword, or a function / aggregation call (`sum by (x) (...)` included)
      } else if (expr[next] === '{') {
        const end = skipGroup(expr, next, '{', '}');
        out.push({ name: word, matchers: expr.slice(next + 1, end - 1).trim() });
        i = end;
      } else {
        out.push({ name: word, matchers: '' });
      }
    } else {
      i++; // operators, parentheses, commas, @
    }
  }
  return out;
}

/** Distinct metric names selected by `expr` (a `{__name__=...}` selector yields '__name__'). */
export function metricNames(expr: string): string[] {
  const names = vectorSelectors(expr).map((s) => (s.name === '' || /__name__/.test(s.matchers) ? '__name__' : s.name));
  return [...new Set(names)];
}
