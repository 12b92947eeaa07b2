import { expect } from 'chai';
import { ConfigError, loadConfig } from '../src/config.js';

describe('config: fleet settings', () => {
  it('LAST_SEEN_MAX_AGE: a duration, 0 for every pass; negative or malformed values are refused by name', () => {
    expect(loadConfig({ LAST_SEEN_MAX_AGE: '0' }).lastSeenMaxAgeMs).to.equal(0);
    expect(loadConfig({ LAST_SEEN_MAX_AGE: '2m' }).lastSeenMaxAgeMs).to.equal(120_000);
    for (const bad of ['-1s', 'often']) {
      expect(() => loadConfig({ LAST_SEEN_MAX_AGE: bad }), bad).to.throw(ConfigError, /LAST_SEEN_MAX_AGE:/);
    }
  });

  it("leases default to a node lease's cadence: 40 s, renewed every 10 s, given up after 30 s without renewal", () => {
    const c = loadConfig({ DATABASE_URL: 'mysql://u:p@db:3306/tf' });
    expect(c.leaderElection).to.equal(true);
    expect([c.leaseDurationMs, c.renewDeadlineMs, c.retryPeriodMs]).to.deep.equal([40_000, 30_000, 10_000]);
  });
});
