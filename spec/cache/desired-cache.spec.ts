import { expect } from 'chai';
import { DesiredStateCache, type DesiredStateLoader } from '../../src/cache/desired-cache.js';

/** A loader that counts its calls, with a settable fingerprint. */
function countingLoader() {
  const state = { loads: 0, fingerprints: 0, fp: 'v1', workloads: [{ id: 'w1', kind: 'project', refId: 'r1' }] };
  const loader: DesiredStateLoader = {
    load: async () => {
      state.loads++;
      return { workloads: [...state.workloads], stacks: [{ id: 's1', composeProjectName: 'tinyforge-a' }] };
    },
    fingerprint: async () => {
      state.fingerprints++;
      return state.fp;
    },
  };
  return { state, loader };
}

describe('DesiredStateCache', () => {
  it('skips the load when the fingerprint did not change, reloads when it did', async () => {
    const { state, loader } = countingLoader();
    let now = 1000;
    const c = new DesiredStateCache(loader, { minReloadMs: 1000, now: () => now });
    await c.refresh({ ifChanged: true });
    expect(state.loads).to.equal(1);
    now = 2000;
    await c.refresh({ ifChanged: true });
    expect(state.loads, 'unchanged: no load').to.equal(1);
    expect(c.loadedAtMs(), 'but the snapshot counts as verified now').to.equal(2000);
    state.fp = 'v2';
    state.workloads.push({ id: 'w2', kind: 'site', refId: 'r2' });
    await c.refresh({ ifChanged: true });
    expect(state.loads).to.equal(2);
    expect(c.workloadByRef('site', 'r2')?.id).to.equal('w2');
    await c.refresh();
    expect(state.loads, 'a plain refresh always loads').to.equal(3);
  });

  it('recheckEveryMs: a pass checks the fingerprint at most that often; a miss-driven reload is not held back by it', async () => {
    const { state, loader } = countingLoader();
    let now = 10_000;
    const c = new DesiredStateCache(loader, { minReloadMs: 1000, recheckEveryMs: 300_000, now: () => now });
    await c.refresh({ ifChanged: true });
    expect([state.fingerprints, state.loads], 'the first pass checks and loads').to.deep.equal([1, 1]);
    for (let i = 1; i <= 9; i++) {
      now += 30_000;
      await c.refresh({ ifChanged: true });
    }
    expect([state.fingerprints, state.loads], 'nine passes within 5 minutes: no query').to.deep.equal([1, 1]);
    state.fp = 'v2';
    state.workloads.push({ id: 'w2', kind: 'project', refId: 'r2' });
    expect(await c.refreshIfStale(), 'a container naming an unknown workload reloads at once').to.equal(true);
    expect(c.workloadById('w2')?.id).to.equal('w2');
    now += 30_000;
    await c.refresh({ ifChanged: true });
    expect(state.fingerprints, 'a load counts as a check').to.equal(2);
    now += 300_000;
    await c.refresh({ ifChanged: true });
    expect(state.fingerprints, 'five minutes after the last check: checked again').to.equal(3);
    expect(() => new DesiredStateCache(loader, { recheckEveryMs: -1 })).to.throw(/recheckEveryMs/);
  });

  it('throttles miss-driven reloads and shares concurrent ones', async () => {
    const { state, loader } = countingLoader();
    let now = 0;
    const c = new DesiredStateCache(loader, { minReloadMs: 1000, now: () => now });
    expect(await c.refreshIfStale()).to.equal(true);
    now = 500;
    expect(await c.refreshIfStale()).to.equal(false);
    expect(c.msUntilReloadAllowed()).to.equal(500);
    now = 1500;
    await Promise.all([c.refresh(), c.refresh(), c.refresh()]);
    expect(state.loads).to.equal(2);
    expect(c.stackByComposeProject('tinyforge-a')?.id).to.equal('s1');
    expect(c.workloadById('nope')).to.equal(undefined);
  });

  it('a miss within the throttle waits for a load in flight (a pass started it) rather than answer from the older snapshot', async () => {
    const { state, loader } = countingLoader();
    let gate: Promise<void> = Promise.resolve();
    const slow: DesiredStateLoader = { load: async () => (await gate, loader.load()) };
    let now = 0;
    const c = new DesiredStateCache(slow, { minReloadMs: 1000, now: () => now });
    await c.refresh();
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    state.workloads.push({ id: 'w2', kind: 'project', refId: 'r2' });
    now = 500;
    const passLoad = c.refresh();
    now = 600;
    let answered: boolean | undefined;
    const miss = c.refreshIfStale().then((r) => (answered = r));
    await Promise.resolve();
    await Promise.resolve();
    expect(answered, 'still waiting').to.equal(undefined);
    release();
    await Promise.all([passLoad, miss]);
    expect(answered, 'no load of its own').to.equal(false);
    expect(state.loads).to.equal(2);
    expect(c.workloadById('w2')?.id, 'answered from the load it waited for').to.equal('w2');
  });

  it('stamps a snapshot with the time its load started', async () => {
    const { loader } = countingLoader();
    let now = 100;
    const timed: DesiredStateLoader = {
      load: async () => {
        now = 900;
        return loader.load();
      },
    };
    const c = new DesiredStateCache(timed, { now: () => now });
    expect(c.loadedAtMs()).to.equal(-Infinity);
    await c.refresh();
    expect(c.loadedAtMs()).to.equal(100);
    expect(c.msUntilReloadAllowed(), 'default minReloadMs 1000, from the start of the load').to.equal(200);
  });

  it('a failed load keeps the previous snapshot and its time; the next refresh loads again', async () => {
    const { state, loader } = countingLoader();
    let now = 0;
    let failing = false;
    const flaky: DesiredStateLoader = { load: () => (failing ? Promise.reject(new Error('db down')) : loader.load()) };
    const c = new DesiredStateCache(flaky, { minReloadMs: 0, now: () => now });
    await c.refresh();
    failing = true;
    now = 50;
    let error = '';
    await c.refresh().catch((e: Error) => (error = e.message));
    expect(error).to.equal('db down');
    expect(c.workloadById('w1')?.id).to.equal('w1');
    expect(c.loadedAtMs()).to.equal(0);
    failing = false;
    await c.refresh();
    expect(state.loads).to.equal(2);
    expect(c.loadedAtMs()).to.equal(50);
  });

  it('without a fingerprint, ifChanged always loads', async () => {
    const { state, loader } = countingLoader();
    const c = new DesiredStateCache({ load: loader.load }, { now: () => 0 });
    await c.refresh({ ifChanged: true });
    await c.refresh({ ifChanged: true });
    expect(state.loads).to.equal(2);
    expect(state.fingerprints).to.equal(0);
  });

  it('rejects a bad minReloadMs with a precise message', () => {
    const { loader } = countingLoader();
    expect(() => new DesiredStateCache(loader, { minReloadMs: -1 })).to.throw(TypeError, 'Expected `minReloadMs` to be a number from 0 to 3600000, got -1');
    expect(() => new DesiredStateCache(loader, { minReloadMs: Infinity })).to.throw(TypeError, 'Expected `minReloadMs` to be a number from 0 to 3600000, got Infinity');
    expect(() => new DesiredStateCache(loader, { minReloadMs: 0 })).not.to.throw();
  });
});
