import { expect } from 'chai';
import sinon from 'sinon';
import type { DesiredStateLoader } from '../../src/cache/desired-cache.js';
import type { WorkloadRef } from '../../src/domain/types.js';
import { cid, container, HOST, row } from '../support/fakes.js';
import { resyncHarness } from './harness.js';

/**
 * A steady pass decides only what changed (src/resync/resync.ts, `settled`): a container whose
 * cached item, bound row and desired state are the objects its last "nothing to do" decision
 * was made from is not decided again. Each case proves both halves: the work skipped (the desired
 * state is not even consulted) and every kind of change still seen.
 */
const N = 200;
const ids = Array.from({ length: N }, (_, k) => cid(`c${String(k).padStart(4, "0")}x`));
const rowId = (k: number) => `r${k}`;

/** A desired state whose fingerprint moves only when the spec changes it. */
function loader(workloads: WorkloadRef[]) {
  const state = { workloads, fp: 1, loads: 0 };
  const l: DesiredStateLoader = {
    load: async () => {
      state.loads++;
      return { workloads: [...state.workloads], stacks: [] };
    },
    fingerprint: async () => String(state.fp),
  };
  return { state, loader: l };
}

function steadyHarness() {
  const d = loader([{ id: 'wl-1', kind: 'project', refId: 'p1' }]);
  const h = resyncHarness({
    docker: ids.map((id) => container(id)),
    rows: ids.map((id, k) => row(rowId(k), id)),
    desiredLoader: d.loader,
    // DESIRED_STATE_RECHECK's default: the fingerprint is checked at most every 5 minutes.
    desiredRecheckMs: 300_000,
    lastSeenMaxAgeMs: 3_600_000,
  });
  const lookups = sinon.spy(h.desired, 'workloadById');
  const unchanged = () => h.metrics.get('upserts{dispatch=workload,result=unchanged}');
  return { ...h, d, lookups, unchanged };
}

describe('Resync over fake timers', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => clock.restore());

  describe('Resync: a steady pass decides only what changed', () => {
    it('decides every container once, then none while nothing changes (still counted unchanged)', async () => {
      const h = steadyHarness();
      await h.resync.runPass();
      expect(h.lookups.callCount).to.be.at.least(N);
      expect(h.unchanged()).to.equal(N);
      h.lookups.resetHistory();
      await h.resync.runPass();
      await h.resync.runPass();
      expect(h.lookups.callCount).to.equal(0);
      expect(h.unchanged()).to.equal(3 * N);
      expect(h.controller.passes.at(-1)).to.deep.equal([]);
    });

    it('a container that changed in Docker is decided again and queued; the others are not', async () => {
      const h = steadyHarness();
      await h.resync.runPass();
      h.lookups.resetHistory();
      h.docker.containers.set(ids[7]!, container(ids[7]!, { state: 'exited' }));
      await h.resync.runPass();
      expect(h.lookups.callCount).to.equal(1);
      expect(h.controller.passes.at(-1)).to.deep.equal([ids[7]]);
    });

    it('a row another program changed is read again and its container decided again (the write is queued)', async () => {
      const h = steadyHarness();
      await h.resync.runPass();
      // Another program rewrites one row: the checksum differs, the pass reads the host's rows
      // again, every row object is new, so every container is decided again.
      h.table.rows.set(rowId(3), row(rowId(3), ids[3]!, { imageRef: 'img:0' }));
      h.lookups.resetHistory();
      await h.resync.runPass();
      expect(h.lookups.callCount).to.be.at.least(N);
      expect(h.controller.passes.at(-1)).to.deep.equal([ids[3]]);
      h.lookups.resetHistory();
      // Once the worker's write landed (here: the table holds what the service would write), steady again.
      h.table.rows.set(rowId(3), row(rowId(3), ids[3]!));
      await h.resync.runPass();
      h.lookups.resetHistory();
      await h.resync.runPass();
      expect(h.lookups.callCount).to.equal(0);
    });

    it('a desired state that was reloaded makes every container decided again (a changed workload kind is written)', async () => {
      const h = steadyHarness();
      await h.resync.runPass();
      h.lookups.resetHistory();
      h.d.state.workloads = [{ id: 'wl-1', kind: 'stack', refId: 'p1' }];
      h.d.state.fp++;
      // The desired state is re-checked at most every DESIRED_STATE_RECHECK (default 5 minutes).
      await clock.tickAsync(5 * 60_000 + 1);
      await h.resync.runPass();
      expect(h.lookups.callCount).to.be.at.least(N);
      // The workload kind is an observed column: every row needs a write now.
      expect(h.controller.passes.at(-1)).to.have.length(N);
      // Once the workers' writes landed (the table holds what they write), steady again.
      ids.forEach((id, k) => h.table.rows.set(rowId(k), row(rowId(k), id, { workloadKind: 'stack' })));
      await h.resync.runPass();
      h.lookups.resetHistory();
      await h.resync.runPass();
      expect(h.lookups.callCount).to.equal(0);
      expect(h.controller.passes.at(-1)).to.deep.equal([]);
    });

    it('a container whose row is bound to another container too is decided at every pass (only a sole bound row is remembered)', async () => {
      const h = steadyHarness();
      h.table.rows.set('extra', row('extra', ids[0]!, { host: HOST, state: 'missing' }));
      await h.resync.runPass();
      h.lookups.resetHistory();
      await h.resync.runPass();
      expect(h.lookups.callCount).to.equal(1);
    });
  });

  describe('Resync: a workload created after the desired state was read', () => {
    it('a new container naming it is decided again after one reload in the same pass, not refused until DESIRED_STATE_RECHECK', async () => {
      const h = steadyHarness();
      await h.resync.runPass();
      const loads = h.d.state.loads;
      // The deployer creates the workload, then its container.
      h.d.state.workloads = [...h.d.state.workloads, { id: 'wl-new', kind: 'project', refId: 'p-new' }];
      h.d.state.fp++;
      const fresh = cid('fresh0001x');
      h.docker.containers.set(fresh, container(fresh, { workload: 'wl-new' }));
      await h.resync.runPass();
      expect(h.d.state.loads, 'one reload').to.equal(loads + 1);
      expect(h.controller.passes.at(-1), 'queued for its write').to.deep.equal([fresh]);
    });

    it('a container naming no workload at all is refused after one reload, and later passes do not reload for it again', async () => {
      const h = steadyHarness();
      await h.resync.runPass();
      const loads = h.d.state.loads;
      const stray = cid('stray0001x');
      h.docker.containers.set(stray, container(stray, { workload: 'wl-none' }));
      await h.resync.runPass();
      expect(h.d.state.loads).to.equal(loads + 1);
      expect(h.controller.passes.at(-1)).to.deep.equal([]);
      await h.resync.runPass();
      await h.resync.runPass();
      expect(h.d.state.loads, 'no reload for a refusal already recorded').to.equal(loads + 1);
    });
  });

  describe('Resync: the list is streamed into the cache', () => {
    it('a list cut midway drops nothing and sweeps nothing; the next full list does', async () => {
      const h = steadyHarness();
      await h.resync.runPass();
      expect(h.observed.size()).to.equal(N);
      h.docker.containers.delete(ids[N - 1]!);
      h.docker.containers.set(ids[0]!, container(ids[0]!, { state: 'exited' }));
      h.docker.failNextListAfter(10);
      const failed = await h.resync.runPass();
      expect(failed.ok).to.equal(false);
      // What was read is true (the first entries), nothing the cut list did not show is dropped.
      expect(h.observed.get(ids[0]!)?.state).to.equal('exited');
      expect(h.observed.size()).to.equal(N);
      expect(h.table.rows.get(rowId(N - 1))?.state).to.equal('running');
      const ok = await h.resync.runPass();
      expect(ok.ok).to.equal(true);
      expect(h.observed.size()).to.equal(N - 1);
      expect(h.table.rows.get(rowId(N - 1))?.state).to.equal('missing');
    });
  });

  describe("Resync: the host checksum is judged only when the service's own writes are quiet", () => {
    const fullReads = (h: ReturnType<typeof steadyHarness>) => h.table.callsOf('listForHost').length;

    it('a difference seen while a write is in flight keeps the index (no full read) for up to 4 passes, then reads in full', async () => {
      const h = steadyHarness();
      await h.resync.runPass();
      expect(fullReads(h)).to.equal(1);
      // A write committed in the database whose index update has not run yet.
      let finish!: () => void;
      const held = h.rows.writing(() => new Promise<void>((ok) => (finish = ok)));
      h.table.rows.set(rowId(5), row(rowId(5), ids[5]!, { state: 'stopped' }));
      for (let k = 0; k < 4; k++) await h.resync.runPass();
      expect(fullReads(h), 'inconclusive comparisons do not read').to.equal(1);
      await h.resync.runPass();
      expect(fullReads(h), 'the fifth inconclusive pass reads in full').to.equal(2);
      finish();
      await held;
    });

    it('a difference seen with no write in flight reads in full at once', async () => {
      const h = steadyHarness();
      await h.resync.runPass();
      h.table.rows.set(rowId(5), row(rowId(5), ids[5]!, { state: 'stopped' }));
      await h.resync.runPass();
      expect(fullReads(h)).to.equal(2);
    });
  });
});
