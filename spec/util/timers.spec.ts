import { expect } from 'chai';
import { createRequire } from 'node:module';
import type Sinon from 'sinon';

// sinon's CommonJS build: its fake clock also replaces `node:timers/promises` (src/util/timers.ts
// sleeps and times out with it); the ES module build can only replace the globals.
const sinon = createRequire(import.meta.url)('sinon') as typeof Sinon;
import { sleep, TimeoutError, withTimeout } from '../../src/util/timers.js';

describe('timers', () => {
  let clock: Sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.restore());

  /** Whether `p` has settled, without waiting for it. */
  async function settled(p: Promise<unknown>): Promise<boolean> {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await clock.tickAsync(0);
    return done;
  }

  describe('sleep', () => {
    it('resolves after the delay on the (fake) clock', async () => {
      const p = sleep(1000);
      await clock.tickAsync(999);
      expect(await settled(p)).to.equal(false);
      await clock.tickAsync(1);
      expect(await settled(p)).to.equal(true);
    });

    it('resolves at once when the signal aborts, and never rejects', async () => {
      const ac = new AbortController();
      const p = sleep(60_000, ac.signal);
      await clock.tickAsync(10);
      ac.abort();
      await p;
      expect(clock.countTimers(), 'the timer is cleared').to.equal(0);
      const already = new AbortController();
      already.abort();
      await sleep(60_000, already.signal);
    });
  });

  describe('withTimeout', () => {
    it('settles as the work does, and leaves no timer behind', async () => {
      expect(await withTimeout(Promise.resolve(42), 1000)).to.equal(42);
      const failed = await withTimeout(Promise.reject(new Error('boom')), 1000).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).to.be.instanceOf(Error).with.property('message', 'boom');
      await clock.tickAsync(0);
      expect(clock.countTimers()).to.equal(0);
    });

    it('rejects with a TimeoutError once the time passed, when the work hangs', async () => {
      const p = withTimeout(new Promise(() => undefined), 1500);
      let error: unknown;
      p.catch((e: unknown) => (error = e));
      await clock.tickAsync(1499);
      expect(error).to.equal(undefined);
      await clock.tickAsync(1);
      expect(error).to.be.instanceOf(TimeoutError);
      expect((error as TimeoutError).message).to.equal('timed out after 1500ms');
      expect((error as TimeoutError).timeoutMs).to.equal(1500);
    });
  });
});
