/**
 * decide() behaviour that mutation testing (make mutation, docs/testing.md) showed no other spec
 * pins down: the order of bound rows, who is superseded, claims by the same container, the
 * orphaned flag, and the details a refused container carries.
 */
import { expect } from 'chai';
import { desiredView } from '../support/fakes.js';
import { decide, derivedRowId, needsWrite, rankBound, type Accepted, type DecideContext, type Refused, type RowLookup } from '../../src/domain/decide.js';
import type { ContainerItem, ObservedRow } from '../../src/domain/types.js';

const C1 = 'a'.repeat(64);
const C2 = 'b'.repeat(64);

const desired = desiredView([
    { id: 'w', kind: 'project', refId: 'p' },
    { id: 'ws', kind: 'site', refId: 'site-1' },
  ]);

const web = { 'tinyforge.workload.id': 'w', 'tinyforge.workload.kind': 'project', 'tinyforge.role': 'web' };

function item(id: string, labels: Record<string, string>, over: Partial<ContainerItem> = {}): ContainerItem {
  return { id, name: 'box', image: 'img:1', state: 'running', labels, ports: [80], ...over };
}

function row(id: string, over: Partial<ObservedRow> = {}): ObservedRow {
  return { id, workloadId: 'w', workloadKind: 'project', role: 'web', containerId: C1, imageRef: 'img:1', host: 'local', state: 'running', port: 80, ...over };
}

/** A plain RowLookup over `rows`; `claims` maps row IDs to the container a write in flight binds them to. */
function lookup(rows: ObservedRow[], claims?: Record<string, string>): RowLookup {
  const l: RowLookup = {
    boundTo: (c) => rows.filter((r) => r.containerId === c),
    getRow: (id) => rows.find((r) => r.id === id),
  };
  if (claims) l.claimedBy = (id) => claims[id];
  return l;
}

function ctx(rows: ObservedRow[], opts: { claims?: Record<string, string>; live?: string[]; host?: string } = {}): DecideContext {
  const live = new Set(opts.live ?? [C1, C2]);
  return { host: opts.host ?? 'local', desired, rows: lookup(rows, opts.claims), isLive: (c) => live.has(c) };
}

function accepted(d: ReturnType<typeof decide>): Accepted {
  expect(d.ok, JSON.stringify(d)).to.equal(true);
  return d as Accepted;
}
function refused(d: ReturnType<typeof decide>): Refused {
  expect(d.ok, JSON.stringify(d)).to.equal(false);
  return d as Refused;
}

describe('decide (behaviour found by mutation testing)', () => {
  describe('rankBound', () => {
    const ids = (rows: ObservedRow[], derived: string) => rankBound(rows, derived).map((r) => r.id);

    it('puts live rows before missing ones whatever their IDs', () => {
      expect(ids([row('a', { state: 'missing' }), row('b')], 'x')).to.deep.equal(['b', 'a']);
    });

    it("puts the deployer's rows before the derived row whatever their IDs", () => {
      expect(ids([row('a'), row('b')], 'a')).to.deep.equal(['b', 'a']);
      expect(ids([row('b'), row('a')], 'a')).to.deep.equal(['b', 'a']);
    });

    it('orders rows of equal rank by ID, from any input order', () => {
      expect(ids([row('c'), row('b'), row('a')], 'x')).to.deep.equal(['a', 'b', 'c']);
      expect(ids([row('a'), row('c'), row('b')], 'x')).to.deep.equal(['a', 'b', 'c']);
      expect(ids([row('m2', { state: 'missing' }), row('m1', { state: 'missing' }), row('l2'), row('l1')], 'x')).to.deep.equal(['l1', 'l2', 'm1', 'm2']);
    });

    it('does not reorder its input array', () => {
      const input = [row('b'), row('a')];
      rankBound(input, 'x');
      expect(input.map((r) => r.id)).to.deep.equal(['b', 'a']);
    });
  });

  it('derivedRowId: the row ID dispatch derives on this host, or undefined for an unknown workload', () => {
    expect(derivedRowId(item(C1, web), desired, 'local')).to.equal('w:web');
    expect(derivedRowId(item(C1, web), desired, 'node-b')).to.equal('w:web@node-b');
    expect(derivedRowId(item(C1, { 'tinyforge.workload.id': 'gone' }), desired, 'local')).to.equal(undefined);
  });

  describe('a container without a bound row', () => {
    it('is accepted as not orphaned, with its derived ID', () => {
      const d = accepted(decide(item(C1, web), ctx([])));
      expect(d).to.include({ orphaned: false, derivedId: 'w:web', changed: true });
    });

    it('works with a row lookup that tracks no claims', () => {
      const d = accepted(decide(item(C1, web), ctx([])));
      expect(d.row.id).to.equal('w:web');
    });

    it("is not refused for its own write in flight, but is for another container's", () => {
      accepted(decide(item(C1, web), ctx([], { claims: { 'w:web': C1 } })));
      const r = refused(decide(item(C1, web), ctx([], { claims: { 'w:web': C2 } })));
      expect(r).to.include({ reason: 'conflict', rowId: 'w:web', workloadId: 'w' });
      expect(r.detail).to.equal(`row w:web is being bound to container ${C2.slice(0, 12)}`);
    });

    it('refused because a live container holds the row: the detail names it by its short ID', () => {
      const r = refused(decide(item(C1, web), ctx([row('w:web', { containerId: C2 })])));
      expect(r.detail).to.equal(`row w:web is held by live container ${C2.slice(0, 12)}`);
      expect(r.holder?.containerId).to.equal(C2);
    });

    it("refused because another host owns the row: the detail names that host", () => {
      const r = refused(decide(item(C1, web), ctx([row('w:web', { host: 'node-b', containerId: C2 })])));
      expect(r).to.include({ reason: 'row_owned_by_other_host', rowId: 'w:web' });
      expect(r.detail).to.equal('row w:web belongs to host "node-b"');
    });

    it('refused with the workload its labels name, or none', () => {
      expect(refused(decide(item(C1, { 'tinyforge.workload.id': 'gone' }), ctx([])))).to.include({ workloadId: 'gone', rowId: '', reason: 'unknown_workload' });
      expect(refused(decide(item(C1, { 'tinyforge.static-site': 'nope' }), ctx([])))).to.include({ workloadId: '', rowId: '', reason: 'unknown_site' });
      expect(refused(decide(item(C1, {}), ctx([])))).to.include({ workloadId: '', rowId: '', reason: 'no_tinyforge_labels' });
    });
  });

  describe('a container with a bound row', () => {
    it('keeps that row, described from its labels now, and is not orphaned', () => {
      const bound = row('custom', { role: 'old-role', workloadKind: 'site' });
      const d = accepted(decide(item(C1, web), ctx([bound])));
      expect(d.row).to.include({ id: 'custom', role: 'web', workloadKind: 'project' });
      expect(d).to.include({ orphaned: false, derivedId: 'w:web', changed: true });
    });

    it("supersedes only this host's other live rows, not a host-less row of the deployer", () => {
      const d = accepted(decide(item(C1, web), ctx([row('custom'), row('w:web'), row('spare', { host: '' }), row('gone', { state: 'missing' })])));
      expect(d.row.id).to.equal('custom');
      expect(d.supersede.map((r) => r.id)).to.deep.equal(['w:web']);
    });

    it('an unchanged row with a row to supersede still needs a write', () => {
      const d = accepted(decide(item(C1, web), ctx([row('custom'), row('w:web')])));
      expect(d.changed).to.equal(false);
      expect(d.supersede).to.have.length(1);
      expect(needsWrite(d)).to.equal(true);
    });

    it('is refused for an unknown state with the workload its labels name, the row left as it is', () => {
      const bound = row('custom', { workloadId: 'w-old' });
      const r = refused(decide(item(C1, web, { state: 'zombie' }), ctx([bound])));
      expect(r).to.include({ reason: 'unknown_state', dispatch: 'workload', workloadId: 'w', rowId: 'custom' });
      expect(r.holder).to.deep.equal(bound);
    });

    it('is refused when a label value is too long for its column, even though the bound row ID fits', () => {
      const labels = { ...web, 'tinyforge.role': 'r'.repeat(256) };
      const r = refused(decide(item(C1, labels), ctx([row('custom')])));
      expect(r).to.include({ reason: 'value_too_long', rowId: 'custom', workloadId: 'w' });
    });

    it('whose workload is gone: kept true from Docker, orphaned, with its own identity and no derived ID', () => {
      const bound = row('custom', { workloadId: 'w-gone', role: 'api', workloadKind: 'project', state: 'stopped' });
      const d = accepted(decide(item(C1, { 'tinyforge.workload.id': 'w-gone', 'tinyforge.role': 'api' }), ctx([bound])));
      expect(d).to.include({ orphaned: true, derivedId: '', dispatch: 'workload', changed: true });
      expect(d.row).to.include({ id: 'custom', workloadId: 'w-gone', role: 'api', state: 'running' });
    });

    it('whose labels are gone: kept as a workload row; a site container keeps its dispatch', () => {
      const bound = row('custom');
      expect(accepted(decide(item(C1, {}), ctx([bound])))).to.include({ orphaned: true, dispatch: 'workload' });
      expect(accepted(decide(item(C1, { 'tinyforge.static-site': 'gone' }), ctx([bound])))).to.include({ orphaned: true, dispatch: 'site' });
    });

    it('whose workload is gone and whose state is unknown: refused, not kept', () => {
      const bound = row('custom', { workloadId: 'w-gone' });
      const r = refused(decide(item(C1, { 'tinyforge.workload.id': 'w-gone' }, { state: 'zombie' }), ctx([bound])));
      expect(r).to.include({ reason: 'unknown_state', rowId: 'custom', workloadId: 'w-gone' });
      expect(r.holder).to.deep.equal(bound);
    });
  });
});
