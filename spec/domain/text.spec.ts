import { expect } from 'chai';
import { charLength, clip, ellipsize, truncateForLog } from '../../src/domain/text.js';

describe('text', () => {
  it('charLength counts code points, as MySQL counts utf8mb4 characters', () => {
    expect(charLength('')).to.equal(0);
    expect(charLength('abc')).to.equal(3);
    expect(charLength('🚀🚀')).to.equal(2);
    expect(charLength('東京')).to.equal(2);
    expect(charLength('\ud800x'), 'a lone surrogate is one character').to.equal(2);
  });

  it('clip fits a value into a column: at most max code points, never half a surrogate pair', () => {
    expect(clip('abcdef', 3)).to.equal('abc');
    expect(clip('abc', 3)).to.equal('abc');
    expect(clip('🚀🚀🚀', 2)).to.equal('🚀🚀');
    expect(clip('🚀🚀', 2), 'four UTF-16 units, two characters: fits').to.equal('🚀🚀');
  });

  it('ellipsize shortens a message to max units including its "…"', () => {
    expect(ellipsize('abcdef', 6)).to.equal('abcdef');
    expect(ellipsize('abcdefg', 6)).to.equal('abcde…');
    expect(ellipsize('abcdefg', 6)).to.have.length(6);
  });

  it('truncateForLog keeps the first max units and says how long the text was', () => {
    expect(truncateForLog('short')).to.equal('short');
    expect(truncateForLog('x'.repeat(81))).to.equal(`${'x'.repeat(80)}...(81 chars)`);
    expect(truncateForLog('abcdef', 3)).to.equal('abc...(6 chars)');
  });
});
