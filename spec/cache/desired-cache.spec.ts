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
    const c = new DesiredStateCache(loader, 1000, () => now);
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

  it('throttles miss-driven reloads and shares concurrent ones', async () => {
    const { state, loader } = countingLoader();
    let now = 0;
    const c = new DesiredStateCache(loader, 1000, () => now);
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
});
