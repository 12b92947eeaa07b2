/**
 * The docker-proxy server (src/proxy/docker-proxy.ts) in-process, in front of a scripted fake
 * engine on a unix socket in a temp dir: what reaches the engine, what the client gets, raw-socket
 * attacks the HTTP parser sees before the allow-list does, streaming with backpressure and
 * without timeouts, and the socket file's life. No external server; the real engine is in
 * spec/integration/docker-proxy.spec.ts.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { DockerProxy, parseProxyAddress, formatProxyAddress, type DockerProxyOptions } from '../../src/proxy/docker-proxy.js';
import { parseDockerProxyArgs } from '../../src/proxy/command.js';

interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A fake engine: answers /_ping, /containers/json, records every request with its body. */
async function fakeEngine(path: string, routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {}) {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() }));
    const route = routes[(req.url ?? '').split('?')[0]!];
    if (route) return route(req, res);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': '1.47' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ url: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    seen,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends raw bytes on a new connection and collects what comes back until close or `waitMs`. */
function raw(path: string, data: string | Buffer, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(path, () => s.write(data));
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, waitMs);
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function request(path: string, method: string, target: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: path, method, path: target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('docker-proxy server (fake engine)', function () {
  this.timeout(20_000);
  let dir: string;
  let engineSock: string;
  let proxySock: string;
  let engine: Awaited<ReturnType<typeof fakeEngine>>;
  let proxy: DockerProxy;

  async function startProxy(extra: Partial<DockerProxyOptions> = {}): Promise<DockerProxy> {
    const p = new DockerProxy({ listen: { kind: 'unix', path: proxySock }, upstream: { kind: 'unix', path: engineSock }, log: silentLogger(), ...extra });
    await p.start();
    return p;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tfpx-'));
    engineSock = join(dir, 'engine.sock');
    proxySock = join(dir, 'proxy.sock');
  });
  afterEach(async () => {
    await proxy?.stop();
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards allowed calls with only harmless headers; refuses the rest with 403 JSON before the engine sees them', async () => {
    engine = await fakeEngine(engineSock);
    proxy = await startProxy();
    const ok = await request(proxySock, 'GET', '/v1.47/containers/json?all=1', { Cookie: 'c=1', Authorization: 'Bearer x', 'X-Registry-Auth': 'secret', 'User-Agent': 'ua/1' });
    expect(ok.status).to.equal(200);
    expect(JSON.parse(ok.body)).to.deep.equal({ url: '/v1.47/containers/json?all=1' });
    expect(ok.headers['api-version'], 'engine headers come back').to.equal('1.47');
    expect(engine.seen).to.have.length(1);
    expect(engine.seen[0]!.headers).to.include({ host: 'docker', 'user-agent': 'ua/1' });
    for (const h of ['cookie', 'authorization', 'x-registry-auth']) expect(engine.seen[0]!.headers, h).to.not.have.property(h);

    const head = await request(proxySock, 'HEAD', '/_ping');
    expect(head.status).to.equal(200);
    for (const [m, t] of [
      ['POST', '/containers/create'],
      ['GET', '/containers/abc/logs?stdout=1'],
      ['GET', '/containers/json/../create'],
      ['DELETE', '/containers/abc'],
    ] as const) {
      const r = await request(proxySock, m, t);
      expect(r.status, `${m} ${t}`).to.equal(403);
      expect(r.headers['content-type']).to.equal('application/json');
      expect(r.headers.connection, 'a refusal closes the connection').to.equal('close');
      const body = JSON.parse(r.body) as { message: string };
      expect(Object.keys(body)).to.deep.equal(['message']);
      expect(body.message).to.match(/^docker-proxy: .* is not allowed/);
    }
    expect(engine.seen.map((s) => `${s.method} ${s.url}`)).to.deep.equal(['GET /v1.47/containers/json?all=1', 'HEAD /_ping']);
    const stats = proxy.stats();
    expect(stats.allowed).to.include({ '/containers/json': 1, '/_ping': 1 });
    expect(stats.refused).to.include({ path: 4, method: 0, body: 0 });
  });

  it('raw-socket attacks never reach the engine: CL+TE smuggling, bodies, hijack, CONNECT, absolute targets, oversized heads, pipelining after a refusal', async () => {
    engine = await fakeEngine(engineSock);
    proxy = await startProxy();
    const smuggled = 'POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}';
    const attacks: Array<[string, string]> = [
      ['CL+TE', `GET /_ping HTTP/1.1\r\nHost: d\r\nContent-Length: ${smuggled.length + 5}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`],
      ['TE only', `GET /_ping HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`],
      ['CL body', `GET /_ping HTTP/1.1\r\nHost: d\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`],
      ['duplicate CL', `GET /_ping HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`],
      ['hijack', `POST /containers/abc/attach?stream=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`],
      ['upgrade on an allowed path', `GET /events HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n${smuggled}`],
      ['CONNECT', `CONNECT docker:2375 HTTP/1.1\r\nHost: d\r\n\r\n${smuggled}`],
      ['absolute-form', `GET http://docker/containers/abc/logs HTTP/1.1\r\nHost: d\r\n\r\n`],
      ['oversized head', `GET /_ping HTTP/1.1\r\nHost: d\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`],
      ['absurd URL', `GET /containers/json?${'a'.repeat(100_000)} HTTP/1.1\r\nHost: d\r\n\r\n`],
      ['control character', `GET /containers/json\x00/../create HTTP/1.1\r\nHost: d\r\n\r\n`],
      ['pipelined after a refusal', `GET /info HTTP/1.1\r\nHost: d\r\n\r\nGET /_ping HTTP/1.1\r\nHost: d\r\n\r\n${smuggled}`],
      ['HTTP/0.9', 'GET /containers/abc/logs\r\n\r\n'],
    ];
    for (const [name, data] of attacks) {
      const out = await raw(proxySock, data);
      expect(out, name).to.match(/^HTTP\/1\.1 403 /);
      expect(out, `${name}: exactly one response, then the connection closes`).to.not.match(/HTTP\/1\.1 200/);
      expect(out.slice(out.indexOf('\r\n\r\n') + 4), name).to.match(/^\{"message":"docker-proxy: /);
      expect(engine.seen.map((s) => `${s.method} ${s.url}`), `${name}: the engine saw nothing`).to.deep.equal([]);
    }
    await wait(200);
    expect(engine.seen, 'nothing reached the engine later either').to.deep.equal([]);
  });

  it('a keep-alive connection serves several allowed calls in a row', async () => {
    engine = await fakeEngine(engineSock);
    proxy = await startProxy();
    const out = await raw(proxySock, 'GET /_ping HTTP/1.1\r\nHost: d\r\n\r\nGET /version HTTP/1.1\r\nHost: d\r\n\r\n', 800);
    expect(out.match(/HTTP\/1\.1 200 /g)).to.have.length(2);
    expect(engine.seen.map((s) => s.url)).to.deep.equal(['/_ping', '/version']);
  });

  it('streams /events as it comes, past the head timeout, and closes the engine call when the client goes away', async () => {
    let engineStreamClosed = false;
    engine = await fakeEngine(engineSock, {
      '/events': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        let n = 0;
        const timer = setInterval(() => res.write(`${JSON.stringify({ n: n++ })}\n`), 400);
        req.socket.on('close', () => {
          clearInterval(timer);
          engineStreamClosed = true;
        });
      },
    });
    proxy = await startProxy({ headersTimeoutMs: 200 });
    const received: Array<{ n: number; at: number }> = [];
    const t0 = Date.now();
    const req = http.request({ socketPath: proxySock, path: '/events', agent: false });
    const headersAt = await new Promise<number>((resolve) => {
      req.on('response', (res) => {
        resolve(Date.now() - t0);
        res.on('data', (c: Buffer) => {
          for (const line of c.toString().split('\n').filter(Boolean)) received.push({ n: (JSON.parse(line) as { n: number }).n, at: Date.now() - t0 });
        });
      });
      req.end();
    });
    expect(headersAt, 'headers before the first event').to.be.below(300);
    await wait(1_800);
    expect(received.map((r) => r.n)).to.deep.equal([0, 1, 2, 3]);
    // Each event arrives when the engine sends it (every 400 ms), not in a batch at the end.
    expect(received[3]!.at - received[0]!.at).to.be.above(900);
    expect(proxy.stats().openStreams).to.equal(1);
    req.destroy();
    await wait(300);
    expect(engineStreamClosed, 'the engine call closed with the client').to.equal(true);
    expect(proxy.stats().openStreams).to.equal(0);
  });

  it('cuts a client that sends its request head too slowly (slowloris)', async () => {
    engine = await fakeEngine(engineSock);
    proxy = await startProxy({ headersTimeoutMs: 200 });
    const s = net.connect(proxySock);
    let closed = false;
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => (closed = true));
    s.write('GET /_ping HTTP/1.1\r\n');
    for (let i = 0; i < 15 && !closed; i++) {
      await wait(100);
      if (!closed) s.write('X: y\r\n');
    }
    expect(closed, 'connection cut').to.equal(true);
    expect(engine.seen).to.deep.equal([]);
    s.destroy();
  });

  it('applies backpressure: a client that does not read holds the engine back instead of filling memory', async () => {
    const CAP = 128 * 1024 * 1024;
    let written = 0;
    engine = await fakeEngine(engineSock, {
      '/events': (_req, res) => {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = () => {
          while (written < CAP) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      },
    });
    proxy = await startProxy();
    const s = net.connect(proxySock, () => s.write('GET /events HTTP/1.1\r\nHost: d\r\n\r\n'));
    s.pause();
    await wait(1_000);
    const stalled = written;
    expect(stalled, `engine wrote ${stalled} bytes to a client that reads nothing`).to.be.below(16 * 1024 * 1024);
    // Reading again lets it go on.
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.resume();
    await wait(500);
    expect(written).to.be.above(stalled);
    expect(got).to.be.above(stalled / 2);
    s.destroy();
  });

  it('answers 502 JSON when the engine is down, and serves again once it is back', async () => {
    proxy = await startProxy();
    const down = await request(proxySock, 'GET', '/_ping');
    expect(down.status).to.equal(502);
    expect(JSON.parse(down.body).message).to.match(/did not answer/);
    expect(proxy.stats().upstreamErrors).to.equal(1);
    engine = await fakeEngine(engineSock);
    expect((await request(proxySock, 'GET', '/_ping')).status).to.equal(200);
  });

  it('the socket file: mode 0660 by default (or as asked), a stale socket is replaced, anything else is never removed, stop drops open streams', async () => {
    engine = await fakeEngine(engineSock, { '/events': (_req, res) => res.writeHead(200).flushHeaders() });
    proxy = await startProxy();
    expect(statSync(proxySock).mode & 0o777).to.equal(0o660);
    const streaming = new Promise<void>((resolve) => {
      const req = http.request({ socketPath: proxySock, path: '/events', agent: false }, (res) => {
        res.on('close', () => resolve());
        res.resume();
      });
      req.on('error', () => resolve());
      req.end();
    });
    await wait(100);
    const t0 = Date.now();
    await proxy.stop();
    await streaming;
    expect(Date.now() - t0, 'stop does not wait for the event stream').to.be.below(1_000);
    expect(existsSync(proxySock), 'the socket file is gone after stop').to.equal(false);

    // A stale socket from an earlier run: a process killed with SIGKILL leaves its socket file.
    spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(proxySock)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(proxySock).isSocket(), 'a stale socket file').to.equal(true);
    proxy = await startProxy({ socketMode: 0o600 });
    expect(statSync(proxySock).mode & 0o777).to.equal(0o600);
    expect((await request(proxySock, 'GET', '/_ping')).status).to.equal(200);
    await proxy.stop();

    writeFileSync(proxySock, 'not a socket');
    const p = new DockerProxy({ listen: { kind: 'unix', path: proxySock }, upstream: { kind: 'unix', path: engineSock }, log: silentLogger() });
    let error: unknown;
    await p.start().catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/exists and is not a socket/);
    expect(statSync(proxySock).isFile(), 'the file is left alone').to.equal(true);
  });
});

describe('docker-proxy command line', () => {
  it('parses unix and tcp addresses and refuses anything else', () => {
    expect(parseProxyAddress('--listen', 'unix:///run/tinyforge/docker.sock')).to.deep.equal({ kind: 'unix', path: '/run/tinyforge/docker.sock' });
    expect(parseProxyAddress('--listen', 'tcp://127.0.0.1:2375')).to.deep.equal({ kind: 'tcp', host: '127.0.0.1', port: 2375 });
    expect(parseProxyAddress('--listen', 'tcp://[::1]:2375')).to.deep.equal({ kind: 'tcp', host: '::1', port: 2375 });
    expect(formatProxyAddress({ kind: 'tcp', host: '::1', port: 2375 })).to.equal('tcp://[::1]:2375');
    for (const bad of ['unix://relative.sock', 'tcp://host', 'tcp://h:0', 'tcp://h:70000', 'http://h:1', '/var/run/docker.sock', `unix:///${'a'.repeat(120)}`]) {
      expect(parseProxyAddress('--upstream', bad), bad).to.be.a('string').and.match(/^--upstream: /);
    }
  });

  it('defaults to the chart layout and refuses a world-accessible socket, bad modes, levels and equal paths, all at once', () => {
    expect(parseDockerProxyArgs([])).to.deep.equal({
      listen: { kind: 'unix', path: '/run/tinyforge/docker.sock' },
      upstream: { kind: 'unix', path: '/var/run/docker.sock' },
      socketMode: 0o660,
      logLevel: 'info',
    });
    expect(parseDockerProxyArgs(['--socket-mode', '600', '--log-level', 'warn'])).to.include({ socketMode: 0o600, logLevel: 'warn' });
    const bad = parseDockerProxyArgs(['--socket-mode', '0666', '--log-level', 'loud', '--listen', 'unix:///a.sock', '--upstream', 'unix:///a.sock']);
    expect(bad).to.have.property('problems').with.length(3);
    const problems = (bad as { problems: string[] }).problems.join('\n');
    expect(problems).to.match(/--socket-mode: 0666 lets any user/).and.match(/--log-level/).and.match(/must differ/);
    expect(parseDockerProxyArgs(['--socket-mode', 'rw'])).to.have.property('problems');
    expect(parseDockerProxyArgs(['--bogus'])).to.have.property('problems');
    expect(parseDockerProxyArgs(['positional'])).to.have.property('problems');
  });
});
