import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { createApiRouter, encodeCursor } from '../../src/http/api.js';
import { createHttpApp, HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/log.js';
import { WorkloadStatusService } from '../../src/status/workload-status.service.js';
import { Database } from '../../src/store/database.js';
import { StatusRepository } from '../../src/store/status.repository.js';
import { DB_TARGETS, insertRefusals, insertRows, insertWorkloads, transition, type RefusalRow } from '../status/support.js';
import { responseSchema, validate } from './json-schema.js';

const TOKEN = 's3cr3t-token-value';

interface Served {
  server: HttpServer;
  base: string;
}

async function serve(apiToken: string, reader: () => WorkloadStatusService | undefined): Promise<Served> {
  const app = createHttpApp({
    liveness: () => ({ ok: true, body: { status: 'live', checks: {} } }),
    readiness: async () => ({ ok: true, body: { status: 'ready', checks: {} } }),
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: '# no metrics\n' }),
    log: silentLogger(),
    api: createApiRouter({ apiToken, reader }),
  });
  const server = await HttpServer.listen(app, 0, '127.0.0.1');
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

for (const target of DB_TARGETS) {
  describe(`read API over HTTP on ${target.name}`, function () {
    this.timeout(120_000);
    let db: Database;
    let svc: WorkloadStatusService;
    let open: Served;
    let locked: Served;
    let doc: Record<string, unknown>;
    let checked = 0;

    /** GET (open server unless `on` is given), parse JSON, and validate against the OpenAPI document. */
    async function get(path: string, opts: { on?: Served; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> {
      const res = await fetch(`${(opts.on ?? open).base}/api${path}`, { headers: opts.headers });
      expect(res.headers.get('content-type') ?? '').to.match(/^application\/json/);
      const body = await res.json();
      if (doc) {
        const schema = responseSchema(doc, 'GET', path.split('?')[0]!, res.status);
        const errors = validate(doc, schema, body);
        expect(errors, `${path} -> ${res.status} ${JSON.stringify(body).slice(0, 300)}`).to.deep.equal([]);
        checked++;
      }
      return { status: res.status, body, headers: res.headers };
    }

    /** Walks every page of `path` with `limit`, calling `between` after each page; returns each item's `key`. */
    async function walk(path: string, limit: number, between?: (page: number) => Promise<void>, key: (i: any) => string = (i) => String(i.id)): Promise<string[]> {
      const ids: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10_000; page++) {
        const sep = path.includes('?') ? '&' : '?';
        const r = await get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status, JSON.stringify(r.body)).to.equal(200);
        expect(r.body.items.length).to.be.at.most(limit);
        ids.push(...r.body.items.map(key));
        cursor = r.body.nextCursor;
        if (!cursor) return ids;
        await between?.(page);
      }
      throw new Error('pagination did not end');
    }

    before(async () => {
      db = await Database.connect(loadConfig({ DATABASE_URL: await target.url() }).database);
      await db.migrate();
      svc = new WorkloadStatusService(new StatusRepository(db), silentLogger(), { eventRetentionMs: 86_400_000, debounceMs: 10, fullRecomputeEveryMs: 0 });
      open = await serve('', () => svc);
      locked = await serve(TOKEN, () => svc);
      await insertWorkloads(db, ['wl-a', 'wl-b', 'wl-stack']);
      const rows: Array<[string, string, string, string]> = [];
      for (let i = 0; i < 120; i++) {
        const wl = i % 3 === 0 ? 'wl-a' : 'wl-b';
        const state = ['running', 'stopped', 'missing', 'created'][i % 4]!;
        rows.push([`${wl}:r${String(i).padStart(3, '0')}`, wl, state, `c${i}`]);
      }
      rows.push(['wl-stack:web', 'wl-stack', 'running', 'cs1'], ['wl-stack:web:2', 'wl-stack', 'running', 'cs2']);
      await insertRows(db, rows.slice(0, 60), 'h1');
      await insertRows(db, rows.slice(60), 'h2');
      await svc.start();
      doc = (await (await fetch(`${open.base}/api/v1/openapi.json`)).json()) as Record<string, unknown>;
    });
    after(async () => {
      await open?.server.close();
      await locked?.server.close();
      await svc?.stop();
      await db?.close();
      expect(checked, 'responses validated against the OpenAPI document').to.be.greaterThan(20);
    });

    it('serves an OpenAPI 3.1 document describing every endpoint', async () => {
      const r = await get('/v1/openapi.json');
      expect(r.status).to.equal(200);
      expect(r.body.openapi).to.equal('3.1.0');
      expect(Object.keys(r.body.paths)).to.have.members(['/v1/containers', '/v1/refusals', '/v1/workloads/{id}/status', '/v1/workloads/{id}/events', '/v1/openapi.json']);
      // Every schema in the document only uses what the validator checks.
      for (const [name, schema] of Object.entries(r.body.components.schemas as Record<string, Record<string, unknown>>)) {
        expect(validate(r.body, schema, undefined).filter((e) => e.includes('unsupported') || e.includes('dangling')), name).to.deep.equal([]);
      }
    });

    it('lists containers with filters by workload, state and host', async () => {
      const all = await walk('/v1/containers', 500);
      expect(all).to.have.length(122);
      for (const [query, check] of [
        ['workload=wl-a', (x: any) => x.workloadId === 'wl-a'],
        ['state=stopped', (x: any) => x.state === 'stopped'],
        ['host=h2', (x: any) => x.host === 'h2'],
        ['workload=wl-b&state=missing&host=h1', (x: any) => x.workloadId === 'wl-b' && x.state === 'missing' && x.host === 'h1'],
      ] as const) {
        const r = await get(`/v1/containers?${query}&limit=500`);
        expect(r.status).to.equal(200);
        expect(r.body.items.length, query).to.be.greaterThan(0);
        expect(r.body.items.every(check), query).to.equal(true);
        const params = new URLSearchParams(query);
        const where: string[] = [];
        const vals: string[] = [];
        for (const [k, col] of [['workload', 'workload_id'], ['state', 'state'], ['host', 'host']]) {
          if (params.get(k!)) {
            where.push(`\`${col}\` = ?`);
            vals.push(params.get(k!)!);
          }
        }
        const { rows } = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM \`containers\` WHERE ${where.join(' AND ')}`, vals);
        expect(r.body.items.length, `${query}: every matching row`).to.equal(Number(rows[0]!.n));
      }
      const none = await get('/v1/containers?workload=nobody');
      expect(none.body).to.deep.equal({ items: [], nextCursor: null });
    });

    it('pages in the database order of row IDs, without duplicates or gaps', async () => {
      const { rows } = await db.query<{ id: string }>('SELECT `id` FROM `containers` ORDER BY `id`');
      for (const limit of [1, 7, 100]) expect(await walk('/v1/containers', limit), `limit ${limit}`).to.deep.equal(rows.map((r) => r.id));
      const first = await get('/v1/containers');
      expect(first.body.items, 'default limit').to.have.length(100);
      const filtered = await walk('/v1/containers?workload=wl-b&host=h2', 9);
      expect(filtered).to.deep.equal((await db.query<{ id: string }>("SELECT `id` FROM `containers` WHERE `workload_id` = 'wl-b' AND `host` = 'h2' ORDER BY `id`")).rows.map((r) => r.id));
    });

    it('pages without duplicates or gaps while rows are inserted, deleted and changed between pages', async () => {
      await insertWorkloads(db, ['wl-page']);
      const stable = Array.from({ length: 150 }, (_, i) => `wl-page:s${String(i * 2).padStart(4, '0')}`);
      const volatile = Array.from({ length: 150 }, (_, i) => `wl-page:s${String(i * 2 + 1).padStart(4, '0')}`);
      await insertRows(db, [...stable, ...volatile].map((id): [string, string, string, string] => [id, 'wl-page', 'running', `c-${id}`]));
      let added = 0;
      const seen = await walk('/v1/containers?workload=wl-page', 10, async (page) => {
        // Delete volatile rows around the cursor (including the very row the cursor names), add
        // rows before and after it, and change stable rows' states: none of it may disturb the walk.
        await db.query('DELETE FROM `containers` WHERE `id` IN (?,?,?)', [volatile[page * 5] ?? 'x', volatile[page * 5 + 1] ?? 'x', volatile[page * 5 + 40] ?? 'x']);
        await insertRows(db, [
          [`wl-page:a${String(page).padStart(4, '0')}`, 'wl-page', 'created', `c-a${page}`],
          [`wl-page:s${String(page * 20).padStart(4, '0')}x`, 'wl-page', 'created', `c-x${page}`],
          [`wl-page:z${String(page).padStart(4, '0')}`, 'wl-page', 'created', `c-z${page}`],
        ]);
        added += 3;
        await db.query("UPDATE `containers` SET `state` = 'stopped' WHERE `id` = ?", [stable[(page * 7) % stable.length]!]);
      });
      expect(new Set(seen).size, 'no duplicates').to.equal(seen.length);
      const missing = stable.filter((id) => !seen.includes(id));
      expect(missing, 'every row that existed throughout appears').to.deep.equal([]);
      expect(added).to.be.greaterThan(20);
      expect(seen.filter((id) => id.startsWith('wl-page:z')).length, 'rows added after the cursor are seen').to.be.greaterThan(0);
      await db.query("DELETE FROM `containers` WHERE `workload_id` = 'wl-page'");
      await db.query("DELETE FROM `workloads` WHERE `id` = 'wl-page'");
    });

    it('marks container rows whose workload does not exist as orphaned', async () => {
      await insertRows(db, [
        ['wl-gone:web', 'wl-gone', 'running', 'cg1'],
        ['wl-a:orphan-check', 'wl-a', 'running', 'cg2'],
        ['wl-A:case', 'wl-A', 'running', 'cg3'],
        ['wl-a :pad', 'wl-a ', 'running', 'cg4'],
      ]);
      try {
        const all = (await get('/v1/containers?limit=500')).body.items as Array<{ id: string; orphaned: boolean }>;
        expect(all.length).to.be.greaterThan(120);
        const orphaned = all.filter((i) => i.orphaned).map((i) => i.id);
        expect(orphaned, 'exact comparison: other case and a trailing space name no workload').to.have.members(['wl-gone:web', 'wl-A:case', 'wl-a :pad']);
        expect(all.find((i) => i.id === 'wl-a:orphan-check')).to.include({ orphaned: false });
        const one = await get('/v1/containers?workload=wl-gone');
        expect(one.body.items).to.have.length(1);
        expect(one.body.items[0]).to.include({ id: 'wl-gone:web', workloadId: 'wl-gone', orphaned: true });
        expect(await walk('/v1/containers?host=h1', 7)).to.deep.equal((await db.query<{ id: string }>("SELECT `id` FROM `containers` WHERE `host` = 'h1' ORDER BY `id`")).rows.map((r) => r.id));
      } finally {
        await db.query("DELETE FROM `containers` WHERE `id` IN ('wl-gone:web', 'wl-a:orphan-check', 'wl-A:case', 'wl-a :pad')");
      }
    });

    it('lists refusals with filters by host, reason and workload, in (host, container) order', async () => {
      const rows: RefusalRow[] = [
        { host: 'h1', containerId: 'c-conf-1', containerName: 'web-dup', dispatch: 'workload', reason: 'conflict', workloadId: 'wl-a', rowId: 'wl-a:r000', detail: 'row bound to live container c0' },
        { host: 'h2', containerId: 'c-conf-2', reason: 'conflict', workloadId: 'wl-b', rowId: 'wl-b:r001' },
        { host: 'h1', containerId: 'c-forged', reason: 'unknown_workload', workloadId: 'wl-nope', dispatch: 'workload' },
        { host: 'h2', containerId: 'c-long', reason: 'value_too_long', workloadId: 'wl-a', detail: 'value longer than its column: role' },
        { host: 'h1', containerId: 'c-nolabel', reason: 'no_tinyforge_labels', dispatch: 'none' },
      ];
      await insertRefusals(db, rows);
      try {
        const all = await get('/v1/refusals');
        expect(all.status).to.equal(200);
        expect(all.body.nextCursor).to.equal(null);
        expect(all.body.items.map((i: any) => `${i.host}/${i.containerId}`)).to.deep.equal(['h1/c-conf-1', 'h1/c-forged', 'h1/c-nolabel', 'h2/c-conf-2', 'h2/c-long']);
        const first = all.body.items[0];
        expect(first).to.deep.include({ host: 'h1', containerId: 'c-conf-1', containerName: 'web-dup', dispatch: 'workload', reason: 'conflict', workloadId: 'wl-a', rowId: 'wl-a:r000', detail: 'row bound to live container c0' });
        expect(Math.abs(Date.parse(first.since) - Date.now()), 'since: the database clock, as ISO').to.be.lessThan(60_000);
        expect(all.body.items[2]).to.deep.include({ containerName: '', workloadId: '', rowId: '', detail: '' });
        for (const [q, want] of [
          ['host=h2', ['h2/c-conf-2', 'h2/c-long']],
          ['reason=conflict', ['h1/c-conf-1', 'h2/c-conf-2']],
          ['workload=wl-a', ['h1/c-conf-1', 'h2/c-long']],
          ['host=h1&reason=conflict&workload=wl-a', ['h1/c-conf-1']],
          ['host=h3', []],
          ['reason=unknown_stack', []],
        ] as const) {
          const r = await get(`/v1/refusals?${q}`);
          expect(r.status, q).to.equal(200);
          expect(r.body.items.map((i: any) => `${i.host}/${i.containerId}`), q).to.deep.equal(want);
        }
      } finally {
        await db.query('DELETE FROM `container_refusals`');
      }
    });

    it('pages refusals by (host, container ID) without duplicates or gaps, also while refusals come and go', async () => {
      // Hosts and IDs that sort differently as bytes, as JS strings and case-insensitively.
      const hosts = ['h1', 'H1', 'h1 ', 'h10', 'node-ü', 'node-😀'];
      const stable: RefusalRow[] = [];
      for (const host of hosts) for (let i = 0; i < 6; i++) stable.push({ host, containerId: `c${String(i * 2).padStart(3, '0')}`, reason: i % 2 ? 'conflict' : 'unknown_workload', workloadId: 'wl-a' });
      const volatile: RefusalRow[] = stable.map((r) => ({ ...r, containerId: r.containerId.replace(/0$/, '1').replace(/2$/, '3').replace(/4$/, '5').replace(/6$/, '7').replace(/8$/, '9') }));
      await insertRefusals(db, [...stable, ...volatile]);
      try {
        const key = (i: any) => JSON.stringify([i.host, i.containerId]);
        const ordered = (await db.query<{ host: string; container_id: string }>('SELECT `host`, `container_id` FROM `container_refusals` ORDER BY `host`, `container_id`')).rows.map((r) => JSON.stringify([r.host, r.container_id]));
        expect(ordered).to.have.length(stable.length * 2);
        for (const limit of [1, 5, 500]) expect(await walk('/v1/refusals', limit, undefined, key), `limit ${limit}`).to.deep.equal(ordered);
        expect(await walk('/v1/refusals?reason=conflict', 4, undefined, key)).to.deep.equal(
          (await db.query<{ host: string; container_id: string }>("SELECT `host`, `container_id` FROM `container_refusals` WHERE `reason` = 'conflict' ORDER BY `host`, `container_id`")).rows.map((r) => JSON.stringify([r.host, r.container_id])),
        );

        let added = 0;
        const seen = await walk(
          '/v1/refusals',
          5,
          async (page) => {
            const gone = volatile.slice(page * 3, page * 3 + 3);
            for (const g of gone) await db.query('DELETE FROM `container_refusals` WHERE `host` = ? AND `container_id` = ?', [g.host!, g.containerId]);
            await insertRefusals(db, [{ host: hosts[page % hosts.length]!, containerId: `new-${page}`, reason: 'conflict' }]);
            added++;
          },
          key,
        );
        expect(new Set(seen).size, 'no duplicates').to.equal(seen.length);
        const missing = stable.map((r) => JSON.stringify([r.host, r.containerId])).filter((k) => !seen.includes(k));
        expect(missing, 'every refusal that existed throughout appears').to.deep.equal([]);
        expect(added).to.be.greaterThan(5);
      } finally {
        await db.query('DELETE FROM `container_refusals`');
      }
    });

    it('serves a workload status in the contract shape', async () => {
      const r = await get('/v1/workloads/wl-stack/status');
      expect(r.status).to.equal(200);
      expect(r.body).to.include({ workloadId: 'wl-stack', phase: 'Running' });
      expect(Object.keys(r.body)).to.include.members(['workloadId', 'phase', 'conditions', 'counts', 'observedAt']);
      expect(r.body.counts).to.include({ desired: 2, running: 2 });
      expect(r.body.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).to.deep.equal(['Ready=True', 'Available=True', 'Conflict=False']);

      svc.rowsChanged([await transition(db, 'wl-stack:web:2', 'wl-stack', 'running', 'stopped')]);
      await svc.flush();
      const d = await get('/v1/workloads/wl-stack/status');
      expect(d.body.phase).to.equal('Degraded');
      expect(d.body.conditions[0]).to.include({ type: 'Ready', status: 'False', message: '1 of 2 not running: wl-stack:web:2 (stopped)' });
      expect(d.body.observedGeneration).to.equal(r.body.observedGeneration + 1);

      const b = await get('/v1/workloads/wl-b/status');
      expect(b.body.phase).to.equal('Degraded');
    });

    it('serves a workload status computed on demand for a workload added after start', async () => {
      await insertWorkloads(db, ['wl-new']);
      const r = await get('/v1/workloads/wl-new/status');
      expect(r.status).to.equal(200);
      expect(r.body).to.include({ workloadId: 'wl-new', phase: 'Pending' });
      expect(r.body.conditions[0]).to.include({ reason: 'NoReplicas' });
    });

    it('serves the transition history, paged both ways', async () => {
      await insertWorkloads(db, ['wl-hist']);
      await insertRows(db, [['wl-hist:web', 'wl-hist', 'running', 'ch1']]);
      const seq = ['stopped', 'running', 'paused', 'running', 'stopped', 'missing', 'running'] as const;
      let from: (typeof seq)[number] | 'running' = 'running';
      for (const to of seq) {
        svc.rowsChanged([await transition(db, 'wl-hist:web', 'wl-hist', from, to)]);
        from = to;
      }
      await svc.flush();
      const asc = await get('/v1/workloads/wl-hist/events?limit=3');
      expect(asc.body.items.map((e: { to: string }) => e.to)).to.deep.equal(['stopped', 'running', 'paused']);
      expect(asc.body.items[0]).to.include({ rowId: 'wl-hist:web', workloadId: 'wl-hist', from: 'running', to: 'stopped', reason: 'observed' });
      const allAsc = await walk('/v1/workloads/wl-hist/events', 2);
      const allDesc = await walk('/v1/workloads/wl-hist/events?order=desc', 3);
      expect(allAsc).to.have.length(seq.length);
      expect(allDesc).to.deep.equal([...allAsc].reverse());
      const full = await get('/v1/workloads/wl-hist/events');
      expect(full.body.items.map((e: { to: string }) => e.to)).to.deep.equal([...seq]);
      expect(full.body.nextCursor).to.equal(null);
      const empty = await get('/v1/workloads/wl-a/events');
      expect(empty.body).to.deep.equal({ items: [], nextCursor: null });
    });

    it('answers 404 for an unknown workload and an unknown route', async () => {
      for (const path of ['/v1/workloads/nope/status', '/v1/workloads/nope/events', '/v1/workloads/%F0%9F%9A%80/status']) {
        const r = await get(path);
        expect(r.status, path).to.equal(404);
        expect(r.body.error.message).to.match(/not found/);
      }
      const r = await fetch(`${open.base}/api/v1/nothing-here`);
      expect(r.status).to.equal(404);
      expect(((await r.json()) as any).error.status).to.equal(404);
    });

    it('answers 400 with a clear message for bad query values', async () => {
      const cases: Array<[string, RegExp]> = [
        ['/v1/containers?limit=0', /limit: expected an integer from 1 to 500, got "0"/],
        ['/v1/containers?limit=501', /limit: .*"501"/],
        ['/v1/containers?limit=abc', /limit: .*"abc"/],
        ['/v1/containers?limit=1.5', /limit/],
        ['/v1/containers?limit=-1', /limit/],
        ['/v1/containers?limit=', /limit/],
        ['/v1/containers?state=exploded', /state: expected one of running, stopped, created, restarting, paused, removing, missing, got "exploded"/],
        ['/v1/containers?state=', /state/],
        ['/v1/containers?workload=', /workload: expected 1 to 191 characters/],
        ['/v1/containers?host=', /host/],
        ['/v1/containers?cursor=%21%21%21', /cursor: not a cursor of this endpoint/],
        ['/v1/containers?cursor=abc', /cursor/],
        [`/v1/containers?cursor=${encodeCursor('ea', '5')}`, /cursor/],
        ['/v1/containers?state=running&state=stopped', /state: give it once/],
        ['/v1/containers?colour=blue', /unknown query parameter "colour" \(expected workload, state, host, cursor, limit\)/],
        ['/v1/workloads/wl-a/status?verbose=1', /unknown query parameter "verbose"/],
        ['/v1/workloads/wl-a/events?order=sideways', /order: expected asc or desc, got "sideways"/],
        ['/v1/workloads/wl-a/events?limit=1000', /limit/],
        [`/v1/workloads/wl-a/events?order=desc&cursor=${encodeCursor('ea', '5')}`, /cursor/],
        [`/v1/workloads/wl-a/events?cursor=${encodeCursor('ea', 'x')}`, /cursor/],
        [`/v1/workloads/wl-a/events?cursor=${encodeCursor('c', 'wl-a:r000')}`, /cursor/],
        ['/v1/refusals?reason=exploded', /reason: expected one of .*conflict.*, got "exploded"/],
        ['/v1/refusals?reason=', /reason/],
        ['/v1/refusals?host=', /host: expected 1 to 255 characters/],
        ['/v1/refusals?workload=', /workload: expected 1 to 191 characters/],
        [`/v1/refusals?workload=${'w'.repeat(192)}`, /workload: expected 1 to 191 characters, got 192/],
        ['/v1/refusals?limit=0', /limit: expected an integer from 1 to 500/],
        ['/v1/refusals?limit=501', /limit/],
        ['/v1/refusals?reason=conflict&reason=unknown_workload', /reason: give it once/],
        ['/v1/refusals?containerId=x', /unknown query parameter "containerId" \(expected host, reason, workload, cursor, limit\)/],
        [`/v1/refusals?cursor=${encodeCursor('c', 'wl-a:r000')}`, /cursor: not a cursor of this endpoint/],
        [`/v1/refusals?cursor=${encodeCursor('r', 'not json')}`, /cursor/],
        [`/v1/refusals?cursor=${encodeCursor('r', '["h1"]')}`, /cursor/],
        [`/v1/refusals?cursor=${encodeCursor('r', '["h1", 5]')}`, /cursor/],
        [`/v1/refusals?cursor=${encodeCursor('r', '["h1", ""]')}`, /cursor/],
        [`/v1/containers?cursor=${encodeCursor('r', '["h1","c1"]')}`, /cursor/],
      ];
      for (const [path, msg] of cases) {
        const r = await get(path);
        expect(r.status, path).to.equal(400);
        expect(r.body.error.message, path).to.match(msg);
      }
    });

    it('is read-only: other methods get 405', async () => {
      for (const path of ['/v1/containers', '/v1/refusals']) {
        for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
          const r = await fetch(`${open.base}/api${path}`, { method });
          expect(r.status, `${method} ${path}`).to.equal(405);
          expect(r.headers.get('allow')).to.equal('GET, HEAD');
        }
      }
    });

    it('with API_TOKEN: every /api call needs the bearer token; probes and metrics stay open', async () => {
      for (const path of ['/v1/containers', '/v1/refusals', '/v1/workloads/wl-a/status', '/v1/workloads/nope/events', '/v1/openapi.json']) {
        const none = await get(path, { on: locked });
        expect(none.status, path).to.equal(401);
        expect(none.headers.get('www-authenticate')).to.equal('Bearer realm="tinyforge-reconciler"');
        expect(none.body.error.message).to.equal('missing bearer token');
        const wrong = await get(path, { on: locked, headers: { authorization: `Bearer ${TOKEN}x` } });
        expect(wrong.status).to.equal(401);
        expect(wrong.headers.get('www-authenticate')).to.match(/error="invalid_token"/);
      }
      for (const h of [TOKEN.slice(0, -1), '', `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, `Bearer`, `Bearer ${TOKEN} extra`, TOKEN]) {
        const r = await fetch(`${locked.base}/api/v1/containers`, { headers: { authorization: h } });
        expect(r.status, `Authorization: ${h}`).to.equal(401);
      }
      const ok = await get('/v1/containers?limit=2', { on: locked, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).to.equal(200);
      expect(ok.body.items).to.have.length(2);
      const refusals = await get('/v1/refusals', { on: locked, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(refusals.status).to.equal(200);
      const lower = await get('/v1/workloads/wl-a/status', { on: locked, headers: { authorization: `bearer ${TOKEN}` } });
      expect(lower.status, 'the scheme is case-insensitive').to.equal(200);
      const unknown = await fetch(`${locked.base}/api/v1/nothing-here`);
      expect(unknown.status, 'no probing for routes without the token').to.equal(401);
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        expect((await fetch(`${locked.base}${path}`)).status, path).to.equal(200);
      }
    });

    it('without API_TOKEN: the API is open', async () => {
      const r = await get('/v1/containers?limit=1');
      expect(r.status).to.equal(200);
      const withJunk = await get('/v1/containers?limit=1', { headers: { authorization: 'Bearer whatever' } });
      expect(withJunk.status).to.equal(200);
      expect((await fetch(`${open.base}/healthz`)).status).to.equal(200);
    });

    it('answers 503 while the database is not connected yet', async () => {
      const early = await serve('', () => undefined);
      try {
        for (const path of ['/v1/containers', '/v1/refusals']) {
          const r = await fetch(`${early.base}/api${path}`);
          expect(r.status).to.equal(503);
          const body = (await r.json()) as any;
          expect(body.error.message).to.match(/not connected/);
          expect(validate(doc, responseSchema(doc, 'GET', path, 503), body)).to.deep.equal([]);
        }
      } finally {
        await early.server.close();
      }
    });
  });
}
