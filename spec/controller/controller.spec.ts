import { expect } from 'chai';
import sinon from 'sinon';
import { Controller, type ControllerDeps } from '../../src/controller/controller.js';
import type { Reconciler, ReconcileOutcome } from '../../src/controller/reconciler.js';
import { ExternalError, NotLeaderError } from '../../src/domain/errors.js';
import { ExponentialFailureRateLimiter } from '../../src/queue/rate-limiter.js';
import { deferred, recordingLog, recordingMetrics, RecordingQueue, type Deferred } from '../support/fakes.js';

type Step = ReconcileOutcome | Error | Deferred<ReconcileOutcome>;

/**
 * A reconciler scripted per key: each call takes the key's next step (an outcome, an error to
 * throw, or a deferred outcome the spec settles); past the script, success. Records every call
 * and whether a key was ever reconciled by two workers at once.
 */
class ScriptedReconciler implements Reconciler {
  readonly calls: string[] = [];
  readonly active = new Set<string>();
  overlaps = 0;
  private readonly scripts = new Map<string, Step[]>();

  script(key: string, ...steps: Step[]): this {
    this.scripts.set(key, steps);
    return this;
  }

  count(key: string): number {
    return this.calls.filter((k) => k === key).length;
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    this.calls.push(key);
    if (this.active.has(key)) this.overlaps++;
    this.active.add(key);
    try {
      const step = this.scripts.get(key)?.shift() ?? {};
      if (step instanceof Error) throw step;
      if ('promise' in step) return await step.promise;
      return step;
    } finally {
      this.active.delete(key);
    }
  }
}

describe('Controller (worker loop)', () => {
  let clock: sinon.SinonFakeTimers;
  let queue: RecordingQueue;
  let reconciler: ScriptedReconciler;
  let metrics: ReturnType<typeof recordingMetrics>;
  let log: ReturnType<typeof recordingLog>;
  let controller: Controller | undefined;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
    queue = new RecordingQueue({ rateLimiter: new ExponentialFailureRateLimiter<string>(5, 1000) });
    reconciler = new ScriptedReconciler();
    metrics = recordingMetrics();
    log = recordingLog();
    controller = undefined;
  });
  afterEach(async () => {
    if (controller) {
      const stopped = controller.stop();
      await clock.tickAsync(0);
      await stopped;
    }
    clock.restore();
  });

  function start(over: Partial<ControllerDeps> = {}): Controller {
    controller = new Controller({ queue, reconciler, metrics, log, workers: 2, maxInFlightCommits: 100, ...over });
    controller.start();
    return controller;
  }

  /** Lets every settled promise run (no time passes). */
  const settle = () => clock.tickAsync(0);

  describe('the error switch', () => {
    it('success: forget, then done; the key is not reconciled again', async () => {
      start();
      controller!.enqueue('a');
      await settle();
      expect(queue.of('a')).to.deep.equal(['add', 'forget', 'done']);
      await clock.tickAsync(10_000);
      expect(reconciler.count('a')).to.equal(1);
      expect([...metrics.counts.keys()].filter((k) => k.startsWith('reconcile_errors'))).to.deep.equal([]);
    });

    const failures: Array<{ name: string; err: () => Error; reason: string; panic: boolean }> = [
      { name: 'an ExternalError from docker', err: () => new ExternalError('docker', new Error('EOF')), reason: 'docker', panic: false },
      { name: 'an ExternalError from the database', err: () => new ExternalError('database', new Error('ECONNRESET')), reason: 'database', panic: false },
      { name: 'a NotLeaderError', err: () => new NotLeaderError(), reason: 'not_leader', panic: false },
      { name: 'anything else (a bug)', err: () => new TypeError('x is undefined'), reason: 'panic', panic: true },
    ];
    for (const f of failures) {
      it(`${f.name}: counted as reconcile_errors{reason=${f.reason}}${f.panic ? ' and a panic' : ''}, requeued after the rate limiter's backoff`, async () => {
        reconciler.script('a', f.err(), f.err());
        start();
        controller!.enqueue('a');
        await settle();
        expect(queue.of('a')).to.deep.equal(['add', 'addRateLimited', 'addAfter 5', 'done']);
        expect(metrics.get(`reconcile_errors{reason=${f.reason}}`)).to.equal(1);
        expect(metrics.get('handler_panics')).to.equal(f.panic ? 1 : 0);
        expect(log.lines.map((l) => l.level)).to.deep.equal([f.panic ? 'error' : 'warn']);
        // Not before its backoff (5 ms), then again; the second failure waits 10 ms.
        await clock.tickAsync(4);
        expect(reconciler.count('a')).to.equal(1);
        await clock.tickAsync(1);
        expect(reconciler.count('a')).to.equal(2);
        expect(queue.numRequeues('a')).to.equal(2);
        await clock.tickAsync(9);
        expect(reconciler.count('a')).to.equal(2);
        await clock.tickAsync(1);
        expect(reconciler.count('a'), 'third try succeeds').to.equal(3);
        expect(queue.numRequeues('a'), 'success forgets the failures').to.equal(0);
        expect(metrics.get(`reconcile_errors{reason=${f.reason}}`)).to.equal(2);
      });
    }

    it('a warning names the key, the reason and how often it was requeued before', async () => {
      reconciler.script('a', new ExternalError('docker', new Error('EOF')), new ExternalError('docker', new Error('EOF')));
      start();
      controller!.enqueue('a');
      await clock.tickAsync(5);
      expect(log.lines.map((l) => l.obj)).to.deep.equal([
        { containerId: 'a', reason: 'docker', error: 'docker: EOF', requeues: 0 },
        { containerId: 'a', reason: 'docker', error: 'docker: EOF', requeues: 1 },
      ]);
    });

    it('requeueAfter: forget (the failure history ends), add after the delay, done', async () => {
      reconciler.script('a', new ExternalError('docker', new Error('EOF')), { requeueAfterMs: 250 });
      start();
      controller!.enqueue('a');
      await clock.tickAsync(5);
      expect(reconciler.count('a')).to.equal(2);
      expect(queue.of('a').slice(-3)).to.deep.equal(['forget', 'addAfter 250', 'done']);
      expect(queue.numRequeues('a')).to.equal(0);
      await clock.tickAsync(249);
      expect(reconciler.count('a')).to.equal(2);
      await clock.tickAsync(1);
      expect(reconciler.count('a')).to.equal(3);
      expect(metrics.get('reconcile_errors{reason=docker}'), 'a requeue-after is no error').to.equal(1);
    });

    it('a commit that fails is a failure of its key (counted by reason, requeued); one that succeeds forgets', async () => {
      const c1 = deferred<void>();
      const c2 = deferred<void>();
      reconciler.script('a', { commit: c1.promise }, { commit: c2.promise });
      start();
      controller!.enqueue('a');
      await settle();
      expect(queue.of('a')).to.deep.equal(['add'], 'nothing decided before the commit settles');
      c1.reject(new ExternalError('database', new Error('deadlock')));
      await settle();
      expect(queue.of('a')).to.deep.equal(['add', 'addRateLimited', 'addAfter 5', 'done']);
      expect(metrics.get('reconcile_errors{reason=database}')).to.equal(1);
      await clock.tickAsync(5);
      c2.resolve();
      await settle();
      expect(queue.of('a').slice(-2)).to.deep.equal(['forget', 'done']);
    });
  });

  describe('one key, one worker', () => {
    it('never reconciles the same key twice at once: a re-add while it is processed (or its write in flight) waits until done', async () => {
      const hold = deferred<ReconcileOutcome>();
      const commit = deferred<void>();
      reconciler.script('a', hold, { commit: commit.promise });
      start({ workers: 8 });
      controller!.enqueue('a');
      await settle();
      controller!.enqueue('a');
      controller!.enqueue('a');
      await settle();
      expect(reconciler.count('a'), 'held by its first worker').to.equal(1);
      expect(controller!.isBusy('a')).to.equal(true);
      hold.resolve({});
      await settle();
      expect(reconciler.count('a'), 'then once more for both re-adds').to.equal(2);
      controller!.enqueue('a');
      await settle();
      expect(reconciler.count('a'), 'its write is in flight: still processing').to.equal(2);
      commit.resolve();
      await settle();
      expect(reconciler.count('a')).to.equal(3);
      expect(reconciler.overlaps).to.equal(0);
      expect(controller!.isBusy('a')).to.equal(false);
    });

    it('many keys re-added at random under many workers: each processed, never two at once', async () => {
      start({ workers: 16 });
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 30; i++) controller!.enqueue(`k${(i * 7 + round) % 30}`);
        await settle();
      }
      await settle();
      expect(reconciler.overlaps).to.equal(0);
      expect(new Set(reconciler.calls).size).to.equal(30);
    });
  });

  describe('commit backpressure', () => {
    it('at maxInFlightCommits writes in flight, workers take no new key until one settles', async () => {
      const commits = ['a', 'b', 'c', 'd'].map((k) => {
        const c = deferred<void>();
        reconciler.script(k, { commit: c.promise });
        return c;
      });
      start({ workers: 1, maxInFlightCommits: 2 });
      for (const k of ['a', 'b', 'c', 'd']) controller!.enqueue(k);
      await settle();
      expect(reconciler.calls, 'two writes in flight: the worker waits').to.deep.equal(['a', 'b']);
      commits[1]!.resolve();
      await settle();
      expect(reconciler.calls).to.deep.equal(['a', 'b', 'c']);
      commits[0]!.resolve();
      await settle();
      expect(reconciler.calls).to.deep.equal(['a', 'b', 'c', 'd']);
      commits[2]!.resolve();
      commits[3]!.resolve();
      await settle();
    });
  });

  describe('passes', () => {
    it('enqueuePass resolves once every key was processed after the call, with the failures counted', async () => {
      reconciler.script('b', new ExternalError('docker', new Error('EOF')));
      start();
      let result: { errors: number } | undefined;
      void controller!.enqueuePass(['a', 'b', 'c']).then((r) => (result = r));
      await settle();
      expect(result).to.deep.equal({ errors: 1 });
    });

    it('a key being processed when the pass asks counts only once processed again', async () => {
      const first = deferred<ReconcileOutcome>();
      const second = deferred<ReconcileOutcome>();
      reconciler.script('a', first, second);
      start();
      controller!.enqueue('a');
      await settle();
      let result: { errors: number } | undefined;
      void controller!.enqueuePass(['a']).then((r) => (result = r));
      first.resolve({});
      await settle();
      expect(reconciler.count('a')).to.equal(2);
      expect(result, 'the processing that began before the pass does not count').to.equal(undefined);
      second.resolve({});
      await settle();
      expect(result).to.deep.equal({ errors: 0 });
    });

    it('an empty pass resolves at once', async () => {
      start();
      expect(await controller!.enqueuePass([])).to.deep.equal({ errors: 0 });
    });
  });

  describe('stop', () => {
    it('drains: waits for the key each worker holds and for writes in flight, drops queued keys, ends waiting passes', async () => {
      const hold = deferred<ReconcileOutcome>();
      const commit = deferred<void>();
      reconciler.script('a', hold).script('b', { commit: commit.promise });
      const c = start({ workers: 2, maxInFlightCommits: 1 });
      let pass: { errors: number } | undefined;
      void c.enqueuePass(['a', 'b', 'c', 'd']).then((r) => (pass = r));
      await settle();
      expect(reconciler.calls).to.deep.equal(['a', 'b']);
      let stopped = false;
      void c.stop().then(() => (stopped = true));
      await settle();
      expect(stopped, 'a is still being reconciled').to.equal(false);
      hold.resolve({});
      await settle();
      expect(stopped, "b's write is in flight").to.equal(false);
      commit.resolve();
      await settle();
      expect(stopped).to.equal(true);
      expect(reconciler.calls, 'queued keys are dropped').to.deep.equal(['a', 'b']);
      expect(pass, 'the pass ends, its unprocessed keys counted as failures').to.deep.equal({ errors: 2 });
      controller = undefined;
    });

    it('a key handed to a worker as stop begins is given back unprocessed', async () => {
      const c = start({ workers: 1 });
      await settle();
      let pass: { errors: number } | undefined;
      void c.enqueuePass(['a']).then((r) => (pass = r));
      const stopped = c.stop();
      await settle();
      await stopped;
      controller = undefined;
      expect(reconciler.calls).to.deep.equal([]);
      expect(queue.of('a')).to.deep.equal(['add', 'done']);
      expect(pass).to.deep.equal({ errors: 1 });
    });

    it('a pass asked for after stop ends at once, every key a failure', async () => {
      const c = start();
      await c.stop();
      controller = undefined;
      expect(await c.enqueuePass(['a', 'b'])).to.deep.equal({ errors: 2 });
      expect(reconciler.calls).to.deep.equal([]);
    });
  });

  describe('options', () => {
    const base = () => ({ queue, reconciler, metrics, log, workers: 2, maxInFlightCommits: 10 });
    const bad: Array<[Partial<ControllerDeps>, string]> = [
      [{ workers: 0 }, 'Expected `workers` to be an integer from 1 to 256, got 0'],
      [{ workers: 257 }, 'Expected `workers` to be an integer from 1 to 256, got 257'],
      [{ workers: 1.5 }, 'Expected `workers` to be an integer from 1 to 256, got 1.5'],
      [{ maxInFlightCommits: 0 }, 'Expected `maxInFlightCommits` to be an integer from 1 to 1000000, got 0'],
      [{ maxInFlightCommits: Number.NaN }, 'Expected `maxInFlightCommits` to be an integer from 1 to 1000000, got NaN'],
    ];
    for (const [over, message] of bad) {
      it(`rejects ${JSON.stringify(over)}`, () => {
        expect(() => new Controller({ ...base(), ...over })).to.throw(TypeError, message);
      });
    }
    it('accepts the bounds', () => {
      expect(() => new Controller({ ...base(), workers: 1, maxInFlightCommits: 1 })).not.to.throw();
      expect(() => new Controller({ ...base(), workers: 256, maxInFlightCommits: 1_000_000 })).not.to.throw();
    });
  });
});
