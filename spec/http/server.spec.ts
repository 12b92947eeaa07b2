import { expect } from 'chai';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { checkReadiness } from '../../src/app/readiness.js';
import { HealthState, type Probe } from '../../src/health.js';
import { createApiRouter } from '../../src/http/api.js';
import { createHttpApp, HttpError, HttpServer, PROBE_LOG_EVERY_MS, SECURITY_HEADERS } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';

/**
 * The HTTP app without a database or Docker: security headers on every kind of answer, probe
 * answers in fixed words with the error text in the log only, and the readiness and liveness
 * checks that produce them.
 */

/** A logger whose JSON lines the test reads. */
function capturedLog() {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: createLogger('debug', sink), lines };
}

/** Internal strings of a broken host: what a probe answer must never carry. */
const SOCKET = '/run/tinyforge-secret-dir/docker.sock';
const DB_HOST = 'mysql-primary.internal.example';
const DOCKER_DOWN = Object.assign(new Error(`connect ENOENT ${SOCKET}`), { code: 'ENOENT' });
const DB_DOWN = Object.assign(new Error(`getaddrinfo ENOTFOUND ${DB_HOST}`), { code: 'ENOTFOUND' });
const INTERNAL = [SOCKET, 'tinyforge-secret-dir', DB_HOST, 'ENOENT', 'ENOTFOUND', 'getaddrinfo', 'connect '];

interface Served {
  server: HttpServer;
  base: string;
}

async function serve(opts: { liveness?: () => Probe; readiness?: () => Promise<Probe>; apiToken?: string; log?: ReturnType<typeof capturedLog>['log']; now?: () => number } = {}): Promise<Served> {
  const app = createHttpApp({
    liveness: opts.liveness ?? (() => new HealthState(60_000).liveness()),
    readiness: opts.readiness ?? (() => checkReadiness({ db: { ping: async () => undefined }, docker: { ping: async () => undefined }, standby: false, firstPassDone: true })),
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '# no metrics\n' }),
    log: opts.log ?? capturedLog().log,
    api: createApiRouter({ apiToken: opts.apiToken ?? '', reader: () => undefined }),
    now: opts.now,
  });
  const server = await HttpServer.listen(app, 0, '127.0.0.1');
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

/** Sends raw bytes and returns the raw answer (for requests fetch will not send). */
function raw(base: string, request: string): Promise<string> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => s.write(request));
    let out = '';
    s.on('data', (d) => (out += String(d)));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(5_000, () => s.destroy(new Error('no answer')));
  });
}

function expectSecurityHeaders(h: Headers, what: string): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(h.get(k), `${what}: ${k}`).to.equal(v);
  expect(h.get('x-content-type-options'), what).to.equal('nosniff');
  expect(h.get('cache-control'), what).to.equal('no-store');
  expect(h.get('x-powered-by'), what).to.equal(null);
}

describe('HTTP app: security headers on every answer', () => {
  const servers: Served[] = [];
  after(async () => {
    for (const s of servers) await s.server.close();
  });
  const start = async (o: Parameters<typeof serve>[0] = {}) => {
    const s = await serve(o);
    servers.push(s);
    return s;
  };

  it('probes (200 and 503), metrics, the API (ok, 503, 401, 405), 404s and 500s', async () => {
    const ok = await start();
    const down = await start({
      liveness: () => {
        throw new Error('boom at /srv/app/src/health.ts:1');
      },
      readiness: () => checkReadiness({ db: undefined, docker: { ping: () => Promise.reject(DOCKER_DOWN) }, standby: false, firstPassDone: false }),
    });
    const locked = await start({ apiToken: 'token-1234' });
    const cases: Array<[Served, string, RequestInit, number]> = [
      [ok, '/healthz', {}, 200],
      [ok, '/livez', {}, 200],
      [ok, '/readyz', {}, 200],
      [ok, '/metrics', {}, 200],
      [ok, '/api/v1/openapi.json', {}, 200],
      [ok, '/api/v1/containers', {}, 503],
      [ok, '/api/v1/containers', { method: 'POST' }, 405],
      [ok, '/api/v1/containers?limit=0', {}, 400],
      [ok, '/nope', {}, 404],
      [ok, '/healthz', { method: 'HEAD' }, 200],
      [ok, '/metrics', { method: 'OPTIONS' }, 404],
      [down, '/readyz', {}, 503],
      [down, '/healthz', {}, 500],
      [locked, '/api/v1/containers', {}, 401],
      [locked, '/api/v1/anything', {}, 401],
    ];
    for (const [s, path, init, status] of cases) {
      const r = await fetch(`${s.base}${path}`, init);
      await r.arrayBuffer();
      const what = `${init.method ?? 'GET'} ${path} -> ${r.status}`;
      expect(r.status, what).to.equal(status);
      expectSecurityHeaders(r.headers, what);
    }
  });

  it('a request Node cannot parse gets a JSON 400 with the same headers', async () => {
    const s = await start();
    const answer = await raw(s.base, 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    const [head, body] = answer.split('\r\n\r\n');
    expect(head, answer).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(`${head}\r\n`, k).to.include(`${k}: ${v}\r\n`);
    expect(JSON.parse(body!)).to.deep.equal({ error: { status: 400, message: 'bad request' } });
    const big = await raw(s.base, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big).to.match(/^HTTP\/1\.1 431 /);
    expect(big).to.include('X-Content-Type-Options: nosniff\r\n');
  });
});

describe('HTTP app: probe answers in fixed words, the detail in the log', () => {
  const servers: Served[] = [];
  after(async () => {
    for (const s of servers) await s.server.close();
  });

  it('/readyz with Docker on a dead socket and the database host unknown: checks named, no path, host or errno in the body; all of it in the log', async () => {
    const { log, lines } = capturedLog();
    const s = await serve({ log, readiness: () => checkReadiness({ db: { ping: () => Promise.reject(DB_DOWN) }, docker: { ping: () => Promise.reject(DOCKER_DOWN) }, standby: false, firstPassDone: true }) });
    servers.push(s);
    const r = await fetch(`${s.base}/readyz`);
    const text = await r.text();
    expect(r.status).to.equal(503);
    expect(r.headers.get('content-type')).to.match(/^application\/json/);
    expect(JSON.parse(text)).to.deep.equal({ status: 'not ready', checks: { database: 'unreachable', docker: 'unreachable', firstPass: 'ok' } });
    for (const x of INTERNAL) expect(text, `"${x}" in the /readyz body`).to.not.include(x);
    const logged = lines.filter((l) => l.probe === 'readiness');
    expect(logged, JSON.stringify(lines)).to.have.length(1);
    expect(logged[0]!.level).to.equal('warn');
    expect(logged[0]!.detail.docker).to.include(SOCKET).and.include('ENOENT');
    expect(logged[0]!.detail.database).to.include(DB_HOST).and.include('ENOTFOUND');
  });

  it('/healthz with passes failing on Docker: "stale", the last failure in the log only', async () => {
    let now = 1_000_000;
    const health = new HealthState(60_000, () => now);
    health.passStarted(now);
    health.passFinished({ ok: false, error: `docker: connect ENOENT ${SOCKET}` } as never, now);
    now += 61_000;
    const { log, lines } = capturedLog();
    const s = await serve({ log, liveness: () => health.liveness() });
    servers.push(s);
    for (const path of ['/healthz', '/livez']) {
      const r = await fetch(`${s.base}${path}`);
      const text = await r.text();
      expect(r.status, path).to.equal(503);
      expect(JSON.parse(text), path).to.deep.equal({ status: 'not live', checks: { passes: 'stale' } });
      for (const x of INTERNAL) expect(text, `"${x}" in the ${path} body`).to.not.include(x);
    }
    const logged = lines.filter((l) => l.probe === 'liveness');
    expect(logged, 'the same failure is logged once').to.have.length(1);
    expect(logged[0]!.detail.passes).to.match(/no pass has succeeded since start 61s ago exceeds the threshold of 60s; last failure: docker: connect ENOENT/);
  });

  it('logs a failing probe when its checks change, again after a minute unchanged, and once when it passes again', async () => {
    let now = 0;
    let probe: Probe;
    const { log, lines } = capturedLog();
    const s = await serve({ log, now: () => now, readiness: async () => probe });
    servers.push(s);
    const ask = async () => (await fetch(`${s.base}/readyz`)).status;
    const check = async (p: Promise<Probe>) => {
      probe = await p;
      return ask();
    };
    const dockerDown = () => checkReadiness({ db: { ping: async () => undefined }, docker: { ping: () => Promise.reject(DOCKER_DOWN) }, standby: false, firstPassDone: true });
    const bothDown = () => checkReadiness({ db: { ping: () => Promise.reject(DB_DOWN) }, docker: { ping: () => Promise.reject(DOCKER_DOWN) }, standby: false, firstPassDone: true });
    const allUp = () => checkReadiness({ db: { ping: async () => undefined }, docker: { ping: async () => undefined }, standby: false, firstPassDone: true });
    expect(await check(dockerDown())).to.equal(503);
    for (let i = 0; i < 10; i++) {
      now += 5_000;
      await ask();
    }
    expect(lines.filter((l) => l.probe).map((l) => l.msg), 'ten probes within a minute, one line').to.deep.equal(['readiness probe fails']);
    now += PROBE_LOG_EVERY_MS;
    await ask();
    expect(await check(bothDown())).to.equal(503);
    expect(await check(allUp())).to.equal(200);
    expect(await check(allUp())).to.equal(200);
    const seen = lines.filter((l) => l.probe).map((l) => `${l.level} ${JSON.stringify(l.checks)}`);
    expect(seen).to.deep.equal([
      'warn {"database":"ok","docker":"unreachable","firstPass":"ok"}',
      'warn {"database":"ok","docker":"unreachable","firstPass":"ok"}',
      'warn {"database":"unreachable","docker":"unreachable","firstPass":"ok"}',
      'info {"database":"ok","docker":"ok","firstPass":"ok"}',
    ]);
  });

  it('logs a start (database connecting, first pass pending) at info, not warn', async () => {
    const { log, lines } = capturedLog();
    const s = await serve({ log, readiness: () => checkReadiness({ db: undefined, docker: { ping: async () => undefined }, standby: false, firstPassDone: false }) });
    servers.push(s);
    expect((await fetch(`${s.base}/readyz`)).status).to.equal(503);
    expect(lines.filter((l) => l.probe).map((l) => [l.level, l.msg, l.detail])).to.deep.equal([
      ['info', 'readiness probe fails', { database: 'not connected yet (the connect loop logs each failed attempt)', firstPass: 'the first full pass has not completed yet' }],
    ]);
  });

  it('an error thrown by a probe is a plain 500 without its text', async () => {
    const s = await serve({
      readiness: async () => {
        throw new Error(`ping failed on ${SOCKET}`);
      },
    });
    servers.push(s);
    const r = await fetch(`${s.base}/readyz`);
    const text = await r.text();
    expect(r.status).to.equal(500);
    expect(JSON.parse(text)).to.deep.equal({ error: { status: 500, message: 'internal error' } });
    expect(text).to.not.include(SOCKET);
  });

  it('an HttpError keeps its own message (it is written for the caller)', async () => {
    const s = await serve({
      readiness: async () => {
        throw new HttpError(418, 'short and stout');
      },
    });
    servers.push(s);
    const r = await fetch(`${s.base}/readyz`);
    expect(r.status).to.equal(418);
    expect(await r.json()).to.deep.equal({ error: { status: 418, message: 'short and stout' } });
  });
});

describe('readiness checks', () => {
  const up = { ping: async () => undefined };
  const down = (e: Error) => ({ ping: () => Promise.reject(e) });

  it('names each check in fixed words', async () => {
    const table: Array<[string, Parameters<typeof checkReadiness>[0], Probe['body'], boolean]> = [
      ['all answer, first pass done', { db: up, docker: up, standby: false, firstPassDone: true }, { status: 'ready', checks: { database: 'ok', docker: 'ok', firstPass: 'ok' } }, true],
      ['first pass pending', { db: up, docker: up, standby: false, firstPassDone: false }, { status: 'not ready', checks: { database: 'ok', docker: 'ok', firstPass: 'pending' } }, false],
      ['database not connected yet', { db: undefined, docker: up, standby: false, firstPassDone: false }, { status: 'not ready', checks: { database: 'connecting', docker: 'ok', firstPass: 'pending' } }, false],
      ['Docker down', { db: up, docker: down(DOCKER_DOWN), standby: false, firstPassDone: true }, { status: 'not ready', checks: { database: 'ok', docker: 'unreachable', firstPass: 'ok' } }, false],
      ['standby, both answer', { db: up, docker: up, standby: true, firstPassDone: false }, { status: 'ready', role: 'standby', checks: { database: 'ok', docker: 'ok' } }, true],
      ['standby, database down', { db: down(DB_DOWN), docker: up, standby: true, firstPassDone: false }, { status: 'not ready', role: 'standby', checks: { database: 'unreachable', docker: 'ok' } }, false],
    ];
    for (const [what, input, body, ok] of table) {
      const p = await checkReadiness(input);
      expect(p.body, what).to.deep.equal(body);
      expect(p.ok, what).to.equal(ok);
      expect(p.detail === undefined, `${what}: detail only when failing`).to.equal(ok);
    }
  });

  it('says "timeout" for a check that does not answer in time, and redacts a password in the detail', async () => {
    const hang = { ping: () => new Promise<void>(() => undefined) };
    const p = await checkReadiness({ db: down(new Error('connect to mysql://root:hunter2@db:3306/x failed')), docker: hang, standby: false, firstPassDone: true, timeoutMs: 50 });
    expect(p.body.checks).to.deep.equal({ database: 'unreachable', docker: 'timeout', firstPass: 'ok' });
    expect(p.detail!['docker']).to.match(/timed out after 50ms/);
    expect(p.detail!['database']).to.not.include('hunter2');
  });
});

describe('liveness checks', () => {
  it('names passes ok, stale or wedged, and a standby election ok or stalled', () => {
    let now = 0;
    const h = new HealthState(10_000, () => now);
    expect(h.liveness().body).to.deep.equal({ status: 'live', checks: { passes: 'ok' } });
    now = 11_000;
    expect(h.liveness().body).to.deep.equal({ status: 'not live', checks: { passes: 'stale' } });
    h.passStarted(now);
    h.passFinished({ ok: true } as never, now);
    now += 5_000;
    h.passStarted(now);
    now += 10_001;
    const wedged = h.liveness();
    expect(wedged.body).to.deep.equal({ status: 'not live', checks: { passes: 'wedged' } });
    expect(wedged.detail!['passes']).to.match(/running for 10s \(threshold 10s\)/);
    h.electionTick(false);
    expect(h.liveness().body).to.deep.equal({ status: 'live', role: 'standby', checks: { election: 'ok' } });
    now += 10_001;
    expect(h.liveness().body).to.deep.equal({ status: 'not live', role: 'standby', checks: { election: 'stalled' } });
  });
});
