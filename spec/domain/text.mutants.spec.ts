/**
 * Text helpers at their boundaries, found by mutation testing (make mutation, docs/testing.md):
 * exactly which UTF-16 units make one character, and where each cut starts.
 */
import { expect } from 'chai';
import { charLength, clip, ellipsize, truncateForLog } from '../../src/domain/text.js';

describe('text (behaviour found by mutation testing)', () => {
  it('charLength joins a high surrogate (D800-DBFF) with a following low one (DC00-DFFF), and nothing else', () => {
    expect(charLength('\ud800\udc00'), 'lowest pair').to.equal(1);
    expect(charLength('\udbff\udfff'), 'highest pair').to.equal(1);
    expect(charLength('\ud7ff\udc00'), 'below the high range').to.equal(2);
    expect(charLength('\udc00\udc00'), 'two lows').to.equal(2);
    expect(charLength('a\udc00'), 'a low after a plain character').to.equal(2);
    expect(charLength('\ud800\ud800'), 'two highs').to.equal(2);
    expect(charLength('\ud800\udbff'), 'high then the top of the high range').to.equal(2);
    expect(charLength('\ud800\ue000'), 'high then just above the low range').to.equal(2);
    expect(charLength('\ud800'), 'a lone high surrogate at the end').to.equal(1);
    expect(charLength('x\ud83d'), 'a lone high surrogate after a character').to.equal(2);
  });

  it('clip keeps a value that fits in characters, even with more UTF-16 units than max', () => {
    expect(clip('', 0)).to.equal('');
    expect(clip('ab', 2)).to.equal('ab');
    expect(clip('abc', 2)).to.equal('ab');
    expect(clip('🚀🚀🚀', 3), 'six units, three characters').to.equal('🚀🚀🚀');
    expect(clip('a🚀b', 2)).to.equal('a🚀');
  });

  it('ellipsize keeps a message of exactly max units and cuts one unit longer', () => {
    expect(ellipsize('abc', 3)).to.equal('abc');
    expect(ellipsize('abcd', 3)).to.equal('ab…');
  });

  it('truncateForLog keeps exactly 80 units by default and cuts 81', () => {
    expect(truncateForLog('x'.repeat(80))).to.equal('x'.repeat(80));
    expect(truncateForLog('abc', 3)).to.equal('abc');
    expect(truncateForLog('abcd', 3)).to.equal('abc...(4 chars)');
  });
});
