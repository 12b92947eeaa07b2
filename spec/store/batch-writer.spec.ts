import { expect } from 'chai';
import sinon from 'sinon';
import type { ObservedRow } from '../../src/domain/types.js';
import { BatchWriter, type BatchWriterOptions, type RowWriter } from '../../src/store/batch-writer.js';
import { cid, deferred, HOST, row, type Deferred } from '../support/fakes.js';

/**
 * A RowWriter that records each statement and holds it open until the spec settles it
 * (`autoCommit` settles every statement at once).
 */
class HeldWriter implements RowWriter {
  readonly statements: Array<{ kind: 'upsert' | 'mark_missing'; ids: string[]; rows?: ObservedRow[]; done: Deferred<number> }> = [];
  autoCommit = true;
  /** Row IDs (or container IDs) whose statement fails. */
  failWith = new Map<string, Error>();
  /** Rows marked per container, for `markMissingByContainerIds`. */
  changedPerContainer = 1;

  private open(kind: 'upsert' | 'mark_missing', ids: string[], rows?: ObservedRow[]): Promise<number> {
    const done = deferred<number>();
    this.statements.push({ kind, ids, rows, done });
    const failure = ids.map((id) => this.failWith.get(id)).find((e) => e !== undefined);
    if (this.autoCommit) {
      if (failure) done.reject(failure);
      else done.resolve(kind === 'upsert' ? 0 : ids.length * this.changedPerContainer);
    }
    return done.promise;
  }

  async upsert(rows: readonly ObservedRow[]): Promise<void> {
    await this.open(
      'upsert',
      rows.map((r) => r.id),
      rows.map((r) => ({ ...r })),
    );
  }

  markMissingByContainerIds(host: string, containerIds: readonly string[]): Promise<number> {
    expect(host).to.equal(HOST);
    return this.open('mark_missing', [...containerIds]);
  }
}

/** Settles a promise into 'ok' / the error message, without throwing. */
function outcome(p: Promise<unknown>): { value?: string } {
  const o: { value?: string } = {};
  p.then(
    () => (o.value = 'ok'),
    (e: unknown) => (o.value = e instanceof Error ? `${e.name}: ${e.message}` : String(e)),
  );
  return o;
}

describe('BatchWriter', () => {
  let clock: sinon.SinonFakeTimers;
  let writer: HeldWriter;
  let statements: string[];
  let marked: number[];
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
    writer = new HeldWriter();
    statements = [];
    marked = [];
  });
  afterEach(() => clock.restore());

  function newWriter(opts: BatchWriterOptions = {}): BatchWriter {
    return new BatchWriter(writer, HOST, { hooks: { statement: (kind, n) => statements.push(`${kind} ${n}`), missingMarked: (n) => marked.push(n) }, ...opts });
  }

  it('sends the writes of one linger as one statement, rows in ID order, and resolves each when it committed', async () => {
    const w = newWriter({ lingerMs: 10 });
    const a = outcome(w.upsert(row('r-c', cid('c'))));
    const b = outcome(w.upsert(row('r-a', cid('a'))));
    await clock.tickAsync(9);
    expect(writer.statements, 'nothing before the linger ends').to.have.length(0);
    const c = outcome(w.upsert(row('r-b', cid('b'))));
    await clock.tickAsync(1);
    expect(writer.statements.map((s) => s.ids)).to.deep.equal([['r-a', 'r-b', 'r-c']]);
    expect(statements).to.deep.equal(['upsert 3']);
    expect([a.value, b.value, c.value]).to.deep.equal(['ok', 'ok', 'ok']);
  });

  it('the same row twice in one batch: one row in the statement, the last write wins, both writers learn it committed', async () => {
    const w = newWriter();
    const first = outcome(w.upsert(row('r-1', cid('a'), { state: 'running' })));
    const second = outcome(w.upsert(row('r-1', cid('a'), { state: 'stopped' })));
    expect(w.pendingCount()).to.equal(1);
    await clock.tickAsync(1);
    expect(writer.statements).to.have.length(1);
    expect(writer.statements[0]!.rows!.map((r) => `${r.id}=${r.state}`)).to.deep.equal(['r-1=stopped']);
    expect([first.value, second.value]).to.deep.equal(['ok', 'ok']);
  });

  it('splits at batchSize; a failed statement rejects exactly the writes it carried', async () => {
    const w = newWriter({ batchSize: 2, maxConcurrentFlushes: 1 });
    const boom = new Error('deadlock found');
    writer.failWith.set('r-2', boom);
    const results = ['r-1', 'r-2', 'r-3', 'r-4', 'r-5'].map((id, i) => outcome(w.upsert(row(id, cid(String(i))))));
    await clock.tickAsync(1);
    expect(writer.statements.map((s) => s.ids)).to.deep.equal([['r-1', 'r-2'], ['r-3', 'r-4'], ['r-5']]);
    expect(statements).to.deep.equal(['upsert 2', 'upsert 2', 'upsert 1']);
    expect(results.map((r) => r.value)).to.deep.equal(['Error: deadlock found', 'Error: deadlock found', 'ok', 'ok', 'ok']);
  });

  it('markMissing: containers of one linger share a statement; each caller learns the rows changed; a failure rejects them all', async () => {
    const w = newWriter();
    const a = w.markMissing(cid('a'));
    const a2 = w.markMissing(cid('a'));
    const b = w.markMissing(cid('b'));
    await clock.tickAsync(1);
    expect(writer.statements.map((s) => [s.kind, s.ids])).to.deep.equal([['mark_missing', [cid('a'), cid('b')]]]);
    expect(await Promise.all([a, a2, b])).to.deep.equal([2, 2, 2]);
    expect(statements).to.deep.equal(['mark_missing 2']);
    expect(marked).to.deep.equal([2]);
    writer.failWith.set(cid('c'), new Error('gone away'));
    const c = outcome(w.markMissing(cid('c')));
    await clock.tickAsync(1);
    expect(c.value).to.equal('Error: gone away');
    expect(marked, 'a failed statement marks nothing').to.deep.equal([2]);
  });

  it('canWrite false refuses every pending write with NotLeaderError and sends nothing', async () => {
    let leader = false;
    const w = newWriter({ canWrite: () => leader });
    const u = outcome(w.upsert(row('r-1', cid('a'))));
    const m = outcome(w.markMissing(cid('b')));
    await clock.tickAsync(1);
    expect(writer.statements).to.have.length(0);
    expect([u.value, m.value]).to.deep.equal(['NotLeaderError: not the leader: writes are disabled', 'NotLeaderError: not the leader: writes are disabled']);
    expect(w.pendingCount()).to.equal(0);
    leader = true;
    const later = outcome(w.upsert(row('r-1', cid('a'))));
    await clock.tickAsync(1);
    expect(later.value, 'writes again once it may').to.equal('ok');
  });

  it('canWrite is asked before each statement: leadership lost between two batches refuses the rest', async () => {
    writer.autoCommit = false;
    let leader = true;
    const w = newWriter({ batchSize: 1, maxConcurrentFlushes: 1, canWrite: () => leader });
    const first = outcome(w.upsert(row('r-1', cid('a'))));
    const second = outcome(w.upsert(row('r-2', cid('b'))));
    await clock.tickAsync(1);
    expect(writer.statements).to.have.length(1);
    leader = false;
    writer.statements[0]!.done.resolve(0);
    await clock.tickAsync(0);
    expect(first.value).to.equal('ok');
    expect(second.value).to.equal('NotLeaderError: not the leader: writes are disabled');
    expect(writer.statements).to.have.length(1);
  });

  it('keeps at most maxConcurrentFlushes statements in flight; the next starts when one ends', async () => {
    writer.autoCommit = false;
    const w = newWriter({ batchSize: 1, maxConcurrentFlushes: 2 });
    const results = ['r-1', 'r-2', 'r-3', 'r-4'].map((id, i) => outcome(w.upsert(row(id, cid(String(i))))));
    await clock.tickAsync(1);
    expect(writer.statements.map((s) => s.ids[0])).to.deep.equal(['r-1', 'r-2']);
    await clock.tickAsync(100);
    expect(writer.statements, 'still two, however long they take').to.have.length(2);
    writer.statements[1]!.done.resolve(0);
    await clock.tickAsync(0);
    expect(writer.statements.map((s) => s.ids[0])).to.deep.equal(['r-1', 'r-2', 'r-3']);
    expect(results.map((r) => r.value)).to.deep.equal([undefined, 'ok', undefined, undefined]);
    for (const s of writer.statements.slice(0)) s.done.resolve(0);
    await clock.tickAsync(0);
    writer.statements[3]!.done.resolve(0);
    await clock.tickAsync(0);
    expect(results.map((r) => r.value)).to.deep.equal(['ok', 'ok', 'ok', 'ok']);
  });

  it('idle() resolves at once when nothing is pending, otherwise once every write was sent and settled', async () => {
    writer.autoCommit = false;
    const w = newWriter();
    let idle = false;
    await w.idle();
    void w.upsert(row('r-1', cid('a'))).catch(() => undefined);
    void w.idle().then(() => (idle = true));
    await clock.tickAsync(1);
    expect(writer.statements).to.have.length(1);
    expect(idle, 'a statement is in flight').to.equal(false);
    void w.upsert(row('r-2', cid('b')));
    writer.statements[0]!.done.reject(new Error('lost connection'));
    await clock.tickAsync(0);
    expect(idle, 'r-2 is still pending').to.equal(false);
    await clock.tickAsync(1);
    writer.statements[1]!.done.resolve(0);
    await clock.tickAsync(0);
    expect(idle).to.equal(true);
  });

  it('lingerMs 0 sends on the next microtask, without a timer', async () => {
    clock.restore();
    const w = newWriter({ lingerMs: 0 });
    const setTimeoutSpy = sinon.spy(globalThis, 'setTimeout');
    try {
      await w.upsert(row('r-1', cid('a')));
      expect(setTimeoutSpy.called).to.equal(false);
    } finally {
      setTimeoutSpy.restore();
      clock = sinon.useFakeTimers();
    }
    expect(writer.statements).to.have.length(1);
  });

  it('waits on the injected clock', async () => {
    clock.restore();
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const manual = { now: () => 0, setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms }), clearTimeout: () => undefined };
    const w = newWriter({ lingerMs: 7, clock: manual });
    const p = outcome(w.upsert(row('r-1', cid('a'))));
    expect(timers.map((t) => t.ms)).to.deep.equal([7]);
    await Promise.resolve();
    expect(writer.statements).to.have.length(0);
    timers[0]!.fn();
    await new Promise((r) => setImmediate(r));
    expect(p.value).to.equal('ok');
    clock = sinon.useFakeTimers();
  });

  describe('options', () => {
    const bad: Array<[BatchWriterOptions, string]> = [
      [{ batchSize: 0 }, 'Expected `batchSize` to be an integer from 1 to 5000, got 0'],
      [{ batchSize: 5001 }, 'Expected `batchSize` to be an integer from 1 to 5000, got 5001'],
      [{ batchSize: 2.5 }, 'Expected `batchSize` to be an integer from 1 to 5000, got 2.5'],
      [{ lingerMs: -1 }, 'Expected `lingerMs` to be a number from 0 to 1000, got -1'],
      [{ lingerMs: Infinity }, 'Expected `lingerMs` to be a number from 0 to 1000, got Infinity'],
      [{ maxConcurrentFlushes: 0 }, 'Expected `maxConcurrentFlushes` to be an integer from 1 to 64, got 0'],
      [{ maxConcurrentFlushes: 65 }, 'Expected `maxConcurrentFlushes` to be an integer from 1 to 64, got 65'],
    ];
    for (const [opts, message] of bad) {
      it(`rejects ${message.split('`')[1]} = ${String(Object.values(opts)[0])}`, () => {
        expect(() => new BatchWriter(writer, HOST, opts)).to.throw(TypeError, message);
      });
    }
    it('accepts the bounds and defaults', () => {
      expect(() => new BatchWriter(writer, HOST)).not.to.throw();
      expect(() => new BatchWriter(writer, HOST, { batchSize: 1, lingerMs: 0, maxConcurrentFlushes: 1 })).not.to.throw();
      expect(() => new BatchWriter(writer, HOST, { batchSize: 5000, lingerMs: 1000, maxConcurrentFlushes: 64 })).not.to.throw();
    });
  });
});
