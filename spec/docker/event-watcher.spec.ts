import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { DockerClient } from '../../src/docker/docker.client.js';
import { EventWatcher, type EventWatcherHooks } from '../../src/docker/event-watcher.js';
import type { ContainerEvent } from '../../src/docker/events.js';
import { DockerSimulator } from '../support/docker-sim.js';
import { eventually } from '../support/app.js';

/** Hooks that record everything the watcher reports. */
function recorder() {
  const r = { connected: 0, disconnected: [] as string[], events: [] as ContainerEvent[], malformed: [] as string[] };
  const hooks: EventWatcherHooks = {
    onConnected: () => r.connected++,
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
    expect(sim.openEventStreams()).to.equal(1);
    expect(getEventListeners(abort.signal, 'abort').length, 'abort listeners').to.equal(listenersAt100);
    expect(getEventListeners(abort.signal, 'abort').length).to.be.at.most(2);
    // 900 more reconnects may not cost more than a few MB (no leaked streams or closures).
    expect(heapAt1000 - heapAt100, `heap grew by ${((heapAt1000 - heapAt100) / 1e6).toFixed(1)} MB`).to.be.lessThan(gc ? 8e6 : 30e6);
  });
});
