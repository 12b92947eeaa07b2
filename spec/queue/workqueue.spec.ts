import { expect } from 'chai';
import sinon from 'sinon';
import { ExponentialFailureRateLimiter } from '../../src/queue/rate-limiter.js';
import { WorkQueue, type QueueMetrics } from '../../src/queue/workqueue.js';

/** A recording metrics hook, to assert what the queue reports. */
function recordingMetrics() {
  const m = { adds: 0, retries: 0, depths: [] as number[], queued: [] as number[], worked: [] as number[] };
  const hooks: QueueMetrics = {
    add: () => m.adds++,
    retry: () => m.retries++,
    depth: (n) => m.depths.push(n),
    queueDuration: (s) => m.queued.push(s),
    workDuration: (s) => m.worked.push(s),
  };
  return { m, hooks };
}

describe('WorkQueue (client-go semantics)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => clock.restore());

  function newQueue(base = 5, max = 1000) {
    const rec = recordingMetrics();
    const q = new WorkQueue<string>({ rateLimiter: new ExponentialFailureRateLimiter<string>(base, max), metrics: rec.hooks });
    return { q, m: rec.m };
  }

  it('collapses duplicates added before the key is handed out', async () => {
    const { q, m } = newQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).to.equal(2);
    expect(m.adds).to.equal(4);
    expect(await q.get()).to.equal('a');
    expect(await q.get()).to.equal('b');
    expect(q.tryGet()).to.equal(undefined);
  });

  it('never hands a key being processed to a second worker; a re-add waits until done', async () => {
    const { q } = newQueue();
    q.add('a');
    const first = await q.get();
    expect(first).to.equal('a');
    q.add('a');
    expect(q.len(), 'not queued while processing').to.equal(0);
    expect(q.tryGet()).to.equal(undefined);
    q.done('a');
    expect(q.len(), 'queued again after done').to.equal(1);
    expect(await q.get()).to.equal('a');
    q.done('a');
    expect(q.len()).to.equal(0);
  });

  it('hands a key to a blocked getter as soon as it is added', async () => {
    const { q } = newQueue();
    const pending = q.get();
    q.add('x');
    expect(await pending).to.equal('x');
    expect(q.isProcessing('x')).to.equal(true);
  });

  it('keeps FIFO order across many keys', async () => {
    const { q } = newQueue();
    for (let i = 0; i < 3000; i++) q.add(`k${i}`);
    for (let i = 0; i < 3000; i++) expect(q.tryGet()).to.equal(`k${i}`);
  });

  it('backs off per key: 5 ms doubling up to the cap, reset by forget', async () => {
    const { q, m } = newQueue(5, 40);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      q.add('a');
      const k = (await q.get())!;
      q.addRateLimited(k);
      q.done(k);
      const start = Date.now();
      // Not there before its delay...
      expect(q.len()).to.equal(0);
      await clock.tickAsync(1);
      while (q.len() === 0) await clock.tickAsync(1);
      delays.push(Date.now() - start);
      q.tryGet();
      q.done('a');
    }
    expect(delays).to.deep.equal([5, 10, 20, 40, 40, 40]);
    expect(q.numRequeues('a')).to.equal(6);
    expect(m.retries).to.equal(6);
    q.forget('a');
    expect(q.numRequeues('a')).to.equal(0);
  });

  it('keeps separate backoff per key', async () => {
    const limiter = new ExponentialFailureRateLimiter<string>(5, 1000);
    expect([limiter.when('a'), limiter.when('a'), limiter.when('b'), limiter.when('a')]).to.deep.equal([5, 10, 5, 20]);
    expect(() => new ExponentialFailureRateLimiter(0, 10)).to.throw(/baseDelayMs/);
    expect(() => new ExponentialFailureRateLimiter(10, 5)).to.throw(/maxDelayMs/);
    // Huge failure counts stay finite.
    const l = new ExponentialFailureRateLimiter<string>(5, 60_000);
    let d = 0;
    for (let i = 0; i < 2000; i++) d = l.when('z');
    expect(d).to.equal(60_000);
  });

  it('addAfter: the key appears after the delay, the earliest of two delays wins', async () => {
    const { q } = newQueue();
    q.addAfter('a', 100);
    q.addAfter('a', 30);
    q.addAfter('a', 500);
    await clock.tickAsync(29);
    expect(q.len()).to.equal(0);
    await clock.tickAsync(1);
    expect(q.len()).to.equal(1);
    await clock.tickAsync(1000);
    expect(q.len(), 'the later, superseded delays add nothing').to.equal(1);
    q.addAfter('b', 0);
    expect(q.len(), 'a zero delay adds at once').to.equal(2);
  });

  it('several keys delayed at once each appear at their own time, none early, none lost', async () => {
    const { q } = newQueue();
    q.addAfter('a', 30);
    q.addAfter('b', 10);
    q.addAfter('c', 20);
    q.addAfter('d', 20);
    const seen: Array<[number, string]> = [];
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) {
      await clock.tickAsync(1);
      for (let k = q.tryGet(); k !== undefined; k = q.tryGet()) seen.push([Date.now() - t0, k]);
    }
    // Keys due at the same time come in either order.
    seen.sort(([t1, k1], [t2, k2]) => t1 - t2 || k1.localeCompare(k2));
    expect(seen).to.deep.equal([
      [10, 'b'],
      [20, 'c'],
      [20, 'd'],
      [30, 'a'],
    ]);
  });

  it('an earlier delay for one key moves only that key', async () => {
    const { q } = newQueue();
    q.addAfter('a', 50);
    q.addAfter('b', 40);
    q.addAfter('a', 5);
    await clock.tickAsync(5);
    expect(q.tryGet()).to.equal('a');
    q.done('a');
    expect(q.tryGet()).to.equal(undefined);
    await clock.tickAsync(35);
    expect(q.tryGet()).to.equal('b');
    await clock.tickAsync(100);
    expect(q.tryGet(), "a's superseded 50 ms delay adds nothing").to.equal(undefined);
  });

  it('runs its delays on the injected clock', () => {
    let now = 0;
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const q = new WorkQueue<string>({ clock: { now: () => now, setTimeout: (fn, ms) => timers.push({ fn, ms }), clearTimeout: () => undefined } });
    q.addAfter('a', 25);
    expect(timers.map((t) => t.ms)).to.deep.equal([25]);
    now = 25;
    timers[0]!.fn();
    expect(q.tryGet()).to.equal('a');
  });

  it('rejects options that lack a method, naming it', () => {
    const clockWithoutTimers = { now: () => 0 } as never;
    expect(() => new WorkQueue({ clock: clockWithoutTimers })).to.throw(TypeError, 'Expected `clock` to be an object with now(), setTimeout() and clearTimeout(), got one without setTimeout()');
    expect(() => new WorkQueue({ metrics: 5 as never })).to.throw(TypeError, 'Expected `metrics` to be an object with add(), depth(), queueDuration(), workDuration() and retry(), got 5');
    expect(() => new WorkQueue({ rateLimiter: { when: () => 1, forget: () => undefined } as never })).to.throw(TypeError, 'got one without numRequeues()');
  });

  it('shutdown stops intake, wakes getters, still hands out queued keys, then undefined', async () => {
    const { q } = newQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).to.equal(undefined);

    const { q: q2 } = newQueue();
    q2.add('a');
    q2.add('b');
    q2.addAfter('c', 10);
    q2.shutDown();
    q2.add('d');
    expect(await q2.get()).to.equal('a');
    expect(await q2.get()).to.equal('b');
    expect(await q2.get()).to.equal(undefined);
    await clock.tickAsync(50);
    expect(q2.len(), 'delayed keys dropped at shutdown').to.equal(0);
  });

  it('shutDownWithDrain waits for in-flight keys to be done', async () => {
    const { q } = newQueue();
    q.add('a');
    q.add('b');
    const a = (await q.get())!;
    const b = (await q.get())!;
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    await clock.tickAsync(1);
    expect(drained).to.equal(false);
    q.done(a);
    await clock.tickAsync(1);
    expect(drained).to.equal(false);
    q.done(b);
    await p;
    expect(drained).to.equal(true);
  });

  it('reports depth, queue duration, work duration, unfinished work and the longest processor', async () => {
    const { q, m } = newQueue();
    q.add('a');
    q.add('b');
    expect(m.depths.at(-1)).to.equal(2);
    await clock.tickAsync(250);
    q.tryGet();
    expect(m.queued.at(-1)).to.equal(0.25);
    await clock.tickAsync(100);
    q.tryGet();
    expect(m.depths.at(-1)).to.equal(0);
    await clock.tickAsync(400);
    expect(q.longestRunningProcessorSeconds()).to.be.closeTo(0.5, 1e-9);
    expect(q.unfinishedWorkSeconds()).to.be.closeTo(0.9, 1e-9);
    q.done('a');
    expect(m.worked.at(-1)).to.be.closeTo(0.5, 1e-9);
    expect(q.processingCount()).to.equal(1);
  });

  it('processes each key once under many concurrent workers and re-adds', async () => {
    clock.restore();
    const q = new WorkQueue<string>();
    const active = new Set<string>();
    const processed: string[] = [];
    let overlap = 0;
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (active.has(k)) overlap++;
        active.add(k);
        await new Promise((r) => setImmediate(r));
        if (Math.random() < 0.3) q.add(k); // a re-add while processing
        active.delete(k);
        processed.push(k);
        q.done(k);
      }
    };
    for (let i = 0; i < 200; i++) q.add(`k${i % 50}`);
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 50));
    await q.shutDownWithDrain();
    await Promise.all(workers);
    expect(overlap).to.equal(0);
    expect(new Set(processed).size).to.equal(50);
    clock = sinon.useFakeTimers();
  });
});
