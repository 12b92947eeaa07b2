import { expect } from 'chai';
import { keepAliveClock, realClock } from '../../src/util/clock-source.js';
import { integerOption, numberOption, objectOption } from '../../src/util/options.js';

describe('constructor option checks', () => {
  it('integerOption: integers within the bounds pass through; anything else is named with the range and what was given', () => {
    expect([integerOption('n', 1, 1, 3), integerOption('n', 3, 1, 3)]).to.deep.equal([1, 3]);
    const bad: Array<[unknown, string]> = [
      [0, '0'],
      [4, '4'],
      [1.5, '1.5'],
      [Number.NaN, 'NaN'],
      ['2', '"2"'],
      [undefined, 'undefined'],
      [null, 'null'],
      [[2], 'an array'],
      [{ n: 2 }, 'an object'],
    ];
    for (const [value, shown] of bad) expect(() => integerOption('n', value, 1, 3), String(shown)).to.throw(TypeError, `Expected \`n\` to be an integer from 1 to 3, got ${shown}`);
  });

  it('numberOption: finite numbers within the bounds, fractions included', () => {
    expect([numberOption('ms', 0, 0, 10), numberOption('ms', 2.5, 0, 10), numberOption('ms', 10, 0, 10)]).to.deep.equal([0, 2.5, 10]);
    for (const [value, shown] of [[-0.1, '-0.1'], [10.5, '10.5'], [Infinity, 'Infinity'], [Number.NaN, 'NaN'], ['1', '"1"']] as Array<[unknown, string]>) {
      expect(() => numberOption('ms', value, 0, 10)).to.throw(TypeError, `Expected \`ms\` to be a number from 0 to 10, got ${shown}`);
    }
  });

  it('objectOption: an object with every method passes through; the message names the methods and the first one missing', () => {
    const ok = { a() {}, b() {} };
    expect(objectOption('x', ok, ['a', 'b'])).to.equal(ok);
    expect(() => objectOption('x', { a() {}, b: 1 }, ['a', 'b'])).to.throw(TypeError, 'Expected `x` to be an object with a() and b(), got one without b()');
    expect(() => objectOption('x', {}, ['a'])).to.throw(TypeError, 'Expected `x` to be an object with a(), got one without a()');
    expect(() => objectOption('x', 7, ['a', 'b', 'c'])).to.throw(TypeError, 'Expected `x` to be an object with a(), b() and c(), got 7');
    expect(() => objectOption('x', null, ['a'])).to.throw(TypeError, 'Expected `x` to be an object with a(), got null');
  });
});

describe('clocks', () => {
  it('read the system time', () => {
    for (const c of [realClock, keepAliveClock]) {
      const before = Date.now();
      const t = c.now();
      expect(t).to.be.within(before, Date.now());
    }
  });

  it('realClock timers do not keep the process alive; keepAliveClock timers do; both cancel', async () => {
    const fired: string[] = [];
    const a = realClock.setTimeout(() => fired.push('real'), 1) as NodeJS.Timeout;
    const b = keepAliveClock.setTimeout(() => fired.push('keepAlive'), 1) as NodeJS.Timeout;
    expect([a.hasRef(), b.hasRef()]).to.deep.equal([false, true]);
    const c = realClock.setTimeout(() => fired.push('cancelled real'), 1);
    const d = keepAliveClock.setTimeout(() => fired.push('cancelled keepAlive'), 1);
    realClock.clearTimeout(c);
    keepAliveClock.clearTimeout(d);
    await new Promise((r) => setTimeout(r, 20));
    expect(fired.sort()).to.deep.equal(['keepAlive', 'real']);
  });
});
