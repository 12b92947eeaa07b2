import { expect } from 'chai';
import { LeadershipTerms } from '../../src/leader/leadership-terms.js';

describe('LeadershipTerms', () => {
  it('a guard is true only during its own term and while the elector allows writing', () => {
    const terms = new LeadershipTerms();
    let elector = true;
    const first = terms.begin(() => elector);
    expect(first()).to.equal(true);
    elector = false;
    expect(first(), 'renew deadline passed').to.equal(false);
    elector = true;
    terms.end();
    expect(first(), 'after its term').to.equal(false);
    const second = terms.begin(() => elector);
    expect(second()).to.equal(true);
    expect(first(), 'an earlier term never writes again, even when leadership comes back').to.equal(false);
  });
});
