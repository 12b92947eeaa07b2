/**
 * Work-queue behaviour found by mutation testing (make mutation, docs/testing.md): several keys
 * delayed at once, one timer for all of them, and what shutdown and done() do at the edges.
 * Runs on a hand-driven clock, so every timer the queue arms is visible.
 */
import { expect } from 'chai';
import { ExponentialFailureRateLimiter } from '../../src/queue/rate-limiter.js';
import type { Clock } from '../../src/util/clock-source.js';
import { WorkQueue, type QueueMetrics } from '../../src/queue/workqueue.js';

/** A clock whose time moves only in advance(); counts the timers that fire. */
class ManualClock implements Clock {
  private t = 1_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  fired = 0;

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Timers armed and not yet fired or cleared. */
  armed(): number {
    return this.timers.size;
  }
  /** Moves time forward by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; ; guard++) {
      if (guard > 10_000) throw new Error('timers keep firing: the queue polls instead of waiting');
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      this.fired++;
      due[1].fn();
    }
    this.t = end;
  }
}

function setup() {
  const clock = new ManualClock();
  const m = { retries: 0, worked: [] as number[] };
  const metrics: QueueMetrics = { add() {}, depth() {}, queueDuration() {}, workDuration: (s) => m.worked.push(s), retry: () => m.retries++ };
  const q = new WorkQueue<string>({ rateLimiter: new ExponentialFailureRateLimiter<string>(5, 1000), metrics, clock });
  /** Takes every queued key out (and marks it done). */
  const drain = (): string[] => {
    const out: string[] = [];
    for (let k = q.tryGet(); k !== undefined; k = q.tryGet()) {
      out.push(k);
      q.done(k);
    }
    return out;
  };
  return { clock, q, m, drain };
}

describe('WorkQueue (behaviour found by mutation testing)', () => {
  describe('several keys delayed at once', () => {
    it('each arrives at its own time: none early, none lost, whatever the order they were added in', () => {
      for (const order of [['a', 'b'], ['b', 'a']]) {
        const { clock, q, drain } = setup();
        const delay: Record<string, number> = { a: 10, b: 100 };
        for (const k of order) q.addAfter(k, delay[k]!);
        clock.advance(9);
        expect(drain(), `${order}: nothing before 10 ms`).to.deep.equal([]);
        clock.advance(1);
        expect(drain(), `${order}: a at 10 ms`).to.deep.equal(['a']);
        clock.advance(89);
        expect(drain(), `${order}: b not early`).to.deep.equal([]);
        clock.advance(1);
        expect(drain(), `${order}: b at 100 ms`).to.deep.equal(['b']);
      }
    });

    it('many keys come out exactly at their due times, in due-time order', () => {
      const { clock, q, drain } = setup();
      const n = 40;
      const due = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const k = `k${i}`;
        const d = (((i * 17) % n) + 1) * 10; // a permutation of 10..400 ms
        due.set(k, d);
        q.addAfter(k, d);
      }
      const arrived = new Map<string, number>();
      for (let t = 1; t <= 410; t++) {
        clock.advance(1);
        for (const k of drain()) arrived.set(k, t);
      }
      expect(arrived).to.deep.equal(due);
    });

    it('a key delayed twice comes once, at the earlier time, even when processed before the later one', () => {
      const { clock, q, drain } = setup();
      q.addAfter('a', 100);
      q.addAfter('a', 10);
      clock.advance(10);
      expect(drain()).to.deep.equal(['a']);
      clock.advance(200);
      expect(drain(), 'the superseded delay adds nothing').to.deep.equal([]);
    });
  });

  describe('timers', () => {
    it('arms one timer however many keys wait, and none once nothing waits', () => {
      const { clock, q, drain } = setup();
      q.addAfter('a', 100);
      q.addAfter('b', 10);
      q.addAfter('c', 50);
      q.addAfter('d', 50);
      expect(clock.armed()).to.equal(1);
      clock.advance(1000);
      expect(drain()).to.have.members(['a', 'b', 'c', 'd']);
      expect(clock.armed()).to.equal(0);
      expect(clock.fired, 'one wake-up per due time').to.equal(3);
    });

    it('waits for the due time instead of polling', () => {
      const { clock, q } = setup();
      q.addAfter('a', 5000);
      clock.advance(4999);
      expect([clock.fired, q.len()]).to.deep.equal([0, 0]);
      clock.advance(1);
      expect([clock.fired, q.len()]).to.deep.equal([1, 1]);
    });

    it('shutdown disarms the timer; delays and retries after shutdown arm nothing and count nothing', () => {
      const { clock, q, m } = setup();
      q.addAfter('a', 100);
      q.shutDown();
      expect(clock.armed()).to.equal(0);
      q.addAfter('b', 10);
      q.addRateLimited('c');
      expect(clock.armed()).to.equal(0);
      expect(m.retries).to.equal(0);
      expect(q.numRequeues('c'), 'no failure recorded').to.equal(0);
      clock.advance(1000);
      expect(q.len()).to.equal(0);
    });
  });

  describe('done and shutdown at the edges', () => {
    it('ignores done for a key that was never handed out', () => {
      const { q, m, drain } = setup();
      q.add('a');
      q.done('a');
      expect(m.worked).to.deep.equal([]);
      expect(drain()).to.deep.equal(['a']);
    });

    it('still hands out a key re-added while processing after shutdown', async () => {
      const { q } = setup();
      q.add('a');
      expect(q.tryGet()).to.equal('a');
      q.add('a');
      q.shutDown();
      q.done('a');
      expect(await q.get()).to.equal('a');
      q.done('a');
      expect(await q.get()).to.equal(undefined);
    });

    it('keeps working after a drain resolved: later keys are done without error', async () => {
      const { q } = setup();
      q.add('a');
      q.add('b');
      expect(q.tryGet()).to.equal('a');
      const drained = q.shutDownWithDrain();
      q.done('a');
      await drained;
      expect(q.tryGet()).to.equal('b');
      expect(() => q.done('b')).to.not.throw();
      await q.shutDownWithDrain();
    });

    it('addAll adds each key once, in order', () => {
      const { q, drain } = setup();
      q.addAll(['a', 'b', 'a', 'c']);
      expect(drain()).to.deep.equal(['a', 'b', 'c']);
    });

    it('tells whether a key is dirty or processing, and whether it is shutting down', () => {
      const { q } = setup();
      expect([q.isDirty('a'), q.isProcessing('a'), q.isShuttingDown()]).to.deep.equal([false, false, false]);
      q.add('a');
      expect([q.isDirty('a'), q.isProcessing('a')]).to.deep.equal([true, false]);
      q.tryGet();
      expect([q.isDirty('a'), q.isProcessing('a')]).to.deep.equal([false, true]);
      q.add('a');
      expect([q.isDirty('a'), q.isProcessing('a')]).to.deep.equal([true, true]);
      q.shutDown();
      expect(q.isShuttingDown()).to.equal(true);
    });
  });

  it('names the rate limiter option when it is not one', () => {
    expect(() => new WorkQueue({ rateLimiter: 5 as never })).to.throw(TypeError, /^Expected `rateLimiter` to be an object with when\(\), forget\(\) and numRequeues\(\), got 5$/);
  });

  it('the rate limiter accepts a cap equal to the base delay', () => {
    const l = new ExponentialFailureRateLimiter<string>(5, 5);
    expect([l.when('a'), l.when('a'), l.when('a')]).to.deep.equal([5, 5, 5]);
  });

});
