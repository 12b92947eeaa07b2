import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { createRequire } from 'node:module';
import { PassThrough, type Readable } from 'node:stream';
import type Sinon from 'sinon';
import { DockerClient } from '../../src/docker/docker.client.js';
import { EventWatcher, type EventStreamOpener, type EventWatcherHooks } from '../../src/docker/event-watcher.js';
import type { ContainerEvent } from '../../src/docker/events.js';
import { DockerSimulator } from '../support/docker-sim.js';
import { eventually } from '../support/app.js';

// sinon's CommonJS build: its fake clock also replaces `node:timers/promises`, which the watcher sleeps on.
const sinon = createRequire(import.meta.url)('sinon') as typeof Sinon;

/** Hooks that record everything the watcher reports. */
function recorder() {
  const r = { connected: 0, reopened: 0, attempts: 0, disconnected: [] as string[], events: [] as ContainerEvent[], malformed: [] as string[] };
  const hooks: EventWatcherHooks = {
    onConnected: () => r.connected++,
    onReopened: () => r.reopened++,
    onReconnectAttempt: () => r.attempts++,
    onDisconnected: (reason) => r.disconnected.push(reason),
    onEvent: (e) => r.events.push(e),
    onMalformed: (why) => r.malformed.push(why),
  };
  return { r, hooks };
}

const line = (action: string, id: string) => `${JSON.stringify({ status: action, id, Type: 'container', Action: action, Actor: { ID: id, Attributes: { 'tinyforge.managed': 'true' } }, scope: 'local', time: 1, timeNano: 1 })}\n`;

/**
 * The event watch against a fake Engine API on a unix socket: every way a stream can end, and
 * what a broken peer can send, handled once each, without growing memory across reconnects.
 */
describe('EventWatcher against the Engine API simulator', function () {
  this.timeout(120_000);
  let sim: DockerSimulator;
  let abort: AbortController;
  let run: Promise<void>;

  const start = (opts: { idleTimeoutMs?: number; maxBackoffMs?: number } = {}) => {
    const { r, hooks } = recorder();
    const client = new DockerClient({ kind: 'unix', socketPath: sim.socketPath }, { eventStreamIdleTimeoutMs: opts.idleTimeoutMs });
    abort = new AbortController();
    run = new EventWatcher(client, hooks, { baseMs: 2, maxMs: opts.maxBackoffMs ?? 50, healthyAfterMs: 10_000 }).run(abort.signal);
    return r;
  };

  beforeEach(async () => {
    sim = await DockerSimulator.start();
  });
  afterEach(async () => {
    abort?.abort();
    await run;
    await sim.stop();
  });

  it('parses chunks that merge several events or split one, in order', async () => {
    const r = start();
    await eventually(async () => r.connected === 1 && sim.openEventStreams() === 1, 'connected');
    const a = line('start', 'a'.repeat(64));
    const b = line('die', 'b'.repeat(64));
    const c = line('destroy', 'c'.repeat(64));
    sim.writeRawToEventStreams(a + b + c.slice(0, 17));
    await new Promise((res) => setTimeout(res, 30));
    sim.writeRawToEventStreams(c.slice(17, 40));
    await new Promise((res) => setTimeout(res, 30));
    sim.writeRawToEventStreams(c.slice(40));
    await eventually(async () => r.events.length === 3, 'three events');
    expect(r.events.map((e) => `${e.action}:${e.id[0]}`)).to.deep.equal(['start:a', 'die:b', 'destroy:c']);
    expect(r.disconnected).to.deep.equal([]);
  });

  it('counts and skips a garbage line without losing the stream', async () => {
    const r = start();
    await eventually(async () => r.connected === 1 && sim.openEventStreams() === 1, 'connected');
    sim.writeRawToEventStreams('this is not json\n{"Type":"container"}\n');
    sim.writeRawToEventStreams(line('start', 'd'.repeat(64)));
    await eventually(async () => r.events.length === 1, 'the event after the garbage');
    expect(r.malformed).to.have.length(2);
    expect(r.disconnected).to.deep.equal([]);
  });

  it('delivers real simulator events', async () => {
    const r = start();
    await eventually(async () => r.connected === 1 && sim.openEventStreams() === 1, 'connected');
    const c = sim.add({ labels: { 'tinyforge.managed': 'true' }, state: 'running' });
    sim.setState(c.id, 'exited');
    sim.remove(c.id);
    await eventually(async () => r.events.some((e) => e.action === 'destroy'), 'destroy event');
    expect(r.events.map((e) => e.action)).to.include.members(['create', 'start', 'die', 'destroy']);
    expect(new Set(r.events.map((e) => e.id))).to.deep.equal(new Set([c.id]));
  });

  for (const mode of ['end', 'destroy'] as const) {
    it(`reconnects once when the server ${mode === 'end' ? 'ends' : 'resets'} the stream`, async () => {
      const r = start();
      await eventually(async () => r.connected === 1 && sim.openEventStreams() === 1, 'connected');
      sim.cutEventStreams(mode);
      await eventually(async () => r.connected === 2 && sim.openEventStreams() === 1, 'reconnected');
      expect(r.disconnected, 'one ending handled once').to.have.length(1);
      sim.writeRawToEventStreams(line('start', 'e'.repeat(64)));
      await eventually(async () => r.events.length === 1, 'events flow again');
    });
  }

  it('keeps retrying while the server is gone, and comes back when it returns', async () => {
    const r = start();
    await eventually(async () => r.connected === 1, 'connected');
    await sim.pauseServer();
    await eventually(async () => r.disconnected.length >= 5, 'several failed attempts', 10_000);
    expect(r.disconnected.slice(1).every((d) => /ECONNREFUSED|ENOENT/.test(d)), r.disconnected.join(' | ')).to.equal(true);
    await sim.resumeServer();
    await eventually(async () => r.connected === 2 && sim.openEventStreams() === 1, 'reconnected after the outage', 10_000);
    expect(r.reopened, 'one outage, one reopened stream').to.equal(1);
    expect(r.attempts, 'every attempt of the outage').to.equal(r.disconnected.length);
  });

  it('treats an idle stream cut by the client timeout as one reconnect', async () => {
    const r = start({ idleTimeoutMs: 150 });
    await eventually(async () => r.connected >= 1, 'connected');
    await eventually(async () => r.connected >= 3, 'two idle timeouts, two reconnects', 5_000);
    expect(r.disconnected.length).to.be.at.least(2);
    expect(r.disconnected.length).to.be.at.most(r.connected);
  });

  it('stays flat across 1,000 reconnects: listeners, open streams and heap', async function () {
    const gc = (globalThis as { gc?: () => void }).gc;
    const r = start({ maxBackoffMs: 2 });
    await eventually(async () => r.connected === 1, 'connected');
    const cycle = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const want = r.connected + 1;
        sim.cutEventStreams(i % 2 === 0 ? 'destroy' : 'end');
        await eventually(async () => r.connected >= want && sim.openEventStreams() === 1, `reconnect ${i}`, 5_000, 1);
      }
    };
    await cycle(100);
    gc?.();
    const heapAt100 = process.memoryUsage().heapUsed;
    const listenersAt100 = getEventListeners(abort.signal, 'abort').length;
    await cycle(900);
    gc?.();
    const heapAt1000 = process.memoryUsage().heapUsed;
    expect(r.connected).to.be.at.least(1001);
    expect(r.disconnected.length).to.equal(r.connected - 1);
    expect(r.reopened, 'every reopening counted').to.equal(r.connected - 1);
    expect(sim.openEventStreams()).to.equal(1);
    expect(getEventListeners(abort.signal, 'abort').length, 'abort listeners').to.equal(listenersAt100);
    expect(getEventListeners(abort.signal, 'abort').length).to.be.at.most(2);
    // 900 more reconnects may not cost more than a few MB (no leaked streams or closures).
    expect(heapAt1000 - heapAt100, `heap grew by ${((heapAt1000 - heapAt100) / 1e6).toFixed(1)} MB`).to.be.lessThan(gc ? 8e6 : 30e6);
  });
});

/** A daemon driven by the test: while down every open fails as a dead unix socket does. */
class ScriptedDaemon implements EventStreamOpener {
  up = true;
  opens = 0;
  failures = 0;
  stream: PassThrough | undefined;

  async openEvents(): Promise<Readable> {
    if (!this.up) {
      this.failures++;
      throw Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
    }
    this.opens++;
    this.stream = new PassThrough();
    return this.stream;
  }

  /** The daemon goes away: the open stream ends, and opens fail until {@link up} is set again. */
  goDown(): void {
    this.up = false;
    this.stream?.end();
  }
}

/**
 * What the watcher reports across outages, on a fake clock: a reopened stream is counted once
 * however many attempts the reconnect took (tinyforge_reconciler_docker_watch_restarts_total
 * counts `onReopened`, the attempts have their own counter), so one daemon restart is one restart.
 */
describe('EventWatcher counting reopened streams and attempts (fake clock)', () => {
  let clock: Sinon.SinonFakeTimers;
  let abort: AbortController;
  let run: Promise<void> | undefined;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    abort = new AbortController();
  });
  afterEach(async () => {
    abort.abort();
    await clock.tickAsync(0);
    await run;
    clock.restore();
  });

  /** The production backoff (100 ms doubling, reset after 30 s connected) without jitter: delays 100, 200, 400, 800, 1600 ms. */
  const watch = (daemon: ScriptedDaemon) => {
    const { r, hooks } = recorder();
    run = new EventWatcher(daemon, hooks, { baseMs: 100, maxMs: 30_000, healthyAfterMs: 30_000 }, () => Date.now(), () => 1).run(abort.signal);
    return r;
  };

  it('counts a 3-second daemon restart with several failed attempts as exactly one reopened stream', async () => {
    const daemon = new ScriptedDaemon();
    const r = watch(daemon);
    await clock.tickAsync(60_000);
    expect([r.connected, r.reopened, r.attempts]).to.deep.equal([1, 0, 0]);

    daemon.goDown();
    await clock.tickAsync(3_000);
    // Attempts at +100, +300, +700 and +1500 ms met a dead socket.
    expect(daemon.failures, 'failed attempts during the outage').to.equal(4);
    expect(r.reopened, 'nothing reopened while the daemon is down').to.equal(0);
    daemon.up = true;
    await clock.tickAsync(2_000);

    expect(r.connected, 'the stream is open again').to.equal(2);
    expect(r.reopened, 'one restart, however many attempts').to.equal(1);
    expect(r.attempts, 'every attempt counted on its own: 4 failed + 1 that opened').to.equal(5);
    // Counting endings and failed opens (the old wiring) would have said 5 here.
    expect(r.disconnected, 'one ending and four failed opens reported for the log').to.have.length(5);
    expect(r.disconnected.slice(1).every((d) => d.startsWith('ECONNREFUSED')), r.disconnected.join(' | ')).to.equal(true);

    // Stable afterwards: an hour without an ending adds nothing.
    await clock.tickAsync(3_600_000);
    expect([r.connected, r.reopened, r.attempts]).to.deep.equal([2, 1, 5]);
  });

  it('counts every reopening of a stream that keeps ending (a real loop)', async () => {
    const daemon = new ScriptedDaemon();
    const r = watch(daemon);
    await clock.tickAsync(0);
    for (let i = 0; i < 10; i++) {
      daemon.stream!.end();
      await clock.tickAsync(60_000);
    }
    expect(daemon.failures).to.equal(0);
    expect([r.connected, r.reopened, r.attempts]).to.deep.equal([11, 10, 10]);
  });

  it('does not count a first stream that took several attempts as a restart', async () => {
    const daemon = new ScriptedDaemon();
    daemon.up = false;
    const r = watch(daemon);
    await clock.tickAsync(1_000);
    // The first open at 0 and retries at +100, +300 and +700 ms failed.
    expect(daemon.failures).to.equal(4);
    daemon.up = true;
    await clock.tickAsync(2_000);
    expect(r.connected).to.equal(1);
    expect(r.reopened, 'never open before: not a reopening').to.equal(0);
    expect(r.attempts, 'three failed retries and the one that opened').to.equal(4);
  });

  it('keeps watching when a counting hook throws', async () => {
    const daemon = new ScriptedDaemon();
    const { r, hooks } = recorder();
    run = new EventWatcher(daemon, { ...hooks, onReopened: () => { throw new Error('hook failed'); }, onReconnectAttempt: () => { throw new Error('hook failed'); } }, { baseMs: 100, maxMs: 30_000, healthyAfterMs: 30_000 }, () => Date.now(), () => 1).run(abort.signal);
    await clock.tickAsync(0);
    daemon.stream!.end();
    await clock.tickAsync(1_000);
    daemon.stream!.end();
    await clock.tickAsync(1_000);
    expect(r.connected).to.equal(3);
    expect(daemon.opens).to.equal(3);
  });
});
