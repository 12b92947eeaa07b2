/**
 * Workload status behaviour found by mutation testing (make mutation, docs/testing.md): which
 * row groups count, the messages a reader sees, and every difference statusChanged must notice.
 */
import { expect } from 'chai';
import { computeStatus, conflictMessage, countRows, deriveStatus, notRunningMessage, statusChanged, zeroCounts, type ConflictClaim, type WorkloadStatus } from '../../src/status/phase.js';

const T0 = Date.parse('2025-11-26T12:00:00.000Z');
const HEX = (c: string) => c.repeat(64);

describe('workload status (behaviour found by mutation testing)', () => {
  describe('countRows', () => {
    it('skips the LEFT JOIN row of a workload without rows and groups with no rows', () => {
      expect(countRows([{ state: null, unbound: false, n: 1 }])).to.deep.equal(zeroCounts());
      expect(countRows([{ state: null, unbound: true, n: 1 }])).to.deep.equal(zeroCounts());
      expect(countRows([{ state: 'running', unbound: false, n: 0 }])).to.deep.equal(zeroCounts());
      expect(countRows([{ state: 'running', unbound: false, n: -2 }])).to.deep.equal(zeroCounts());
      expect(countRows([{ state: 'running', unbound: false, n: 2 }, { state: null, unbound: false, n: 1 }])).to.deep.include({ desired: 2, running: 2, unknown: 0 });
    });
  });

  describe('messages', () => {
    it('say how many run out of how many, or that there are no rows', () => {
      const none = deriveStatus({ groups: [], notRunning: [] });
      expect(none.conditions.map((c) => c.message).slice(0, 2)).to.deep.equal(['the workload has no container rows', '0 of 0 running']);
      const some = deriveStatus({ groups: [{ state: 'running', unbound: false, n: 1 }, { state: 'stopped', unbound: false, n: 1 }], notRunning: [{ rowId: 'w:b', state: 'stopped' }] });
      expect(some.conditions.find((c) => c.type === 'Available')!.message).to.equal('1 of 2 running');
      const stopped = deriveStatus({ groups: [{ state: 'stopped', unbound: false, n: 2 }], notRunning: [] });
      expect(stopped.conditions.find((c) => c.type === 'Available')!.message).to.equal('0 of 2 running');
    });

    it('name not-running slots in row-ID order from any input order, or only count them', () => {
      const slots = [{ rowId: 'c', state: 'stopped' }, { rowId: 'a', state: 'unbound' }, { rowId: 'b', state: 'missing' }];
      expect(notRunningMessage(3, 4, slots)).to.equal('3 of 4 not running: a (unbound), b (missing), c (stopped)');
      expect(notRunningMessage(3, 4, [slots[1]!, slots[2]!, slots[0]!])).to.equal('3 of 4 not running: a (unbound), b (missing), c (stopped)');
      expect(notRunningMessage(2, 3, [])).to.equal('2 of 3 not running');
    });

    it('name at most five conflicting claims however many are passed, or only count them', () => {
      const claims: ConflictClaim[] = ['g', 'f', 'e', 'd', 'c', 'b', 'a'].map((r) => ({ host: 'local', containerId: HEX(r === 'g' ? 'f' : 'a'), rowId: `w:${r}` }));
      const msg = conflictMessage({ total: 7, first: claims });
      expect(msg).to.match(/^7 containers refused: container a{12} claims row w:a, .* and 2 more$/);
      expect(msg.match(/claims row/g)).to.have.length(5);
      expect(msg).to.not.contain('w:f');
      expect(conflictMessage({ total: 3, first: [] })).to.equal('3 containers refused');
      expect(conflictMessage({ total: 1, first: [{ host: 'h', containerId: HEX('b'), rowId: 'w:x' }] })).to.equal(`1 container refused: container ${'b'.repeat(12)} claims row w:x`);
    });

    it('shorten only whole 64-hex Docker IDs', () => {
      const one = (containerId: string) => conflictMessage({ total: 1, first: [{ host: 'h', containerId, rowId: 'w:x' }] });
      expect(one(`${HEX('a')}z`)).to.contain(`container ${HEX('a')}z claims`);
      expect(one(`z${HEX('a')}`)).to.contain(`container z${HEX('a')} claims`);
      expect(one('podman-ctr')).to.contain('container podman-ctr claims');
    });
  });

  describe('statusChanged', () => {
    const base = (): WorkloadStatus => computeStatus({ groups: [{ state: 'running', unbound: false, n: 1 }, { state: 'stopped', unbound: false, n: 1 }], notRunning: [{ rowId: 'w:b', state: 'stopped' }] }, undefined, T0);

    it('is true without a previous status and false for an identical one', () => {
      expect(statusChanged(undefined, base())).to.equal(true);
      expect(statusChanged(base(), base())).to.equal(false);
    });

    it('notices the phase, any count, and the number of conditions', () => {
      expect(statusChanged(base(), { ...base(), phase: 'Running' })).to.equal(true);
      for (const k of Object.keys(zeroCounts()) as Array<keyof ReturnType<typeof zeroCounts>>) {
        const b = base();
        expect(statusChanged(base(), { ...b, counts: { ...b.counts, [k]: b.counts[k] + 1 } }), k).to.equal(true);
      }
      const b = base();
      expect(statusChanged(base(), { ...b, conditions: b.conditions.slice(0, 2) })).to.equal(true);
    });

    it('notices each field of each condition on its own', () => {
      const fields = { type: 'Conflict', status: 'Unknown', reason: 'Other', message: 'other', lastTransitionTime: new Date(T0 + 1).toISOString() } as const;
      for (let i = 0; i < 3; i++) {
        for (const [f, v] of Object.entries(fields)) {
          const b = base();
          const conditions = b.conditions.map((c, j) => (j === i ? { ...c, [f]: c[f as keyof typeof c] === v ? `${v}!` : v } : c));
          expect(statusChanged(base(), { ...b, conditions }), `condition ${i} ${f}`).to.equal(true);
        }
      }
    });
  });
});
