import { expect } from 'chai';
import { StringPool } from '../../src/util/string-pool.js';

describe('StringPool', () => {
  it('returns the string it is given (equal value), pooling each distinct one once', () => {
    const p = new StringPool(10, 16);
    expect(p.intern('running')).to.equal('running');
    expect(p.intern(['run', 'ning'].join(''))).to.equal('running');
    expect(p.size).to.equal(1);
  });

  it('is bounded: at most maxEntries strings, none longer than maxLength', () => {
    const p = new StringPool(3, 8);
    for (const s of ['a', 'b', 'c', 'd', 'e']) expect(p.intern(s)).to.equal(s);
    expect(p.size).to.equal(3);
    const q = new StringPool(3, 8);
    expect(q.intern('123456789')).to.equal('123456789');
    expect(q.size).to.equal(0);
    expect(q.intern('12345678')).to.equal('12345678');
    expect(q.size).to.equal(1);
  });
});
