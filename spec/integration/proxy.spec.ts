import { expect } from 'chai';
import * as http from 'node:http';
import { eventually, startTestApp, type TestApp } from '../support/app.js';
import { sharedDockerd, type PrivateDockerd } from '../support/dockerd.js';
import { sharedMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { runCli, startService, type ServiceProcess } from '../support/service-process.js';
import { allowedRoute, startSocketProxy, type SocketProxy } from '../support/socket-proxy.js';
import { dbNameOf, readRows } from '../support/truth.js';

// Host `local` keeps the original row IDs asserted below.
const HOST = 'local';
const LABELS = (wid: string, role: string) => ({ 'tinyforge.managed': 'true', 'tinyforge.workload.id': wid, 'tinyforge.role': role });

function rawRequest(port: number, method: string, target: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers: opts.headers, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * Least privilege towards Docker: the service works through a read-only socket proxy (written
 * for the test, spec/support/socket-proxy.ts) that lets through only GET on ping, version,
 * container list and inspect, and events, and records anything else. Every scenario here ends
 * with "the proxy refused nothing".
 */
describe('through a read-only Docker socket proxy', function () {
  this.timeout(180_000);
  let docker: PrivateDockerd;
  let maria: MariaDbServer;
  let proxy: SocketProxy;

  before(async () => {
    [docker, maria] = await Promise.all([sharedDockerd(), sharedMariaDb()]);
    await docker.removeAllContainers();
    proxy = await startSocketProxy(docker.socketPath);
  });
  after(async () => {
    await proxy?.stop();
    await docker?.removeAllContainers();
  });

  it('the proxy itself: lets through only the read endpoints (streaming /events), refuses and records everything else', async () => {
    const id = await docker.runContainer({ labels: { probe: 'x' } });
    try {
      const ok: Array<[string, string]> = [
        ['GET', '/_ping'],
        ['HEAD', '/_ping'],
        ['GET', '/version'],
        ['GET', '/v1.41/version'],
        ['GET', '/containers/json?all=1'],
        ['GET', `/v1.41/containers/${id}/json`],
        ['GET', `/containers/${id.slice(0, 12)}/json`],
        ['GET', `/events?since=1&until=${Math.floor(Date.now() / 1000)}`],
      ];
      for (const [m, p] of ok) {
        const r = await rawRequest(proxy.port, m, p);
        expect(r.status, `${m} ${p}: ${r.body.slice(0, 200)}`).to.equal(200);
      }
      const inspect = JSON.parse((await rawRequest(proxy.port, 'GET', `/containers/${id}/json`)).body) as { Id: string };
      expect(inspect.Id).to.equal(id);
      const refused: Array<[string, string, Record<string, string>?, string?]> = [
        ['POST', '/containers/create'],
        ['POST', '/v1.41/containers/create?name=evil'],
        ['POST', `/containers/${id}/stop`],
        ['POST', `/containers/${id}/kill`],
        ['DELETE', `/containers/${id}?force=1`],
        ['POST', `/containers/${id}/exec`],
        ['GET', `/containers/${id}/logs?stdout=1`],
        ['GET', `/containers/${id}/archive?path=/etc`],
        ['GET', `/containers/${id}/export`],
        ['GET', '/info'],
        ['GET', '/images/json'],
        ['GET', '/secrets'],
        ['POST', '/build'],
        ['HEAD', '/version'],
        ['PUT', `/containers/${id}/archive?path=/tmp`],
        ['GET', '/containers/../images/json'],
        ['GET', '/containers/%2e%2e/images/json'],
        ['GET', '/containers/x%2Fy/json'],
        ['GET', '//containers/json'],
        ['GET', `/containers/${id}/json`, { 'Content-Type': 'application/json', 'Content-Length': '7' }, '{"x":1}'],
        ['GET', `/containers/${id}/json`, { 'Transfer-Encoding': 'chunked' }, '{"x":1}'],
        ['GET', '/events', { Connection: 'Upgrade', Upgrade: 'tcp' }],
        ['GET', '/v1.41/containers/json/../../images/json'],
      ];
      for (const [m, p, headers, body] of refused) {
        const r = await rawRequest(proxy.port, m, p, { headers, body });
        expect(r.status, `${m} ${p} must be refused`).to.equal(403);
      }
      expect(proxy.forbidden.map((c) => `${c.method} ${c.url}`)).to.have.length(refused.length);
      expect(() => proxy.assertNoForbiddenCalls()).to.throw(/refuses/);
      // The container is still running: nothing refused reached the engine.
      expect((await docker.docker(['inspect', '-f', '{{.State.Status}}', id])).stdout.trim()).to.equal('running');
      expect(allowedRoute('GET', '/v1.47/containers/json')).to.equal('/containers/json');
      expect(allowedRoute('POST', '/v1.47/containers/json')).to.equal(undefined);
    } finally {
      proxy.reset();
      await docker.docker(['rm', '-f', id]);
    }
  });

  describe('the core scenarios with DOCKER_HOST=tcp://<proxy> (in-process service, RECONCILE_INTERVAL=5m)', () => {
    let t: TestApp;
    let db: string;
    const stateOf = async (containerId: string) => (await readRows(maria, db)).find((r) => r.container_id === containerId)?.state;
    const within2s = (fn: () => Promise<boolean>, what: string) => eventually(async () => (await fn()) || undefined, what, 2000, 10);

    before(async () => {
      proxy.reset();
      const url = await maria.createDatabase('proxy');
      db = dbNameOf(url);
      t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: proxy.dockerHost, HOST_NAME: HOST, WORKERS: '4' });
      await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ('wl-px','project','p-px','px'),('wl-site','site','site-1','s'),('wl-stack','stack','st-1','k')`);
      await maria.query(`INSERT INTO \`${db}\`.stacks (id, name, compose_project_name) VALUES ('st-1','k','tinyforge-px')`);
      await eventually(async () => t.passes.some((p) => p.ok), 'the first pass through the proxy', 20_000);
      await eventually(async () => proxy.openStreams() > 0 || undefined, 'the event stream through the proxy', 10_000);
    });
    after(async () => {
      await t?.stop();
      proxy.assertNoForbiddenCalls();
    });

    it('a full pass through the proxy writes every dispatch kind and state, and marks a removed container missing', async () => {
      const proj = await docker.runContainer({ labels: LABELS('wl-px', 'blue') });
      const created = await docker.runContainer({ labels: { 'tinyforge.managed': 'true', 'tinyforge.static-site': 'site-1' }, createOnly: true });
      const oneShot = await docker.runContainer({ labels: LABELS('wl-px', 'once'), cmd: ['true'], detach: false });
      const victim = await docker.runContainer({ labels: LABELS('wl-px', 'victim') });
      const stranger = await docker.runContainer({ labels: { app: 'other' } });
      const r1 = await t.app.runPassNow();
      expect(r1).to.include({ ok: true });
      const rows = await readRows(maria, db);
      const by = new Map(rows.map((r) => [r.id, r]));
      expect(by.get('wl-px:blue')).to.include({ container_id: proj, state: 'running' });
      expect(by.get('wl-site:site')).to.include({ container_id: created, state: 'created', workload_kind: 'site' });
      expect(by.get('wl-px:once')).to.include({ container_id: oneShot, state: 'stopped' });
      expect(rows.map((r) => r.container_id)).not.to.include(stranger);
      await docker.docker(['rm', '-f', victim]);
      expect(await t.app.runPassNow()).to.include({ ok: true });
      expect(await stateOf(victim)).to.equal('missing');
      const ready = await fetch(`${t.baseUrl}/readyz`);
      expect(ready.status, 'readiness pings Docker through the proxy').to.equal(200);
      proxy.assertNoForbiddenCalls();
    });

    it('docker run, stop, start, pause, unpause and rm -f each reach the row within 2 s through the proxied event stream', async () => {
      const passes = t.passes.length;
      const id = await docker.runContainer({ labels: LABELS('wl-px', 'ev') });
      await within2s(async () => (await stateOf(id)) === 'running', 'run -> running');
      await docker.docker(['stop', '-t', '0', id]);
      await within2s(async () => (await stateOf(id)) === 'stopped', 'stop -> stopped');
      await docker.docker(['start', id]);
      await within2s(async () => (await stateOf(id)) === 'running', 'start -> running');
      await docker.docker(['pause', id]);
      await within2s(async () => (await stateOf(id)) === 'paused', 'pause -> paused');
      await docker.docker(['unpause', id]);
      await within2s(async () => (await stateOf(id)) === 'running', 'unpause -> running');
      await docker.docker(['rm', '-f', id]);
      await within2s(async () => (await stateOf(id)) === 'missing', 'rm -f -> missing');
      expect(t.passes.length, 'events, not resync passes, explain these').to.equal(passes);
      proxy.assertNoForbiddenCalls();
    });

    it('compose up --scale reaches one row per replica through the proxy', async () => {
      const yaml = 'version: "2.4"\nservices:\n  web:\n    image: tinyforge-busybox:latest\n    command: ["sleep", "3600"]\n    network_mode: none\n    stop_grace_period: 1s\n';
      await docker.compose('tinyforge-px', yaml, ['up', '-d', '--scale', 'web=3']);
      await eventually(async () => {
        const ids = (await readRows(maria, db)).filter((r) => r.workload_id === 'wl-stack' && r.state === 'running').map((r) => r.id).sort();
        return ids.join(',') === 'wl-stack:web,wl-stack:web:2,wl-stack:web:3' || undefined;
      }, 'three replica rows', 5000);
      await docker.compose('tinyforge-px', yaml, ['down', '-t', '1']);
      await eventually(async () => (await readRows(maria, db)).filter((r) => r.workload_id === 'wl-stack').every((r) => r.state === 'missing') || undefined, 'replicas missing after down', 5000);
    });

    it('the proxy drops every connection (a restart): the service reopens the event stream through it and changes reach the rows again', async () => {
      const eventsBefore = proxy.counts.get('GET /events') ?? 0;
      proxy.cutConnections();
      await eventually(async () => (proxy.counts.get('GET /events') ?? 0) > eventsBefore || undefined, 'the event stream reopened', 10_000);
      const id = await docker.runContainer({ labels: LABELS('wl-px', 'after-cut') });
      await eventually(async () => (await stateOf(id)) === 'running' || undefined, 'a change after the cut', 5000);
      await docker.docker(['rm', '-f', id]);
      await eventually(async () => (await stateOf(id)) === 'missing' || undefined, 'rm after the cut', 5000);
    });

    it('used only the allowed endpoints, each of them, and nothing else', () => {
      proxy.assertNoForbiddenCalls();
      const routes = [...proxy.counts.keys()].sort();
      for (const r of ['GET /containers/json', 'GET /containers/{id}/json', 'GET /events', 'GET /_ping']) expect(routes, `${r} was used`).to.include(r);
      for (const r of routes) expect(['GET /_ping', 'HEAD /_ping', 'GET /version', 'GET /containers/json', 'GET /containers/{id}/json', 'GET /events']).to.include(r);
      console.log(`      [proxy] calls by route: ${JSON.stringify(Object.fromEntries(proxy.counts))}`);
    });
  });

  it('the real CLI process through the proxy: becomes ready, follows a container, exits 0 on SIGTERM, and never asks for more', async () => {
    proxy.reset();
    const url = await maria.createDatabase('proxy_cli');
    const db = dbNameOf(url);
    const env = { DATABASE_URL: url, DOCKER_HOST: proxy.dockerHost, HOST_NAME: 'px-cli', RECONCILE_INTERVAL: '5m' };
    expect((await runCli(['migrate'], env)).code).to.equal(0);
    await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ('wl-pc','project','p-pc','pc')`);
    let svc: ServiceProcess | undefined;
    try {
      svc = await startService(env, { name: 'proxy-cli' });
      await svc.waitReady(20_000);
      const id = await docker.runContainer({ labels: LABELS('wl-pc', 'cli') });
      await eventually(async () => (await readRows(maria, db)).find((r) => r.container_id === id)?.state === 'running', 'row through the proxy', 5000);
      await docker.docker(['stop', '-t', '0', id]);
      await eventually(async () => (await readRows(maria, db)).find((r) => r.container_id === id)?.state === 'stopped', 'stop through the proxy', 5000);
      svc.kill('SIGTERM');
      expect(await svc.waitExit(15_000)).to.deep.equal({ code: 0, signal: null });
      proxy.assertNoForbiddenCalls();
      expect(proxy.counts.get('GET /events') ?? 0).to.be.greaterThan(0);
    } finally {
      await svc?.dispose();
    }
  });
});
