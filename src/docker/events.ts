/**
 * Pure parsing of the Engine API `/events` stream: newline-delimited JSON that arrives in
 * arbitrary chunks (one chunk may hold several events or half of one).
 */

/** Container actions that can change a row. `health_status: ...` is matched by prefix. */
export const RELEVANT_ACTIONS: ReadonlySet<string> = new Set([
  'create',
  'start',
  'restart',
  'die',
  'stop',
  'kill',
  'oom',
  'pause',
  'unpause',
  'rename',
  'update',
  'destroy',
  // Podman's name for a removal (Docker's `destroy`).
  'remove',
]);

/** Bounded set of action label values for metrics (anything else is counted as `other`). */
export const EVENT_ACTION_LABELS: readonly string[] = [...RELEVANT_ACTIONS, 'health_status', 'other'];

export interface ContainerEvent {
  /** The raw action, e.g. `start` or `health_status: healthy`. */
  action: string;
  id: string;
  attributes: Record<string, string>;
  timeNano: bigint | undefined;
}

export function isRelevantAction(action: string): boolean {
  return RELEVANT_ACTIONS.has(action) || action.startsWith('health_status');
}

/** The metrics label for an action: its name, `health_status`, or `other` (bounded). */
export function actionLabel(action: string): string {
  if (RELEVANT_ACTIONS.has(action)) return action;
  if (action.startsWith('health_status')) return 'health_status';
  return 'other';
}

export type ParsedLine = { kind: 'event'; event: ContainerEvent } | { kind: 'ignored' } | { kind: 'malformed'; reason: string };

/**
 * What the client puts in the stream in place of a line it dropped unread for its size
 * (src/docker/event-lines.ts): not JSON, so it reads as a lost line (a daemon sending it
 * gets the same: a malformed line).
 */
export const OVERSIZED_LINE_MARKER = '#oversized';

/** One line of the stream. Non-container events are `ignored`; anything unusable is `malformed`. */
export function parseEventLine(line: string): ParsedLine {
  const text = line.trim();
  if (text === '') return { kind: 'ignored' };
  if (text === OVERSIZED_LINE_MARKER) return { kind: 'malformed', reason: 'line larger than DOCKER_MAX_ENTRY_BYTES, dropped unread' };
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return { kind: 'malformed', reason: 'not JSON' };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return { kind: 'malformed', reason: 'not a JSON object' };
  const o = obj as Record<string, unknown>;
  const type = typeof o.Type === 'string' ? o.Type : typeof o.Type === 'undefined' && typeof o.status === 'string' ? 'container' : '';
  if (type !== 'container') return { kind: 'ignored' };
  const action = typeof o.Action === 'string' ? o.Action : typeof o.status === 'string' ? o.status : '';
  const actor = (o.Actor && typeof o.Actor === 'object' ? o.Actor : {}) as Record<string, unknown>;
  const id = typeof actor.ID === 'string' && actor.ID !== '' ? actor.ID : typeof o.id === 'string' ? o.id : '';
  if (action === '' || id === '') return { kind: 'malformed', reason: 'container event without action or id' };
  const attributes: Record<string, string> = Object.create(null);
  if (actor.Attributes && typeof actor.Attributes === 'object') {
    for (const [k, v] of Object.entries(actor.Attributes as Record<string, unknown>)) attributes[k] = typeof v === 'string' ? v : String(v);
  }
  let timeNano: bigint | undefined;
  if (typeof o.timeNano === 'number' || typeof o.timeNano === 'string') {
    try {
      timeNano = BigInt(typeof o.timeNano === 'number' ? Math.trunc(o.timeNano) : o.timeNano);
    } catch {
      timeNano = undefined;
    }
  }
  return { kind: 'event', event: { action, id, attributes, timeNano } };
}

/**
 * Splits a byte stream into lines. Holds at most `maxLineBytes` of an unfinished line; a longer
 * one is dropped and reported as an overflow (a broken peer must not grow memory without bound).
 */
export class LineSplitter {
  private buf = '';
  private overflowing = false;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly maxLineBytes = 1 << 20) {}

  /** Feeds a chunk; returns the complete lines it finished and how many overlong lines were dropped. */
  push(chunk: Uint8Array | string): { lines: string[]; overflows: number } {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const lines: string[] = [];
    let overflows = 0;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      const piece = text.slice(start, nl);
      if (this.overflowing) {
        this.overflowing = false; // the end of the dropped line
      } else {
        lines.push(this.buf + piece);
      }
      this.buf = '';
      start = nl + 1;
    }
    if (!this.overflowing) {
      this.buf += text.slice(start);
      if (this.buf.length > this.maxLineBytes) {
        this.buf = '';
        this.overflowing = true;
        overflows++;
      }
    }
    return { lines, overflows };
  }

  /** Drops a half line (after the stream ended). */
  reset(): void {
    this.buf = '';
    this.overflowing = false;
  }

  pendingLength(): number {
    return this.buf.length;
  }
}
