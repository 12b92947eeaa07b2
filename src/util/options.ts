/**
 * Constructor option checks with precise messages, in p-queue's style
 * (`Expected \`workers\` to be an integer from 1 to 256, got 0`): a bad value fails at
 * construction, naming the option, the accepted range and what was passed.
 */

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

/** `value` as an integer in [min, max], or a TypeError naming `name`. */
export function integerOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`Expected \`${name}\` to be an integer from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}

/** `value` as a finite number in [min, max], or a TypeError naming `name`. */
export function numberOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`Expected \`${name}\` to be a number from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}

/** `value` as an object with these methods, or a TypeError naming `name` and the first one missing. */
export function objectOption<T>(name: string, value: T, methods: readonly string[]): T {
  if (value === null || typeof value !== 'object') throw new TypeError(`Expected \`${name}\` to be an object with ${list(methods)}, got ${shown(value)}`);
  const missing = methods.find((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  if (missing !== undefined) throw new TypeError(`Expected \`${name}\` to be an object with ${list(methods)}, got one without ${missing}()`);
  return value;
}

function list(methods: readonly string[]): string {
  const ms = methods.map((m) => `${m}()`);
  return ms.length === 1 ? ms[0]! : `${ms.slice(0, -1).join(', ')} and ${ms.at(-1)!}`;
}
