import { expect } from 'chai';
import { createRequire } from 'node:module';
import type Sinon from 'sinon';

// sinon's CommonJS build: its fake clock also replaces `node:timers/promises` (src/util/timers.ts
// sleeps and times out with it); the ES module build can only replace the globals.
const sinon = createRequire(import.meta.url)('sinon') as typeof Sinon;
import { LeaderElector, type LeaseStore } from '../../src/leader/leader-election.js';
import { silentLogger } from '../../src/log.js';

/** An in-memory lease with the database's rules, on the fake clock. */
class FakeLeaseStore implements LeaseStore {
  holder = '';
  renewedAt = -Infinity;
  duration = 0;
  failing = false;
  hang = false;
  calls = 0;
  async tryAcquireOrRenew(_name: string, who: string, durationMs: number): Promise<boolean> {
    this.calls++;
    if (this.hang) return new Promise(() => undefined);
    if (this.failing) throw new Error('connection lost');
    const now = Date.now();
    if (this.holder === who || this.holder === '' || this.renewedAt + this.duration < now) {
      this.holder = who;
      this.renewedAt = now;
      this.duration = durationMs;
      return true;
    }
    return false;
  }
  async release(_name: string, who: string): Promise<boolean> {
    if (this.holder !== who) return false;
    this.holder = '';
    return true;
  }
}

const cfg = (identity: string) => ({ leaseName: 'tinyforge-reconciler/h', identity, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });

describe('LeaderElector', () => {
  let clock: Sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => clock.restore());

  function elector(store: FakeLeaseStore, id: string) {
    const events: string[] = [];
    const e = new LeaderElector(store, cfg(id), { onStartedLeading: () => events.push('start'), onStoppedLeading: () => events.push('stop') }, silentLogger(), () => Date.now(), () => 0.5);
    return { e, events };
  }

  it('only one of two candidates leads; the standby takes over within one lease duration after the holder dies', async () => {
    const store = new FakeLeaseStore();
    const a = elector(store, 'a');
    const b = elector(store, 'b');
    const abortA = new AbortController();
    const abortB = new AbortController();
    void a.e.run(abortA.signal);
    await clock.tickAsync(10);
    void b.e.run(abortB.signal);
    await clock.tickAsync(10_000);
    expect(a.e.isLeader()).to.equal(true);
    expect(b.e.isLeader()).to.equal(false);
    expect(a.e.canWrite() && !b.e.canWrite()).to.equal(true);

    // a dies (stops renewing without releasing)
    store.hang = false;
    abortA.abort();
    (a.e as unknown as { leading: boolean }).leading = false;
    const diedAt = Date.now();
    while (!b.e.isLeader()) await clock.tickAsync(100);
    expect(Date.now() - diedAt).to.be.at.most(15_000 + 2_000 * 1.2 + 100);
    expect(b.events).to.deep.equal(['start']);
    abortB.abort();
    await clock.tickAsync(10);
  });

  it('a holder that cannot renew stops writing before its lease can expire', async () => {
    const store = new FakeLeaseStore();
    const a = elector(store, 'a');
    const abort = new AbortController();
    void a.e.run(abort.signal);
    await clock.tickAsync(10);
    expect(a.e.isLeader()).to.equal(true);
    const lastRenew = store.renewedAt;
    store.failing = true;
    let stoppedAt = 0;
    while (a.e.canWrite()) {
      await clock.tickAsync(100);
      stoppedAt = Date.now();
    }
    expect(stoppedAt - lastRenew).to.be.at.most(10_000 + 100);
    expect(stoppedAt - lastRenew, 'before the lease expires for others').to.be.lessThan(15_000);
    expect(a.events).to.deep.equal(['start', 'stop']);
    // Back again: it re-acquires its own lease.
    store.failing = false;
    await clock.tickAsync(2_500);
    expect(a.e.isLeader()).to.equal(true);
    abort.abort();
    await clock.tickAsync(10);
  });

  it('a renew that hangs counts as a failure (bounded by the renew deadline)', async () => {
    const store = new FakeLeaseStore();
    const a = elector(store, 'a');
    const abort = new AbortController();
    void a.e.run(abort.signal);
    await clock.tickAsync(10);
    store.hang = true;
    await clock.tickAsync(12_000);
    expect(a.e.isLeader()).to.equal(false);
    abort.abort();
    await clock.tickAsync(20_000);
  });

  it('refuses writes after a pause longer than the renew deadline, before any timer runs', async () => {
    const store = new FakeLeaseStore();
    const a = elector(store, 'a');
    const abort = new AbortController();
    void a.e.run(abort.signal);
    await clock.tickAsync(10);
    expect(a.e.canWrite()).to.equal(true);
    clock.setSystemTime(Date.now() + 20_000); // SIGSTOP: time passes, no timer fired
    expect(a.e.canWrite()).to.equal(false);
    expect(a.events).to.deep.equal(['start', 'stop']);
    abort.abort();
    await clock.tickAsync(10);
  });

  it('releases the lease on request so a standby need not wait for expiry', async () => {
    const store = new FakeLeaseStore();
    const a = elector(store, 'a');
    const abort = new AbortController();
    void a.e.run(abort.signal);
    await clock.tickAsync(10);
    await a.e.release();
    expect(store.holder).to.equal('');
    expect(a.e.isLeader()).to.equal(false);
    abort.abort();
    await clock.tickAsync(10);
  });
});
