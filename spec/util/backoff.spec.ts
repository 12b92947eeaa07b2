import { expect } from 'chai';
import { Backoff, jitter } from '../../src/util/backoff.js';

describe('Backoff', () => {
  it('doubles from the base up to the cap, one failure at a time, and starts over after reset()', () => {
    const b = new Backoff({ baseMs: 500, maxMs: 30_000 });
    const delays = Array.from({ length: 9 }, () => b.next());
    expect(delays).to.deep.equal([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(b.attempts).to.equal(9);
    b.reset();
    expect(b.attempts).to.equal(0);
    expect(b.next()).to.equal(500);
  });

  it('delay(n) computes without counting, and stays at the cap however large n gets (2^n overflows to Infinity)', () => {
    const b = new Backoff({ baseMs: 5, maxMs: 60_000 });
    expect([0, 1, 2, 10].map((n) => b.delay(n))).to.deep.equal([5, 10, 20, 5120]);
    expect(b.delay(5000)).to.equal(60_000);
    expect(b.attempts).to.equal(0);
  });

  it('with jitter, a delay lies between (1 - jitter) and all of the exponential delay', () => {
    const at = (r: number) => new Backoff({ baseMs: 100, maxMs: 5000, jitter: 0.5, random: () => r });
    expect(at(0).delay(0)).to.equal(50);
    expect(at(1).delay(0)).to.equal(100);
    expect(at(1).delay(3)).to.equal(800);
    expect(at(1).delay(20)).to.equal(5000);
    expect(at(0.5).delay(2000)).to.equal(3750);
    expect(new Backoff({ baseMs: 100, maxMs: 5000, jitter: 1, random: () => 0 }).delay(2), 'full jitter may be 0').to.equal(0);
  });

  it('refuses options that make no backoff, naming the option', () => {
    expect(() => new Backoff({ baseMs: 0, maxMs: 10 })).to.throw(RangeError, /`baseMs`.*got 0/);
    expect(() => new Backoff({ baseMs: 10, maxMs: 5 })).to.throw(RangeError, /`maxMs`.*got 5/);
    expect(() => new Backoff({ baseMs: 10, maxMs: 50, jitter: 1.5 })).to.throw(RangeError, /`jitter`.*got 1.5/);
    expect(() => new Backoff({ baseMs: NaN, maxMs: 50 })).to.throw(RangeError, /`baseMs`/);
  });

  it('jitter() stretches a period by up to its factor (client-go wait.Jitter)', () => {
    expect(jitter(2000, 0.2, () => 0)).to.equal(2000);
    expect(jitter(2000, 0.2, () => 0.5)).to.be.closeTo(2200, 1e-9);
    expect(jitter(2000, 0.2, () => 0.999)).to.be.lessThan(2400);
  });
});
