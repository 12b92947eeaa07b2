import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { Readable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import type { ContainerItem } from '../../src/domain/types.js';
import { DockerClient } from '../../src/docker/docker.client.js';
import { LineSplitter, isRelevantAction, parseEventLine, type ContainerEvent } from '../../src/docker/events.js';
import { eventually } from '../support/app.js';
import { sharedPodman, type PrivatePodman } from '../support/podman.js';

/** One Engine API call on a unix socket (the service's client is read-only; this creates). */
function engineApi(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { socketPath, path, method, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * The service's own Docker client (list, inspect, events) against a real Podman serving the
 * Docker-compatible API (`podman system service`, spec/support/podman.ts). Containers are made
 * with the podman CLI on the same store, as another program would.
 *
 * Podman 4.3.1 (Debian 12) differs from dockerd in ways the service sees; each is pinned here:
 * - images are named `localhost/NAME:TAG` in the list, in inspect's Config.Image and in events;
 * - the list keeps reporting the name a container was created from after that tag moved to
 *   another image (dockerd reports the image ID then);
 * - a removed container's event is `remove`, where dockerd says `destroy`.
 */
describe('DockerClient against real Podman (Docker-compatible API)', function () {
  this.timeout(120_000);
  this.slow(3_000);

  const sfx = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  const workload = `wl-podman-${sfx}`;
  let pod: PrivatePodman;
  let client: DockerClient;
  let imageRef: string;
  const created: string[] = [];

  const managed = (role: string): Record<string, string> => ({
    'tinyforge.managed': 'true',
    'tinyforge.workload.id': workload,
    'tinyforge.role': role,
  });
  const track = (id: string): string => {
    created.push(id);
    return id;
  };

  before(async function () {
    this.timeout(180_000);
    pod = await sharedPodman();
    imageRef = pod.imageRef;
    // Built the way the service builds it: DOCKER_HOST through loadConfig.
    const cfg = loadConfig({ DOCKER_HOST: pod.dockerHost });
    expect(cfg.docker).to.deep.equal({ kind: 'unix', socketPath: pod.socketPath });
    client = new DockerClient(cfg.docker, { timeoutMs: 10_000 });
  });

  after(async () => {
    if (pod && created.length) await pod.podman(['rm', '--force', '--ignore', '--time', '0', ...created], { allowFail: true });
  });

  it('answers ping and version as Podman', async () => {
    await client.ping();
    // The service never asks for the version; asked here to prove the socket is Podman's.
    const v = (await engineApi(pod.socketPath, 'GET', '/version')).body as { Version?: string; ApiVersion?: string };
    // `podman version 4.3.1` -> `4.3.1`; the Docker API level Podman 4 claims is 1.41
    expect(pod.version).to.match(/^podman version \d+\.\d+\.\d+/);
    expect(v.Version).to.equal(pod.version.replace(/^podman version /, ''));
    expect(v.ApiVersion).to.match(/^1\.(4[0-9]|3[0-9])$/);
  });

  describe('listManaged', () => {
    const ids: Record<string, string> = {};
    const names: Record<string, string> = {};

    before(async () => {
      for (const k of ['running', 'created', 'exited', 'unlabelled', 'unmanaged', 'compose', 'otherCompose']) names[k] = `tf-${k}-${sfx}`;
      const compose = (project: string): Record<string, string> => ({
        'com.docker.compose.project': project,
        'com.docker.compose.service': 'web',
        'com.docker.compose.container-number': '1',
      });
      const [running, createdOnly, exited, unlabelled, unmanaged, composeC, otherCompose] = await Promise.all([
        pod.run({ name: names.running, labels: { ...managed('web'), 'unrelated.label': 'dropped' } }),
        pod.create({ name: names.created, labels: managed('created') }),
        pod.run({ name: names.exited, labels: managed('exited') }),
        pod.create({ name: names.unlabelled }),
        pod.create({ name: names.unmanaged, labels: { ...managed('unmanaged'), 'tinyforge.managed': 'false' } }),
        pod.run({ name: names.compose, labels: compose(`tinyforge-pm${sfx}`) }),
        pod.create({ name: names.otherCompose, labels: compose(`other-pm${sfx}`) }),
      ]);
      Object.assign(ids, { running, created: createdOnly, exited, unlabelled, unmanaged, compose: composeC, otherCompose });
      Object.values(ids).forEach(track);
      await pod.stop(ids.exited!);
    });

    it('returns the managed containers with their labels, state and image as Podman reports them', async () => {
      const items = await client.listManaged();
      const byId = new Map(items.map((i) => [i.id, i]));
      expect(byId.get(ids.running!)).to.deep.equal({
        id: ids.running,
        name: names.running,
        // Podman names a local image localhost/NAME:TAG (dockerd: tinyforge-busybox:latest)
        image: 'localhost/tinyforge-busybox:latest',
        state: 'running',
        // only the labels dispatch reads are kept
        labels: managed('web'),
        ports: [],
      } satisfies ContainerItem);
      expect(byId.get(ids.created!)).to.include({ name: names.created, state: 'created', image: imageRef });
      expect(byId.get(ids.created!)!.labels).to.deep.equal(managed('created'));
      expect(byId.get(ids.exited!)).to.include({ name: names.exited, state: 'exited', image: imageRef });
      expect(byId.get(ids.compose!)).to.include({ name: names.compose, state: 'running', image: imageRef });
      expect(byId.get(ids.compose!)!.labels).to.deep.equal({
        'com.docker.compose.project': `tinyforge-pm${sfx}`,
        'com.docker.compose.service': 'web',
        'com.docker.compose.container-number': '1',
      });
    });

    it('leaves out containers that are not Tinyforge\'s, which Podman does have', async () => {
      const listed = new Set((await client.listManaged()).map((i) => i.id));
      const raw = await engineApi(pod.socketPath, 'GET', '/containers/json?all=1');
      const everything = new Set((raw.body as Array<{ Id: string }>).map((c) => c.Id));
      for (const k of ['unlabelled', 'unmanaged', 'otherCompose']) {
        expect(everything.has(ids[k]!), `${k} in Podman's unfiltered list`).to.equal(true);
        expect(listed.has(ids[k]!), `${k} listed`).to.equal(false);
      }
      // and each listed container is listed once (the managed and the compose list are merged)
      const all = await client.listManaged();
      expect(all.length).to.equal(new Set(all.map((i) => i.id)).size);
    });

    it('keeps the creation-time image name after the tag moved to another image (dockerd reports the image ID)', async () => {
      const tag = `localhost/tf-app-${sfx}:v1`;
      const first = await pod.importImage(tag, { labels: { build: `1-${sfx}` } });
      const id = track(await pod.run({ image: tag, labels: managed('retag') }));
      const second = await pod.importImage(tag, { labels: { build: `2-${sfx}` } }); // the tag moves
      expect(second).to.not.equal(first);
      expect(`sha256:${(await pod.inspect(id))!.Image}`, 'the container keeps the first image').to.equal(first);
      const listed = (await client.listManaged()).find((i) => i.id === id);
      expect(listed?.image).to.equal(tag);
      expect((await client.inspect(id))?.image).to.equal(tag);
    });
  });

  describe('inspect', () => {
    it('returns the item, and undefined once the container is removed', async () => {
      const name = `tf-inspect-${sfx}`;
      const id = track(await pod.run({ name, labels: managed('inspect') }));
      const item = await client.inspect(id);
      expect(item).to.deep.equal({ id, name, image: imageRef, state: 'running', labels: managed('inspect'), ports: [] } satisfies ContainerItem);
      // the list and inspect agree on every field
      expect((await client.listManaged()).find((i) => i.id === id)).to.deep.equal(item);
      await pod.stop(id);
      expect((await client.inspect(id))?.state).to.equal('exited');
      await pod.rm(id);
      expect(await pod.inspect(id), 'podman no longer knows it').to.equal(undefined);
      expect(await client.inspect(id)).to.equal(undefined);
      expect(await client.inspect(`${id.slice(0, 60)}0000`)).to.equal(undefined);
    });

    it('returns undefined for a container that is not Tinyforge\'s', async () => {
      const id = track(await pod.run({ labels: { 'some.other': 'x' } }));
      const raw = await engineApi(pod.socketPath, 'GET', `/containers/${id}/json`);
      expect(raw.status).to.equal(200);
      expect(raw.body.State.Status).to.equal('running');
      expect(await client.inspect(id)).to.equal(undefined);
    });
  });

  describe('openEvents', () => {
    let abort: AbortController | undefined;
    afterEach(() => abort?.abort());

    /** Collects parsed container events (and anything unusable) from a stream. */
    function collect(stream: Readable): { events: ContainerEvent[]; malformed: string[]; arrivals: Map<ContainerEvent, number> } {
      const out = { events: [] as ContainerEvent[], malformed: [] as string[], arrivals: new Map<ContainerEvent, number>() };
      const splitter = new LineSplitter();
      stream.on('data', (chunk: Buffer) => {
        const { lines, overflows } = splitter.push(chunk);
        for (let i = 0; i < overflows; i++) out.malformed.push('line too long');
        for (const line of lines) {
          const p = parseEventLine(line);
          if (p.kind === 'event') {
            out.events.push(p.event);
            out.arrivals.set(p.event, Date.now());
          } else if (p.kind === 'malformed') out.malformed.push(`${p.reason}: ${line}`);
        }
      });
      stream.on('error', () => undefined); // aborting the stream at the end errors it
      return out;
    }

    it('delivers create/start/die/remove with the labels in the attributes, and no history', async () => {
      // before the stream opens: must not be replayed (Podman replays only with `since`)
      const old = await pod.run({ labels: managed('history') });
      await pod.rm(old, { force: true });

      abort = new AbortController();
      const stream = await client.openEvents(abort.signal);
      const got = collect(stream);

      const name = `tf-events-${sfx}`;
      const id = track(await pod.run({ name, labels: managed('events') }));
      const of = (action: string) => got.events.find((e) => e.id === id && e.action === action);
      await eventually(async () => of('start'), 'start event');
      await pod.stop(id);
      const stopped = Date.now();
      const die = await eventually(async () => of('die'), 'die event');
      const dieLatency = got.arrivals.get(die)! - stopped;
      await pod.rm(id);
      const removed = Date.now();
      const removal = await eventually(async () => got.events.find((e) => e.id === id && (e.action === 'remove' || e.action === 'destroy')), 'removal event');
      const removalLatency = got.arrivals.get(removal)! - removed;

      const actions = got.events.filter((e) => e.id === id).map((e) => e.action);
      // Podman adds `init` (before start) and `cleanup` (after die), and `stop` only when the stop
      // timeout ran out; the rest comes in Docker's order
      expect(actions.filter((a) => ['create', 'start', 'die', 'remove', 'destroy'].includes(a))).to.deep.equal(['create', 'start', 'die', 'remove']);
      expect(removal.action, 'Podman 4.3.1 says remove where dockerd says destroy').to.equal('remove');
      for (const e of got.events.filter((ev) => ev.id === id)) {
        expect(e.attributes, e.action).to.include({ ...managed('events'), name, image: imageRef });
        expect(typeof e.timeNano, e.action).to.equal('bigint');
      }
      // Docker's `exitCode` (Podman also sends its own `containerExitCode`); tini passes SIGTERM's 143 on
      expect(die.attributes.exitCode).to.equal('143');
      expect(got.events.some((e) => e.id === old), 'no replay of events from before the stream opened').to.equal(false);
      expect(got.malformed).to.deep.equal([]);
      // file events backend: the service tails the log the CLI appends to
      expect(dieLatency, 'die event latency (ms)').to.be.below(5_000);
      expect(removalLatency, 'remove event latency (ms)').to.be.below(5_000);
    });

    it('reports a container killed outside podman stop (conmon\'s exit command)', async () => {
      abort = new AbortController();
      const got = collect(await client.openEvents(abort.signal));
      const id = track(await pod.run({ labels: managed('killed') }));
      await pod.kill(id);
      const die = await eventually(async () => got.events.find((e) => e.id === id && e.action === 'die'), 'die after kill');
      expect(die.attributes.exitCode).to.equal('137');
      expect(die.attributes['tinyforge.role']).to.equal('killed');
      // Podman reports `stopped` (not a Docker state) between the death and conmon's cleanup, then
      // `exited`; normalizeState (src/domain/dispatch.ts) maps both to the row state `stopped`
      const states = new Set<string>();
      await eventually(async () => {
        const st = (await client.inspect(id))?.state ?? 'gone';
        states.add(st);
        return st === 'exited';
      }, 'exited after cleanup');
      expect([...states].filter((st) => st !== 'stopped' && st !== 'exited')).to.deep.equal([]);
    });

    it('delivers the events of a container created through the Docker API (containers.conf supplies the ulimits)', async () => {
      abort = new AbortController();
      const got = collect(await client.openEvents(abort.signal));
      const created = await engineApi(pod.socketPath, 'POST', `/v1.41/containers/create?name=tf-api-${sfx}`, {
        Image: pod.image,
        Cmd: ['sleep', '3600'],
        Labels: managed('api'),
        HostConfig: { NetworkMode: 'none' },
      });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const id = track(created.body.Id as string);
      const started = await engineApi(pod.socketPath, 'POST', `/v1.41/containers/${id}/start`);
      expect(started.status, JSON.stringify(started.body)).to.equal(204);
      await eventually(async () => got.events.find((e) => e.id === id && e.action === 'start'), 'start of the API-created container');
      expect(await client.inspect(id)).to.deep.equal({ id, name: `tf-api-${sfx}`, image: imageRef, state: 'running', labels: managed('api'), ports: [] } satisfies ContainerItem);
    });

    // Podman's removal event is `remove` (dockerd's is `destroy`): both must reach the row at once.
    it('the service treats Podman\'s removal event as relevant', () => {
      expect(isRelevantAction('remove')).to.equal(true);
    });
  });
});
