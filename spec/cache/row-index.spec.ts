import { expect } from 'chai';
import sinon from 'sinon';
import { RowIndex, type RowIndexOptions } from '../../src/cache/row-index.js';
import { observedRowChecksum } from '../../src/store/containers.repository.js';
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

  describe('the host view and its checksum', () => {
    /** A seeded generator (mulberry32): the same operations on every run. */
    function rng(seed: number) {
      return () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }

    it('after any sequence of reads, writes, marks and re-reads, the checksum equals what the database computes for the same rows', async () => {
      for (let seed = 1; seed <= 30; seed++) {
        const rand = rng(seed);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
        const ids = Array.from({ length: 12 }, (_, i) => `r${i}`);
        const containers = ['', cid('p'), cid('q'), cid('s'), cid('t')];
        const hosts = [HOST, HOST, '', 'node-b'];
        const db = new FakeTable();
        const idx = new RowIndex(db, { host: HOST, lingerMs: 0 });
        idx.replace(await db.listForHost(HOST));
        for (let step = 0; step < 60; step++) {
          const op = rand();
          const r = row(pick(ids), pick(containers), { host: pick(hosts), state: pick(['running', 'stopped', 'missing'] as const), port: Math.floor(rand() * 3) });
          if (op < 0.35) {
            // The service writes a row (the database follows, host guard and all).
            await db.upsert([r]);
            idx.put((await db.findByContainerOrRowIds([], [r.id]))[0]!);
          } else if (op < 0.55) {
            // Another program writes; the index learns it through a lookup.
            db.rows.set(r.id, r);
            await idx.prefetch([r.containerId].filter((c) => c !== ''), [r.id]);
            await (idx as unknown as { refetch(c: string[], r: string[]): Promise<void> }).refetch([r.containerId].filter((c) => c !== ''), [r.id]);
          } else if (op < 0.7) {
            const c = pick(containers.slice(1));
            await db.markMissingByContainerIds(HOST, [c]);
            idx.markMissing(c, HOST);
          } else if (op < 0.8) {
            idx.forgetOutsideView();
          } else if (op < 0.9) {
            // A row deleted by another program, then looked up by its container.
            const victim = pick(ids);
            const had = db.rows.get(victim);
            db.rows.delete(victim);
            if (had && had.containerId !== '') await (idx as unknown as { refetch(c: string[], r: string[]): Promise<void> }).refetch([had.containerId], [victim]);
            else await (idx as unknown as { refetch(c: string[], r: string[]): Promise<void> }).refetch([], [victim]);
          } else {
            idx.replace(await db.listForHost(HOST));
          }
          const inView = [...db.rows.values()].filter((x) => x.host === HOST || (x.host === '' && x.containerId !== ''));
          // The index may know less than the database (rows nobody read yet), never something else.
          const known = inView.filter((x) => idx.getRow(x.id) !== undefined);
          const expected = { count: 0, sum: 0, xor: 0 };
          for (const x of known) {
            const crc = observedRowChecksum(x);
            expected.count++;
            expected.sum += crc;
            expected.xor = (expected.xor ^ crc) >>> 0;
          }
          expect(idx.viewChecksum(), `seed ${seed} step ${step}`).to.deep.equal(expected);
          idx.forEachViewRow((v) => expect(db.rows.get(v.id), `seed ${seed} step ${step}: ${v.id} as the database has it`).to.deep.equal(v));
        }
        // After a full read, the index and the database agree exactly.
        idx.replace(await db.listForHost(HOST));
        expect(idx.viewChecksum()).to.deep.equal(await db.hostChecksum(HOST));
      }
    });

    it('put records last_seen_at as the database clock (a write) or as read; touched moves it; seq grows with every record', () => {
      let now = 5_000;
      const idx = new RowIndex(table, { host: HOST, dbNow: () => now });
      idx.replace([{ ...row('wl-1:web', A), lastSeenAt: 1_000 }, { ...row('other', B, { host: 'node-b' }), lastSeenAt: 2_000 }]);
      expect(idx.lastSeenOf('wl-1:web')).to.equal(1_000);
      expect(idx.lastSeenOf('other'), 'not in the view').to.equal(undefined);
      const s0 = idx.seq();
      idx.put(row('wl-1:db', B, { role: 'db' }));
      expect(idx.lastSeenOf('wl-1:db')).to.equal(5_000);
      expect(idx.seq()).to.equal(s0 + 1);
      now = 9_000;
      idx.touched(['wl-1:web', 'nope'], now);
      expect(idx.lastSeenOf('wl-1:web')).to.equal(9_000);
      const view: string[] = [];
      idx.forEachViewRow((v) => view.push(v.id));
      expect(view.sort()).to.deep.equal(['wl-1:db', 'wl-1:web']);
      expect(idx.isLoaded()).to.equal(true);
      expect(new RowIndex(table).isLoaded()).to.equal(false);
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
