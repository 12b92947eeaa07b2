import { expect } from 'chai';
import { JsonArraySplitter } from '../../src/docker/json-array-stream.js';

/** Feeds `text` in random chunk sizes and returns the parsed elements. */
function split(text: string, rnd: () => number, maxChunk = 64): unknown[] {
  const buf = Buffer.from(text);
  const s = new JsonArraySplitter();
  const out: unknown[] = [];
  let i = 0;
  while (i < buf.length) {
    const n = 1 + Math.floor(rnd() * maxChunk);
    for (const el of s.push(buf.subarray(i, i + n))) out.push(JSON.parse(el.bytes!.toString('utf8')));
    i += n;
  }
  s.end();
  return out;
}

describe('JsonArraySplitter', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

  it('yields exactly the elements JSON.parse sees, for any chunking', () => {
    const doc = [
      { Id: 'a', Names: ['/x'], Labels: { 'tinyforge.role': 'we}b]"\\', emoji: '🚀 東京' }, Ports: [{ PrivatePort: 80 }] },
      { Id: 'b', Labels: null, Ports: [], Nested: { deep: [[1, 2], { k: '[{' }] } },
      { Id: 'c', Names: [], Text: 'quote " and backslash \\ and \\" escaped' },
    ];
    for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2), `  \n${JSON.stringify(doc)}\n`]) {
      for (let k = 0; k < 200; k++) expect(split(text, rnd, 1 + (k % 40))).to.deep.equal(doc);
    }
  });

  it('random strings full of quotes, backslashes and brackets survive any chunking (fuzz)', () => {
    const alphabet = ['\\', '"', 'a', '{', '}', '[', ']', ',', ':', ' ', 'é', '🚀'];
    for (let k = 0; k < 300; k++) {
      const doc = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => {
        let v = '';
        for (let j = Math.floor(rnd() * 30); j > 0; j--) v += alphabet[Math.floor(rnd() * alphabet.length)];
        return { k: v, [v]: [v, { v }] };
      });
      expect(split(JSON.stringify(doc), rnd, 1 + (k % 17))).to.deep.equal(doc);
    }
  });

  it('handles empty arrays and scalar elements', () => {
    expect(split('[]', rnd)).to.deep.equal([]);
    expect(split(' [ ] ', rnd)).to.deep.equal([]);
    expect(split('[1,"two",true,null,{"a":[]}]', rnd)).to.deep.equal([1, 'two', true, null, { a: [] }]);
  });

  it('fails on a truncated or non-array document', () => {
    expect(() => split('[{"a":1},{"b"', rnd)).to.throw(/truncated/);
    expect(() => new JsonArraySplitter().push(Buffer.from('{"a":1}'))).to.throw(/array/);
    expect(() => split('[1] 2', rnd)).to.throw(/after the end/);
  });

  it('splits 100,000 entries without holding the document', () => {
    const entry = JSON.stringify({ Id: 'x'.repeat(64), Labels: { 'tinyforge.managed': 'true' }, State: 'running' });
    const chunk = Buffer.from(Array.from({ length: 1000 }, () => entry).join(','));
    const s = new JsonArraySplitter();
    let n = 0;
    n += s.push(Buffer.from('[')).length;
    for (let i = 0; i < 100; i++) n += s.push(i === 0 ? chunk : Buffer.concat([Buffer.from(','), chunk])).length;
    n += s.push(Buffer.from(']')).length;
    s.end();
    expect(n).to.equal(100_000);
  });
});
