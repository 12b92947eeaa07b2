/**
 * Conformance of the Docker Engine API simulator with a REAL Docker engine.
 *
 * Creates the same kinds of containers on a private dockerd (spec/support/dockerd.ts) and in the simulator, then
 * compares list entries, inspect documents and events: same keys, recursively, and same JSON types (null / string /
 * number / boolean / array / object), plus the values that do not depend on ids or timing. The comparison runs twice:
 *
 *  - against a simulator advertising the engine's own API version (exact: only the differences in SAME_VERSION_DIFFS)
 *  - against the simulator's default profile (API 1.47), where the differences between API versions are listed,
 *    each with its reason, in DEFAULT_PROFILE_DIFFS.
 *
 * The test engine runs with --bridge=none and `--network none` containers, so published ports cannot be created on
 * it: PUBLISHED_PORTS_FIXTURE holds what a real 20.10 daemon returned for a container on a user bridge network with
 * `-p 38080:80 -p 127.0.0.1:38081:81/udp --expose 90`, and the simulator must return exactly that.
 */
import { expect } from 'chai';
import Docker from 'dockerode';
import { DockerSimulator, type SimContainerInput } from '../support/docker-sim.js';
import { sharedDockerd, type PrivateDockerd } from '../support/dockerd.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface AllowedDiff {
  /** Path pattern: dot-separated, '*' = any one segment, '[]' = array element. */
  path: string;
  kind: 'missing in sim' | 'extra in sim' | 'type';
  reason: string;
}

/** Differences accepted when the simulator advertises the real engine's API version. */
const SAME_VERSION_DIFFS: AllowedDiff[] = [
  {
    path: 'GraphDriver.Data',
    kind: 'type',
    reason: 'the test engine may fall back to the vfs storage driver (Data: null); the simulator always shows overlay2',
  },
  {
    path: 'GraphDriver.Data.*',
    kind: 'missing in sim',
    reason: 'storage drivers other than overlay2 have other Data keys',
  },
];

/** Differences accepted between the default profile (API 1.47) and an older real engine (e.g. 20.10, API 1.41). */
const DEFAULT_PROFILE_DIFFS: AllowedDiff[] = [
  ...SAME_VERSION_DIFFS,
  { path: 'NetworkSettings.Networks.*.DNSNames', kind: 'extra in sim', reason: 'EndpointSettings.DNSNames exists from API 1.44 on' },
  { path: 'HostConfig.KernelMemory', kind: 'missing in sim', reason: 'omitted when unset from API 1.42 on' },
  { path: 'HostConfig.KernelMemoryTCP', kind: 'missing in sim', reason: 'omitted when unset from API 1.42 on' },
  { path: 'Actor.Attributes.execDuration', kind: 'extra in sim', reason: '`die` events carry execDuration from Docker 23 (API 1.42) on' },
];

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Recursive key/type comparison. Arrays: element shapes compared when both sides have elements. */
function shapeDiffs(real: Json, sim: Json, path = ''): { path: string; kind: AllowedDiff['kind']; detail: string }[] {
  const out: { path: string; kind: AllowedDiff['kind']; detail: string }[] = [];
  const tr = jsonType(real);
  const ts = jsonType(sim);
  if (tr !== ts) {
    out.push({ path, kind: 'type', detail: `real ${tr}, sim ${ts}` });
    return out;
  }
  if (tr === 'array') {
    if (real.length && sim.length) {
      for (let i = 0; i < Math.max(real.length, sim.length); i++) {
        out.push(...shapeDiffs(real[Math.min(i, real.length - 1)], sim[Math.min(i, sim.length - 1)], path + '[]'));
      }
    }
  } else if (tr === 'object') {
    for (const k of Object.keys(real)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in sim)) out.push({ path: p, kind: 'missing in sim', detail: `real has ${jsonType(real[k])}` });
      else out.push(...shapeDiffs(real[k], sim[k], p));
    }
    for (const k of Object.keys(sim)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in real)) out.push({ path: p, kind: 'extra in sim', detail: `sim has ${jsonType(sim[k])}` });
    }
  }
  // de-duplicate (array elements)
  const seen = new Set<string>();
  return out.filter((d) => {
    const key = `${d.path}|${d.kind}|${d.detail}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function matches(pattern: string, path: string): boolean {
  const a = pattern.split('.');
  const b = path.split('.');
  return a.length === b.length && a.every((seg, i) => seg === '*' || seg === b[i]);
}

function unexpectedDiffs(real: Json, sim: Json, allowed: AllowedDiff[]): string[] {
  return shapeDiffs(real, sim)
    .filter((d) => !allowed.some((a) => a.kind === d.kind && matches(a.path, d.path)))
    .map((d) => `${d.path}: ${d.kind} (${d.detail})`);
}

const PUBLISHED_PORTS_FIXTURE = {
  listPorts: [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 38080, Type: 'tcp' },
    { IP: '::', PrivatePort: 80, PublicPort: 38080, Type: 'tcp' },
    { IP: '127.0.0.1', PrivatePort: 81, PublicPort: 38081, Type: 'udp' },
    { PrivatePort: 90, Type: 'tcp' },
  ],
  networkSettingsPorts: {
    '80/tcp': [
      { HostIp: '0.0.0.0', HostPort: '38080' },
      { HostIp: '::', HostPort: '38080' },
    ],
    '81/udp': [{ HostIp: '127.0.0.1', HostPort: '38081' }],
    '90/tcp': null,
  },
  portBindings: { '80/tcp': [{ HostIp: '', HostPort: '38080' }], '81/udp': [{ HostIp: '127.0.0.1', HostPort: '38081' }] },
  exposedPorts: { '80/tcp': {}, '81/udp': {}, '90/tcp': {} },
};

interface Case {
  key: string;
  name: string;
  labels: Record<string, string>;
  cmd: string[];
  realOpts: Parameters<PrivateDockerd['runContainer']>[0];
  sim: SimContainerInput;
  status: RegExp;
  state: string;
}

describe('DockerSimulator conformance with a real Docker engine', function () {
  this.timeout(180_000);
  const token = `c${process.pid}${Date.now().toString(36)}`;
  const tag = { 'tinyforge.conformance': token };
  let d: PrivateDockerd;
  let real: Docker;
  let realApi: string;
  const realIds = new Map<string, string>();
  const realList = new Map<string, Json>();
  const realInspect = new Map<string, Json>();
  let realEvents: Json[] = [];

  const cases: Case[] = [
    {
      key: 'running',
      name: `conf-running-${token}`,
      labels: { ...tag, 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'w-conf', 'tinyforge.role': 'web' },
      cmd: ['sleep', '3600'],
      realOpts: {},
      sim: { state: 'running' },
      status: /^Up /,
      state: 'running',
    },
    {
      key: 'exited',
      name: `conf-exited-${token}`,
      labels: { ...tag, 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'w-conf' },
      cmd: ['sh', '-c', 'exit 3'],
      realOpts: { detach: false },
      sim: { state: 'exited', exitCode: 3 },
      status: /^Exited \(3\) /,
      state: 'exited',
    },
    {
      key: 'created',
      name: `conf-created-${token}`,
      labels: { ...tag, 'tinyforge.managed': 'true' },
      cmd: ['sleep', '1'],
      realOpts: { createOnly: true },
      sim: { state: 'created' },
      status: /^Created$/,
      state: 'created',
    },
    {
      key: 'nolabels',
      name: `conf-nolabels-${token}`,
      labels: {},
      cmd: ['sleep', '3600'],
      realOpts: {},
      sim: { state: 'running' },
      status: /^Up /,
      state: 'running',
    },
    {
      key: 'healthy',
      name: `conf-healthy-${token}`,
      labels: { ...tag, 'tinyforge.managed': 'true', 'tinyforge.role': 'db' },
      cmd: ['sleep', '3600'],
      realOpts: { extraArgs: ['--health-cmd', 'true', '--health-interval', '1s'] },
      sim: { state: 'running', health: 'healthy' },
      status: /^Up .* \(healthy\)$/,
      state: 'running',
    },
  ];

  before(async function () {
    d = await sharedDockerd();
    real = new Docker({ socketPath: d.socketPath });
    realApi = ((await real.version()) as Json).ApiVersion;
    const stream = (await real.getEvents({ filters: { type: ['container'], label: [`tinyforge.conformance=${token}`] } })) as NodeJS.ReadableStream;
    let buf = '';
    stream.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) realEvents.push(JSON.parse(line));
      }
    });
    stream.on('error', () => undefined);
    try {
      for (const c of cases) {
        const id = await d.runContainer({ ...c.realOpts, name: c.name, labels: c.labels, cmd: c.cmd });
        realIds.set(c.key, id);
      }
      // the healthcheck needs a moment to report healthy
      const healthyId = realIds.get('healthy')!;
      for (let i = 0; i < 150; i++) {
        const doc = (await real.getContainer(healthyId).inspect()) as Json;
        if (doc.State?.Health?.Status === 'healthy') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const c of cases) {
        const id = realIds.get(c.key)!;
        const list = await real.listContainers({ all: true, filters: { id: [id] } });
        expect(list, `real list entry for ${c.key}`).to.have.length(1);
        realList.set(c.key, list[0]);
        realInspect.set(c.key, await real.getContainer(id).inspect());
      }
      // let the last events arrive
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      (stream as unknown as { destroy(): void }).destroy();
    }
    realEvents = realEvents.filter((e) => [...realIds.values()].includes(e.id));
  });

  after(async () => {
    if (d && realIds.size) await d.docker(['rm', '-f', ...realIds.values()], { allowFail: true });
  });

  /** Builds the simulator twins of the real containers and collects the same data. */
  async function simTwins(apiVersion: string | undefined) {
    const sim = await DockerSimulator.start(apiVersion ? { apiVersion } : {});
    const docker = new Docker({ socketPath: sim.socketPath });
    const events: Json[] = [];
    const stream = (await docker.getEvents({ filters: { type: ['container'], label: [`tinyforge.conformance=${token}`] } })) as NodeJS.ReadableStream;
    let buf = '';
    stream.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) events.push(JSON.parse(line));
      }
    });
    stream.on('error', () => undefined);
    while (sim.openEventStreams() === 0) await new Promise((r) => setTimeout(r, 5));
    const list = new Map<string, Json>();
    const inspect = new Map<string, Json>();
    try {
      for (const c of cases) {
        const r = realInspect.get(c.key)!;
        const s = sim.add({
          ...c.sim,
          name: c.name,
          image: r.Config.Image,
          labels: c.labels,
          cmd: r.Config.Cmd,
          entrypoint: r.Config.Entrypoint,
          env: r.Config.Env,
          networkMode: r.HostConfig.NetworkMode,
          restartPolicy: r.HostConfig.RestartPolicy.Name,
        });
        list.set(c.key, (await docker.listContainers({ all: true, filters: { id: [s.id] } }))[0]);
        inspect.set(c.key, await docker.getContainer(s.id).inspect());
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      (stream as unknown as { destroy(): void }).destroy();
      await sim.stop();
    }
    return { list, inspect, events };
  }

  for (const profile of ['same', 'default'] as const) {
    describe(profile === 'same' ? "simulator at the engine's API version" : 'simulator default profile (API 1.47)', () => {
      let twins: Awaited<ReturnType<typeof simTwins>>;
      const allowed = profile === 'same' ? SAME_VERSION_DIFFS : DEFAULT_PROFILE_DIFFS;

      before(async () => {
        twins = await simTwins(profile === 'same' ? realApi : undefined);
      });

      for (const c of cases) {
        it(`list entry of a ${c.key} container has the same keys, types and stable values`, () => {
          const r = realList.get(c.key)!;
          const s = twins.list.get(c.key)!;
          expect(unexpectedDiffs(r, s, allowed)).to.deep.equal([]);
          expect(Object.keys(s), 'key order').to.deep.equal(Object.keys(r));
          for (const k of ['Names', 'Image', 'Command', 'Ports', 'Labels', 'State', 'HostConfig', 'Mounts']) expect(s[k], k).to.deep.equal(r[k]);
          expect(r.Status).to.match(c.status);
          expect(s.Status).to.match(c.status);
          expect(s.State).to.equal(c.state);
          expect(Object.keys(s.NetworkSettings.Networks)).to.deep.equal(Object.keys(r.NetworkSettings.Networks));
          const [rn, sn] = [Object.values(r.NetworkSettings.Networks)[0] as Json, Object.values(s.NetworkSettings.Networks)[0] as Json];
          for (const k of ['IPAddress', 'Gateway', 'MacAddress', 'IPPrefixLen', 'Aliases']) expect(sn[k], `Networks.*.${k}`).to.deep.equal(rn[k]);
          expect(sn.NetworkID === '', 'NetworkID empty iff never started').to.equal(rn.NetworkID === '');
          expect(sn.EndpointID === '', 'EndpointID empty iff not running').to.equal(rn.EndpointID === '');
        });

        it(`inspect document of a ${c.key} container has the same keys, types and stable values`, () => {
          const r = realInspect.get(c.key)!;
          const s = twins.inspect.get(c.key)!;
          expect(unexpectedDiffs(r, s, allowed)).to.deep.equal([]);
          expect(Object.keys(s), 'top-level key order').to.deep.equal(Object.keys(r));
          for (const k of ['Path', 'Args', 'Name', 'RestartCount', 'Driver', 'Platform', 'ExecIDs', 'Mounts']) expect(s[k], k).to.deep.equal(r[k]);
          for (const k of ['Status', 'Running', 'Paused', 'Restarting', 'OOMKilled', 'Dead', 'ExitCode', 'Error']) expect(s.State[k], `State.${k}`).to.deep.equal(r.State[k]);
          expect(s.State.Pid > 0).to.equal(r.State.Pid > 0);
          expect(s.State.StartedAt === '0001-01-01T00:00:00Z').to.equal(r.State.StartedAt === '0001-01-01T00:00:00Z');
          expect(s.State.FinishedAt === '0001-01-01T00:00:00Z').to.equal(r.State.FinishedAt === '0001-01-01T00:00:00Z');
          expect(s.State.Health?.Status).to.equal(r.State.Health?.Status);
          for (const k of ['Labels', 'Cmd', 'Image', 'Env', 'Entrypoint', 'ExposedPorts']) expect(s.Config[k], `Config.${k}`).to.deep.equal(r.Config[k]);
          expect(s.Config.Hostname).to.equal(s.Id.slice(0, 12));
          for (const k of ['NetworkMode', 'PortBindings', 'RestartPolicy']) expect(s.HostConfig[k], `HostConfig.${k}`).to.deep.equal(r.HostConfig[k]);
          expect(s.NetworkSettings.Ports).to.deep.equal(r.NetworkSettings.Ports);
          expect(s.Created).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
          expect(r.Created).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
          for (const k of ['ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath']) expect(s[k] === '', `${k} empty`).to.equal(r[k] === '');
        });
      }

      it('events: same actions for the same lifecycle, same keys and types', () => {
        const realRunning = realIds.get('running')!;
        const simByName = (name: string) => twins.events.filter((e) => e.Actor.Attributes.name === name);
        const realByName = (name: string) => realEvents.filter((e) => e.id === realIds.get(cases.find((c) => c.name === name)!.key));
        const running = cases.find((c) => c.key === 'running')!;
        expect(realByName(running.name).map((e) => e.Action)).to.deep.equal(['create', 'start']);
        expect(simByName(running.name).map((e) => e.Action)).to.deep.equal(['create', 'start']);
        expect(realEvents.some((e) => e.id === realRunning)).to.equal(true);
        const created = cases.find((c) => c.key === 'created')!;
        expect(simByName(created.name).map((e) => e.Action)).to.deep.equal(realByName(created.name).map((e) => e.Action));
        // the foreground `docker run` of the exited one also attaches; the simulator has no attach
        const exited = cases.find((c) => c.key === 'exited')!;
        expect(simByName(exited.name).map((e) => e.Action)).to.deep.equal(realByName(exited.name).map((e) => e.Action).filter((a) => a !== 'attach'));
        const healthy = cases.find((c) => c.key === 'healthy')!;
        const realHealthy = realByName(healthy.name).map((e) => e.Action).filter((a) => !a.startsWith('exec_'));
        expect(simByName(healthy.name).map((e) => e.Action)).to.deep.equal(realHealthy.slice(0, 3));
        expect(realHealthy.slice(0, 3)).to.deep.equal(['create', 'start', 'health_status: healthy']);

        let compared = 0;
        for (const s of twins.events) {
          const r = realEvents.find((e) => e.Action === s.Action && e.Actor.Attributes.name === s.Actor.Attributes.name);
          if (!r) continue;
          compared++;
          expect(unexpectedDiffs(r, s, allowed), `${s.Action} of ${s.Actor.Attributes.name}`).to.deep.equal([]);
          expect(Object.keys(s), 'key order').to.deep.equal(Object.keys(r));
          const simAttrs = { ...s.Actor.Attributes };
          if (!('execDuration' in r.Actor.Attributes)) delete simAttrs.execDuration; // see DEFAULT_PROFILE_DIFFS
          expect(simAttrs, 'attributes').to.deep.equal(r.Actor.Attributes);
          expect(Object.keys(s.Actor.Attributes), 'attribute order').to.deep.equal(Object.keys(s.Actor.Attributes).sort());
          expect([s.status, s.from, s.Type, s.scope]).to.deep.equal([r.status, r.from, r.Type, r.scope]);
          expect(String(s.timeNano)).to.match(/^\d{19}$/);
          expect(String(r.timeNano)).to.match(/^\d{19}$/);
        }
        expect(compared).to.be.at.least(8);
      });
    });
  }

  describe('lifecycle event sequences', () => {
    /** Collects events of one stream until `count` arrived or the timeout. */
    async function collect(docker: Docker, filters: Json, act: () => Promise<void>, count: number): Promise<Json[]> {
      const events: Json[] = [];
      const stream = (await docker.getEvents({ filters })) as NodeJS.ReadableStream;
      let buf = '';
      stream.on('data', (c: Buffer) => {
        buf += c.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) events.push(JSON.parse(line));
        }
      });
      stream.on('error', () => undefined);
      try {
        await new Promise((r) => setTimeout(r, 100));
        await act();
        const t0 = Date.now();
        while (events.length < count && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200)); // anything extra would show up as a mismatch
      } finally {
        (stream as unknown as { destroy(): void }).destroy();
      }
      return events;
    }

    it('pause, unpause, stop, start, restart, kill and rm emit the same actions and attribute keys', async () => {
      const name = `conf-life-${token}`;
      const labels = { ...tag, 'tinyforge.managed': 'true' };
      const id = await d.runContainer({ name, labels, cmd: ['sleep', '3600'] });
      realIds.set('life', id);
      const filters = { type: ['container'], container: [id] };
      const realEv = await collect(
        real,
        filters,
        async () => {
          for (const args of [['pause'], ['unpause'], ['stop', '-t', '5'], ['start'], ['restart', '-t', '5'], ['kill'], ['rm']]) await d.docker([...args, id]);
          realIds.delete('life');
        },
        // pause unpause | kill die stop | start | kill die stop start restart | kill die | destroy
        14,
      );
      const sim = await DockerSimulator.start({ apiVersion: realApi });
      try {
        const simDocker = new Docker({ socketPath: sim.socketPath });
        const c = sim.add({ name, labels, image: d.image, networkMode: 'none', env: null, cmd: ['sleep', '3600'] });
        const simEv = await collect(
          simDocker,
          { type: ['container'], container: [c.id] },
          async () => {
            sim.setState(c.id, 'paused');
            sim.setState(c.id, 'running');
            sim.setState(c.id, 'exited', { via: 'stop', exitCode: 143 });
            sim.setState(c.id, 'running');
            sim.restart(c.id, { exitCode: 143 });
            sim.setState(c.id, 'exited', { via: 'kill' });
            sim.remove(c.id);
          },
          14,
        );
        const summary = (evs: Json[]) =>
          evs.map((e) => `${e.Action}(${Object.keys(e.Actor.Attributes).filter((k) => !(k in labels) && k !== 'image' && k !== 'name' && k !== 'execDuration').join(',')})`);
        expect(summary(simEv)).to.deep.equal(summary(realEv));
        expect(realEv.filter((e) => e.Action === 'die').map((e) => e.Actor.Attributes.exitCode)).to.deep.equal(
          simEv.filter((e) => e.Action === 'die').map((e) => e.Actor.Attributes.exitCode),
        );
      } finally {
        await sim.stop();
      }
    });
  });

  it('the simulator reproduces the published-ports shapes recorded from a real 20.10 daemon', async () => {
    const sim = await DockerSimulator.start({ apiVersion: '1.41' });
    try {
      const docker = new Docker({ socketPath: sim.socketPath });
      const s = sim.add({
        name: 'ports',
        networkMode: 'tfsimnet',
        ports: [
          { privatePort: 80, publicPort: 38080, type: 'tcp' },
          { privatePort: 81, publicPort: 38081, type: 'udp', ip: '127.0.0.1' },
          { privatePort: 90, type: 'tcp' },
        ],
      });
      const entry = (await docker.listContainers())[0] as Json;
      const key = (p: Json) => `${p.PrivatePort}/${p.Type}/${p.IP ?? ''}`;
      expect([...entry.Ports].sort((a: Json, b: Json) => key(a).localeCompare(key(b)))).to.deep.equal(
        [...PUBLISHED_PORTS_FIXTURE.listPorts].sort((a: Json, b: Json) => key(a).localeCompare(key(b))),
      );
      const doc = (await docker.getContainer(s.id).inspect()) as Json;
      expect(doc.NetworkSettings.Ports).to.deep.equal(PUBLISHED_PORTS_FIXTURE.networkSettingsPorts);
      expect(doc.HostConfig.PortBindings).to.deep.equal(PUBLISHED_PORTS_FIXTURE.portBindings);
      expect(doc.Config.ExposedPorts).to.deep.equal(PUBLISHED_PORTS_FIXTURE.exposedPorts);
      // on a user network the 20.10 daemon adds the short id to the inspect Aliases, not to the list entry's
      expect(doc.NetworkSettings.Networks.tfsimnet.Aliases).to.deep.equal([s.id.slice(0, 12)]);
      expect(entry.NetworkSettings.Networks.tfsimnet.Aliases).to.equal(null);
      sim.setState(s.id, 'exited');
      expect(((await docker.listContainers({ all: true }))[0] as Json).Ports).to.deep.equal([]);
      expect(((await docker.getContainer(s.id).inspect()) as Json).NetworkSettings.Ports).to.deep.equal({});
    } finally {
      await sim.stop();
    }
  });

  it('the shape comparison itself detects differences', () => {
    expect(unexpectedDiffs({ a: 1, b: { c: 'x' }, d: [1] }, { a: '1', b: {}, d: ['x'], e: null }, [])).to.deep.equal([
      'a: type (real number, sim string)',
      'b.c: missing in sim (real has string)',
      'd[]: type (real number, sim string)',
      'e: extra in sim (sim has null)',
    ]);
    expect(unexpectedDiffs({ x: { y: 1 } }, { x: {} }, [{ path: 'x.*', kind: 'missing in sim', reason: 'test' }])).to.deep.equal([]);
  });
});
