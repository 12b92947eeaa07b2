/**
 * JsonArraySplitter cases found by mutation testing (make mutation, docs/testing.md): scalar
 * elements at the end of the array, empty strings first, and every kind of JSON whitespace.
 */
import { expect } from 'chai';
import { JsonArraySplitter, type SplitElement } from '../../src/docker/json-array-stream.js';

/** Feeds `text` in chunks of `size` bytes and parses each element. */
function split(text: string, size = 1024): unknown[] {
  const s = new JsonArraySplitter();
  const buf = Buffer.from(text);
  const out: unknown[] = [];
  for (let i = 0; i < buf.length; i += size) for (const e of s.push(buf.subarray(i, i + size))) out.push(JSON.parse(e.bytes!.toString()));
  s.end();
  return out;
}

describe('JsonArraySplitter (behaviour found by mutation testing)', () => {
  it('ends the array right after a scalar element', () => {
    for (const size of [1, 2, 1024]) {
      expect(split('[1]', size)).to.deep.equal([1]);
      expect(split('[1,2]', size)).to.deep.equal([1, 2]);
      expect(split('[{"a":1},true]', size)).to.deep.equal([{ a: 1 }, true]);
      expect(split('["x",null]', size)).to.deep.equal(['x', null]);
    }
  });

  it('reads an empty string as the first element', () => {
    for (const size of [1, 3, 1024]) {
      expect(split('[""]', size)).to.deep.equal(['']);
      expect(split('["",""]', size)).to.deep.equal(['', '']);
      expect(split('[{"":""}]', size)).to.deep.equal([{ '': '' }]);
    }
  });

  it('accepts every JSON whitespace around and between elements', () => {
    for (const size of [1, 1024]) {
      expect(split('\t\r\n [\r\n\t1 ,\r\n\t{"a":2}\t]\r\n\t ', size)).to.deep.equal([1, { a: 2 }]);
      expect(split('\r[\t]\r', size)).to.deep.equal([]);
    }
  });

  it('hands out each object or array by the push that closes it, as exactly its bytes', () => {
    const s = new JsonArraySplitter();
    const text = (els: SplitElement[]) => els.map((e) => e.bytes!.toString());
    expect(text(s.push(Buffer.from('[{"a":1}')))).to.deep.equal(['{"a":1}']);
    expect(text(s.push(Buffer.from(' , [2, 3]  ')))).to.deep.equal(['[2, 3]']);
    expect(text(s.push(Buffer.from(',{"b":')))).to.deep.equal([]);
    // A number or literal ends at the first byte that cannot belong to it.
    expect(text(s.push(Buffer.from('{}} ,4 ]')))).to.deep.equal(['{"b":{}}', '4']);
    s.end();
  });
});
