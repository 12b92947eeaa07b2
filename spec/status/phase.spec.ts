import { expect } from 'chai';
import {
  carryTransitionTimes,
  CONDITION_TYPES,
  computeStatus,
  conflictMessage,
  countRows,
  deriveStatus,
  MAX_NAMED,
  phaseOf,
  statusChanged,
  type ConflictClaim,
  type NotRunningSlot,
  type Phase,
  type RowGroup,
  type WorkloadObservation,
} from '../../src/status/phase.js';

/** Rows of one workload: `[rowId, state]`, state `unbound` for a slot with an empty container_id. */
type Rows = Array<[string, string]>;

/** Builds the observation the repository would return for these rows (same grouping rules). */
function observe(rows: Rows): WorkloadObservation {
  const groups = new Map<string, RowGroup>();
  const notRunning: NotRunningSlot[] = [];
  for (const [id, state] of rows) {
    const unbound = state === 'unbound';
    const dbState = unbound ? 'created' : state;
    const key = `${dbState}|${unbound}`;
    const g = groups.get(key) ?? { state: dbState, unbound, n: 0 };
    g.n++;
    groups.set(key, g);
    if (unbound || state !== 'running') notRunning.push({ rowId: id, state: unbound ? 'unbound' : state });
  }
  return { groups: [...groups.values()], notRunning };
}

const T0 = Date.parse('2025-11-26T12:00:00.000Z');

describe('workload status derivation (pure)', () => {
  describe('phase and conditions table', () => {
    const cases: Array<{ name: string; rows: Rows; phase: Phase; ready: [string, string]; available: [string, string]; message?: string }> = [
      { name: 'no rows at all', rows: [], phase: 'Pending', ready: ['False', 'NoReplicas'], available: ['False', 'MinimumReplicasUnavailable'] },
      { name: 'only unbound slots', rows: [['w:web', 'unbound'], ['w:db', 'unbound']], phase: 'Pending', ready: ['False', 'ReplicasPending'], available: ['False', 'MinimumReplicasUnavailable'], message: '2 of 2 not running: w:db (unbound), w:web (unbound)' },
      { name: 'all running', rows: [['w:web', 'running'], ['w:db', 'running']], phase: 'Running', ready: ['True', 'AllReplicasRunning'], available: ['True', 'MinimumReplicasAvailable'], message: '2 of 2 running' },
      { name: 'one running', rows: [['w:web', 'running']], phase: 'Running', ready: ['True', 'AllReplicasRunning'], available: ['True', 'MinimumReplicasAvailable'] },
      { name: 'one stopped of two', rows: [['w:web', 'running'], ['w:db', 'stopped']], phase: 'Degraded', ready: ['False', 'ReplicasNotRunning'], available: ['True', 'MinimumReplicasAvailable'], message: '1 of 2 not running: w:db (stopped)' },
      {
        name: 'a scaled compose service with one replica down',
        rows: [['wl-stack:web', 'running'], ['wl-stack:web:2', 'stopped'], ['wl-stack:web:3', 'running'], ['wl-stack:worker', 'running']],
        phase: 'Degraded',
        ready: ['False', 'ReplicasNotRunning'],
        available: ['True', 'MinimumReplicasAvailable'],
        message: '1 of 4 not running: wl-stack:web:2 (stopped)',
      },
      { name: 'a replica removed (missing) while others run', rows: [['s:web', 'running'], ['s:web:2', 'missing']], phase: 'Degraded', ready: ['False', 'ReplicasNotRunning'], available: ['True', 'MinimumReplicasAvailable'], message: '1 of 2 not running: s:web:2 (missing)' },
      { name: 'all missing', rows: [['w:web', 'missing'], ['w:db', 'missing']], phase: 'Missing', ready: ['False', 'ReplicasMissing'], available: ['False', 'MinimumReplicasUnavailable'], message: '2 of 2 not running: w:db (missing), w:web (missing)' },
      { name: 'all bound missing, one slot unbound', rows: [['w:web', 'missing'], ['w:new', 'unbound']], phase: 'Missing', ready: ['False', 'ReplicasMissing'], available: ['False', 'MinimumReplicasUnavailable'] },
      { name: 'all stopped', rows: [['w:web', 'stopped'], ['w:db', 'stopped']], phase: 'Stopped', ready: ['False', 'ReplicasStopped'], available: ['False', 'MinimumReplicasUnavailable'] },
      { name: 'paused and created', rows: [['w:web', 'paused'], ['w:db', 'created']], phase: 'Stopped', ready: ['False', 'ReplicasStopped'], available: ['False', 'MinimumReplicasUnavailable'] },
      { name: 'crash-looping (restarting) only', rows: [['w:web', 'restarting']], phase: 'Stopped', ready: ['False', 'ReplicasStopped'], available: ['False', 'MinimumReplicasUnavailable'] },
      { name: 'stopped and missing', rows: [['w:web', 'stopped'], ['w:db', 'missing']], phase: 'Stopped', ready: ['False', 'ReplicasStopped'], available: ['False', 'MinimumReplicasUnavailable'] },
      { name: 'created, not started yet', rows: [['w:web', 'created'], ['w:db', 'unbound']], phase: 'Pending', ready: ['False', 'ReplicasPending'], available: ['False', 'MinimumReplicasUnavailable'], message: '2 of 2 not running: w:db (unbound), w:web (created)' },
      { name: 'created and missing', rows: [['w:web', 'created'], ['w:db', 'missing']], phase: 'Pending', ready: ['False', 'ReplicasPending'], available: ['False', 'MinimumReplicasUnavailable'] },
      { name: 'all bound running, one slot still unbound', rows: [['w:web', 'running'], ['w:web:2', 'unbound']], phase: 'Running', ready: ['False', 'ReplicasPending'], available: ['True', 'MinimumReplicasAvailable'], message: '1 of 2 not running: w:web:2 (unbound)' },
      { name: 'a state written by another program', rows: [['w:web', 'running'], ['w:db', 'weird']], phase: 'Degraded', ready: ['False', 'ReplicasNotRunning'], available: ['True', 'MinimumReplicasAvailable'] },
      { name: 'only an unknown state', rows: [['w:db', '']], phase: 'Stopped', ready: ['False', 'ReplicasStopped'], available: ['False', 'MinimumReplicasUnavailable'] },
    ];
    for (const c of cases) {
      it(`${c.name} -> ${c.phase}`, () => {
        const d = deriveStatus(observe(c.rows));
        expect(d.phase).to.equal(c.phase);
        const ready = d.conditions.find((x) => x.type === 'Ready')!;
        const available = d.conditions.find((x) => x.type === 'Available')!;
        expect([ready.status, ready.reason], 'Ready').to.deep.equal(c.ready);
        expect([available.status, available.reason], 'Available').to.deep.equal(c.available);
        if (c.message) expect(ready.message).to.equal(c.message);
        expect(d.counts.desired).to.equal(c.rows.length);
        expect(d.conditions.map((x) => x.type)).to.deep.equal(['Ready', 'Available', 'Conflict']);
        expect(d.conditions.find((x) => x.type === 'Conflict')).to.include({ status: 'False', reason: 'NoConflicts' });
      });
    }
  });

  it('counts bound rows by state and unbound rows separately', () => {
    const c = countRows(observe([['a', 'running'], ['b', 'running'], ['c', 'stopped'], ['d', 'unbound'], ['e', 'missing'], ['f', 'paused'], ['g', 'odd']]).groups);
    expect(c).to.deep.equal({ desired: 7, unbound: 1, running: 2, stopped: 1, created: 0, restarting: 0, paused: 1, removing: 0, missing: 1, unknown: 1 });
    expect(countRows([{ state: null, unbound: false, n: 0 }]), 'the LEFT JOIN row of a workload without rows').to.deep.equal(countRows([]));
  });

  it('names at most a handful of slots, in row-ID order, and says how many more', () => {
    const rows: Rows = Array.from({ length: 12 }, (_, i) => [`w:r${String(11 - i).padStart(2, '0')}`, 'stopped']);
    rows.push(['w:ok', 'running']);
    const msg = deriveStatus(observe(rows)).conditions[0]!.message;
    expect(msg.startsWith('12 of 13 not running: w:r00 (stopped), w:r01 (stopped)')).to.equal(true);
    expect(msg.match(/\(stopped\)/g)).to.have.length(MAX_NAMED);
    expect(msg.endsWith(`and ${12 - MAX_NAMED} more`)).to.equal(true);
  });

  it('keeps messages bounded even with huge row IDs', () => {
    const rows: Rows = [['x'.repeat(500), 'stopped'], ['y'.repeat(500), 'stopped'], ['z'.repeat(500), 'stopped']];
    expect(deriveStatus(observe(rows)).conditions[0]!.message.length).to.be.at.most(1000);
  });

  describe('transition times', () => {
    const running = observe([['s:web', 'running'], ['s:web:2', 'running']]);
    const degraded = observe([['s:web', 'running'], ['s:web:2', 'stopped']]);
    const degradedOther = observe([['s:web', 'running'], ['s:web:2', 'missing']]);

    it('moves only when a condition status flips', () => {
      const s1 = computeStatus(running, undefined, T0);
      expect(s1.conditions.map((c) => c.lastTransitionTime)).to.deep.equal([new Date(T0).toISOString(), new Date(T0).toISOString(), new Date(T0).toISOString()]);

      // Same observation later: nothing moves.
      const s2 = computeStatus(running, s1, T0 + 1000);
      expect(s2).to.deep.equal(s1);
      expect(statusChanged(s1, s2)).to.equal(false);

      // Ready flips, Available does not.
      const s3 = computeStatus(degraded, s2, T0 + 2000);
      expect(s3.phase).to.equal('Degraded');
      expect(s3.conditions[0]).to.include({ type: 'Ready', status: 'False', lastTransitionTime: new Date(T0 + 2000).toISOString() });
      expect(s3.conditions[1]).to.include({ type: 'Available', status: 'True', lastTransitionTime: new Date(T0).toISOString() });
      expect(statusChanged(s2, s3)).to.equal(true);

      // New message and reason source (stopped -> missing), same status: the time stays.
      const s4 = computeStatus(degradedOther, s3, T0 + 3000);
      expect(s4.conditions[0]!.message).to.equal('1 of 2 not running: s:web:2 (missing)');
      expect(s4.conditions[0]!.lastTransitionTime).to.equal(new Date(T0 + 2000).toISOString());
      expect(statusChanged(s3, s4), 'a new message is a change').to.equal(true);

      // Back to running: Ready flips again and its time moves.
      const s5 = computeStatus(running, s4, T0 + 4000);
      expect(s5.conditions[0]).to.include({ status: 'True', lastTransitionTime: new Date(T0 + 4000).toISOString() });
      expect(s5.conditions[1]!.lastTransitionTime).to.equal(new Date(T0).toISOString());
    });

    it('gives a condition missing from the previous status the current time', () => {
      const out = carryTransitionTimes([{ type: 'Ready', status: 'True', reason: 'x', message: '', lastTransitionTime: 'then' }], deriveStatus(running).conditions, 'now');
      expect(out.map((c) => c.lastTransitionTime)).to.deep.equal(['then', 'now', 'now']);
    });

    it('moves the Conflict time only when a conflict appears or ends, not when the claims change', () => {
      const claim = (containerId: string, rowId: string, host = 'h1'): ConflictClaim => ({ host, containerId, rowId });
      const s1 = computeStatus(running, undefined, T0);
      const s2 = computeStatus({ ...running, conflicts: { total: 1, first: [claim('c9', 's:web')] } }, s1, T0 + 1000);
      const conflict = (s: typeof s1) => s.conditions.find((c) => c.type === 'Conflict')!;
      expect(conflict(s2)).to.include({ status: 'True', reason: 'DuplicateClaim', message: '1 container refused: container c9 claims row s:web', lastTransitionTime: new Date(T0 + 1000).toISOString() });
      expect(s2.phase, 'a conflict does not change the phase').to.equal('Running');
      expect(statusChanged(s1, s2)).to.equal(true);
      const s3 = computeStatus({ ...running, conflicts: { total: 2, first: [claim('c9', 's:web'), claim('c8', 's:web:2')] } }, s2, T0 + 2000);
      expect(conflict(s3).lastTransitionTime).to.equal(new Date(T0 + 1000).toISOString());
      expect(conflict(s3).message).to.equal('2 containers refused: container c9 claims row s:web, container c8 claims row s:web:2');
      const s4 = computeStatus(running, s3, T0 + 3000);
      expect(conflict(s4)).to.include({ status: 'False', reason: 'NoConflicts', lastTransitionTime: new Date(T0 + 3000).toISOString() });
      expect(computeStatus({ ...running, conflicts: { total: 0, first: [] } }, s4, T0 + 4000), 'zero conflicts is no conflict').to.deep.equal(s4);
    });
  });

  describe('Conflict condition', () => {
    const claim = (containerId: string, rowId: string, host = 'h1'): ConflictClaim => ({ host, containerId, rowId });

    it('is one of the documented condition types, always present, False without conflicts', () => {
      expect([...CONDITION_TYPES]).to.deep.equal(['Ready', 'Available', 'Conflict']);
      const d = deriveStatus(observe([['w:web', 'running']]));
      expect(d.conditions[2]).to.deep.equal({ type: 'Conflict', status: 'False', reason: 'NoConflicts', message: 'no container of this workload is refused for a conflicting claim' });
    });

    it('names the first claims in (row, host, container) order whatever the input order, shortening Docker IDs', () => {
      const long = 'ab'.repeat(32);
      const first = [claim('c2', 'w:web', 'h2'), claim(long, 'w:db'), claim('c1', 'w:web', 'h2'), claim('c3', 'w:web', 'h1')];
      const d = deriveStatus({ ...observe([['w:web', 'running']]), conflicts: { total: 4, first } });
      expect(d.conditions[2]).to.deep.include({ type: 'Conflict', status: 'True', reason: 'DuplicateClaim' });
      expect(d.conditions[2]!.message).to.equal(
        `4 containers refused: container ${long.slice(0, 12)} claims row w:db, container c3 claims row w:web, container c1 claims row w:web, container c2 claims row w:web`,
      );
      const reversed = deriveStatus({ ...observe([['w:web', 'running']]), conflicts: { total: 4, first: [...first].reverse() } });
      expect(reversed.conditions[2]!.message, 'stable').to.equal(d.conditions[2]!.message);
    });

    it('names at most a handful and says how many more; bounded length', () => {
      const first = Array.from({ length: MAX_NAMED }, (_, i) => claim(`c${i}`, `w:r${i}`));
      const msg = conflictMessage({ total: 12, first });
      expect(msg.match(/claims row/g)).to.have.length(MAX_NAMED);
      expect(msg.endsWith(`and ${12 - MAX_NAMED} more`)).to.equal(true);
      const huge = conflictMessage({ total: 3, first: [claim('x'.repeat(128), 'r'.repeat(512)), claim('y'.repeat(128), 's'.repeat(512)), claim('z', 't'.repeat(512))] });
      expect(huge.length).to.be.at.most(1000);
    });
  });

  it('phaseOf agrees with the documented table on the boundaries', () => {
    const base = { desired: 0, unbound: 0, running: 0, stopped: 0, created: 0, restarting: 0, paused: 0, removing: 0, missing: 0, unknown: 0 };
    expect(phaseOf(base)).to.equal('Pending');
    expect(phaseOf({ ...base, desired: 3, unbound: 3 })).to.equal('Pending');
    expect(phaseOf({ ...base, desired: 3, unbound: 1, missing: 2 })).to.equal('Missing');
    expect(phaseOf({ ...base, desired: 3, unbound: 1, running: 2 })).to.equal('Running');
    expect(phaseOf({ ...base, desired: 3, running: 1, removing: 2 })).to.equal('Degraded');
    expect(phaseOf({ ...base, desired: 2, removing: 1, created: 1 })).to.equal('Stopped');
    expect(phaseOf({ ...base, desired: 2, created: 1, missing: 1 })).to.equal('Pending');
  });
});
