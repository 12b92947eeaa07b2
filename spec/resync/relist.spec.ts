import { expect } from 'chai';
import sinon from 'sinon';
import { ConfigError, loadConfig } from '../../src/config.js';
import { cid, container, HOST, row } from '../support/fakes.js';
import { resyncHarness, type HarnessOptions } from './harness.js';

const [A, X] = ['a', 'x'].map(cid) as [string, string];
const DERIVED_A = `wl-1:web@${HOST}`;
const DERIVED_X = `wl-1:x@${HOST}`;
const INTERVAL = 30_000;
const RELIST = 300_000;

/** Two running containers with their rows, as a steady host has them. */
const steady = (o: HarnessOptions = {}): HarnessOptions => ({
  docker: [container(A), container(X, { role: 'x' })],
  rows: [row(DERIVED_A, A), row(DERIVED_X, X, { role: 'x' })],
  ...o,
});

describe('Relist: the daemon listed at start, every RELIST_INTERVAL and after the event stream missed something; the cache in between', () => {
  let clock: sinon.SinonFakeTimers;
  let abort: AbortController;
  let loop: Promise<void> | undefined;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
    abort = new AbortController();
  });
  afterEach(async () => {
    abort.abort();
    await clock.tickAsync(0);
    await loop;
    loop = undefined;
    clock.restore();
  });

  /** Starts the loop with the stream open, as the pipeline does once the watch connected. */
  const start = async (t: ReturnType<typeof resyncHarness>, intervalMs = INTERVAL, connected = true) => {
    if (connected) t.resync.watchConnected();
    loop = t.resync.loop(intervalMs, abort.signal);
    await clock.tickAsync(0);
  };
  /** Lets `ms` pass and returns how many lists and passes happened meanwhile. */
  const after = async (t: ReturnType<typeof resyncHarness>, ms: number) => {
    const [lists, passes] = [t.lists(), t.reports.length];
    await clock.tickAsync(ms);
    return { lists: t.lists() - lists, passes: t.reports.length - passes };
  };

  it('by default every pass lists, as the Go original did (reason interval after the first)', async () => {
    const t = resyncHarness(steady());
    await start(t);
    expect(t.lists()).to.equal(1);
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 1, passes: 1 });
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 1, passes: 1 });
    expect(t.listReasons()).to.deep.equal({ start: 1, interval: 2, reconnect: 0, interrupted: 0 });
    expect(t.reports.every((r) => r.ok)).to.equal(true);
  });

  it('lists exactly at start and every RELIST_INTERVAL; the passes in between call Docker not once', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    await start(t);
    expect([t.lists(), t.reports.length]).to.deep.equal([1, 1]);
    expect(await after(t, RELIST - 1), 'nine passes from the cache').to.deep.equal({ lists: 0, passes: 9 });
    expect(t.dockerCalls(), 'no list, no inspect').to.equal(1);
    expect(await after(t, 1)).to.deep.equal({ lists: 1, passes: 1 });
    expect(await after(t, RELIST)).to.deep.equal({ lists: 1, passes: 10 });
    expect(t.listReasons()).to.deep.equal({ start: 1, interval: 2, reconnect: 0, interrupted: 0 });
    expect(t.metrics.gauges.get('last_docker_list')).to.equal((1_000_000 + 2 * RELIST) / 1000);
    // Every pass, listing or not, decides both containers, counts them and writes the heartbeat.
    expect(t.reports.map((r) => r.listed)).to.satisfy((l: number[]) => l.every((n) => n === 2));
    expect(t.table.heartbeats).to.have.length(t.reports.length);
    expect(t.metrics.get('ticks{result=success}')).to.equal(t.reports.length);
  });

  it('keeps the list period when it is no multiple of the interval: a pass wakes for the list that falls due', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: 100_000 }));
    await start(t, 40_000);
    const listedAt: number[] = [Date.now()];
    for (let i = 0; i < 21; i++) {
      const before = t.lists();
      await clock.tickAsync(10_000);
      if (t.lists() > before) listedAt.push(Date.now());
    }
    expect(listedAt.map((at) => at - 1_000_000)).to.deep.equal([0, 100_000, 200_000]);
    // Passes at 0, 40, 80, 100 (a list), 140, 180, 200 (a list) s: never more than the interval apart.
    expect(t.reports).to.have.length(7);
  });

  it('a pass that did not list judges no row: a container removed without an event keeps its row live until the next list', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    await start(t);
    // A destroy event the daemon dropped: the cache still holds the container.
    t.docker.containers.delete(X);
    await after(t, RELIST - 1);
    expect(t.table.callsOf('markMissingIfBound'), 'no sweep without a list').to.deep.equal([]);
    expect(t.table.rows.get(DERIVED_X)?.state).to.equal('running');
    await after(t, 1);
    expect(t.table.callsOf('markMissingIfBound')).to.deep.equal([[HOST, [{ id: DERIVED_X, containerId: X }]]]);
    expect(t.table.rows.get(DERIVED_X)?.state).to.equal('missing');
    expect(t.reports.at(-1)).to.include({ swept: 1, listed: 1, boundRows: 1 });
  });

  it('a destroy event marks the row missing at once, without a list; the passes after it agree', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    await start(t);
    t.docker.containers.delete(X);
    const handled = t.event(X);
    await clock.tickAsync(10);
    await handled;
    expect(t.table.rows.get(DERIVED_X)?.state).to.equal('missing');
    expect(t.docker.calls, 'one inspect, no list').to.deep.equal(['list', `inspect ${X.slice(0, 6)}`]);
    expect(t.observed.has(X)).to.equal(false);
    await after(t, INTERVAL);
    expect(t.reports.at(-1)).to.include({ ok: true, listed: 1, boundRows: 1, swept: 0 });
    expect(t.table.callsOf('markMissingIfBound')).to.deep.equal([]);
    expect(t.lists()).to.equal(1);
  });

  it('a container an event announced is decided by the passes from the cache; its refresh of last_seen_at is due at every pass with max age 0', async () => {
    const t = resyncHarness({ docker: [container(A)], rows: [row(DERIVED_A, A)], relistIntervalMs: RELIST, lastSeenMaxAgeMs: 0 });
    await start(t);
    t.docker.containers.set(X, container(X, { role: 'x' }));
    const handled = t.event(X);
    await clock.tickAsync(10);
    await handled;
    expect(t.table.rows.get(DERIVED_X)).to.include({ containerId: X, state: 'running' });
    const touches = t.table.callsOf('touchSeen').length;
    await after(t, INTERVAL);
    expect(t.lists()).to.equal(1);
    expect(t.table.callsOf('touchSeen').slice(touches).map((c) => (c[1] as Array<{ id: string }>).map((s) => s.id).sort())).to.deep.equal([[DERIVED_A, DERIVED_X].sort()]);
    expect(t.reports.at(-1)).to.include({ listed: 2, boundRows: 2, refreshed: 2 });
  });

  it('a pass from the cache still puts back a row another program changed (the checksum tells), without asking Docker', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    await start(t);
    t.table.rows.set(DERIVED_A, row(DERIVED_A, A, { state: 'stopped' }));
    t.controller.passes.length = 0;
    await after(t, INTERVAL);
    expect(t.controller.passes).to.deep.equal([[A]]);
    expect(t.metrics.get('snapshot_reads{reason=changed}')).to.equal(1);
    expect(t.lists()).to.equal(1);
  });

  it('while the event stream is down every pass lists (interrupted); the pass its reopening triggers lists at once (reconnect); then the cache again', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    await start(t);
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 0, passes: 1 });
    t.resync.watchDisconnected();
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 1, passes: 1 });
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 1, passes: 1 });
    await clock.tickAsync(5_000);
    t.resync.watchConnected();
    expect(await after(t, 0), 'triggered, not at the next interval').to.deep.equal({ lists: 1, passes: 1 });
    expect(await after(t, 2 * INTERVAL)).to.deep.equal({ lists: 0, passes: 2 });
    expect(t.listReasons()).to.deep.equal({ start: 1, interval: 0, reconnect: 1, interrupted: 2 });
  });

  it('a stream that ends and reopens between two passes: the next pass lists (reconnect), whatever the relist period', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    await start(t, INTERVAL);
    await after(t, 10_000);
    t.resync.watchDisconnected();
    t.resync.watchConnected();
    expect(await after(t, 0)).to.deep.equal({ lists: 1, passes: 1 });
    expect(t.listReasons()).to.include({ reconnect: 1 });
  });

  it('a line the stream could not read (maybe a destroy): the next pass lists, the ones after use the cache', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    await start(t);
    t.resync.eventLost();
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 1, passes: 1 });
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 0, passes: 1 });
    expect(t.listReasons()).to.include({ interrupted: 1 });
  });

  it('until the event stream first opens, every pass lists', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    await start(t, INTERVAL, false);
    expect(await after(t, 2 * INTERVAL)).to.deep.equal({ lists: 2, passes: 2 });
    expect(t.listReasons()).to.deep.equal({ start: 1, interval: 0, reconnect: 0, interrupted: 2 });
  });

  it('a list that fails keeps its reason: the next pass lists again, and sweeps nothing meanwhile', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    await start(t);
    t.docker.containers.delete(X);
    t.docker.failNextList(new Error('daemon busy'));
    t.resync.watchDisconnected();
    t.resync.watchConnected();
    expect(await after(t, 0)).to.deep.equal({ lists: 1, passes: 1 });
    expect(t.reports.at(-1)).to.include({ ok: false, swept: 0 });
    expect(t.table.callsOf('markMissingIfBound')).to.deep.equal([]);
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 1, passes: 1 });
    expect(t.reports.at(-1)).to.include({ ok: true, swept: 1 });
    expect(t.listReasons()).to.deep.equal({ start: 1, interval: 0, reconnect: 2, interrupted: 0 });
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 0, passes: 1 });
  });

  it('a container destroyed while Docker listed (its event inspected before the older list arrived) is not brought back: its row ends missing', async () => {
    const t = resyncHarness(steady());
    // The daemon's answer predates the destroy: it still shows X.
    t.docker.onNextList(() => {
      t.observed.markStale(X);
      t.observed.applyInspect(X, undefined, t.observed.staleVersion(X)!, Date.now());
    });
    await start(t);
    expect(t.observed.has(X)).to.equal(false);
    expect(t.controller.passes).to.deep.equal([[]]);
    expect(t.table.rows.get(DERIVED_X)?.state).to.equal('missing');
    expect(t.reports.at(-1), 'the daemon listed two').to.include({ ok: true, listed: 2, swept: 1, boundRows: 1 });
  });

  it('a failed first list is the start again; the relist period counts from the last list the daemon answered', async () => {
    const t = resyncHarness(steady({ relistIntervalMs: RELIST }));
    t.docker.failNextList();
    await start(t);
    expect(t.reports.at(-1)?.ok).to.equal(false);
    expect(await after(t, INTERVAL)).to.deep.equal({ lists: 1, passes: 1 });
    expect(t.listReasons()).to.include({ start: 2 });
    expect(await after(t, RELIST - 1)).to.deep.equal({ lists: 0, passes: 9 });
    expect(await after(t, 1)).to.deep.equal({ lists: 1, passes: 1 });
  });
});

describe('RELIST_INTERVAL (config)', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
  };

  it('defaults to the reconcile interval (a list every pass), and so does 0', () => {
    expect(loadConfig({}).relistIntervalMs).to.equal(30_000);
    expect(loadConfig({ RECONCILE_INTERVAL: '10s' }).relistIntervalMs).to.equal(10_000);
    expect(loadConfig({ RECONCILE_INTERVAL: '10s', RELIST_INTERVAL: '0' }).relistIntervalMs).to.equal(10_000);
  });

  it('takes a period from RECONCILE_INTERVAL (after clamping) to 1h', () => {
    expect(loadConfig({ RELIST_INTERVAL: '5m' }).relistIntervalMs).to.equal(300_000);
    expect(loadConfig({ RELIST_INTERVAL: '30s' }).relistIntervalMs).to.equal(30_000);
    expect(loadConfig({ RELIST_INTERVAL: '1h' }).relistIntervalMs).to.equal(3_600_000);
    expect(loadConfig({ RECONCILE_INTERVAL: '10m', RELIST_INTERVAL: '5m' }).relistIntervalMs, 'the interval is clamped to 5m first').to.equal(300_000);
  });

  it('refuses a period shorter than RECONCILE_INTERVAL, longer than 1h, or negative, in one line that names both', () => {
    for (const raw of ['10s', '29999ms', '61m', '2h', '-1']) {
      expect(problems({ RELIST_INTERVAL: raw }), raw).to.deep.equal([`RELIST_INTERVAL: must be 0 (a list every pass) or from RECONCILE_INTERVAL (30000ms) to 1h, got "${raw}"`]);
    }
    expect(problems({ RECONCILE_INTERVAL: '2m', RELIST_INTERVAL: '1m' })[0]).to.contain('RECONCILE_INTERVAL (120000ms)');
    expect(problems({ RELIST_INTERVAL: 'soon' })).to.deep.equal(['RELIST_INTERVAL: "soon" is not a duration (use 500ms, 30s, 2m, 1h, 7d or a number of seconds)']);
  });
});
