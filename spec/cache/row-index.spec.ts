import { expect } from 'chai';
import sinon from 'sinon';
import { RowIndex, type RowIndexOptions } from '../../src/cache/row-index.js';
import { cid, FakeTable, HOST, row } from '../support/fakes.js';

const A = cid('a');
const B = cid('b');
const C = cid('c');

describe('RowIndex', () => {
  let clock: sinon.SinonFakeTimers;
  let table: FakeTable;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
    table = new FakeTable([row('wl-1:web', A), row('wl-1:db', B, { role: 'db' }), row('wl-2:web', '', { workloadId: 'wl-2' })]);
  });
  afterEach(() => clock.restore());

  const lookups = () => table.callsOf('findByContainerOrRowIds');

  describe('ensure', () => {
    it('coalesces the callers of one linger into one lookup of the union of their keys', async () => {
      const idx = new RowIndex(table, { lingerMs: 5 });
      const done: string[] = [];
      void idx.ensure(A, 'wl-1:web').then(() => done.push('a'));
      void idx.ensure(C, 'wl-9:web').then(() => done.push('c'));
      await clock.tickAsync(4);
      void idx.ensure(B).then(() => done.push('b'));
      expect(lookups(), 'nothing before the linger ends').to.deep.equal([]);
      await clock.tickAsync(1);
      expect(lookups()).to.deep.equal([[[A, C, B], ['wl-1:web', 'wl-9:web']]]);
      expect(done).to.deep.equal(['a', 'c', 'b']);
      expect(idx.boundTo(A).map((r) => r.id)).to.deep.equal(['wl-1:web']);
      expect(idx.boundTo(C), 'C has no row').to.deep.equal([]);
      expect(idx.knows(C, 'wl-9:web'), 'absence is known').to.equal(true);
      expect(idx.getRow('wl-9:web')).to.equal(undefined);
    });

    it('answers known keys at once, without a lookup', async () => {
      const idx = new RowIndex(table);
      idx.replace([row('wl-1:web', A)]);
      await idx.ensure(A, 'wl-1:web');
      expect(lookups()).to.deep.equal([]);
      expect(idx.knows(A, 'wl-2:web'), 'a row never looked up is unknown').to.equal(false);
    });

    it('a failed lookup rejects every caller of its batch; the next ensure asks again', async () => {
      const idx = new RowIndex(table);
      table.failNext('findByContainerOrRowIds', new Error('db down'));
      const results = [idx.ensure(A), idx.ensure(B)].map((p) => p.then(() => 'ok', (e: Error) => e.message));
      await clock.tickAsync(1);
      expect(await Promise.all(results)).to.deep.equal(['db down', 'db down']);
      expect(idx.knows(A)).to.equal(false);
      const again = idx.ensure(A);
      await clock.tickAsync(1);
      await again;
      expect(lookups()).to.have.length(2);
      expect(idx.knows(A)).to.equal(true);
    });

    it('recheck reads bound rows again even when known, and forgets a binding the database no longer has', async () => {
      const idx = new RowIndex(table);
      idx.replace([...table.rows.values()]);
      // Another program rebinds wl-1:web to C meanwhile.
      table.rows.set('wl-1:web', row('wl-1:web', C));
      const p = idx.ensure(A, undefined, true);
      await clock.tickAsync(1);
      await p;
      expect(lookups()).to.deep.equal([[[A], []]]);
      expect(idx.boundTo(A), 'A lost its row').to.deep.equal([]);
      expect(idx.knows(A)).to.equal(true);
    });

    it('forgetAbsence makes the next ensure ask the database again', async () => {
      const idx = new RowIndex(table);
      await Promise.all([idx.ensure(C), clock.tickAsync(1)]);
      expect(idx.knows(C)).to.equal(true);
      table.rows.set('wl-3:web', row('wl-3:web', C));
      idx.forgetAbsence(C);
      expect(idx.knows(C)).to.equal(false);
      await Promise.all([idx.ensure(C), clock.tickAsync(1)]);
      expect(idx.boundTo(C).map((r) => r.id)).to.deep.equal(['wl-3:web']);
    });
  });

  describe('prefetch', () => {
    it('looks up only unknown keys, records the rows found and what is absent; a second prefetch asks nothing', async () => {
      const idx = new RowIndex(table);
      idx.replace([row('wl-1:web', A)]);
      await idx.prefetch([A, B, C], ['wl-1:web', 'wl-2:web', 'wl-9:web']);
      expect(lookups()).to.deep.equal([[[B, C], ['wl-2:web', 'wl-9:web']]]);
      expect(idx.boundTo(B).map((r) => r.id)).to.deep.equal(['wl-1:db']);
      expect(idx.getRow('wl-2:web')?.containerId).to.equal('');
      expect(idx.knows(C, 'wl-9:web')).to.equal(true);
      await idx.prefetch([A, B, C], ['wl-1:web', 'wl-2:web', 'wl-9:web']);
      expect(lookups(), 'everything known now').to.have.length(1);
    });

    it('asks nothing when every key is known', async () => {
      const idx = new RowIndex(table);
      idx.replace([row('wl-1:web', A)]);
      await idx.prefetch([A], ['wl-1:web']);
      expect(lookups()).to.deep.equal([]);
    });
  });

  describe('rows and bindings', () => {
    it('replace forgets everything known before, absences included', async () => {
      const idx = new RowIndex(table);
      await idx.prefetch([C], []);
      expect(idx.knows(C)).to.equal(true);
      idx.replace([row('wl-1:web', A)]);
      expect(idx.knows(C)).to.equal(false);
      expect(idx.boundTo(A).map((r) => r.id)).to.deep.equal(['wl-1:web']);
    });

    it('put moves a rebound row to its new container; several rows can name one container', () => {
      const idx = new RowIndex(table);
      idx.replace([row('wl-1:web', A), row('dep-7', A)]);
      expect(idx.boundTo(A).map((r) => r.id)).to.deep.equal(['wl-1:web', 'dep-7']);
      idx.put(row('wl-1:web', B));
      expect(idx.boundTo(A).map((r) => r.id)).to.deep.equal(['dep-7']);
      expect(idx.boundTo(B).map((r) => r.id)).to.deep.equal(['wl-1:web']);
      idx.put(row('dep-7', ''));
      expect(idx.boundTo(A)).to.deep.equal([]);
    });

    it("markMissing marks only this host's rows bound to the container", () => {
      const idx = new RowIndex(table);
      idx.replace([row('wl-1:web', A), row('wl-1:web@node-b', A, { host: 'node-b' }), row('wl-1:db', B)]);
      idx.markMissing(A, HOST);
      expect(idx.getRow('wl-1:web')?.state).to.equal('missing');
      expect(idx.getRow('wl-1:web@node-b')?.state).to.equal('running');
      expect(idx.getRow('wl-1:db')?.state).to.equal('running');
    });
  });

  describe('claims', () => {
    it('one container at a time holds a row; only the holder releases it', () => {
      const idx = new RowIndex(table);
      expect(idx.claim('wl-1:web', A)).to.equal(true);
      expect(idx.claim('wl-1:web', A), 'the holder again').to.equal(true);
      expect(idx.claim('wl-1:web', B)).to.equal(false);
      expect(idx.claimedBy('wl-1:web')).to.equal(A);
      idx.release('wl-1:web', B);
      expect(idx.claimedBy('wl-1:web'), 'not released by another').to.equal(A);
      idx.release('wl-1:web', A);
      expect(idx.claimedBy('wl-1:web')).to.equal(undefined);
      expect(idx.claim('wl-1:web', B)).to.equal(true);
    });
  });

  describe('options', () => {
    const bad: Array<[RowIndexOptions, string]> = [
      [{ lingerMs: -1 }, 'Expected `lingerMs` to be a number from 0 to 1000, got -1'],
      [{ lingerMs: 1001 }, 'Expected `lingerMs` to be a number from 0 to 1000, got 1001'],
      [{ lingerMs: Number.NaN }, 'Expected `lingerMs` to be a number from 0 to 1000, got NaN'],
    ];
    for (const [opts, message] of bad) {
      it(`rejects lingerMs = ${String(opts.lingerMs)}`, () => {
        expect(() => new RowIndex(table, opts)).to.throw(TypeError, message);
      });
    }

    it('waits on the injected clock', async () => {
      clock.restore();
      const timers: number[] = [];
      const manual = { now: () => 0, setTimeout: (fn: () => void, ms: number) => (timers.push(ms), setImmediate(fn)), clearTimeout: () => undefined };
      const idx = new RowIndex(table, { lingerMs: 3, clock: manual });
      await idx.ensure(A);
      expect(timers).to.deep.equal([3]);
      clock = sinon.useFakeTimers();
    });
  });
});
