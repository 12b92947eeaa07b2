/**
 * JsonArraySplitter with a cap (DOCKER_MAX_ENTRY_BYTES): an element larger than the cap is
 * followed to its end across chunks but never held; the elements after it come out intact.
 */
import { expect } from 'chai';
import { JsonArraySplitter, type SplitElement } from '../../src/docker/json-array-stream.js';
import { LIST_ENTRY_PICK } from '../../src/docker/list-entry.js';
import { int, jsonValue, listEntry, plain, project, seeded, ws, type Rnd } from './json-fuzz.js';

function splitAll(bytes: Buffer, cap: number, chunkSizes: (i: number) => number): SplitElement[] {
  const s = new JsonArraySplitter({ maxElementBytes: cap, pick: LIST_ENTRY_PICK });
  const out: SplitElement[] = [];
  for (let i = 0, k = 0; i < bytes.length; k++) {
    const n = Math.max(1, chunkSizes(k));
    out.push(...s.push(bytes.subarray(i, i + n)));
    i += n;
  }
  s.end();
  return out;
}

const every = (r: Rnd, max: number) => () => 1 + int(r, max);

describe('JsonArraySplitter with a size cap', () => {
  const big = (n: number) => JSON.stringify({ Id: 'big1', Labels: { 'com.docker.compose.project': 'other', huge: 'q"}]\\['.repeat(n) } });
  const small = [{ Id: 'a', Labels: { 'tinyforge.managed': 'true' } }, { Id: 'b', Names: ['/x'] }];

  it('skips an oversized element split over many chunks and hands out the good ones after it', () => {
    const doc = Buffer.from(`[${big(2000)},${small.map((e) => JSON.stringify(e)).join(' ,\n')}]`);
    for (const chunk of [1, 3, 7, 64, 1000, 5000, doc.length]) {
      const els = splitAll(doc, 1024, () => chunk);
      expect(els.map((e) => e.bytes === undefined), `chunks of ${chunk}`).to.deep.equal([true, false, false]);
      expect(els[0]!.size).to.equal(Buffer.byteLength(big(2000)));
      expect(els[0]!.fields.string('Id')).to.equal('big1');
      expect(els[0]!.fields.object('Labels')?.string('com.docker.compose.project')).to.equal('other');
      expect(els.slice(1).map((e) => JSON.parse(e.bytes!.toString()))).to.deep.equal(small);
    }
  });

  it('keeps an element of exactly the cap and drops one byte more, whatever the chunking', () => {
    const exact = JSON.stringify({ Id: 'e', pad: 'p'.repeat(100) });
    const cap = Buffer.byteLength(exact);
    const over = JSON.stringify({ Id: 'o', pad: 'p'.repeat(101) });
    const doc = Buffer.from(`[${exact},${over},1234,${exact}]`);
    for (let chunk = 1; chunk <= cap + 2; chunk++) {
      const els = splitAll(doc, cap, () => chunk);
      expect(els.map((e) => [e.size, e.bytes?.toString()]), `chunks of ${chunk}`).to.deep.equal([
        [cap, exact],
        [cap + 1, undefined],
        [4, '1234'],
        [cap, exact],
      ]);
      expect(els[1]!.fields.string('Id')).to.equal('o');
    }
  });

  it('knows no ID for an oversized element whose Id comes after the cap', () => {
    const late = JSON.stringify({ Labels: { x: 'y'.repeat(5000) }, Id: 'late' });
    const els = splitAll(Buffer.from(`[${late}]`), 1000, () => 333);
    expect(els[0]!.bytes).to.equal(undefined);
    // The scan still reads it (the ID is known once it went by); the caller decides what to trust.
    expect(els[0]!.fields.string('Id')).to.equal('late');
  });

  it('random arrays, caps and chunkings: kept elements are exactly JSON.parse\'s, dropped ones have their exact size (fuzz)', () => {
    const r = seeded(99);
    let dropped = 0;
    let kept = 0;
    for (let k = 0; k < 1500; k++) {
      const texts = Array.from({ length: int(r, 6) }, () => (r() < 0.6 ? listEntry(r).trim() : jsonValue(r, 3).trim()));
      const doc = Buffer.from(`${ws(r)}[${ws(r)}${texts.map((t) => t + ws(r)).join(`,${ws(r)}`)}]${ws(r)}`);
      const truth = JSON.parse(doc.toString()) as unknown[];
      const cap = pick3(r);
      const els = splitAll(doc, cap, every(r, 1 + (k % 60)));
      expect(els.length, doc.toString()).to.equal(truth.length);
      els.forEach((e, i) => {
        const size = Buffer.byteLength(texts[i]!);
        expect(e.size, texts[i]).to.equal(size);
        if (size <= cap) {
          kept++;
          expect(JSON.parse(e.bytes!.toString())).to.deep.equal(truth[i]);
        } else {
          dropped++;
          expect(e.bytes).to.equal(undefined);
        }
        expect(plain(e.fields), texts[i]).to.deep.equal(project(truth[i], LIST_ENTRY_PICK));
      });
    }
    expect(dropped).to.be.greaterThan(100);
    expect(kept).to.be.greaterThan(100);
  });

  it('holds at most about the cap while a 64 MB element streams by in 64 KiB chunks', () => {
    const cap = 1 << 20;
    const s = new JsonArraySplitter({ maxElementBytes: cap, pick: LIST_ENTRY_PICK });
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    expect(s.push(Buffer.from('[{"Id":"huge","Labels":{"com.docker.compose.project":"other","big":"'))).to.deep.equal([]);
    for (let k = 0; k < 1024; k++) {
      // A fresh buffer each time, as a socket hands out: whatever the splitter keeps stays allocated.
      expect(s.push(Buffer.alloc(65536, k % 2 ? 'a' : '\\\\'))).to.deep.equal([]);
      if (k % 64 === 0) {
        gc?.();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      }
    }
    const els = s.push(Buffer.from('"}},{"Id":"next"}]'));
    s.end();
    expect(els.map((e) => [e.fields.string('Id'), e.bytes === undefined])).to.deep.equal([
      ['huge', true],
      ['next', false],
    ]);
    expect(peak, `${(peak / 1048576).toFixed(1)} MB held`).to.be.lessThan(8 << 20);
  });

  it('fails on broken structure inside an element, even an oversized one', () => {
    expect(() => splitAll(Buffer.from(`[{"Id":"x","a":${'1'.repeat(50)} "b"}]`), 10, () => 4)).to.throw(/malformed element/);
    expect(() => splitAll(Buffer.from('[1 2]'), 10, () => 1)).to.throw(/after an element/);
  });
});

function pick3(r: Rnd): number {
  const x = r();
  return x < 0.3 ? 16 + int(r, 64) : x < 0.7 ? 64 + int(r, 300) : Number.POSITIVE_INFINITY;
}
