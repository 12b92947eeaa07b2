import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createConnection } from 'mysql2/promise';
import { createHttpApp, HttpError, HttpServer, SECURITY_HEADERS } from '../../src/http/server.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { EXPOSED_METRIC_NAMES, METRICS } from '../monitoring/metric-names.js';
import { eventually, startTestApp, type TestApp } from '../support/app.js';
import { sharedDockerd, startDockerd, type PrivateDockerd } from '../support/dockerd.js';
import { find, parseExposition, promtoolCheckMetrics, valueOf, type Exposition } from '../support/exposition.js';
import { sharedMariaDb, startMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { startPrometheus, type PromSample } from '../support/prometheus.js';

/**
 * Observability end to end: the service's own /metrics, /healthz and /readyz against real servers
 * (MariaDB, dockerd, and a real Prometheus that scrapes it). No mock anywhere except the last
 * block, which drives the HTTP error handler with a failing dependency.
 */

const WORKLOAD = 'wl-obs';
const LABELS = (role: string, workload = WORKLOAD) => ({ 'tinyforge.managed': 'true', 'tinyforge.workload.id': workload, 'tinyforge.role': role });
const JOB = 'tinyforge-reconciler';

interface HttpAnswer {
  status: number;
  contentType: string;
  text: string;
  json: any;
  headers: Headers;
}

async function get(base: string, path: string, timeoutMs = 10_000): Promise<HttpAnswer> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json, headers: res.headers };
}

/** A logger whose JSON lines the test reads (the probes' detail goes there, not into their answers). */
function capturedLog(): { log: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: createLogger('info', sink), lines };
}

/** The `detail` of the log lines of a failing probe (`readiness` or `liveness`). */
const probeDetails = (lines: Array<Record<string, any>>, probe: string): Array<Record<string, string>> => lines.filter((l) => l.probe === probe && l.detail).map((l) => l.detail);

/** Asserts none of `internal` (paths, host names, ports, errno codes) is in a probe answer. */
function expectNoInternals(a: HttpAnswer, internal: string[], what: string): void {
  for (const x of internal) expect(a.text.includes(x), `"${x}" in the ${what} answer: ${a.text}`).to.equal(false);
  expect(a.text, `${what}: no stack trace`).to.not.match(/\n\s+at /);
}

const status = async (t: TestApp, path: string) => (await get(t.baseUrl, path)).status;

/** What a new connection (not fetch's pooled one) to `base` meets: `answered <status>` or the error code. */
function connectOutcome(base: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const req = http.get(`${base}/healthz`, { agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(`answered ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

async function scrape(t: TestApp): Promise<{ body: string; e: Exposition }> {
  const r = await get(t.baseUrl, '/metrics');
  expect(r.status, r.text.slice(0, 500)).to.equal(200);
  return { body: r.text, e: parseExposition(r.text) };
}

async function metric(t: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  return valueOf((await scrape(t)).e, name, labels);
}

/** Waits until `metric` is above `than`, failing with the last value seen. */
async function waitAbove(t: TestApp, name: string, labels: Record<string, string>, than: number, what: string, timeoutMs = 20_000): Promise<number> {
  let last = NaN;
  try {
    return await eventually(async () => {
      last = await metric(t, name, labels);
      return last > than ? last : undefined;
    }, what, timeoutMs, 100);
  } catch (e) {
    throw new Error(`${(e as Error).message} (${name}${JSON.stringify(labels)} stayed at ${last}, needed > ${than})`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The /metrics hygiene every scrape must meet: promtool-clean, every contract name, bounded label values. */
async function expectCleanMetrics(t: TestApp, forbidden: string[]): Promise<void> {
  const { body, e } = await scrape(t);
  const check = await promtoolCheckMetrics(body);
  expect(check.code, `promtool check metrics failed:\n${check.output}`).to.equal(0);
  expect(check.output.trim(), 'promtool printed problems').to.equal('$ promtool check metrics <body>');

  const missing = EXPOSED_METRIC_NAMES.filter((n) => !e.types.has(n));
  expect(missing, 'metric families of the contract (spec/monitoring/metric-names.ts) absent from /metrics').to.deep.equal([]);
  for (const spec of METRICS.filter((m) => m.source !== 'prometheus')) {
    expect(e.types.get(spec.name), `# TYPE of ${spec.name}`).to.equal(spec.type);
  }

  // No unbounded label values: no 64-hex container ID anywhere, nothing the test created as a label value,
  // and, for the contract's metrics, only its label names and (for closed sets) its label values.
  const hex = /[0-9a-f]{64}/.exec(body);
  expect(hex, `a 64-hex ID in /metrics: ${hex?.[0]}`).to.equal(null);
  for (const f of forbidden) expect(body.includes(f), `"${f}" appears in /metrics`).to.equal(false);
  const specs = new Map(METRICS.map((m) => [m.name, m]));
  for (const s of e.samples) {
    const family = specs.get(s.name) ?? specs.get(s.name.replace(/_(bucket|sum|count)$/, ''));
    if (!family || family.source === 'process') continue;
    for (const [k, v] of Object.entries(s.labels)) {
      if (k === 'le' && family.type === 'histogram') continue;
      const ls = family.labels[k];
      expect(ls, `${s.name} has label ${k}, not in the contract`).to.not.equal(undefined);
      if (ls!.closed) expect(ls!.values, `${s.name}{${k}="${v}"}`).to.include(v);
    }
  }
}

describe('observability end to end (real MariaDB, dockerd, Prometheus)', function () {
  this.timeout(300_000);

  describe('a running service on the shared engine', () => {
    let docker: PrivateDockerd;
    let maria: MariaDbServer;
    let db: string;
    let t: TestApp;
    const created: string[] = [];

    const rowOf = async (containerId: string): Promise<{ id: string; state: string } | undefined> =>
      ((await maria.query(`SELECT id, state FROM \`${db}\`.containers WHERE container_id = ?`, [containerId])) as Array<{ id: string; state: string }>)[0];
    const run = async (role: string, workload = WORKLOAD) => {
      const id = await docker.runContainer({ labels: LABELS(role, workload) });
      created.push(id);
      return id;
    };
    const pass = async () => {
      const r = await t.app.runPassNow();
      expect(r.ok, `pass failed: ${r.error}`).to.equal(true);
    };

    before(async () => {
      [docker, maria] = await Promise.all([sharedDockerd(), sharedMariaDb()]);
      await docker.removeAllContainers();
      const url = await maria.createDatabase('it_obs');
      db = new URL(url).pathname.slice(1);
      t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: 'obs-host', RETRY_MAX_DELAY: '1s' });
      await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES (?, 'project', 'p-obs', 'obs')`, [WORKLOAD]);
      await run('seed');
      await pass();
    });
    after(async () => {
      // Whatever happened, the table is back (a failed retry test must not break later files).
      await maria?.query(`RENAME TABLE \`${db}\`.containers_away TO \`${db}\`.containers`).catch(() => undefined);
      await t?.stop();
      await docker?.removeAllContainers();
    });

    it('serves /metrics that promtool accepts, with every contract metric and no unbounded label value', async () => {
      const r = await get(t.baseUrl, '/metrics');
      expect(r.contentType).to.match(/^text\/plain; version=0\.0\.4/);
      await expectCleanMetrics(t, [...created, ...created.map((id) => id.slice(0, 12)), WORKLOAD]);
      const { e } = await scrape(t);
      expect(valueOf(e, 'tinyforge_reconciler_ticks_total', { result: 'success' })).to.be.at.least(1);
      expect(valueOf(e, 'tinyforge_reconciler_last_successful_tick_timestamp_seconds')).to.be.within(Date.now() / 1000 - 300, Date.now() / 1000 + 5);
      expect(valueOf(e, 'tinyforge_reconciler_tick_duration_seconds_count')).to.be.at.least(1);
      expect(valueOf(e, 'workqueue_adds_total', { name: 'containers' })).to.be.at.least(1);
      expect(valueOf(e, 'tinyforge_reconciler_leader')).to.equal(1);
      expect(valueOf(e, 'tinyforge_reconciler_reconcile_interval_seconds')).to.equal(300);
    });

    it('counts an upsert: created once, unchanged on later passes, updated on a change', async () => {
      const L = (result: string) => ({ dispatch: 'workload', result });
      const [created0, unchanged0, updated0] = [await metric(t, 'tinyforge_reconciler_upserts_total', L('created')), await metric(t, 'tinyforge_reconciler_upserts_total', L('unchanged')), await metric(t, 'tinyforge_reconciler_upserts_total', L('updated'))];
      const id = await run('upsert');
      await eventually(async () => (await rowOf(id))?.state === 'running', 'the row of the new container', 20_000, 50);
      expect(await metric(t, 'tinyforge_reconciler_upserts_total', L('created')), 'created').to.equal(created0 + 1);
      await pass();
      expect(await metric(t, 'tinyforge_reconciler_upserts_total', L('unchanged')), 'unchanged after a pass').to.be.above(unchanged0);
      expect(await metric(t, 'tinyforge_reconciler_upserts_total', L('created')), 'no second create').to.equal(created0 + 1);
      await docker.docker(['stop', '-t', '1', id]);
      await eventually(async () => (await rowOf(id))?.state === 'stopped', 'the row turned stopped', 20_000, 50);
      expect(await metric(t, 'tinyforge_reconciler_upserts_total', L('updated')), 'updated').to.be.above(updated0);
      expect(await metric(t, 'tinyforge_reconciler_upserts_total', L('error'))).to.equal(0);
    });

    it('counts exactly one missing mark when a container is removed (event or sweep, not both)', async () => {
      const id = await run('doomed');
      await eventually(async () => (await rowOf(id))?.state === 'running', 'the row of the doomed container', 20_000, 50);
      const before = await metric(t, 'tinyforge_reconciler_missing_marks_total');
      await docker.docker(['rm', '-f', id]);
      await eventually(async () => (await rowOf(id))?.state === 'missing', 'the row turned missing', 20_000, 50);
      await pass();
      await pass();
      expect(await metric(t, 'tinyforge_reconciler_missing_marks_total')).to.equal(before + 1);
    });

    it('counts a container whose workload label names no workload as unmatched (unknown_workload), and writes nothing', async () => {
      const labels = { reason: 'unknown_workload' };
      const before = await metric(t, 'tinyforge_reconciler_unmatched_containers_total', labels);
      const id = await run('forged', 'wl-forged-does-not-exist');
      await waitAbove(t, 'tinyforge_reconciler_unmatched_containers_total', labels, before, 'the forged container counted as unmatched');
      await pass();
      expect(await rowOf(id), 'a forged label creates no row').to.equal(undefined);
      expect((await scrape(t)).body).to.not.include('wl-forged-does-not-exist');
    });

    it('counts retries and reconcile errors while the containers table is away, and the row converges once it is back', async () => {
      const q = { name: 'containers' };
      const retries0 = await metric(t, 'workqueue_retries_total', q);
      const errors0 = await metric(t, 'tinyforge_reconciler_reconcile_errors_total', { reason: 'database' });
      await maria.query(`RENAME TABLE \`${db}\`.containers TO \`${db}\`.containers_away`);
      let id: string;
      try {
        id = await run('retried');
        await waitAbove(t, 'workqueue_retries_total', q, retries0, 'a work-queue retry');
        await waitAbove(t, 'tinyforge_reconciler_reconcile_errors_total', { reason: 'database' }, errors0, 'a database reconcile error');
        // Per-key backoff keeps retrying (RETRY_MAX_DELAY=1s) while the table is away.
        const retries1 = await metric(t, 'workqueue_retries_total', q);
        await waitAbove(t, 'workqueue_retries_total', q, retries1, 'further retries with backoff', 10_000);
      } finally {
        await maria.query(`RENAME TABLE \`${db}\`.containers_away TO \`${db}\`.containers`);
      }
      await eventually(async () => (await rowOf(id))?.state === 'running', 'the row converged after the table came back', 20_000, 50);
      await pass();
      const { e } = await scrape(t);
      expect(valueOf(e, 'tinyforge_reconciler_reconcile_errors_total', { reason: 'panic' }), 'a database outage is not a panic').to.equal(0);
      expect(valueOf(e, 'tinyforge_reconciler_handler_panics_total')).to.equal(0);
    });

    it('is scraped by a real Prometheus; upserts_total and workqueue_depth read back through /api/v1/query match /metrics', async () => {
      const port = new URL(t.baseUrl).port;
      const instance = `127.0.0.1:${port}`;
      const prom = await startPrometheus({ job: JOB, targets: [instance], scrapeIntervalSec: 1, name: 'obs' });
      const withLog = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
        try {
          return await fn();
        } catch (e) {
          throw new Error(`${what}: ${(e as Error).message}\n${prom.logTail(40)}`);
        }
      };
      try {
        await withLog('target up', () => prom.waitForTargetUp(60_000));
        const up = await prom.query(`up{job="${JOB}"}`);
        expect(up.map((s) => [s.metric.instance, s.value[1]])).to.deep.equal([[instance, '1']]);

        const key = (s: { labels?: Record<string, string>; metric?: Record<string, string> }) => {
          const l = s.labels ?? s.metric!;
          return `${l.dispatch}/${l.result}`;
        };
        /** Prometheus's latest samples equal what the app serves now (retried: a scrape may lag a change). */
        const matches = async (min: { created?: number } = {}) => {
          let diff = '';
          try {
            return await eventually(async () => {
              const [appE, promUpserts, promDepth, promAdds] = await Promise.all([
                scrape(t).then((s) => s.e),
                prom.query(`tinyforge_reconciler_upserts_total{job="${JOB}"}`),
                prom.query(`workqueue_depth{job="${JOB}",name="containers"}`),
                prom.query(`workqueue_adds_total{job="${JOB}",name="containers"}`),
              ]);
              const app = new Map(find(appE, 'tinyforge_reconciler_upserts_total').map((s) => [key(s), s.value]));
              const seen = new Map(promUpserts.map((s: PromSample) => [key(s), Number(s.value[1])]));
              const appDepth = valueOf(appE, 'workqueue_depth', { name: 'containers' });
              const appAdds = valueOf(appE, 'workqueue_adds_total', { name: 'containers' });
              diff = `app upserts ${JSON.stringify([...app])} vs prometheus ${JSON.stringify([...seen])}; depth ${appDepth} vs ${JSON.stringify(promDepth.map((s) => s.value[1]))}; adds ${appAdds} vs ${JSON.stringify(promAdds.map((s) => s.value[1]))}`;
              if (app.size !== 12 || seen.size !== 12) return undefined;
              for (const [k, v] of app) if (seen.get(k) !== v) return undefined;
              if (promDepth.length !== 1 || Number(promDepth[0]!.value[1]) !== appDepth) return undefined;
              if (promAdds.length !== 1 || Number(promAdds[0]!.value[1]) !== appAdds) return undefined;
              if (min.created !== undefined && (seen.get('workload/created') ?? 0) < min.created) return undefined;
              return { upserts: seen, depth: promDepth[0]!, adds: appAdds };
            }, 'Prometheus to hold the values /metrics serves', 60_000, 250);
          } catch (e) {
            throw new Error(`${(e as Error).message}\nlast comparison: ${diff}\n${prom.logTail(40)}`);
          }
        };

        const first = await matches();
        expect(first.upserts.get('workload/created'), 'real data went through, not just zeros').to.be.at.least(1);
        expect(first.upserts.get('site/error'), 'pre-initialised series reach Prometheus').to.equal(0);
        expect(first.depth.metric).to.include({ job: JOB, instance, name: 'containers', __name__: 'workqueue_depth' });
        expect(first.adds).to.be.at.least(1);

        // A change on the daemon shows up in Prometheus: the scrape is live, not a stale first sample.
        const id = await run('scraped');
        await eventually(async () => (await rowOf(id))?.state === 'running', 'the row of the scraped container', 20_000, 50);
        const second = await matches({ created: first.upserts.get('workload/created')! + 1 });
        expect(second.upserts.get('workload/created')).to.equal(first.upserts.get('workload/created')! + 1);
        expect(second.adds).to.be.above(first.adds);

        const targets = await prom.targets();
        expect(targets.map((x) => [x.health, x.lastError])).to.deep.equal([['up', '']]);
      } finally {
        await prom.dispose();
      }
      expect(prom.running).to.equal(false);
    });

    it('after all of the above, /metrics is still promtool-clean and carries no container or workload ID', async () => {
      await expectCleanMetrics(t, [...created, ...created.map((id) => id.slice(0, 12)), WORKLOAD, 'wl-forged-does-not-exist']);
    });

    it('/readyz is 503 until the first full pass completes, even with the database and Docker answering', async () => {
      const url = await maria.createDatabase('it_obs_firstpass');
      const name = new URL(url).pathname.slice(1);
      const migrator = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: 'obs-first' });
      await migrator.stop();
      // Hold the first pass on its desired-state read: a write lock on `workloads` from another session.
      const locker = await createConnection(maria.connectionOptions(name));
      let second: TestApp | undefined;
      try {
        await locker.query('LOCK TABLES workloads WRITE');
        second = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: 'obs-first', RECONCILE_INTERVAL: '1s' });
        const app = second;
        await sleep(500);
        const r = await get(app.baseUrl, '/readyz');
        expect(r.status, r.text).to.equal(503);
        expect(r.json, 'only the pass is missing: database and Docker answer').to.deep.equal({ status: 'not ready', checks: { database: 'ok', docker: 'ok', firstPass: 'pending' } });
        expect(app.passes).to.have.length(0);
        await locker.query('UNLOCK TABLES');
        await eventually(async () => (await status(app, '/readyz')) === 200, '/readyz 200 after the first pass', 30_000, 50);
        expect(app.passes.some((p) => p.ok)).to.equal(true);
      } finally {
        await locker.end().catch(() => locker.destroy());
        await second?.stop();
      }
    });

    it('answers /readyz 200 once running, /healthz 200, and unknown paths 404 with a JSON body', async () => {
      const ready = await get(t.baseUrl, '/readyz');
      expect(ready.status, ready.text).to.equal(200);
      expect(ready.json).to.deep.equal({ status: 'ready', checks: { database: 'ok', docker: 'ok', firstPass: 'ok' } });
      const live = await get(t.baseUrl, '/healthz');
      expect(live.status, live.text).to.equal(200);
      expect(live.json).to.deep.equal({ status: 'live', checks: { passes: 'ok' } });
      for (const p of ['/nope', '/metrics/extra', '/api/v1/nothing-here']) {
        const r = await get(t.baseUrl, p);
        expect(r.status, p).to.equal(404);
        expect(r.contentType, p).to.match(/^application\/json/);
        expect(r.json, p).to.deep.equal({ error: { status: 404, message: `no route for GET ${p}` } });
      }
    });

    it('sends the security headers, and no X-Powered-By, on probes, metrics, the API and 404s of the real service', async () => {
      for (const p of ['/readyz', '/healthz', '/livez', '/metrics', '/api/v1/containers', '/api/v1/openapi.json', '/nope']) {
        const r = await get(t.baseUrl, p);
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(r.headers.get(k), `${p} -> ${r.status}: ${k}`).to.equal(v);
        expect(r.headers.get('x-powered-by'), p).to.equal(null);
      }
    });
  });

  describe('with a private dockerd (stopped, killed, restarted)', () => {
    let docker: PrivateDockerd;
    let maria: MariaDbServer;
    const apps: TestApp[] = [];

    const newDb = async (prefix: string) => {
      const url = await maria.createDatabase(prefix);
      return { url, db: new URL(url).pathname.slice(1) };
    };
    const start = async (env: Record<string, string>, opts: { waitForPipeline?: boolean; log?: Logger } = {}) => {
      const t = await startTestApp({ DOCKER_HOST: docker.dockerHost, HOST_NAME: 'obs-private', ...env }, opts);
      apps.push(t);
      return t;
    };
    const stopApp = async (t: TestApp) => {
      await t.stop();
      apps.splice(apps.indexOf(t), 1);
    };

    before(async () => {
      [docker, maria] = await Promise.all([startDockerd({ name: 'obs-private' }), sharedMariaDb()]);
    });
    after(async () => {
      for (const t of apps.splice(0)) await t.stop().catch(() => undefined);
      await docker?.dispose();
    });

    it('/readyz is 503 with a reason before the first pass (no Docker yet), then 200 once Docker answers', async () => {
      await docker.stop();
      const { url } = await newDb('it_obs_ready');
      const t = await start({ DATABASE_URL: url, RECONCILE_INTERVAL: '1s' });
      const first = await get(t.baseUrl, '/readyz');
      expect(first.status, first.text).to.equal(503);
      expect(first.contentType).to.match(/^application\/json/);
      expect(first.json).to.deep.equal({ status: 'not ready', checks: { database: 'ok', docker: 'unreachable', firstPass: 'pending' } });
      expectNoInternals(first, [docker.socketPath, 'ENOENT', 'ECONNREFUSED'], '/readyz');
      // Still not ready a moment later: the pass cannot succeed without Docker.
      await sleep(1500);
      expect(await status(t, '/readyz')).to.equal(503);
      expect(t.passes.some((p) => p.ok)).to.equal(false);
      await docker.start();
      await eventually(async () => (await status(t, '/readyz')) === 200, '/readyz 200 after dockerd started', 30_000, 100);
      expect(t.passes.some((p) => p.ok)).to.equal(true);
      await stopApp(t);
      expect(await connectOutcome(t.baseUrl), 'the HTTP server closed on shutdown').to.equal('ECONNREFUSED');
    });

    it('counts one docker watch restart when dockerd is killed and started again, and events flow again after it restarts', async () => {
      if (!docker.running) await docker.start();
      const { url, db } = await newDb('it_obs_watch');
      const t = await start({ DATABASE_URL: url }, process.env.TEST_LOG ? { log: createLogger('debug') } : {});
      await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id) VALUES (?, 'project', 'p-obs')`, [WORKLOAD]);
      await eventually(async () => t.passes.some((p) => p.ok), 'the first pass', 30_000);
      const restarts0 = await metric(t, 'tinyforge_reconciler_docker_watch_restarts_total');
      const attempts0 = await metric(t, 'tinyforge_reconciler_docker_watch_reconnect_attempts_total');
      await docker.kill9();
      // While the daemon is away the watch keeps trying: attempts, but no reopened stream yet.
      await waitAbove(t, 'tinyforge_reconciler_docker_watch_reconnect_attempts_total', {}, attempts0 + 1, 'failed reconnect attempts after kill -9 of dockerd');
      expect(await metric(t, 'tinyforge_reconciler_docker_watch_restarts_total'), 'nothing reopened while dockerd is down').to.equal(restarts0);
      const passesBefore = t.passes.length;
      await docker.start();
      // The reconnect relists (a pass) even though RECONCILE_INTERVAL is 5 minutes.
      await eventually(async () => t.passes.slice(passesBefore).some((p) => p.ok), 'a successful pass after the watch reconnected', 30_000, 50);
      const starts0 = await metric(t, 'tinyforge_reconciler_docker_events_total', { action: 'start' });
      const id = await docker.runContainer({ labels: LABELS('after-restart') });
      await waitAbove(t, 'tinyforge_reconciler_docker_events_total', { action: 'start' }, starts0, 'a start event on the reopened stream', 15_000);
      await eventually(async () => {
        const r = (await maria.query(`SELECT state FROM \`${db}\`.containers WHERE container_id = ?`, [id])) as Array<{ state: string }>;
        return r[0]?.state === 'running';
      }, 'the row of a container started after the restart', 15_000, 50);
      expect(await metric(t, 'tinyforge_reconciler_docker_watch_restarts_total'), 'one daemon restart, one reopened stream').to.equal(restarts0 + 1);
      await stopApp(t);
      await docker.removeAllContainers();
    });

    it('a dockerd restart of about 3 s under a running service counts exactly one watch restart, however many attempts it took', async () => {
      if (!docker.running) await docker.start();
      const { url, db } = await newDb('it_obs_restart');
      const t = await start({ DATABASE_URL: url }, process.env.TEST_LOG ? { log: createLogger('debug') } : {});
      await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id) VALUES (?, 'project', 'p-obs')`, [WORKLOAD]);
      await eventually(async () => t.passes.some((p) => p.ok), 'the first pass', 30_000);
      const restarts0 = await metric(t, 'tinyforge_reconciler_docker_watch_restarts_total');
      const attempts0 = await metric(t, 'tinyforge_reconciler_docker_watch_reconnect_attempts_total');
      expect([restarts0, attempts0], 'a fresh service on a running daemon').to.deep.equal([0, 0]);
      const down = Date.now();
      await docker.stop();
      await sleep(3_000);
      await docker.start();
      const outageMs = Date.now() - down;
      // The watcher's reconnect backoff may have grown during the outage: wait for the stream to
      // reopen before starting a container (Docker does not replay an event to a stream opened
      // after it), then it is open once an event arrives on it.
      await waitAbove(t, 'tinyforge_reconciler_docker_watch_restarts_total', {}, restarts0, 'the reopened stream', 60_000);
      const starts0 = await metric(t, 'tinyforge_reconciler_docker_events_total', { action: 'start' });
      await docker.runContainer({ labels: LABELS('after-daemon-restart') });
      // The watcher's reconnect backoff may have grown during the outage: allow it a full step.
      await waitAbove(t, 'tinyforge_reconciler_docker_events_total', { action: 'start' }, starts0, 'a start event on the reopened stream', 60_000);
      await sleep(1_000);
      const { e } = await scrape(t);
      const restarts = valueOf(e, 'tinyforge_reconciler_docker_watch_restarts_total');
      const attempts = valueOf(e, 'tinyforge_reconciler_docker_watch_reconnect_attempts_total');
      const trace = `outage ${outageMs} ms, reopened streams ${restarts}, reconnect attempts ${attempts}`;
      console.log(`      [dockerd restart] ${trace}`);
      expect(attempts, `several attempts during the outage: ${trace}`).to.be.at.least(3);
      expect(restarts, `one daemon restart is one watch restart: ${trace}`).to.equal(1);
      await stopApp(t);
      await docker.removeAllContainers();
    });

    for (const variant of ['stop', 'kill9'] as const) {
      it(`/healthz turns 503 with a JSON reason when passes stop succeeding (dockerd ${variant}), and 200 again after it starts`, async () => {
        const { url } = await newDb(`it_obs_live_${variant}`);
        if (!docker.running) await docker.start(); // an earlier failure must not cascade
        const { log, lines } = capturedLog();
        const t = await start({ DATABASE_URL: url, RECONCILE_INTERVAL: '500ms', HEALTHZ_MAX_PASS_AGE: '2s' }, { log });
        await eventually(async () => t.passes.some((p) => p.ok) && (await status(t, '/healthz')) === 200, '/healthz 200 with passes succeeding', 30_000, 100);
        const n0 = t.passes.length;
        // Every answer, with the age of the last successful pass and whether a pass has failed yet.
        const seen: Array<{ status: number; ageMs: number; failedYet: boolean }> = [];
        const down = Date.now();
        await docker[variant]();
        const sick = await eventually(async () => {
          const failedYet = t.passes.slice(n0).some((p) => !p.ok);
          const r = await get(t.baseUrl, '/healthz');
          seen.push({ status: r.status, ageMs: Date.now() - (t.app.health.lastSuccessfulPassAt() ?? 0), failedYet });
          return r.status === 503 ? r : undefined;
        }, `/healthz 503 after dockerd ${variant}`, 30_000, 100);
        const trace = `dockerd ${variant} at +0; answers: ${JSON.stringify(seen)}; took ${Date.now() - down} ms; passes since: ${JSON.stringify(t.passes.slice(n0).map((p) => p.ok ? 'ok' : p.error))}`;
        expect(sick.contentType).to.match(/^application\/json/);
        // Stale (passes fail fast) or wedged (a pass hangs on a dying daemon), in fixed words.
        expect(sick.json.status).to.equal('not live');
        expect(['stale', 'wedged'], trace).to.include(sick.json.checks.passes);
        expect(Object.keys(sick.json).sort()).to.deep.equal(['checks', 'status']);
        expectNoInternals(sick, [docker.socketPath, 'ENOENT', 'ECONNREFUSED', 'last failure'], '/healthz');
        // The log has what the answer does not: the threshold, the age and the last failure.
        const logged = probeDetails(lines, 'liveness').map((d) => d['passes']);
        expect(logged.join(' | '), trace).to.match(/(last successful pass \d+s ago exceeds the threshold of 2s; last failure: .*docker)|(running for \d+s \(threshold 2s\))/);
        // Not one failed pass flips liveness, only staleness beyond the threshold does.
        expect(seen.filter((s) => s.status === 503 && s.ageMs < 1900), `503 before the threshold: ${trace}`).to.deep.equal([]);
        if (variant === 'kill9') {
          // The socket refuses at once, so passes fail fast: liveness stayed 200 while they failed within the threshold.
          expect(seen.some((s) => s.status === 200 && s.failedYet), `no 200 while passes failed within the threshold: ${trace}`).to.equal(true);
        }
        expect(await metric(t, 'tinyforge_reconciler_ticks_total', { result: 'error' }), trace).to.be.at.least(1);
        // /readyz agrees: Docker does not answer.
        expect(await status(t, '/readyz')).to.equal(503);
        await docker.start();
        await eventually(async () => (await status(t, '/healthz')) === 200, `/healthz 200 after dockerd started again (${variant})`, 60_000, 100);
        await stopApp(t);
      });
    }
  });

  describe('with a throwaway MariaDB (killed and restarted)', () => {
    let maria: MariaDbServer;
    let docker: PrivateDockerd;
    const apps: TestApp[] = [];
    const start = async (env: Record<string, string>, opts: { waitForPipeline?: boolean; log?: Logger } = {}) => {
      const t = await startTestApp({ DOCKER_HOST: docker.dockerHost, HOST_NAME: 'obs-db', ...env }, opts);
      apps.push(t);
      return t;
    };

    before(async () => {
      [maria, docker] = await Promise.all([startMariaDb({ name: 'obs-db' }), sharedDockerd()]);
    });
    after(async () => {
      for (const t of apps.splice(0)) await t.stop().catch(() => undefined);
      await maria?.dispose();
    });

    it('/readyz is 503 while the database is down at start (and /healthz stays 200 meanwhile), then 200', async () => {
      const url = await maria.createDatabase('it_obs_dbdown');
      await maria.stop();
      const t = await start({ DATABASE_URL: url, RECONCILE_INTERVAL: '1s', HEALTHZ_MAX_PASS_AGE: '30s' }, { waitForPipeline: false });
      const r = await get(t.baseUrl, '/readyz');
      expect(r.status, r.text).to.equal(503);
      expect(r.json).to.deep.equal({ status: 'not ready', checks: { database: 'connecting', docker: 'ok', firstPass: 'pending' } });
      expect((await get(t.baseUrl, '/healthz')).status, 'a database that is down does not fail liveness').to.equal(200);
      await sleep(1000);
      await maria.start();
      await eventually(async () => (await get(t.baseUrl, '/readyz')).status === 200, '/readyz 200 once the database is up', 60_000, 100);
    });

    it('/readyz says the database is unreachable when it stops under a running service, without its host, port or errno; the log has them', async () => {
      if (!maria.running) await maria.start();
      const url = await maria.createDatabase('it_obs_dbstop');
      const { log, lines } = capturedLog();
      const t = await start({ DATABASE_URL: url, RECONCILE_INTERVAL: '1s', HEALTHZ_MAX_PASS_AGE: '60s' }, { log });
      await eventually(async () => (await status(t, '/readyz')) === 200, '/readyz 200 with the database up', 30_000, 100);
      await maria.stop();
      try {
        const r = await eventually(async () => {
          const a = await get(t.baseUrl, '/readyz');
          return a.status === 503 ? a : undefined;
        }, '/readyz 503 after the database stopped', 30_000, 100);
        expect(r.json).to.deep.equal({ status: 'not ready', checks: { database: 'unreachable', docker: 'ok', firstPass: 'ok' } });
        const { hostname, port } = new URL(url);
        expectNoInternals(r, [`${hostname}:${port}`, `:${port}`, hostname, 'ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'connect'], '/readyz');
        const live = await get(t.baseUrl, '/healthz');
        expectNoInternals(live, [`:${port}`, hostname, 'ECONNREFUSED'], '/healthz');
        const detail = probeDetails(lines, 'readiness').map((d) => d['database']).join(' | ');
        expect(detail, 'the database error is in the log').to.match(/ECONNREFUSED|PROTOCOL_CONNECTION_LOST|closed|connect/i);
        console.log(`      [database stopped] /readyz: ${r.text}; log detail: ${detail.slice(0, 200)}`);
      } finally {
        await maria.start();
      }
      await eventually(async () => (await status(t, '/readyz')) === 200, '/readyz 200 once the database is back', 60_000, 100);
      expect(lines.some((l) => l.probe === 'readiness' && l.msg === 'readiness probe passes again'), 'the recovery is logged').to.equal(true);
    });

    it('/healthz stays 200 through a ~1 s database outage shorter than the threshold', async () => {
      if (!maria.running) await maria.start();
      const url = await maria.createDatabase('it_obs_blip');
      const t = await start({ DATABASE_URL: url, RECONCILE_INTERVAL: '500ms', HEALTHZ_MAX_PASS_AGE: '10s' });
      await eventually(async () => t.passes.some((p) => p.ok), 'the first pass', 30_000);

      // Probe /healthz every 50 ms (and /readyz alongside) for the whole outage and recovery.
      const health: Array<{ at: number; status: number; body: string }> = [];
      const ready: number[] = [];
      let polling = true;
      const poll = (async () => {
        while (polling) {
          try {
            const r = await get(t.baseUrl, '/healthz', 5_000);
            health.push({ at: Date.now(), status: r.status, body: r.text });
          } catch (e) {
            health.push({ at: Date.now(), status: 0, body: String(e) });
          }
          await sleep(50);
        }
      })();
      const readyPoll = (async () => {
        while (polling) {
          ready.push(await get(t.baseUrl, '/readyz', 5_000).then((r) => r.status, () => 0));
          await sleep(50);
        }
      })();
      try {
        await sleep(300);
        const passesBefore = t.passes.length;
        await maria.kill9();
        const killedAt = Date.now();
        await sleep(1000);
        await maria.start();
        const upAt = Date.now();
        await eventually(async () => t.passes.slice(passesBefore).some((p, i, a) => !p.ok && a.slice(i + 1).some((q) => q.ok)), 'a failed pass during the outage, then a successful one', 30_000, 50);
        await sleep(1000);
        polling = false;
        await Promise.all([poll, readyPoll]);
        const bad = health.filter((h) => h.status !== 200);
        expect(bad, `/healthz answered non-200 during the outage (down ${killedAt}..${upAt})`).to.deep.equal([]);
        expect(health.length, 'the probe really ran throughout').to.be.at.least(20);
        expect(ready, '/readyz saw the outage').to.include(503);
        expect(ready.at(-1), '/readyz recovered').to.equal(200);
      } finally {
        polling = false;
        await Promise.all([poll, readyPoll]);
        if (!maria.running) await maria.start();
      }
    });
  });

  describe('with DOCKER_HOST on a unix socket that does not exist', () => {
    let t: TestApp | undefined;
    after(async () => t?.stop());

    it('/readyz and /healthz say Docker is unreachable and passes are stale without the socket path or errno; the log has both', async () => {
      const maria = await sharedMariaDb();
      const url = await maria.createDatabase('it_obs_bogus_docker');
      const socket = path.join(tmpdir(), `tinyforge-internal-${randomUUID().slice(0, 8)}`, 'docker.sock');
      const { log, lines } = capturedLog();
      t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: `unix://${socket}`, HOST_NAME: 'obs-bogus', RECONCILE_INTERVAL: '500ms', HEALTHZ_MAX_PASS_AGE: '2s' }, { log });
      const app = t;
      const internal = [socket, path.dirname(socket), 'tinyforge-internal-', 'ENOENT', 'connect '];
      const ready = await get(app.baseUrl, '/readyz');
      expect(ready.status, ready.text).to.equal(503);
      expect(ready.json).to.deep.equal({ status: 'not ready', checks: { database: 'ok', docker: 'unreachable', firstPass: 'pending' } });
      expectNoInternals(ready, internal, '/readyz');
      await eventually(async () => app.passes.some((p) => !p.ok), 'a failed pass', 10_000, 50);
      const live = await eventually(async () => {
        const a = await get(app.baseUrl, '/healthz');
        return a.status === 503 ? a : undefined;
      }, '/healthz 503 past the 2 s threshold', 15_000, 100);
      expect(live.json).to.deep.equal({ status: 'not live', checks: { passes: 'stale' } });
      expectNoInternals(live, internal, '/healthz');
      const livez = await get(app.baseUrl, '/livez');
      expectNoInternals(livez, internal, '/livez');
      // The operator reads the cause in the log.
      const docker = probeDetails(lines, 'readiness').map((d) => d['docker']).join(' | ');
      expect(docker).to.include(socket).and.match(/ENOENT/);
      const passes = probeDetails(lines, 'liveness').map((d) => d['passes']).join(' | ');
      expect(passes).to.match(/no pass has succeeded since start \d+s ago exceeds the threshold of 2s; last failure: /);
      expect(passes).to.include(socket);
    });
  });

  describe('with leader election (two replicas for one host)', () => {
    const apps: TestApp[] = [];
    after(async () => {
      for (const t of apps.splice(0)) await t.stop().catch(() => undefined);
    });

    // Regression: a standby's liveness follows its election loop, not the age of a pass it
    // never runs (it used to turn 503 HEALTHZ_MAX_PASS_AGE after becoming standby).
    it('a standby replica stays live (/healthz 200) for longer than the pass-age threshold, and ready', async () => {
      const [docker, maria] = await Promise.all([sharedDockerd(), sharedMariaDb()]);
      const url = await maria.createDatabase('it_obs_standby');
      const env = { DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: 'obs-le', LEADER_ELECTION: 'true', RECONCILE_INTERVAL: '500ms', HEALTHZ_MAX_PASS_AGE: '2s', LEASE_DURATION: '15s', RENEW_DEADLINE: '10s', RETRY_PERIOD: '500ms' };
      const leader = await startTestApp(env, { waitForPipeline: false });
      apps.push(leader);
      await eventually(async () => (await metric(leader, 'tinyforge_reconciler_leader')) === 1 && leader.passes.some((p) => p.ok), 'the first replica leads and passes', 30_000, 100);
      const standby = await startTestApp(env, { waitForPipeline: false });
      apps.push(standby);
      await eventually(async () => {
        const r = await get(standby.baseUrl, '/readyz');
        return r.status === 200 && r.json?.role === 'standby';
      }, 'the second replica is a ready standby', 30_000, 100);
      expect((await get(standby.baseUrl, '/readyz')).json).to.deep.equal({ status: 'ready', role: 'standby', checks: { database: 'ok', docker: 'ok' } });
      expect((await get(standby.baseUrl, '/healthz')).json).to.deep.equal({ status: 'live', role: 'standby', checks: { election: 'ok' } });
      expect(await metric(standby, 'tinyforge_reconciler_leader')).to.equal(0);
      const answers: Array<{ ms: number; leader: number; standby: number; body: string }> = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 6_000) {
        const [l, s] = await Promise.all([get(leader.baseUrl, '/healthz'), get(standby.baseUrl, '/healthz')]);
        answers.push({ ms: Date.now() - t0, leader: l.status, standby: s.status, body: s.text });
        await sleep(200);
      }
      const summary = (who: 'leader' | 'standby') => {
        const bad = answers.filter((a) => a[who] !== 200);
        return { bad: bad.length, msg: `${who} /healthz non-200 in ${bad.length} of ${answers.length} probes over 6 s (threshold 2 s); first at +${bad[0]?.ms} ms: ${bad[0]?.body}` };
      };
      expect(summary('leader').bad, summary('leader').msg).to.equal(0);
      expect(summary('standby').bad, `must stay live while another replica holds the lease: ${summary('standby').msg}`).to.equal(0);
      expect((await get(standby.baseUrl, '/readyz')).status).to.equal(200);
    });
  });

  describe('HTTP error handling (express app with a failing dependency)', () => {
    let server: HttpServer | undefined;
    after(async () => server?.close());

    it('answers errors as JSON without stack traces, 404 for unknown paths, and closes cleanly', async () => {
      const app = createHttpApp({
        liveness: () => ({ ok: true, body: { status: 'live', checks: {} } }),
        readiness: async () => {
          throw new HttpError(418, 'short and stout');
        },
        metrics: async () => {
          throw new Error('secret detail at /srv/app/src/metrics.ts:12');
        },
        log: silentLogger(),
      });
      server = await HttpServer.listen(app, 0, '127.0.0.1');
      const base = `http://127.0.0.1:${server.address().port}`;
      const boom = await get(base, '/metrics');
      expect(boom.status).to.equal(500);
      expect(boom.contentType).to.match(/^application\/json/);
      expect(boom.json).to.deep.equal({ error: { status: 500, message: 'internal error' } });
      expect(boom.text).to.not.include('secret detail');
      expect(boom.text).to.not.match(/\bat \S+:\d+/);
      const teapot = await get(base, '/readyz');
      expect(teapot.status).to.equal(418);
      expect(teapot.json).to.deep.equal({ error: { status: 418, message: 'short and stout' } });
      const nf = await get(base, '/does/not/exist?x=1');
      expect(nf.status).to.equal(404);
      expect(nf.json).to.deep.equal({ error: { status: 404, message: 'no route for GET /does/not/exist' } });
      // A keep-alive connection does not hold the close up.
      await fetch(`${base}/healthz`, { headers: { connection: 'keep-alive' } }).then((r) => r.text());
      const t0 = Date.now();
      await server.close();
      server = undefined;
      expect(Date.now() - t0, 'close() waited on an idle keep-alive socket').to.be.below(1500);
      expect(await connectOutcome(base), 'the listener is gone').to.equal('ECONNREFUSED');
    });
  });
});
