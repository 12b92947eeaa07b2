import { expect } from 'chai';
import { desiredView } from '../support/fakes.js';
import { decide, isOwnRow, needsWrite, rankBound, type Accepted, type DecideContext, type Refused } from '../../src/domain/decide.js';
import type { ContainerItem, DesiredStateView, ObservedRow } from '../../src/domain/types.js';
import { RowIndex } from '../../src/cache/row-index.js';

const C1 = 'a'.repeat(64);
const C2 = 'b'.repeat(64);

const desiredOf = desiredView;

const desired = desiredOf([
  { id: 'w', kind: 'project', refId: 'p' },
  { id: 'ws', kind: 'site', refId: 'site-1' },
  { id: 'wk', kind: 'stack', refId: 'st' },
], [{ id: 'st', composeProjectName: 'tinyforge-shop' }]);

function item(id: string, labels: Record<string, string>, over: Partial<ContainerItem> = {}): ContainerItem {
  return { id, name: `n-${id.slice(0, 4)}`, image: 'img:1', state: 'running', labels, ports: [80], ...over };
}

function row(id: string, over: Partial<ObservedRow> = {}): ObservedRow {
  return { id, workloadId: 'w', workloadKind: 'project', role: 'web', containerId: C1, imageRef: 'img:1', host: 'local', state: 'running', port: 80, ...over };
}

/** A context over a real RowIndex holding `rows`, with `live` containers in Docker. */
function ctx(rows: ObservedRow[], live: string[] = [C1, C2], host = 'local', d: DesiredStateView = desired): DecideContext & { index: RowIndex } {
  const index = new RowIndex({ findByContainerOrRowIds: async () => [] });
  index.replace(rows);
  const liveSet = new Set(live);
  return { host, desired: d, rows: index, isLive: (c) => liveSet.has(c), index };
}

const web = { 'tinyforge.workload.id': 'w', 'tinyforge.workload.kind': 'project', 'tinyforge.role': 'web' };

function accepted(d: ReturnType<typeof decide>): Accepted {
  expect(d.ok, JSON.stringify(d)).to.equal(true);
  return d as Accepted;
}
function refused(d: ReturnType<typeof decide>): Refused {
  expect(d.ok, JSON.stringify(d)).to.equal(false);
  return d as Refused;
}

describe('decide: which row a container gets', () => {
  it('a new container gets its derived row (created)', () => {
    const d = accepted(decide(item(C1, web), ctx([])));
    expect(d.row).to.include({ id: 'w:web', containerId: C1, state: 'running', host: 'local' });
    expect(d.existing).to.equal(undefined);
    expect(d.changed).to.equal(true);
    expect(needsWrite(d)).to.equal(true);
  });

  it('an unchanged row needs no write', () => {
    const d = accepted(decide(item(C1, web), ctx([row('w:web')])));
    expect(d.changed).to.equal(false);
    expect(needsWrite(d)).to.equal(false);
  });

  it("the deployer's bound row wins over the derived one, which is superseded", () => {
    const derived = row('w:web');
    const deployer = row('0f8e-uuid', { state: 'created' });
    const d = accepted(decide(item(C1, web), ctx([derived, deployer])));
    expect(d.row.id).to.equal('0f8e-uuid');
    expect(d.row.state).to.equal('running');
    expect(d.supersede.map((r) => r.id)).to.deep.equal(['w:web']);
    expect(needsWrite(d)).to.equal(true);
  });

  it('a superseded row already missing is left alone', () => {
    const d = accepted(decide(item(C1, web), ctx([row('w:web', { state: 'missing' }), row('uuid')])));
    expect(d.row.id).to.equal('uuid');
    expect(d.supersede).to.deep.equal([]);
    expect(d.changed).to.equal(false);
  });

  it('a row bound to a live container is never rebound to another live container: the second claimant is refused', () => {
    const c = ctx([row('w:web', { containerId: C1 })]);
    const d = refused(decide(item(C2, web), c));
    expect(d.reason).to.equal('conflict');
    expect(d.rowId).to.equal('w:web');
    expect(d.workloadId).to.equal('w');
    expect(d.holder?.containerId).to.equal(C1);
    // Decided again (every pass), the answer is the same: no flapping.
    expect(refused(decide(item(C2, web), c)).reason).to.equal('conflict');
    expect(accepted(decide(item(C1, web), c)).changed).to.equal(false);
  });

  it('a row whose container is gone (or missing) is rebound to the new container', () => {
    const gone = accepted(decide(item(C2, web), ctx([row('w:web', { containerId: C1 })], [C2])));
    expect(gone.row).to.include({ id: 'w:web', containerId: C2 });
    const missing = accepted(decide(item(C2, web), ctx([row('w:web', { containerId: C1, state: 'missing' })])));
    expect(missing.row).to.include({ id: 'w:web', containerId: C2 });
  });

  it('an unbound pre-created row with the derived ID is taken', () => {
    const d = accepted(decide(item(C1, web), ctx([row('w:web', { containerId: '', state: 'created' })])));
    expect(d.row).to.include({ id: 'w:web', containerId: C1 });
  });

  it('a write in flight claims its row: a second container is refused meanwhile', () => {
    const c = ctx([]);
    expect(c.index.claim('w:web', C1)).to.equal(true);
    expect(refused(decide(item(C2, web), c)).reason).to.equal('conflict');
    c.index.release('w:web', C1);
    expect(accepted(decide(item(C2, web), c)).row.id).to.equal('w:web');
  });

  it('compose replicas numbered alike: one holds the row, the other is refused', () => {
    const labels = { 'com.docker.compose.project': 'tinyforge-shop', 'com.docker.compose.service': 'api', 'com.docker.compose.container-number': '2' };
    const c = ctx([row('wk:api:2', { workloadId: 'wk', workloadKind: 'stack', role: 'api' })]);
    const d = refused(decide(item(C2, labels), c));
    expect(d).to.include({ reason: 'conflict', rowId: 'wk:api:2', dispatch: 'compose', workloadId: 'wk' });
  });

  it("another host's row is never written (and the derived ID is host-scoped away from it)", () => {
    const theirs = row('w:web', { host: 'node-b', containerId: C2 });
    const onLocal = refused(decide(item(C1, web), ctx([theirs])));
    expect(onLocal.reason).to.equal('row_owned_by_other_host');
    const onC = accepted(decide(item(C1, web), ctx([theirs], [C1, C2], 'node-c')));
    expect(onC.row.id).to.equal('w:web@node-c');
  });

  it('rows of another host bound to the container are not ours to keep', () => {
    const d = accepted(decide(item(C1, web), ctx([row('uuid', { host: 'node-b' })])));
    expect(d.row.id).to.equal('w:web');
    expect(d.supersede).to.deep.equal([]);
  });

  it("a row the deployer left without a host is adopted with this agent's host", () => {
    const d = accepted(decide(item(C1, web), ctx([row('uuid', { host: '', state: 'created' })], [C1], 'node-b')));
    expect(d.row).to.include({ id: 'uuid', host: 'node-b', state: 'running' });
  });

  it('a deleted workload: the bound row stays true from the container (orphaned); a new container is refused', () => {
    const empty = desiredOf([]);
    const c = ctx([row('w:web', { state: 'running' })], [C1], 'local', empty);
    const d = accepted(decide(item(C1, web, { state: 'exited', image: 'img:2' }), c));
    expect(d.orphaned).to.equal(true);
    expect(d.row).to.include({ id: 'w:web', workloadId: 'w', role: 'web', state: 'stopped', imageRef: 'img:2' });
    expect(d.changed).to.equal(true);
    const fresh = refused(decide(item(C2, web), c));
    expect(fresh).to.include({ reason: 'unknown_workload', workloadId: 'w', rowId: '' });
  });

  it('a site workload container without kind or role labels derives W:<container ID>, not the legacy W:site row', () => {
    const legacy = row('ws:site', { workloadId: 'ws', workloadKind: 'site', role: '', containerId: C2 });
    const c = ctx([legacy]);
    const d = accepted(decide(item(C1, { 'tinyforge.workload.id': 'ws' }), c));
    expect(d.row.id).to.equal(`ws:${C1}`);
    expect(d.row.workloadKind).to.equal('site');
    const legacyAgain = accepted(decide(item(C2, { 'tinyforge.static-site': 'site-1' }), c));
    expect(legacyAgain.row.id).to.equal('ws:site');
    expect(legacyAgain.changed).to.equal(false);
  });

  it('an unknown state or oversized value is refused even for a bound row (the row is left as it is)', () => {
    const c = ctx([row('w:web')]);
    expect(refused(decide(item(C1, web, { state: 'zombie' }), c))).to.include({ reason: 'unknown_state', rowId: 'w:web' });
    expect(refused(decide(item(C1, web, { image: 'i'.repeat(2000) }), c))).to.include({ reason: 'value_too_long', rowId: 'w:web' });
  });

  it('rankBound: live before missing, deployer before derived, then by ID', () => {
    const rows = [row('w:web'), row('z-uuid', { state: 'missing' }), row('b-uuid'), row('a-uuid')];
    expect(rankBound(rows, 'w:web').map((r) => r.id)).to.deep.equal(['a-uuid', 'b-uuid', 'w:web', 'z-uuid']);
  });

  it('isOwnRow: this host or none', () => {
    expect(isOwnRow(row('x', { host: 'h' }), 'h')).to.equal(true);
    expect(isOwnRow(row('x', { host: '' }), 'h')).to.equal(true);
    expect(isOwnRow(row('x', { host: 'h2' }), 'h')).to.equal(false);
  });
});

describe('RowIndex', () => {
  it('keeps every row bound to a container and follows rebinding', () => {
    const idx = new RowIndex({ findByContainerOrRowIds: async () => [] });
    idx.replace([row('a'), row('b')]);
    expect(idx.boundTo(C1).map((r) => r.id).sort()).to.deep.equal(['a', 'b']);
    idx.put(row('a', { containerId: C2 }));
    expect(idx.boundTo(C1).map((r) => r.id)).to.deep.equal(['b']);
    expect(idx.boundTo(C2).map((r) => r.id)).to.deep.equal(['a']);
    idx.markMissing(C2, 'local');
    expect(idx.getRow('a')!.state).to.equal('missing');
  });

  it('ensure with recheck reads the database again and drops bindings it no longer has', async () => {
    let db: ObservedRow[] = [row('w:web')];
    let queries = 0;
    const idx = new RowIndex({
      findByContainerOrRowIds: async (cids, rids) => {
        queries++;
        return db.filter((r) => cids.includes(r.containerId) || rids.includes(r.id));
      },
    }, { lingerMs: 0 });
    await idx.ensure(C1);
    expect(idx.boundTo(C1).map((r) => r.id)).to.deep.equal(['w:web']);
    await idx.ensure(C1);
    expect(queries, 'known keys are not read again').to.equal(1);
    // The deployer binds its row to C1 and the derived row is rebound elsewhere.
    db = [row('uuid'), row('w:web', { containerId: C2 })];
    await idx.ensure(C1, undefined, true);
    expect(queries).to.equal(2);
    expect(idx.boundTo(C1).map((r) => r.id)).to.deep.equal(['uuid']);
    db = [];
    await idx.ensure(C1, undefined, true);
    expect(idx.boundTo(C1)).to.deep.equal([]);
    expect(idx.knows(C1)).to.equal(true);
  });
});
