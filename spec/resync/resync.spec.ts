import { expect } from 'chai';
import sinon from 'sinon';
import { DesiredStateCache } from '../../src/cache/desired-cache.js';
import { ObservedCache } from '../../src/cache/observed-cache.js';
import { RowIndex } from '../../src/cache/row-index.js';
import type { RowChange } from '../../src/domain/changes.js';
import type { ContainerItem, ObservedRow } from '../../src/domain/types.js';
import { ContainerHandler } from '../../src/handlers/container.handler.js';
import { RefusalRegistry } from '../../src/refusals/refusal-registry.js';
import type { PassReport } from '../../src/domain/pass.js';
import { lastSeenDue, Resync } from '../../src/resync/resync.js';
import type { StoredRow } from '../../src/store/containers.repository.js';
import type { Clock } from '../../src/util/clock-source.js';
import { BatchWriter } from '../../src/store/batch-writer.js';
import { DatabaseClock } from '../../src/util/clock.js';
import { cid, container, desiredLoader, FakeDocker, FakeTable, HOST, recordingLog, recordingMetrics, recordingRefusalSink, row } from '../support/fakes.js';

const [A, B, X, Y] = ['a', 'b', 'x', 'y'].map(cid) as [string, string, string, string];
const DERIVED = `wl-1:web@${HOST}`;

/** The table, plus rows a store might hand back although they are not this host's (to prove the pass filters). */
class SnapshotTable extends FakeTable {
  extra: ObservedRow[] = [];
  override async listForHost(host: string): Promise<StoredRow[]> {
    return [...(await super.listForHost(host)), ...this.extra.map((r) => ({ ...r }))];
  }
}

/** The worker loop as the pass sees it: records each pass's keys; `busy` keys are being processed. */
class FakeController {
  readonly passes: string[][] = [];
  readonly busy = new Set<string>();
  errors = 0;
  async enqueuePass(keys: readonly string[]): Promise<{ errors: number }> {
    this.passes.push([...keys]);
    return { errors: this.errors };
  }
  isBusy(key: string): boolean {
    return this.busy.has(key);
  }
}

interface Setup {
  docker?: ContainerItem[];
  rows?: ObservedRow[];
  /** Rows the store hands back on top of this host's (another host's, for example). */
  extraSnapshot?: ObservedRow[];
  localClock?: Clock;
  lastSeenMaxAgeMs?: number;
}

/** A pass over the real caches, handler and refusal registry; Docker, the table and the worker loop faked. */
function setup(s: Setup = {}) {
  const docker = new FakeDocker(s.docker ?? []);
  const table = new SnapshotTable(s.rows ?? []);
  table.extra = s.extraSnapshot ?? [];
  const observed = new ObservedCache();
  const { loader } = desiredLoader();
  const desired = new DesiredStateCache(loader);
  const clock = new DatabaseClock(() => Date.now());
  const rows = new RowIndex(table, { lingerMs: 0, host: HOST, dbNow: () => clock.now() });
  const writer = new BatchWriter(table, HOST, { lingerMs: 0 });
  const sink = recordingRefusalSink();
  const refusals = new RefusalRegistry(sink, {}, { flushDelayMs: 0 });
  const metrics = recordingMetrics();
  const log = recordingLog();
  const changes: RowChange[] = [];
  const changeSink = { rowsChanged: (c: readonly RowChange[]) => void changes.push(...c) };
  const handler = new ContainerHandler({ host: HOST, docker, observed, desired, rows, writer, retire: (h, seen) => table.markMissingIfBound(h, seen), refusals, metrics, log, changes: changeSink });
  const controller = new FakeController();
  const observer = { started: [] as number[], finished: [] as PassReport[] };
  const resync = new Resync({
    host: HOST,
    docker,
    store: table,
    observed,
    desired,
    rows,
    controller,
    handler,
    refusals,
    metrics,
    log,
    observer: { passStarted: (at) => observer.started.push(at), passFinished: (r) => observer.finished.push(r) },
    clock,
    changes: changeSink,
    ...(s.localClock ? { localClock: s.localClock } : {}),
    ...(s.lastSeenMaxAgeMs !== undefined ? { lastSeenMaxAgeMs: s.lastSeenMaxAgeMs } : {}),
  });
  /** The (row ID, container ID) pairs each sweep handed the store. */
  const sweeps = () => table.callsOf('markMissingIfBound').map(([host, seen]) => (expect(host).to.equal(HOST), seen));
  return { docker, table, observed, rows, refusals, sink, metrics, log, changes, controller, observer, clock, resync, sweeps };
}

describe('Resync', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => clock.restore());

  describe('the missing sweep (every invariant, one case each)', () => {
    interface SweepCase {
      name: string;
      setup: Setup;
      /** Runs while Docker lists (after the snapshot was read). */
      duringList?: (t: ReturnType<typeof setup>) => void;
      /** What the pass hands the store's compare-and-set; undefined: no sweep statement at all. */
      seen: Array<{ id: string; containerId: string }> | undefined;
      /** Rows that end `missing`. */
      missing: string[];
    }
    const cases: SweepCase[] = [
      {
        name: "a row of this host bound to a container Docker no longer lists is marked (the pair it saw goes to the store's compare-and-set)",
        setup: { rows: [row('r1', X)] },
        seen: [{ id: 'r1', containerId: X }],
        missing: ['r1'],
      },
      {
        name: 'a row whose container is listed is not marked',
        setup: { docker: [container(A)], rows: [row(DERIVED, A)] },
        seen: undefined,
        missing: [],
      },
      {
        name: "only this host's rows: another host's row bound to a vanished container is never handed to the store",
        setup: { extraSnapshot: [row('r-b', X, { host: 'node-b' })] },
        seen: undefined,
        missing: [],
      },
      {
        name: "only this host's rows: a bound row the deployer left without a host is not swept",
        setup: { rows: [row('r0', X, { host: '' })] },
        seen: undefined,
        missing: [],
      },
      {
        name: 'never unbound rows (empty container_id)',
        setup: { rows: [row('r1', '')] },
        seen: undefined,
        missing: [],
      },
      {
        name: 'never rows already missing',
        setup: { rows: [row('r1', X, { state: 'missing' })] },
        seen: undefined,
        missing: ['r1'],
      },
      {
        name: 'a row rebound after the snapshot is not marked: the store gets the pair the pass saw, which no longer matches',
        setup: { rows: [row('r1', X), row('r2', Y)] },
        duringList: (t) => t.table.rows.set('r1', row('r1', B)),
        seen: [
          { id: 'r1', containerId: X },
          { id: 'r2', containerId: Y },
        ],
        missing: ['r2'],
      },
      {
        name: 'a row bound after the snapshot is not in it, so it is not swept',
        setup: { rows: [row('r1', '')] },
        duringList: (t) => t.table.rows.set('r1', row('r1', X)),
        seen: undefined,
        missing: [],
      },
      {
        name: 'nothing swept after a failed list',
        setup: { rows: [row('r1', X)] },
        duringList: (t) => t.docker.failNextList(),
        seen: undefined,
        missing: [],
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const t = setup(c.setup);
        if (c.duringList) t.docker.onNextList(() => c.duringList!(t));
        await t.resync.runPass();
        expect(t.sweeps(), 'sweep statements').to.deep.equal(c.seen === undefined ? [] : [c.seen]);
        expect([...t.table.rows.values()].filter((r) => r.state === 'missing').map((r) => r.id)).to.deep.equal(c.missing);
      });
    }

    it('reports and records exactly the rows the compare-and-set changed', async () => {
      const t = setup({ rows: [row('r1', X), row('r2', Y, { state: 'stopped' })] });
      t.docker.onNextList(() => t.table.rows.set('r1', row('r1', B)));
      const report = await t.resync.runPass();
      expect(report).to.include({ ok: true, swept: 1 });
      expect(t.changes).to.deep.equal([{ rowId: 'r2', workloadId: 'wl-1', from: 'stopped', to: 'missing', at: t.clock.now(), reason: 'sweep' }]);
      expect(t.rows.getRow('r2')?.state, 'the index follows').to.equal('missing');
      expect(t.metrics.get('missing_marks')).to.equal(1);
      expect(t.metrics.get('write_statements{kind=sweep}')).to.equal(1);
    });

    it('a failed list fails the pass: no sweep, no last_seen_at refresh, counted as an error', async () => {
      const t = setup({ rows: [row('r1', X)] });
      t.docker.failNextList(new Error('connection refused'));
      const report = await t.resync.runPass();
      expect(report).to.include({ ok: false, listed: 0, swept: 0, error: 'docker: connection refused' });
      expect(t.table.callsOf('touchSeen')).to.deep.equal([]);
      expect(t.metrics.get('ticks{result=error}')).to.equal(1);
      expect(t.metrics.get('ticks{result=success}')).to.equal(0);
      expect(t.log.lines.map((l) => [l.level, l.obj.source])).to.deep.equal([['warn', 'docker']]);
    });

    it('a failed snapshot fails the pass before Docker is even listed', async () => {
      const t = setup({ rows: [row('r1', X)] });
      t.table.failNext('listForHost');
      expect(await t.resync.runPass()).to.include({ ok: false });
      expect(t.docker.calls).to.deep.equal([]);
      expect(t.sweeps()).to.deep.equal([]);
    });
  });

  describe('what a pass queues', () => {
    interface QueueCase {
      name: string;
      setup: Setup;
      prepare?: (t: ReturnType<typeof setup>) => void;
      queued: string[];
      unchanged: number;
      /** The refusal A ends the pass with. */
      refused?: string;
    }
    const cases: QueueCase[] = [
      { name: 'an unchanged container is never queued (decided in memory, counted unchanged)', setup: { docker: [container(A)], rows: [row(DERIVED, A)] }, queued: [], unchanged: 1 },
      { name: 'a container without its row is queued', setup: { docker: [container(A)] }, queued: [A], unchanged: 0 },
      { name: 'a container whose row differs is queued', setup: { docker: [container(A, { state: 'exited' })], rows: [row(DERIVED, A)] }, queued: [A], unchanged: 0 },
      {
        name: 'a stale key (an event arrived while Docker listed) is queued although unchanged',
        setup: { docker: [container(A)], rows: [row(DERIVED, A)] },
        prepare: (t) => t.docker.onNextList(() => t.observed.markStale(A)),
        queued: [A],
        unchanged: 0,
      },
      {
        name: 'a busy key (queued or being processed) is queued although unchanged',
        setup: { docker: [container(A)], rows: [row(DERIVED, A)] },
        prepare: (t) => t.controller.busy.add(A),
        queued: [A],
        unchanged: 0,
      },
      { name: 'a refused container is not queued (its refusal is recorded by the pass)', setup: { docker: [container(A, { workload: 'wl-unknown' })] }, queued: [], unchanged: 0, refused: 'unknown_workload' },
      { name: 'a container that is no Tinyforge candidate is ignored', setup: { docker: [container(A, { labels: { 'com.docker.compose.project': 'other' } })] }, queued: [], unchanged: 0 },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const t = setup(c.setup);
        c.prepare?.(t);
        await t.resync.runPass();
        expect(t.controller.passes).to.deep.equal([c.queued]);
        expect(t.metrics.get('upserts{dispatch=workload,result=unchanged}')).to.equal(c.unchanged);
        expect(t.refusals.get(A)?.reason).to.equal(c.refused);
      });
    }

    it('refusals: recorded for refused containers; ended for containers gone before the pass; kept when recorded after the pass began', async () => {
      const t = setup({ docker: [container(A, { workload: 'wl-unknown' })] });
      const conflict = { ok: false as const, dispatch: 'workload' as const, reason: 'conflict' as const, detail: '', workloadId: 'wl-1', rowId: DERIVED };
      t.refusals.refuse(container(X), conflict);
      t.docker.onNextList(() => t.refusals.refuse(container(Y), conflict));
      await t.resync.runPass();
      expect(t.refusals.get(A)?.reason).to.equal('unknown_workload');
      expect(t.refusals.get(X), 'vanished before the pass listed').to.equal(undefined);
      expect(t.refusals.get(Y)?.reason, 'recorded after the mark: the list may predate its container').to.equal('conflict');
      expect(t.sink.calls.map((c) => c.op), 'flushed by the pass').to.deep.equal(['upsert', 'removeAllExcept']);
    });

    it("a listed container that gets its row unchanged ends an earlier refusal", async () => {
      const t = setup({ docker: [container(A)], rows: [row(DERIVED, A)] });
      t.refusals.refuse(container(A), { ok: false, dispatch: 'workload', reason: 'conflict', detail: '', workloadId: 'wl-1', rowId: DERIVED });
      await t.resync.runPass();
      expect(t.refusals.get(A)).to.equal(undefined);
    });

    it('a refusal flush that fails is logged and kept; the pass still succeeds', async () => {
      const t = setup({ docker: [container(A, { workload: 'wl-unknown' })] });
      t.sink.fail(true);
      const report = await t.resync.runPass();
      expect(report.ok).to.equal(true);
      expect(t.log.lines.map((l) => l.msg)).to.include('could not write container refusals; kept for the next pass');
      expect(t.refusals.get(A)?.reason).to.equal('unknown_workload');
    });

    it('prefetches in one lookup the rows the snapshot lacks: unbound containers and derived IDs not in it', async () => {
      const t = setup({ docker: [container(A), container(B, { role: 'db' })], rows: [row(DERIVED, A)] });
      await t.resync.runPass();
      expect(t.table.callsOf('findByContainerOrRowIds')).to.deep.equal([[[B], [`wl-1:db@${HOST}`]]]);
    });
  });

  describe('a pass', () => {
    it('calibrates the database clock, refreshes last_seen_at of a row never seen, reports to the observer and the metrics', async () => {
      const t = setup({ docker: [container(A)], rows: [row(DERIVED, A)] });
      t.table.dbNow = Date.now() + 2_500;
      const report = await t.resync.runPass();
      expect(t.clock.offset()).to.equal(2_500);
      expect(t.metrics.gauges.get('clock_skew')).to.equal(2.5);
      expect(t.table.callsOf('touchSeen')).to.deep.equal([[HOST, [{ id: DERIVED, containerId: A }]]]);
      expect(t.metrics.get('write_statements{kind=touch}')).to.equal(1);
      expect(t.metrics.get('last_seen_refreshed')).to.equal(1);
      expect(report).to.include({ ok: true, listed: 1, errors: 0, swept: 0 });
      expect(t.observer.started).to.deep.equal([1_000_000]);
      expect(t.observer.finished).to.deep.equal([report]);
      expect(t.metrics.get('ticks{result=success}')).to.equal(1);
      expect(t.metrics.gauges.get('last_successful_tick')).to.equal(1_000);
      expect(t.metrics.get('tick_duration_observations')).to.equal(1);
    });

    it('keys that failed in the workers fail the pass (it still sweeps and refreshes)', async () => {
      const t = setup({ docker: [container(A)], rows: [row(DERIVED, A), row('r1', X)] });
      t.controller.errors = 2;
      const report = await t.resync.runPass();
      expect(report).to.include({ ok: false, errors: 2, swept: 1, error: '2 keys failed and were requeued' });
      expect(t.table.callsOf('touchSeen')).to.have.length(1);
      expect(t.metrics.get('ticks{result=error}')).to.equal(1);
    });

    it('a caller asking while a pass runs gets the next pass, which lists after it asked; concurrent callers share it', async () => {
      const t = setup({ docker: [container(A)] });
      const first = t.resync.runPass();
      const second = t.resync.runPass();
      const third = t.resync.runPass();
      expect(second).to.equal(third);
      await Promise.all([first, second]);
      expect(t.docker.calls.filter((c) => c === 'list')).to.have.length(2);
    });

    it('loop: a boot pass, then one every interval, sooner when triggered, until aborted', async () => {
      const t = setup();
      const abort = new AbortController();
      const lists = () => t.docker.calls.filter((c) => c === 'list').length;
      const loop = t.resync.loop(60_000, abort.signal);
      await clock.tickAsync(0);
      expect(lists(), 'boot pass').to.equal(1);
      await clock.tickAsync(59_999);
      expect(lists()).to.equal(1);
      await clock.tickAsync(1);
      expect(lists()).to.equal(2);
      await clock.tickAsync(10_000);
      t.resync.trigger();
      await clock.tickAsync(0);
      expect(lists(), 'triggered').to.equal(3);
      abort.abort();
      await loop;
      await clock.tickAsync(120_000);
      expect(lists()).to.equal(3);
      expect(clock.countTimers(), 'no timer left behind').to.equal(0);
    });

    it('the wait between passes runs on the injected local clock', async () => {
      clock.restore();
      const timers: number[] = [];
      const abort = new AbortController();
      const localClock: Clock = {
        now: () => 0,
        setTimeout: (fn, ms) => {
          timers.push(ms);
          abort.abort();
          return setImmediate(fn);
        },
        clearTimeout: () => undefined,
      };
      const t = setup({ localClock });
      await t.resync.loop(1234, abort.signal);
      expect(timers).to.deep.equal([1234]);
      expect(t.observer.started, 'durations and times from the injected clock').to.deep.equal([0]);
      clock = sinon.useFakeTimers();
    });
  });

  describe('steady state costs O(changes), not O(containers)', () => {
    /** The fake database's clock follows the (fake) local one. */
    const sync = (t: ReturnType<typeof setup>) => {
      t.table.dbNow = Date.now();
    };
    const pass = async (t: ReturnType<typeof setup>) => {
      sync(t);
      return t.resync.runPass();
    };

    it('a steady pass sends a constant number of statements: the clock, the checksum of the host view, the heartbeat', async () => {
      const t = setup({ docker: [container(A), container(B, { role: 'db' })], rows: [row(DERIVED, A), row(`wl-1:db@${HOST}`, B, { role: 'db' })], lastSeenMaxAgeMs: 7 * 86_400_000 });
      await pass(t);
      expect(t.table.callsOf('listForHost'), 'the first pass reads the host view').to.have.length(1);
      for (let i = 0; i < 3; i++) {
        t.table.calls.length = 0;
        await clock.tickAsync(30_000);
        expect(await pass(t)).to.include({ ok: true, listed: 2, boundRows: 2, refreshed: 0 });
        expect(t.table.calls.map((c) => c.op)).to.deep.equal(['now', 'hostChecksum', 'heartbeat']);
      }
      expect(t.metrics.get('snapshot_reads{reason=start}')).to.equal(1);
      expect(t.metrics.get('snapshot_reads{reason=changed}')).to.equal(0);
    });

    it('a row another program changed makes the next pass read the host view in full and act on it', async () => {
      const t = setup({ docker: [container(A)], rows: [row(DERIVED, A)] });
      await pass(t);
      // The deployer binds a row of this host to a container that is already gone.
      t.table.rows.set('dep', row('dep', Y));
      t.table.calls.length = 0;
      const report = await pass(t);
      expect(t.table.calls.map((c) => c.op).slice(0, 3)).to.deep.equal(['now', 'hostChecksum', 'listForHost']);
      expect(t.metrics.get('snapshot_reads{reason=changed}')).to.equal(1);
      expect(report.swept).to.equal(1);
      expect(t.sweeps()).to.deep.equal([[{ id: 'dep', containerId: Y }]]);
      t.table.calls.length = 0;
      await pass(t);
      expect(t.table.callsOf('listForHost'), 'agreed again: no read').to.deep.equal([]);
    });

    it('the index is kept across passes, but what it knew outside the host view is forgotten at each pass', async () => {
      const t = setup({ docker: [container(A)], rows: [row(DERIVED, A), row('theirs', X, { host: 'node-b' })] });
      await pass(t);
      await t.rows.prefetch([X], []);
      expect(t.rows.getRow('theirs')?.host).to.equal('node-b');
      await pass(t);
      expect(t.rows.getRow('theirs'), 'another host\'s row is read again when needed').to.equal(undefined);
      expect(t.rows.getRow(DERIVED)?.containerId).to.equal(A);
    });

    it('a row recorded after the list began is not swept in that pass, only in the next one if its container is still gone', async () => {
      const t = setup();
      await pass(t);
      t.docker.onNextList(() => {
        // A worker binds a row to a container created (and removed) while Docker listed.
        t.table.rows.set('late', row('late', Y));
        t.rows.put(row('late', Y));
      });
      expect((await pass(t)).swept).to.equal(0);
      expect(t.sweeps()).to.deep.equal([]);
      expect((await pass(t)).swept).to.equal(1);
      expect(t.sweeps()).to.deep.equal([[{ id: 'late', containerId: Y }]]);
    });

    it('refreshes last_seen_at spread over passes: each row once per max age, never older than max age + one interval, no burst', async () => {
      const N = 200;
      const maxAge = 300_000;
      const interval = 30_000;
      const docker = Array.from({ length: N }, (_, i) => container(cid(`k${i}`), { role: `r${i}` }));
      const rows = docker.map((c, i) => row(`wl-1:r${i}@${HOST}`, c.id, { role: `r${i}` }));
      const t = setup({ docker, rows, lastSeenMaxAgeMs: maxAge });
      // A cold start wrote every row at the same instant.
      for (const r of rows) t.table.lastSeen.set(r.id, Date.now());
      await pass(t);
      expect(t.table.callsOf('touchSeen'), 'all fresh: nothing due').to.deep.equal([]);
      const perPass: number[] = [];
      for (let p = 0; p < 20; p++) {
        await clock.tickAsync(interval);
        const before = t.table.callsOf('touchSeen').length;
        const report = await pass(t);
        const touched = t.table.callsOf('touchSeen').slice(before).reduce((n, c) => n + (c[1] as unknown[]).length, 0);
        expect(report.refreshed).to.equal(touched);
        perPass.push(touched);
        for (const r of rows) expect(Date.now() - t.table.lastSeen.get(r.id)!, r.id).to.be.at.most(maxAge + interval);
      }
      // 20 passes are two max ages: every row refreshed exactly twice, about N/10 per pass.
      expect(perPass.reduce((a, b) => a + b, 0)).to.equal(2 * N);
      expect(Math.max(...perPass), `per pass: ${perPass.join(',')}`).to.be.at.most((2 * N * interval) / maxAge);
      expect(Math.min(...perPass), `per pass: ${perPass.join(',')}`).to.be.at.least(1);
    });

    it('LAST_SEEN_MAX_AGE 0 refreshes every live row at every pass (the original behaviour)', async () => {
      const t = setup({ docker: [container(A), container(B, { role: 'db' })], rows: [row(DERIVED, A), row(`wl-1:db@${HOST}`, B, { role: 'db' }), row('gone', X, { state: 'missing' })], lastSeenMaxAgeMs: 0 });
      await pass(t);
      await pass(t);
      expect(t.table.callsOf('touchSeen').map((c) => (c[1] as Array<{ id: string }>).map((x) => x.id).sort())).to.deep.equal([
        [DERIVED, `wl-1:db@${HOST}`].sort(),
        [DERIVED, `wl-1:db@${HOST}`].sort(),
      ]);
    });

    it('writes the host heartbeat after every pass: counts after a success, the error after a failure; a failed heartbeat fails nothing', async () => {
      const t = setup({ docker: [container(A)], rows: [row(DERIVED, A), row('r1', X)] });
      await pass(t);
      expect(t.table.heartbeats).to.deep.equal([{ ok: true, containers: 1, boundRows: 1 }]);
      t.docker.failNextList(new Error('boom'));
      await pass(t);
      expect(t.table.heartbeats[1]).to.deep.equal({ ok: false, error: 'docker: boom', containers: 1, boundRows: 1 });
      t.table.failNext('heartbeat');
      expect((await pass(t)).ok).to.equal(true);
      expect(t.metrics.get('write_statements{kind=heartbeat}')).to.equal(2);
    });

    it('a Tinyforge container the list could not read (oversized entry) keeps its row: not swept; an unread entry without an ID stops the sweep', async () => {
      const t = setup({ docker: [container(A)], rows: [row(DERIVED, A), row('big', X), row('gone', Y)] });
      let unread = { ids: new Set([X]) as ReadonlySet<string>, unknown: false };
      (t.docker as unknown as { lastListUnread: () => typeof unread }).lastListUnread = () => unread;
      await pass(t);
      expect(t.sweeps(), 'only the row of the container that is really gone').to.deep.equal([[{ id: 'gone', containerId: Y }]]);
      t.table.rows.set('gone2', row('gone2', cid('z')));
      unread = { ids: new Set(), unknown: true };
      await pass(t);
      expect(t.sweeps(), 'no second sweep').to.have.length(1);
      expect(t.table.rows.get('big')?.state).to.equal('running');
      expect(t.log.lines.some((l) => l.level === 'warn' && l.msg.includes('oversized'))).to.equal(true);
    });

    it('a database that hashes the rows differently: every pass reads in full (still correct), and it is said once', async () => {
      const t = setup({ docker: [container(A)], rows: [row(DERIVED, A)] });
      const real = t.table.hostChecksum.bind(t.table);
      t.table.hostChecksum = async (h: string) => ({ ...(await real(h)), sum: 1 });
      for (let i = 0; i < 5; i++) await pass(t);
      expect(t.table.callsOf('listForHost')).to.have.length(5);
      expect(t.log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).to.have.length(1);
    });
  });

  describe('lastSeenDue', () => {
    const M = 300_000;
    it('is due when never seen, or when the max age is 0', () => {
      expect(lastSeenDue(null, 5, M, 0)).to.equal(true);
      expect(lastSeenDue(1000, 1000, 0, 7)).to.equal(true);
    });
    it("is due exactly once the row's phase point was crossed since it was seen", () => {
      const phase = 100_000;
      expect(lastSeenDue(90_000, 99_999, M, phase)).to.equal(false);
      expect(lastSeenDue(90_000, 100_000, M, phase)).to.equal(true);
      expect(lastSeenDue(100_000, 399_999, M, phase)).to.equal(false);
      expect(lastSeenDue(100_000, 400_000, M, phase)).to.equal(true);
    });
    it('is never due for a clock that runs behind the value, and always due a max age later, whatever the phase', () => {
      for (let seed = 0; seed < 1000; seed++) {
        const phase = (seed * 2654435761) >>> 0;
        const seen = 1_700_000_000_000 + seed * 977;
        expect(lastSeenDue(seen, seen - 1, M, phase)).to.equal(false);
        expect(lastSeenDue(seen, seen + M, M, phase)).to.equal(true);
      }
    });
  });
});
