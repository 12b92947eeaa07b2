import { expect } from 'chai';
import { DesiredStateCache } from '../../src/cache/desired-cache.js';
import { ObservedCache } from '../../src/cache/observed-cache.js';
import { RowIndex } from '../../src/cache/row-index.js';
import type { RowChange } from '../../src/domain/changes.js';
import type { ContainerItem, ObservedRow, WorkloadRef } from '../../src/domain/types.js';
import { ContainerHandler } from '../../src/handlers/container.handler.js';
import { RefusalRegistry } from '../../src/refusals/refusal-registry.js';
import { BatchWriter } from '../../src/store/batch-writer.js';
import { cid, container, desiredLoader, FakeDocker, FakeTable, HOST, recordingLog, recordingMetrics, recordingRefusalSink, row } from '../support/fakes.js';

const A = cid('a');
const B = cid('b');
const DERIVED = `wl-1:web@${HOST}`;

interface Setup {
  /** What Docker runs (and what the last list showed, unless `listed` says otherwise). */
  docker?: ContainerItem[];
  listed?: ContainerItem[];
  rows?: ObservedRow[];
  workloads?: WorkloadRef[];
}

/**
 * A handler over the real caches, the real batch writer and refusal registry, an in-memory table
 * and a scripted Docker. `time.local` is this host's clock, `time.db` the database's.
 */
async function setup(s: Setup = {}) {
  const time = { local: 2_000, db: 1_700_000_000_000 };
  const docker = new FakeDocker(s.docker ?? []);
  const table = new FakeTable(s.rows ?? []);
  const observed = new ObservedCache();
  const { state: desiredState, loader } = desiredLoader(s.workloads);
  const desired = new DesiredStateCache(loader, { minReloadMs: 1000, now: () => time.local });
  time.local = 1_000;
  await desired.refresh();
  time.local = 2_000;
  observed.replaceAll(s.listed ?? s.docker ?? [], observed.currentVersion(), 1_500);
  const rows = new RowIndex(table, { lingerMs: 0 });
  rows.replace(await table.listForHost(HOST));
  const writer = new BatchWriter(table, HOST, { lingerMs: 0 });
  const sink = recordingRefusalSink();
  const refusals = new RefusalRegistry(sink, {}, { flushDelayMs: 0 });
  const metrics = recordingMetrics();
  const log = recordingLog();
  const changes: RowChange[] = [];
  const handler = new ContainerHandler({
    host: HOST,
    docker,
    observed,
    desired,
    rows,
    writer,
    retire: (host, seen) => table.markMissingIfBound(host, seen),
    refusals,
    metrics,
    log,
    changes: { rowsChanged: (c) => changes.push(...c) },
    clock: () => time.db,
    now: () => time.local,
  });
  table.calls.length = 0;
  /** Reconciles `id` and waits for its write, as the worker loop does. */
  const reconcile = async (id: string) => {
    const out = await handler.reconcile(id);
    await out.commit;
    return out;
  };
  const writes = () => table.calls.filter((c) => c.op === 'upsert' || c.op.startsWith('markMissing')).map((c) => c.op);
  return { time, docker, table, observed, desired, desiredState, rows, refusals, sink, metrics, log, changes, handler, reconcile, writes };
}

describe('ContainerHandler', () => {
  it('creates the derived row of a new container from the cache (no inspect), then writes nothing while nothing changed', async () => {
    const t = await setup({ docker: [container(A)] });
    await t.reconcile(A);
    expect(t.docker.calls, 'the cache is current: no inspect').to.deep.equal([]);
    expect(t.table.rows.get(DERIVED)).to.deep.equal(row(DERIVED, A));
    expect(t.changes).to.deep.equal([{ rowId: DERIVED, workloadId: 'wl-1', from: null, to: 'running', at: t.time.db, reason: 'created' }]);
    expect(t.metrics.get('upserts{dispatch=workload,result=created}')).to.equal(1);
    const out = await t.reconcile(A);
    expect(out).to.deep.equal({});
    expect(t.writes(), 'one write in all').to.deep.equal(['upsert']);
    expect(t.metrics.get('upserts{dispatch=workload,result=unchanged}')).to.equal(1);
  });

  it('inspects a key an event made stale and writes what the inspect says, stamped with the local clock', async () => {
    const t = await setup({ docker: [container(A, { state: 'exited' })], listed: [container(A)], rows: [row(DERIVED, A)] });
    t.observed.markStale(A);
    t.time.local = 2_500;
    await t.reconcile(A);
    expect(t.docker.calls).to.deep.equal([`inspect ${A.slice(0, 6)}`]);
    expect(t.table.rows.get(DERIVED)?.state).to.equal('stopped');
    expect(t.observed.staleVersion(A)).to.equal(undefined);
    expect(t.observed.observedTime(A)).to.equal(2_500);
    expect(t.changes.map((c) => [c.from, c.to, c.reason])).to.deep.equal([['running', 'stopped', 'observed']]);
    expect(t.metrics.get('upserts{dispatch=workload,result=updated}')).to.equal(1);
  });

  it("after an event, reads the container's rows again: the deployer's row bound since the last read wins over creating the derived one", async () => {
    const t = await setup({ docker: [container(A)] });
    await t.rows.prefetch([A], [DERIVED]);
    t.table.rows.set('dep-1', row('dep-1', A, { state: 'created' }));
    t.observed.markStale(A);
    await t.reconcile(A);
    expect([...t.table.rows.keys()]).to.deep.equal(['dep-1']);
    expect(t.table.rows.get('dep-1')?.state).to.equal('running');
  });

  it('an event that cannot follow a bind (stop, die, pause ...) trusts the row index: no lookup of the rows again', async () => {
    const t = await setup({ docker: [container(A)] });
    await t.rows.prefetch([A], [DERIVED]);
    const lookups = t.table.callsOf('findByContainerOrRowIds').length;
    t.table.rows.set('dep-1', row('dep-1', A, { state: 'created' }));
    t.observed.markStale(A, { rowsMayHaveChanged: false });
    await t.reconcile(A);
    expect(t.table.callsOf('findByContainerOrRowIds').length, 'no second lookup').to.equal(lookups);
    expect(t.table.rows.has(DERIVED), 'the index (no row yet) decides: the derived row is created').to.equal(true);
    // The next create/start event reads them again and the deployer's row wins.
    t.observed.markStale(A);
    await t.reconcile(A);
    expect(t.table.callsOf('findByContainerOrRowIds').length).to.equal(lookups + 1);
    expect(t.table.rows.get('dep-1')?.state).to.equal('running');
    expect(t.table.rows.get(DERIVED)?.state, 'superseded').to.equal('missing');
  });

  it("gone: marks this host's live rows bound to the container missing, records container_gone at the database's time, ends its refusal", async () => {
    const t = await setup({
      listed: [container(A)],
      rows: [row(DERIVED, A), row('wl-1:web@node-b', A, { host: 'node-b' }), row('old', A, { state: 'missing' })],
    });
    t.refusals.refuse(container(A), { ok: false, dispatch: 'workload', reason: 'conflict', detail: '', workloadId: 'wl-1', rowId: DERIVED });
    t.rows.put(row('wl-1:web@node-b', A, { host: 'node-b' })); // as a lookup by container finds it
    t.observed.markStale(A);
    await t.reconcile(A);
    expect(t.table.callsOf('markMissingByContainerIds')).to.deep.equal([[HOST, [A]]]);
    expect(t.table.rows.get(DERIVED)?.state).to.equal('missing');
    expect(t.table.rows.get('wl-1:web@node-b')?.state, "another host's row").to.equal('running');
    expect(t.rows.getRow(DERIVED)?.state, 'the index follows').to.equal('missing');
    expect(t.changes).to.deep.equal([{ rowId: DERIVED, workloadId: 'wl-1', from: 'running', to: 'missing', at: t.time.db, reason: 'container_gone' }]);
    expect(t.refusals.get(A)).to.equal(undefined);
    expect(t.observed.has(A)).to.equal(false);
  });

  it('gone with no live row of this host: nothing to write', async () => {
    const t = await setup({ listed: [container(A)], rows: [row(DERIVED, A, { state: 'missing' }), row('wl-1:web@node-b', A, { host: 'node-b' })] });
    t.rows.put(row('wl-1:web@node-b', A, { host: 'node-b' }));
    t.observed.markStale(A);
    const out = await t.reconcile(A);
    expect(out).to.deep.equal({});
    expect(t.writes()).to.deep.equal([]);
  });

  it("the deployer's row supersedes the derived one: the derived row is retired by compare-and-set and recorded as superseded", async () => {
    const t = await setup({ docker: [container(A, { state: 'exited' })], rows: [row('dep-1', A), row(DERIVED, A)] });
    await t.reconcile(A);
    expect(t.table.callsOf('markMissingIfBound')).to.deep.equal([[HOST, [{ id: DERIVED, containerId: A }]]]);
    expect(t.table.rows.get(DERIVED)?.state).to.equal('missing');
    expect(t.table.rows.get('dep-1')?.state, "the deployer's row follows the container").to.equal('stopped');
    expect(t.changes.map((c) => `${c.rowId}:${c.from}->${c.to}:${c.reason}`)).to.deep.equal([`${DERIVED}:running->missing:superseded`, 'dep-1:running->stopped:observed']);
    expect(t.log.lines.map((l) => l.obj)).to.deep.equal([{ containerId: A, rowId: DERIVED }]);
  });

  it('a superseded row the compare-and-set did not change (rebound meanwhile) records no transition', async () => {
    const t = await setup({ docker: [container(A)], rows: [row('dep-1', A), row(DERIVED, A)] });
    t.table.onNext('markMissingIfBound', () => t.table.rows.set(DERIVED, row(DERIVED, B)));
    await t.reconcile(A);
    expect(t.table.rows.get(DERIVED)).to.deep.equal(row(DERIVED, B));
    expect(t.changes).to.deep.equal([]);
  });

  it('conflict: a row held by another live container is not taken; the container is refused, the refusal recorded and persisted', async () => {
    const t = await setup({ docker: [container(A), container(B)], rows: [row(DERIVED, B)] });
    const out = await t.reconcile(A);
    expect(out).to.deep.equal({});
    expect(t.writes()).to.deep.equal([]);
    expect(t.table.rows.get(DERIVED)?.containerId).to.equal(B);
    expect(t.refusals.get(A)).to.include({ reason: 'conflict', rowId: DERIVED, workloadId: 'wl-1' });
    await t.refusals.flush();
    expect(t.sink.calls[0]).to.deep.equal({ op: 'upsert', arg: [`${A}:conflict`] });
  });

  it('a row whose holder is gone from Docker is rebound, and a former refusal ends', async () => {
    const t = await setup({ docker: [container(A)], rows: [row(DERIVED, B)] });
    t.refusals.refuse(container(A), { ok: false, dispatch: 'workload', reason: 'conflict', detail: '', workloadId: 'wl-1', rowId: DERIVED });
    await t.reconcile(A);
    expect(t.table.rows.get(DERIVED)?.containerId).to.equal(A);
    expect(t.refusals.get(A)).to.equal(undefined);
  });

  it('orphan: a bound row whose workload was deleted is kept true from the container alone', async () => {
    const orphan = row('wl-old:web@node-a', A, { workloadId: 'wl-old' });
    const t = await setup({ docker: [container(A, { workload: 'wl-old', state: 'paused' })], rows: [orphan] });
    await t.reconcile(A);
    expect(t.table.rows.get(orphan.id)).to.deep.equal({ ...orphan, state: 'paused' });
    expect(t.refusals.get(A)).to.equal(undefined);
    expect(t.desiredState.loads, 'a bound row needs no workload: no reload').to.equal(1);
  });

  it('an unknown workload while the desired state is older than the observation: reload throttled -> requeueAfter the wait, no refusal yet', async () => {
    const t = await setup({ docker: [container(A, { workload: 'wl-new' })] });
    t.time.local = 1_600;
    const out = await t.reconcile(A);
    expect(out).to.deep.equal({ requeueAfterMs: 400 });
    expect(t.refusals.get(A)).to.equal(undefined);
    expect(t.desiredState.loads).to.equal(1);
    // Allowed to reload now; the workload exists by then.
    t.desiredState.workloads.push({ id: 'wl-new', kind: 'project', refId: 'p2' });
    t.time.local = 2_000;
    await t.reconcile(A);
    expect(t.desiredState.loads).to.equal(2);
    expect(t.table.rows.get(`wl-new:web@${HOST}`)?.containerId).to.equal(A);
  });

  it('an unknown workload with the desired state read after the observation: refused at once, no reload', async () => {
    const t = await setup({ docker: [container(A, { workload: 'wl-new' })] });
    t.time.local = 5_000;
    await t.desired.refresh();
    const out = await t.reconcile(A);
    expect(out).to.deep.equal({});
    expect(t.desiredState.loads).to.equal(2);
    expect(t.refusals.get(A)?.reason).to.equal('unknown_workload');
  });

  it('a failed write: counted as an error, the row claim released, no transition recorded; the failure reaches the worker as a database error', async () => {
    const t = await setup({ docker: [container(A)] });
    t.table.failNext('upsert', new Error('deadlock'));
    const out = await t.handler.reconcile(A);
    const err = await out.commit!.then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('name', 'ExternalError');
    expect(err).to.have.property('source', 'database');
    expect(t.metrics.get('upserts{dispatch=workload,result=error}')).to.equal(1);
    expect(t.rows.claimedBy(DERIVED)).to.equal(undefined);
    expect(t.changes).to.deep.equal([]);
  });

  it("holds the row while its write is in flight; another container's write to it waits (requeueAfter 5 ms)", async () => {
    const t = await setup({ docker: [container(A, { state: 'exited' })], rows: [row(DERIVED, A)] });
    t.rows.claim(DERIVED, B);
    expect(await t.handler.reconcile(A)).to.deep.equal({ requeueAfterMs: 5 });
    expect(t.writes()).to.deep.equal([]);
  });
});
