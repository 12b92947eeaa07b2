import { expect } from 'chai';
import { cpuPerPass, cpuRate, cpuSecondsPerHour, daemonListSecondsPerHour, relistSchedule, servicePassesPerHour, tickerTicksPerHour } from '../../bench/hourly.js';

/** The per-hour arithmetic of `make bench` (bench/hourly.ts): steady state at RECONCILE_INTERVAL=30s from figures measured at bench speed. */
describe('bench: per-hour figures of steady state', () => {
  it('the service waits the interval after each pass; the Go ticker ticks every interval, back to back once a tick is longer', () => {
    expect(servicePassesPerHour(0)).to.equal(120);
    expect(servicePassesPerHour(6000)).to.equal(100);
    expect(servicePassesPerHour(30_000, 60_000)).to.equal(40);
    expect(tickerTicksPerHour(9000)).to.equal(120);
    expect(tickerTicksPerHour(30_000)).to.equal(120);
    expect(tickerTicksPerHour(120_000), 'a 2 min tick: 30 an hour, not 120').to.equal(30);
  });

  it('CPU per hour: passes x CPU per pass, plus the idle rate over the time no pass runs', () => {
    // 100 passes of 6 s at 1.5 s CPU = 150 s; 3000 s idle at 0.5 ms/s = 1.5 s.
    expect(cpuSecondsPerHour([{ count: 100, passMs: 6000, cpuMs: 1500 }], 0.5)).to.be.closeTo(151.5, 1e-9);
    // The same passes with no idle cost, and idle alone.
    expect(cpuSecondsPerHour([{ count: 100, passMs: 6000, cpuMs: 1500 }], 0)).to.equal(150);
    expect(cpuSecondsPerHour([], 2)).to.equal(7.2);
    // Passes that fill the hour leave no idle time (never negative).
    expect(cpuSecondsPerHour([{ count: 30, passMs: 120_000, cpuMs: 100_000 }], 10)).to.equal(3000);
  });

  it('RELIST_INTERVAL=5m: 12 lists an hour, and as many passes from the cache as the rest of the hour holds', () => {
    const s = relistSchedule({ listPassMs: 0, cachePassMs: 0 });
    expect(s.lists).to.equal(12);
    expect(s.cache).to.equal(108);
    // 12 listing passes of 6 s take 12 x 36 s = 432 s; the other 3168 s hold passes of 2 s + 30 s: 99.
    const t = relistSchedule({ listPassMs: 6000, cachePassMs: 2000 });
    expect(t.lists).to.equal(12);
    expect(t.cache).to.be.closeTo(99, 1e-9);
    // its CPU: the two kinds of pass and the idle rate over the rest
    const cpu = cpuSecondsPerHour(
      [
        { count: t.lists, passMs: 6000, cpuMs: 1500 },
        { count: t.cache, passMs: 2000, cpuMs: 400 },
      ],
      1,
    );
    // 57.6 s in passes, 3330 s idle at 1 ms/s
    expect(cpu).to.be.closeTo((12 * 1500 + 99 * 400 + 3330) / 1000, 1e-6);
  });

  it("the daemon's list CPU is requests x answer time; the baseline, the default service (2 requests a pass) and RELIST_INTERVAL=5m", () => {
    expect(daemonListSecondsPerHour(120, 500), 'baseline: one 500 ms request per 30 s tick').to.equal(60);
    expect(daemonListSecondsPerHour(2 * servicePassesPerHour(6000), 250), 'service: 100 passes, 2 requests of 250 ms').to.equal(50);
    expect(daemonListSecondsPerHour(2 * relistSchedule({ listPassMs: 6000, cachePassMs: 2000 }).lists, 250)).to.equal(6);
  });

  it('CPU per pass of a segment takes the idle rate over the gaps off, and the idle rate is ms per second', () => {
    expect(cpuRate(50, 10_000)).to.equal(5);
    expect(Number.isNaN(cpuRate(1, 0))).to.equal(true);
    // 4 passes in 10 s of which 8 s in passes; 2 s of gaps at 5 ms/s = 10 ms off 810 ms.
    expect(cpuPerPass({ cpuMs: 810, wallMs: 10_000, passWallMs: 8000, passes: 4 }, 5)).to.equal(200);
    expect(cpuPerPass({ cpuMs: 810, wallMs: 10_000, passWallMs: 8000, passes: 4 }, NaN), 'an unknown idle rate takes nothing off').to.equal(202.5);
    expect(Number.isNaN(cpuPerPass({ cpuMs: 1, wallMs: 1, passWallMs: 1, passes: 0 }, 0))).to.equal(true);
  });
});
