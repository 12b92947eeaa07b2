/**
 * The real docker-proxy (src/proxy/, `tinyforge-reconciler docker-proxy`) in front of a real
 * private dockerd: the docker CLI and the service work through it for what they need (ping,
 * version, list, inspect, events), and everything else, from `docker run` to path tricks and
 * hijacks, is refused with 403 while the engine does nothing (no container created, none
 * stopped or removed, no exec run).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { DockerProxy } from '../../src/proxy/docker-proxy.js';
import { eventually, startTestApp, type TestApp } from '../support/app.js';
import { sharedDockerd, type PrivateDockerd } from '../support/dockerd.js';
import { sharedMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { SYSTEM_PATH, runCommand } from '../support/proc.js';
import { startService, type ServiceProcess } from '../support/service-process.js';
import { dbNameOf, readRows } from '../support/truth.js';

const LABELS = (wid: string, role: string) => ({ 'tinyforge.managed': 'true', 'tinyforge.workload.id': wid, 'tinyforge.role': role });

function request(socketPath: string, method: string, target: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: target, headers: opts.headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

function raw(socketPath: string, data: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath, () => s.write(data));
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, 3_000);
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe('docker-proxy in front of a real dockerd', function () {
  this.timeout(180_000);
  let docker: PrivateDockerd;
  let dir: string;
  let sock: string;
  let proxy: DockerProxy;
  /** docker CLI through the proxy. */
  const viaProxy = (args: string[]) =>
    runCommand('docker', args, {
      env: { PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}`, HOME: dir, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'cli') },
      allowFail: true,
      timeoutMs: 30_000,
    });
  const allNames = async () => (await docker.docker(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).sort();

  before(async () => {
    docker = await sharedDockerd();
    await docker.removeAllContainers();
    dir = mkdtempSync('/tmp/tfpx-');
    sock = join(dir, 'docker.sock');
    proxy = new DockerProxy({ listen: { kind: 'unix', path: sock }, upstream: { kind: 'unix', path: docker.socketPath }, log: silentLogger() });
    await proxy.start();
  });
  after(async () => {
    await proxy?.stop();
    await docker?.removeAllContainers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the docker CLI reads through it: version, ps, inspect, events', async () => {
    const id = await docker.runContainer({ name: 'px-read', labels: { probe: 'x' } });
    const version = await viaProxy(['version', '--format', '{{.Server.Version}}']);
    expect(version.code, version.stderr).to.equal(0);
    expect(version.stdout.trim()).to.match(/^\d+\.\d+/);
    const ps = await viaProxy(['ps', '-a', '--no-trunc', '--format', '{{.ID}}']);
    expect(ps.stdout.split('\n')).to.include(id);
    const inspect = await viaProxy(['inspect', '-f', '{{.State.Status}} {{.Config.Labels.probe}}', 'px-read']);
    expect(inspect.stdout.trim()).to.equal('running x');
    const since = Math.floor(Date.now() / 1000) - 60;
    // --until is in whole seconds: one second ahead, so the start of the current second is in (the CLI waits for it).
    const events = await viaProxy(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${id}`, '--format', '{{.Action}}']);
    expect(events.code, events.stderr).to.equal(0);
    expect(events.stdout.split('\n')).to.include.members(['create', 'start']);
    const stats = proxy.stats();
    expect(stats.refused, 'the CLI asked for nothing more').to.deep.include({ path: 0, method: 0 });
    expect(stats.allowed['/events']).to.be.greaterThan(0);
  });

  it('the docker CLI cannot write through it: run, create, exec, logs, export, cp, stop, kill, rm all fail and the engine does nothing', async () => {
    const id = await docker.runContainer({ name: 'px-victim' });
    const before = await allNames();
    const refusedTotal = () => Object.values(proxy.stats().refused).reduce((a, b) => a + b, 0);
    const refusedBefore = refusedTotal();
    const attempts: string[][] = [
      ['run', '-d', '--name', 'px-evil', '--network', 'none', docker.image, 'sleep', '60'],
      ['create', '--name', 'px-evil2', '--network', 'none', docker.image],
      ['exec', id, 'touch', '/tmp/pwned'],
      ['logs', id],
      ['export', id],
      ['cp', `${id}:/etc/passwd`, join(dir, 'passwd')],
      ['stop', '-t', '0', id],
      ['kill', id],
      ['pause', id],
      ['rm', '-f', id],
      ['top', id],
      ['diff', id],
      ['stats', '--no-stream', id],
      ['rename', id, 'px-renamed'],
      ['image', 'ls'],
      ['info'],
    ];
    for (const args of attempts) {
      const r = await viaProxy(args);
      expect(r.code, `docker ${args.join(' ')} must fail through the proxy`).to.not.equal(0);
      // The proxy answers 403 and closes the connection: a CLI still sending a request body may
      // see the close before the answer (the refusal count below proves the proxy refused it).
      expect(r.stdout + r.stderr, `docker ${args.join(' ')}`).to.match(/not allowed|403|forbidden|error during connect|connection reset|broken pipe|EOF/i);
    }
    expect(await allNames(), 'no container created, renamed or removed').to.deep.equal(before);
    expect((await docker.docker(['inspect', '-f', '{{.State.Status}}', id])).stdout.trim(), 'still running').to.equal('running');
    const pwned = await docker.docker(['exec', id, 'test', '-e', '/tmp/pwned'], { allowFail: true });
    expect(pwned.code, 'the exec never ran').to.not.equal(0);
    expect(existsSync(join(dir, 'passwd')), 'nothing copied out').to.equal(false);
    expect(refusedTotal()).to.be.at.least(refusedBefore + attempts.length);
  });

  it('raw API calls: create, exec, logs, export, archive, attach, DELETE and path tricks get 403 JSON; the engine did not act', async () => {
    const id = await docker.runContainer({ name: 'px-raw' });
    const before = await allNames();
    const createBody = JSON.stringify({ Image: docker.image, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none', Privileged: true, Binds: ['/:/host'] } });
    const json = { 'Content-Type': 'application/json' };
    const refused: Array<[string, string, { headers?: Record<string, string>; body?: string }?]> = [
      ['POST', '/containers/create?name=px-evil', { headers: json, body: createBody }],
      ['POST', '/v1.41/containers/create?name=px-evil', { headers: json, body: createBody }],
      ['POST', `/containers/${id}/exec`, { headers: json, body: JSON.stringify({ Cmd: ['touch', '/tmp/pwned'] }) }],
      ['GET', `/containers/${id}/logs?stdout=1&stderr=1`],
      ['GET', `/containers/${id}/export`],
      ['GET', `/containers/${id}/archive?path=/etc/passwd`],
      ['HEAD', `/containers/${id}/archive?path=/etc/passwd`],
      ['PUT', `/containers/${id}/archive?path=/tmp`, { body: 'x' }],
      ['POST', `/containers/${id}/attach?stream=1&stdout=1`, { headers: { Connection: 'Upgrade', Upgrade: 'tcp' } }],
      ['GET', `/containers/${id}/attach/ws?stream=1`, { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } }],
      ['GET', `/containers/${id}/stats?stream=0`],
      ['GET', `/containers/${id}/top`],
      ['GET', `/containers/${id}/changes`],
      ['POST', `/containers/${id}/stop?t=0`],
      ['POST', `/containers/${id}/kill`],
      ['DELETE', `/containers/${id}?force=1`],
      ['DELETE', `/v1.41/containers/${id}?force=1`],
      ['GET', '/containers/json/../create'],
      ['GET', `/containers/${id}/json/../logs?stdout=1`],
      ['GET', `/containers/${id}/%2e%2e/logs?stdout=1`],
      ['GET', `/containers/${id}%2Flogs%3Fstdout=1/json`],
      ['GET', '//containers/json'],
      ['GET', `/containers/${id}//logs`],
      ['GET', `/containers/json?${'x'.repeat(5000)}`],
      ['GET', `/containers/${id}/json`, { headers: json, body: '{"x":1}' }],
      ['GET', '/events', { headers: { Connection: 'Upgrade', Upgrade: 'tcp' } }],
      ['GET', '/info'],
      ['GET', '/images/json'],
    ];
    for (const [method, target, opts] of refused) {
      const r = await request(sock, method, target, opts);
      expect(r.status, `${method} ${target.slice(0, 80)}`).to.equal(403);
      if (method !== 'HEAD') expect(JSON.parse(r.body), `${method} ${target.slice(0, 80)}`).to.have.property('message').that.matches(/^docker-proxy: /);
    }
    // Framing tricks below the allow-list: smuggling a create behind an allowed GET.
    const smuggled = `POST /containers/create?name=px-smuggled HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${createBody.length}\r\n\r\n${createBody}`;
    for (const data of [
      `GET /_ping HTTP/1.1\r\nHost: d\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      `GET /_ping HTTP/1.1\r\nHost: d\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      `GET /info HTTP/1.1\r\nHost: d\r\n\r\n${smuggled}`,
    ]) {
      expect(await raw(sock, data)).to.match(/^HTTP\/1\.1 403 /);
    }
    expect(await allNames(), 'no container created or removed').to.deep.equal(before);
    expect((await docker.docker(['inspect', '-f', '{{.State.Status}}', id])).stdout.trim()).to.equal('running');
    expect((await docker.docker(['exec', id, 'test', '-e', '/tmp/pwned'], { allowFail: true })).code).to.not.equal(0);
    // The same calls straight to the engine do work: the test would notice a refusal that is not the proxy's.
    expect((await request(docker.socketPath, 'GET', `/containers/${id}/logs?stdout=1`)).status).to.equal(200);
  });

  describe('the service through the proxy (CLI `docker-proxy` process, then the reconciler on its socket)', () => {
    let maria: MariaDbServer;
    let proc: ServiceProcess;
    let cliSock: string;
    let t: TestApp | undefined;

    before(async () => {
      maria = await sharedMariaDb();
      cliSock = join(dir, 'cli.sock');
      proc = await startService({}, { args: ['docker-proxy', '--listen', `unix://${cliSock}`, '--upstream', `unix://${docker.socketPath}`], name: 'docker-proxy', waitHttp: false });
      await eventually(async () => proc.stdout.includes('docker-proxy: listening') || undefined, 'the proxy listening', 10_000);
    });
    after(async () => {
      await t?.stop();
      await proc?.dispose();
    });

    it('listens with mode 0660 and refuses writes', async () => {
      expect(statSync(cliSock).mode & 0o777).to.equal(0o660);
      expect(statSync(cliSock).isSocket()).to.equal(true);
      expect((await request(cliSock, 'GET', '/_ping')).status).to.equal(200);
      const before = await allNames();
      expect((await request(cliSock, 'POST', '/containers/create?name=px-cli-evil', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Image: docker.image }) })).status).to.equal(403);
      expect(await allNames()).to.deep.equal(before);
      await eventually(async () => proc.stdout.includes('request refused') || undefined, 'the refusal logged', 5_000);
      const line = proc.stdout.split('\n').find((l) => l.includes('request refused'))!;
      expect(JSON.parse(line)).to.include({ level: 'warn', method: 'POST', target: '/containers/create?name=px-cli-evil', reason: 'body' });
    });

    it('the reconciler follows containers through it (DOCKER_HOST=unix://<proxy socket>) and asks for nothing it refuses', async () => {
      const url = await maria.createDatabase('dproxy');
      const db = dbNameOf(url);
      const refusedBefore = proc.stdout.split('\n').filter((l) => l.includes('request refused')).length;
      t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: `unix://${cliSock}`, HOST_NAME: 'local', WORKERS: '2' });
      await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ('wl-dp','project','p-dp','dp')`);
      const stateOf = async (cid: string) => (await readRows(maria, db)).find((r) => r.container_id === cid)?.state;
      const id = await docker.runContainer({ labels: LABELS('wl-dp', 'web') });
      await eventually(async () => (await stateOf(id)) === 'running' || undefined, 'row running through the proxy', 10_000);
      await docker.docker(['stop', '-t', '0', id]);
      await eventually(async () => (await stateOf(id)) === 'stopped' || undefined, 'stop seen through the proxied event stream', 5_000);
      await docker.docker(['rm', '-f', id]);
      await eventually(async () => (await stateOf(id)) === 'missing' || undefined, 'rm seen through the proxied event stream', 5_000);
      expect(await t.app.runPassNow()).to.include({ ok: true });
      expect((await fetch(`${t.baseUrl}/readyz`)).status, 'readiness pings Docker through the proxy').to.equal(200);
      const refusedAfter = proc.stdout.split('\n').filter((l) => l.includes('request refused')).length;
      expect(refusedAfter - refusedBefore, 'the service made no call the proxy refuses').to.equal(0);
      await t.stop();
      t = undefined;
    });

    it('SIGTERM closes it (exit 0) and removes the socket', async () => {
      proc.kill('SIGTERM');
      expect(await proc.waitExit(10_000)).to.deep.equal({ code: 0, signal: null });
      expect(existsSync(cliSock)).to.equal(false);
      expect(proc.stdout).to.match(/docker-proxy: stopped/);
    });
  });
});
