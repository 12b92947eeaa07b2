/**
 * The event-line bound (src/docker/event-lines.ts) and the oversized-entry reporter
 * (src/docker/oversized.ts): a long line of the /events stream is dropped as it streams, never
 * held whole, and reported once with its container; the lines around it pass whole.
 */
import { expect } from 'chai';
import { Readable } from 'node:stream';
import { EventLineLimiter } from '../../src/docker/event-lines.js';
import { LineSplitter, OVERSIZED_LINE_MARKER, parseEventLine } from '../../src/docker/events.js';
import { OversizedReporter, type OversizedSource } from '../../src/docker/oversized.js';
import { int, seeded } from './json-fuzz.js';

/** What the watcher makes of a line: the event's container, or why it is unusable. */
const seen = (l: string) => {
  const p = parseEventLine(l);
  return p.kind === 'event' ? p.event.id : p.kind === 'malformed' ? p.reason : 'ignored';
};
const LOST = 'line larger than DOCKER_MAX_ENTRY_BYTES, dropped unread';

const ev = (id: string, extra: Record<string, string> = {}) =>
  JSON.stringify({ status: 'start', id, Type: 'container', Action: 'start', Actor: { ID: id, Attributes: { name: 'n', ...extra } }, timeNano: 1 });

/** Runs `chunks` through a limiter; returns the lines that came out and the oversized reports. */
async function limit(chunks: Buffer[], max: number): Promise<{ lines: string[]; oversized: Array<string | undefined>; out: Buffer[] }> {
  const oversized: Array<string | undefined> = [];
  const limiter = new EventLineLimiter(max, (id) => oversized.push(id));
  const out: Buffer[] = [];
  limiter.on('data', (b: Buffer) => out.push(b));
  await new Promise<void>((resolve, reject) => {
    Readable.from(chunks).pipe(limiter).on('end', resolve).on('error', reject);
  });
  const splitter = new LineSplitter();
  const lines = out.flatMap((b) => splitter.push(b).lines);
  return { lines, oversized, out };
}

function cut(text: string, r: () => number, max: number): Buffer[] {
  const b = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; ) {
    const n = 1 + int(r, max);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

function fixed(text: string, size: number): Buffer[] {
  const b = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

describe('event-line bound', () => {
  it('drops a line longer than the cap, reports its container once, puts a lost-line marker in its place, and passes the lines around it whole', async () => {
    const long = ev('c-long', { huge: 'x'.repeat(5000) });
    const text = `${ev('a')}\n${long}\n${ev('b')}\n`;
    const r = seeded(5);
    for (const max of [1, 5, 64, 700, 6000]) {
      const { lines, oversized, out } = await limit(cut(text, r, max), 1024);
      expect(lines.map(seen), `chunks up to ${max}`).to.deep.equal(['a', LOST, 'b']);
      expect(oversized).to.deep.equal(['c-long']);
      // Only whole lines come out: every piece ends with a newline.
      for (const b of out) expect(b[b.length - 1]).to.equal(0x0a);
    }
  });

  it('keeps a line of exactly the cap and drops one byte more (the newline does not count)', async () => {
    const line = ev('e');
    const cap = Buffer.byteLength(line);
    for (const size of [1, 2, cap, cap + 1]) {
      const ok = await limit(fixed(`${line}\n`, size), cap);
      expect(ok.lines, `chunks of ${size}`).to.deep.equal([line]);
      const over = await limit(fixed(`${line} \n${line}\n`, size), cap);
      expect(over.lines).to.deep.equal([OVERSIZED_LINE_MARKER, line]);
      expect(over.oversized).to.deep.equal(['e']);
    }
  });

  it('says unknown when the line is not JSON or its id comes after the cap', async () => {
    const late = JSON.stringify({ Actor: { Attributes: { huge: 'y'.repeat(3000) }, ID: 'late' } });
    const { oversized } = await limit([Buffer.from(`${'z'.repeat(3000)}\n${late}\n`)], 1000);
    expect(oversized).to.deep.equal([undefined, undefined]);
  });

  it('never holds more than the cap while a 64 MB line streams by', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    const oversized: Array<string | undefined> = [];
    const limiter = new EventLineLimiter(1 << 20, (id) => oversized.push(id));
    const out: Buffer[] = [];
    limiter.on('data', (b: Buffer) => out.push(b));
    gc?.();
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    limiter.write(Buffer.from(`${ev('ok1')}\n{"status":"start","id":"big","Actor":{"Attributes":{"huge":"`));
    for (let k = 0; k < 1024; k++) {
      limiter.write(Buffer.alloc(65536, 'q'));
      if (k % 64 === 0) {
        gc?.();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      }
    }
    limiter.end(Buffer.from(`"}}}\n${ev('ok2')}\n`));
    await new Promise((resolve) => limiter.on('end', resolve).resume());
    expect(oversized).to.deep.equal(['big']);
    expect(Buffer.concat(out).toString().split('\n').filter(Boolean).map(seen)).to.deep.equal(['ok1', LOST, 'ok2']);
    expect(peak, `${(peak / 1048576).toFixed(1)} MB held`).to.be.lessThan(8 << 20);
  });
});

describe('OversizedReporter', () => {
  it('counts every entry and logs each container once, unknown ones at most once per interval and source', () => {
    const counted: OversizedSource[] = [];
    const logged: unknown[] = [];
    let now = 0;
    const rep = new OversizedReporter({ limitBytes: 10, count: (s) => counted.push(s), log: { warn: (o: unknown) => logged.push(o) } as never, now: () => now, unknownLogIntervalMs: 1000, maxRemembered: 2 });
    rep.report({ source: 'list', containerId: 'a', bytes: 11, candidate: 'no' });
    rep.report({ source: 'event', containerId: 'a' });
    rep.report({ source: 'list', containerId: undefined });
    rep.report({ source: 'list', containerId: undefined });
    rep.report({ source: 'inspect', containerId: undefined });
    now = 1000;
    rep.report({ source: 'list', containerId: undefined });
    expect(counted).to.deep.equal(['list', 'event', 'list', 'list', 'inspect', 'list']);
    expect(logged).to.deep.equal([
      { source: 'list', containerId: 'a', bytes: 11, limitBytes: 10, tinyforge: 'no' },
      { source: 'list', containerId: 'unknown', limitBytes: 10 },
      { source: 'inspect', containerId: 'unknown', limitBytes: 10 },
      { source: 'list', containerId: 'unknown', limitBytes: 10 },
    ]);
    // Memory of logged containers is bounded: beyond maxRemembered it starts over.
    rep.report({ source: 'list', containerId: 'b' });
    rep.report({ source: 'list', containerId: 'c' });
    rep.report({ source: 'list', containerId: 'a' });
    expect(logged.length).to.equal(7);
  });
});
