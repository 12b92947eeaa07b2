import { expect } from 'chai';
import sinon from 'sinon';
import type { Refused } from '../../src/domain/decide.js';
import { RefusalRegistry } from '../../src/refusals/refusal-registry.js';
import { recordingRefusalSink as recordingSink } from '../support/fakes.js';

function refusal(reason: Refused['reason'], over: Partial<Refused> = {}): Refused {
  return { ok: false, dispatch: 'workload', reason, detail: `because ${reason}`, workloadId: 'w', rowId: 'w:web', ...over };
}

describe('RefusalRegistry', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it('writes only what changed, counts a refusal once, and removes ended ones', async () => {
    const sink = recordingSink();
    const refused: string[] = [];
    const changed: string[][] = [];
    const reg = new RefusalRegistry(sink, { refused: (r) => refused.push(`${r.containerId}:${r.reason}`), workloadsChanged: (w) => changed.push([...w]) });
    reg.refuse({ id: 'c1', name: 'one' }, refusal('conflict'));
    reg.refuse({ id: 'c2', name: 'two' }, refusal('unknown_workload', { workloadId: 'gone' }));
    await reg.flush();
    expect(sink.calls).to.deep.equal([
      { op: 'upsert', arg: ['c1:conflict', 'c2:unknown_workload'] },
      { op: 'removeAllExcept', arg: ['c1', 'c2'] },
    ]);
    expect(changed).to.deep.equal([['w', 'gone']]);
    sink.calls.length = 0;
    // The same refusals pass after pass: nothing written, nothing counted again.
    for (let i = 0; i < 5; i++) reg.refuse({ id: 'c1', name: 'one' }, refusal('conflict'));
    await reg.flush();
    expect(sink.calls).to.deep.equal([]);
    expect(refused).to.deep.equal(['c1:conflict', 'c2:unknown_workload']);
    // A new reason is a new refusal; the end of one is a delete.
    reg.refuse({ id: 'c1', name: 'one' }, refusal('row_owned_by_other_host'));
    reg.clear('c2');
    await reg.flush();
    expect(sink.calls).to.deep.equal([
      { op: 'upsert', arg: ['c1:row_owned_by_other_host'] },
      { op: 'remove', arg: ['c2'] },
    ]);
    expect(refused).to.have.length(3);
  });

  it('a failed write is kept and written by the next flush', async () => {
    const sink = recordingSink();
    const reg = new RefusalRegistry(sink);
    reg.refuse({ id: 'c1', name: 'one' }, refusal('conflict'));
    sink.fail(true);
    let err: unknown;
    await reg.flush().catch((e) => (err = e));
    expect(String(err)).to.contain('db down');
    sink.fail(false);
    sink.calls.length = 0;
    await reg.flush();
    expect(sink.calls.map((c) => c.op)).to.deep.equal(['upsert', 'removeAllExcept']);
  });

  it('flushes by itself shortly after a change', async () => {
    const sink = recordingSink();
    const reg = new RefusalRegistry(sink, {}, { flushDelayMs: 100 });
    reg.refuse({ id: 'c1', name: 'one' }, refusal('conflict'));
    reg.refuse({ id: 'c2', name: 'two' }, refusal('conflict'));
    await clock.tickAsync(99);
    expect(sink.calls).to.deep.equal([]);
    await clock.tickAsync(1);
    expect(sink.calls[0]).to.deep.equal({ op: 'upsert', arg: ['c1:conflict', 'c2:conflict'] });
  });

  it('retainOnly ends refusals of containers no longer listed, but keeps those recorded after the mark', async () => {
    const reg = new RefusalRegistry(recordingSink());
    reg.refuse({ id: 'old', name: '' }, refusal('conflict'));
    reg.refuse({ id: 'kept', name: '' }, refusal('conflict'));
    const mark = reg.mark();
    reg.refuse({ id: 'new', name: '' }, refusal('conflict'));
    reg.retainOnly(new Set(['kept']), mark);
    expect(reg.get('old')).to.equal(undefined);
    expect(reg.get('kept')?.reason).to.equal('conflict');
    expect(reg.get('new')?.reason).to.equal('conflict');
  });

  it('holds at most maxEntries; beyond, refusals are still reported but not kept', () => {
    const seen: string[] = [];
    const reg = new RefusalRegistry(recordingSink(), { refused: (r) => seen.push(r.containerId) }, { maxEntries: 2, flushDelayMs: 0 });
    for (const id of ['a', 'b', 'c']) reg.refuse({ id, name: '' }, refusal('unknown_workload'));
    expect(reg.size()).to.equal(2);
    expect(seen).to.deep.equal(['a', 'b', 'c']);
    expect(() => new RefusalRegistry(recordingSink(), {}, { maxEntries: 0 })).to.throw(/maxEntries/);
  });

  it('rejects bad options with precise messages', () => {
    expect(() => new RefusalRegistry(recordingSink(), {}, { maxEntries: 0 })).to.throw(TypeError, 'Expected `maxEntries` to be an integer from 1 to 9000, got 0');
    expect(() => new RefusalRegistry(recordingSink(), {}, { maxEntries: 9001 })).to.throw(TypeError, 'Expected `maxEntries` to be an integer from 1 to 9000, got 9001');
    expect(() => new RefusalRegistry(recordingSink(), {}, { flushDelayMs: -1 })).to.throw(TypeError, 'Expected `flushDelayMs` to be a number from 0 to 60000, got -1');
    expect(() => new RefusalRegistry(recordingSink(), {}, { maxEntries: 9000, flushDelayMs: 60_000 })).not.to.throw();
  });

  it('flushes on the injected clock; an explicit flush cancels the delayed one', async () => {
    const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
    const manual = {
      now: () => 0,
      setTimeout: (fn: () => void, ms: number) => {
        const t = { fn, ms, cleared: false };
        timers.push(t);
        return t;
      },
      clearTimeout: (h: unknown) => void ((h as { cleared: boolean }).cleared = true),
    };
    const sink = recordingSink();
    const reg = new RefusalRegistry(sink, {}, { flushDelayMs: 40, clock: manual });
    reg.refuse({ id: 'c1', name: 'one' }, refusal('conflict'));
    reg.refuse({ id: 'c2', name: 'two' }, refusal('conflict'));
    expect(timers.map((t) => [t.ms, t.cleared])).to.deep.equal([[40, false]]);
    await reg.flush();
    expect(timers[0]!.cleared).to.equal(true);
    reg.clear('c1');
    expect(timers).to.have.length(2);
    timers[1]!.fn();
    await reg.flush();
    expect(sink.calls.map((c) => c.op)).to.deep.equal(['upsert', 'removeAllExcept', 'remove']);
  });
});
