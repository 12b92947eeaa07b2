/**
 * DockerClient against the Engine API simulator, bounded in memory and time: oversized list
 * entries, event lines and inspect answers are skipped (counted, logged once per container), a
 * list dripping bytes fails by DOCKER_LIST_TIMEOUT and leaves nothing streaming, close() aborts
 * whatever is in flight.
 */
import { expect } from 'chai';
import type { Readable } from 'node:stream';
import { DockerAbortedError, DockerClient, DockerTimeoutError, EntryTooLargeError, type DockerClientOptions } from '../../src/docker/docker.client.js';
import { OVERSIZED_LINE_MARKER } from '../../src/docker/events.js';
import type { OversizedSource } from '../../src/docker/oversized.js';
import { eventually } from '../support/app.js';
import { DockerSimulator } from '../support/docker-sim.js';
import { sharedDockerd, type PrivateDockerd } from '../support/dockerd.js';

const MiB = 1 << 20;

function recorder() {
  const counted: OversizedSource[] = [];
  const logged: Array<Record<string, unknown>> = [];
  const opts: DockerClientOptions = {
    metrics: { dockerOversizedEntries: { inc: (l) => counted.push(l.source) } },
    log: { warn: (o: unknown) => logged.push(o as Record<string, unknown>) } as never,
  };
  return { counted, logged, opts };
}

async function settle<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = Date.now();
  try {
    const value = await p;
    return { ms: Date.now() - t0, value };
  } catch (error) {
    return { ms: Date.now() - t0, error };
  }
}

describe('DockerClient limits (simulator)', function () {
  this.timeout(60_000);
  let sim: DockerSimulator;

  beforeEach(async () => {
    sim = await DockerSimulator.start();
  });
  afterEach(async () => {
    await sim?.stop();
  });

  const client = (extra: DockerClientOptions = {}) => new DockerClient({ kind: 'unix', socketPath: sim.socketPath }, { maxEntryBytes: MiB, ...extra });

  it('lists past a foreign container with a huge label, skips an oversized Tinyforge one, logs each container once', async () => {
    const managed = sim.add({ name: 'web', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'w1' } });
    const stack = sim.add({ name: 'stack-web-1', labels: { 'com.docker.compose.project': 'tinyforge-s1', 'com.docker.compose.service': 'web' } });
    const foreign = sim.add({ name: 'other', labels: { 'com.docker.compose.project': 'someone-else', huge: 'x'.repeat(3 * MiB) } });
    const hostile = sim.add({ name: 'hostile', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'w2', 'a-huge': '"]}'.repeat(MiB) } });
    const { counted, logged, opts } = recorder();
    const c = client(opts);
    for (let pass = 0; pass < 2; pass++) {
      const items = await c.listManaged();
      expect(items.map((i) => i.id).sort()).to.deep.equal([managed.id, stack.id].sort());
      expect(items.find((i) => i.id === managed.id)!.labels).to.deep.equal({ 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'w1' });
    }
    expect(counted).to.deep.equal(['list', 'list', 'list', 'list']);
    expect(logged.map((l) => [l.containerId, l.source, l.tinyforge]).sort()).to.deep.equal(
      [
        [foreign.id, 'list', 'no'],
        [hostile.id, 'list', 'yes'],
      ].sort(),
    );
    expect(logged.find((l) => l.containerId === foreign.id)!.bytes).to.be.greaterThan(3 * MiB);
  });

  it('fails an inspect whose answer is larger than the cap, clearly, and counts it', async () => {
    const big = sim.add({ name: 'big', labels: { 'tinyforge.managed': 'true', huge: 'y'.repeat(2 * MiB) } });
    const small = sim.add({ name: 'small', labels: { 'tinyforge.managed': 'true' } });
    const { counted, opts } = recorder();
    const c = client(opts);
    const r = await settle(c.inspect(big.id));
    expect(r.error).to.be.instanceOf(EntryTooLargeError);
    expect(String((r.error as Error).message)).to.match(/inspect of container .*larger than DOCKER_MAX_ENTRY_BYTES \(1048576 bytes\)/);
    expect(counted).to.deep.equal(['inspect']);
    expect((await c.inspect(small.id))?.name).to.equal('small');
    expect(await c.inspect('no-such-container')).to.equal(undefined);
  });

  it('drops an event line above the cap and delivers the events around it', async () => {
    const { counted, logged, opts } = recorder();
    const c = client(opts);
    const abort = new AbortController();
    const stream: Readable = await c.openEvents(abort.signal);
    let text = '';
    stream.on('data', (b: Buffer) => (text += b.toString()));
    const before = sim.add({ name: 'before', labels: { 'tinyforge.managed': 'true' } });
    const big = sim.add({ name: 'big', labels: { huge: 'z'.repeat(2 * MiB) } });
    const after = sim.add({ name: 'after', labels: { 'tinyforge.managed': 'true' } });
    await eventually(async () => text.includes(`"id":"${after.id}"`) && text.split('\n').filter((l) => l.includes(after.id)).length >= 2, 'the events of the last container');
    const lines = text.trim().split('\n');
    const ids = lines.filter((l) => l !== OVERSIZED_LINE_MARKER).map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).to.include(before.id);
    expect(ids).to.not.include(big.id);
    // In place of each dropped line, a marker the watcher reads as a lost line.
    expect(lines.filter((l) => l === OVERSIZED_LINE_MARKER)).to.have.length(2);
    // create and start of the big one, each dropped and counted; logged once.
    expect(counted).to.deep.equal(['event', 'event']);
    expect(logged.map((l) => l.containerId)).to.deep.equal([big.id]);
    abort.abort();
    await eventually(async () => stream.destroyed, 'the stream ends on abort');
  });

  it('cuts a list that drips one byte a second at DOCKER_LIST_TIMEOUT, leaves nothing streaming, and the next list works', async () => {
    sim.add({ name: 'web', labels: { 'tinyforge.managed': 'true' } });
    sim.dripList({ bytesPerTick: 1, tickMs: 1000 });
    const c = client({ listTimeoutMs: 1500 });
    const r = await settle(c.listManaged());
    expect(r.error, 'the list failed').to.be.instanceOf(DockerTimeoutError);
    expect((r.error as Error).message).to.equal('container list did not complete within 1500ms (DOCKER_LIST_TIMEOUT); cut');
    expect(r.ms).to.be.within(1400, 3000);
    await eventually(async () => sim.dripping.active === 0, 'both dripping answers cut by the client');
    sim.dripList(undefined);
    expect((await c.listManaged()).map((i) => i.name)).to.deep.equal(['web']);
  });

  it('close() aborts a dripping list and an inspect at once, and fails later calls', async () => {
    const web = sim.add({ name: 'web', labels: { 'tinyforge.managed': 'true' } });
    sim.dripList({ bytesPerTick: 1, tickMs: 1000 });
    const app = new AbortController();
    const c = client({ listTimeoutMs: 60_000, signal: app.signal });
    const list = settle(c.listManaged());
    await eventually(async () => sim.dripping.active === 2, 'both lists dripping');
    app.abort();
    const r = await list;
    expect(r.error).to.be.instanceOf(DockerAbortedError);
    expect(r.ms).to.be.lessThan(500);
    await eventually(async () => sim.dripping.active === 0, 'the dripping answers cut');
    sim.dripList(undefined);
    const later = await settle(c.inspect(web.id));
    expect(later.error).to.be.instanceOf(DockerAbortedError);
  });

  it('a caller signal aborts only its own call', async () => {
    sim.add({ name: 'web', labels: { 'tinyforge.managed': 'true' } });
    sim.dripList({ bytesPerTick: 1, tickMs: 1000 });
    const c = client();
    const mine = new AbortController();
    const list = settle(c.listManaged({ signal: mine.signal }));
    await eventually(async () => sim.dripping.active === 2, 'both lists dripping');
    mine.abort();
    expect((await list).error).to.be.instanceOf(DockerAbortedError);
    sim.dripList(undefined);
    expect((await c.listManaged()).length).to.equal(1);
    await c.ping();
  });
});

describe('DockerClient limits (real dockerd)', function () {
  this.timeout(120_000);
  let d: PrivateDockerd;
  const run = `lim${Date.now().toString(36)}`;

  before(async () => {
    d = await sharedDockerd();
  });
  after(async () => {
    const ids = (await d.docker(['ps', '-aq', '--filter', `label=limits.run=${run}`])).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await d.docker(['rm', '-f', ...ids], { allowFail: true });
  });

  it('lists, inspects and watches past a foreign container whose label is larger than the cap', async () => {
    const { counted, logged, opts } = recorder();
    const c = new DockerClient({ kind: 'unix', socketPath: d.socketPath }, { maxEntryBytes: 64 * 1024, ...opts });
    await c.ping();
    const abort = new AbortController();
    const stream = await c.openEvents(abort.signal);
    let text = '';
    stream.on('data', (b: Buffer) => (text += b.toString()));
    // 100 KB of label through the docker CLI's argument list; the cap is set below it.
    const managed = await d.runContainer({ name: `${run}-web`, labels: { 'limits.run': run, 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'w1' } });
    const foreign = await d.runContainer({ name: `${run}-other`, labels: { 'limits.run': run, 'com.docker.compose.project': 'someone-else', blob: 'b'.repeat(100_000) } });
    const items = await c.listManaged();
    expect(items.map((i) => i.id)).to.include(managed);
    expect(items.map((i) => i.id)).to.not.include(foreign);
    expect((await c.inspect(managed))?.labels['tinyforge.workload.id']).to.equal('w1');
    expect((await settle(c.inspect(foreign))).error).to.be.instanceOf(EntryTooLargeError);
    expect(await c.inspect('0000000000000000000000000000000000000000000000000000000000000000')).to.equal(undefined);
    await eventually(async () => text.split('\n').filter((l) => l === OVERSIZED_LINE_MARKER).length >= 2, 'the foreign container\'s create and start lines dropped', 10_000);
    expect(text).to.include(managed);
    expect(counted.filter((s) => s === 'list')).to.have.length(1);
    expect(counted.filter((s) => s === 'inspect')).to.have.length(1);
    expect(counted.filter((s) => s === 'event').length).to.be.at.least(2);
    expect(logged.map((l) => l.containerId)).to.deep.equal([foreign]);
    abort.abort();
  });
});
