import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import type { RowChange } from '../../src/domain/changes.js';
import { silentLogger } from '../../src/log.js';
import { WorkloadStatusService, type WorkloadStatusOptions } from '../../src/status/workload-status.service.js';
import { Database, parseDbTime } from '../../src/store/database.js';
import { StatusRepository, type StoredStatus } from '../../src/store/status.repository.js';
import { eventually } from '../support/app.js';
import { DB_TARGETS, insertRefusals, insertRows, insertWorkloads, RecordingDb, RecordingGauge, transition } from './support.js';

const DAY = 86_400_000;

for (const target of DB_TARGETS) {
  describe(`workload status service on ${target.name}`, function () {
    this.timeout(120_000);
    let db: Database;
    let rec: RecordingDb;
    let repo: StatusRepository;
    /** Reads for assertions, outside the recording. */
    let reader: StatusRepository;
    let gauge: RecordingGauge;
    let svc: WorkloadStatusService;

    const newService = (opts: Partial<WorkloadStatusOptions> = {}) => new WorkloadStatusService(repo, silentLogger(), { eventRetentionMs: DAY, debounceMs: 20, fullRecomputeEveryMs: 0, ...opts }, gauge);
    const status = async (id: string): Promise<StoredStatus> => {
      const s = (await reader.listStatuses()).find((x) => x.workloadId === id);
      expect(s, `status row of ${id}`).to.not.equal(undefined);
      return s!;
    };
    const ready = (s: StoredStatus) => s.conditions.find((c) => c.type === 'Ready')!;
    const conflict = (s: StoredStatus) => s.conditions.find((c) => c.type === 'Conflict')!;

    before(async () => {
      db = await Database.connect(loadConfig({ DATABASE_URL: await target.url() }).database);
      await db.migrate();
    });
    after(async () => {
      await db?.close();
    });
    beforeEach(async () => {
      for (const t of ['container_events', 'workload_status', 'containers', 'workloads', 'container_refusals']) await db.query(`DELETE FROM \`${t}\``);
      rec = new RecordingDb(db);
      repo = new StatusRepository(rec);
      reader = new StatusRepository(db);
      gauge = new RecordingGauge();
      await insertWorkloads(db, ['wl-proj', 'wl-stack', 'wl-slots', 'wl-empty']);
      await insertRows(db, [
        ['wl-proj:web', 'wl-proj', 'running', 'c1'],
        ['wl-proj:db', 'wl-proj', 'running', 'c2'],
        ['wl-stack:web', 'wl-stack', 'running', 'c3'],
        ['wl-stack:web:2', 'wl-stack', 'running', 'c4'],
        ['wl-stack:worker', 'wl-stack', 'running', 'c5'],
        ['wl-slots:web', 'wl-slots', 'created', ''],
        ['wl-slots:web:2', 'wl-slots', 'created', ''],
        // A row of a workload Tinyforge does not know: no status row is made for it.
        ['ghost:web', 'ghost', 'running', 'c9'],
      ]);
      svc = newService();
    });
    afterEach(async () => {
      await svc.stop();
    });

    it('computes every workload at start, with the gauge set from the table', async () => {
      await svc.start();
      const all = await reader.listStatuses();
      expect(all.map((s) => [s.workloadId, s.phase])).to.deep.equal([
        ['wl-empty', 'Pending'],
        ['wl-proj', 'Running'],
        ['wl-slots', 'Pending'],
        ['wl-stack', 'Running'],
      ]);
      expect((await status('wl-stack')).counts).to.deep.include({ desired: 3, running: 3, unbound: 0 });
      expect((await status('wl-slots')).counts).to.deep.include({ desired: 2, unbound: 2, created: 0, running: 0 });
      expect(ready(await status('wl-slots')).message).to.equal('2 of 2 not running: wl-slots:web (unbound), wl-slots:web:2 (unbound)');
      expect(all.every((s) => s.observedGeneration === 1)).to.equal(true);
      expect(gauge.values).to.deep.equal({ Pending: 2, Running: 2, Degraded: 0, Stopped: 0, Missing: 0 });
    });

    it('turns a stack Degraded naming the replica, back to Running moving the transition time, then Missing; each transition recorded once', async () => {
      await svc.start();
      const t0 = ready(await status('wl-stack')).lastTransitionTime;
      await new Promise((r) => setTimeout(r, 15));

      svc.rowsChanged([await transition(db, 'wl-stack:web:2', 'wl-stack', 'running', 'stopped')]);
      await svc.flush();
      let s = await status('wl-stack');
      expect(s.phase).to.equal('Degraded');
      expect(ready(s)).to.include({ status: 'False', reason: 'ReplicasNotRunning', message: '1 of 3 not running: wl-stack:web:2 (stopped)' });
      expect(s.conditions.find((c) => c.type === 'Available')).to.include({ status: 'True' });
      const t1 = ready(s).lastTransitionTime;
      expect(Date.parse(t1)).to.be.greaterThan(Date.parse(t0));
      expect(s.observedGeneration).to.equal(2);
      expect(gauge.values).to.include({ Degraded: 1, Running: 1 });

      // Recomputing with nothing new keeps the status and the generation.
      svc.rowsChanged([{ rowId: 'wl-stack:web:2', workloadId: 'wl-stack', from: 'stopped', to: 'stopped', at: Date.now(), reason: 'observed' }]);
      await svc.flush();
      expect((await status('wl-stack')).observedGeneration).to.equal(2);
      expect(ready(await status('wl-stack')).lastTransitionTime).to.equal(t1);

      await new Promise((r) => setTimeout(r, 15));
      svc.rowsChanged([await transition(db, 'wl-stack:web:2', 'wl-stack', 'stopped', 'running')]);
      await svc.flush();
      s = await status('wl-stack');
      expect(s.phase).to.equal('Running');
      expect(ready(s).status).to.equal('True');
      expect(Date.parse(ready(s).lastTransitionTime), 'lastTransitionTime moves on the flip back').to.be.greaterThan(Date.parse(t1));
      expect(s.conditions.find((c) => c.type === 'Available')!.lastTransitionTime, 'Available never flipped').to.equal(t0);

      const gone = await Promise.all(['wl-stack:web', 'wl-stack:web:2', 'wl-stack:worker'].map((id) => transition(db, id, 'wl-stack', 'running', 'missing', 'container_gone')));
      svc.rowsChanged(gone);
      // The pass's sweep reports one of them again: not a new transition.
      svc.rowsChanged([{ ...gone[0]!, reason: 'sweep' }]);
      await svc.flush();
      s = await status('wl-stack');
      expect(s.phase).to.equal('Missing');
      expect(ready(s).reason).to.equal('ReplicasMissing');

      const events = (await reader.allEvents()).filter((e) => e.workloadId === 'wl-stack').map((e) => `${e.rowId} ${e.from}->${e.to} ${e.reason}`);
      expect(events).to.deep.equal([
        'wl-stack:web:2 running->stopped observed',
        'wl-stack:web:2 stopped->running observed',
        'wl-stack:web running->missing container_gone',
        'wl-stack:web:2 running->missing container_gone',
        'wl-stack:worker running->missing container_gone',
      ]);
    });

    it('flushes a burst of changes over many workloads with one statement of each kind', async () => {
      const ids = Array.from({ length: 60 }, (_, i) => `wl-b${String(i).padStart(2, '0')}`);
      await insertWorkloads(db, ids);
      await insertRows(db, ids.flatMap((id): Array<[string, string, string, string]> => [[`${id}:a`, id, 'running', `${id}-a`], [`${id}:b`, id, 'running', `${id}-b`]]));
      await svc.start();
      rec.take();

      const changes: RowChange[] = [];
      for (const id of ids) changes.push(await transition(db, `${id}:b`, id, 'running', 'stopped'));
      rec.take(); // the test's own UPDATEs
      // Many calls inside one debounce window: one flush.
      for (const c of changes) svc.rowsChanged([c]);
      await eventually(async () => (await reader.listStatuses()).filter((s) => s.phase === 'Degraded').length === ids.length, 'all degraded', 5000);
      await svc.flush();
      const many = rec.take();
      expect(many).to.deep.equal(['INSERT container_events', 'SELECT workloads', 'SELECT container_refusals', 'INSERT workload_status', 'SELECT workload_status']);

      // One workload changing costs exactly as many statements as sixty.
      svc.rowsChanged([await transition(db, `${ids[0]}:b`, ids[0]!, 'stopped', 'running')]);
      rec.take();
      await svc.flush();
      expect(rec.take()).to.have.length(many.length);
      expect((await reader.allEvents()).filter((e) => e.workloadId.startsWith('wl-b'))).to.have.length(61);
    });

    it('writes each statement kind once per batch (exact statements)', async () => {
      await svc.start();
      rec.take();
      svc.rowsChanged([await transition(db, 'wl-proj:db', 'wl-proj', 'running', 'paused'), await transition(db, 'wl-stack:web', 'wl-stack', 'running', 'stopped')]);
      rec.take();
      await svc.flush();
      const stmts = rec.statements.map((s) => s.replace(/\s+/g, ' '));
      expect(stmts).to.have.length(5);
      expect(stmts[0]).to.match(/^INSERT INTO `container_events` .* VALUES \(\?,\?,\?,\?,\?,\?\),\(\?,\?,\?,\?,\?,\?\)$/);
      expect(stmts[1]).to.match(/^SELECT g\.`workload_id`.* GROUP BY /);
      expect(stmts[1]).to.include('WHERE w.`id` IN (?,?)');
      if (db.dialect === 'mysql') expect(stmts[1], 'joins across tables name the collation').to.match(/ON c\.`workload_id` = w\.`id` COLLATE utf8mb4_\w+ .* ON s\.`workload_id` = g\.`workload_id` COLLATE utf8mb4_\w+$/);
      else expect(stmts[1]).to.not.include('COLLATE');
      expect(stmts[2]).to.match(/^SELECT r\.`workload_id`.* FROM `container_refusals` WHERE `reason` = 'conflict' AND `workload_id` IN \(\?,\?\)/);
      expect(stmts[3]).to.match(/^INSERT INTO `workload_status` .*\),\(.*(ON DUPLICATE KEY UPDATE|ON CONFLICT)/);
      expect(stmts[4]).to.match(/^SELECT `phase`, COUNT\(\*\)/);
      expect((await status('wl-proj')).phase).to.equal('Degraded');
      expect(ready(await status('wl-proj')).message).to.equal('1 of 2 not running: wl-proj:db (paused)');
    });

    it('shows conflicting claims as the Conflict condition and recomputes on refusalsChanged, in set-based statements', async () => {
      await svc.start();
      expect(conflict(await status('wl-proj'))).to.include({ status: 'False', reason: 'NoConflicts' });
      const t0 = conflict(await status('wl-proj')).lastTransitionTime;
      const gen0 = (await status('wl-proj')).observedGeneration;
      await insertRefusals(db, [
        { containerId: 'c-dup2', reason: 'conflict', workloadId: 'wl-proj', rowId: 'wl-proj:web', host: 'h2' },
        { containerId: 'c-dup1', reason: 'conflict', workloadId: 'wl-proj', rowId: 'wl-proj:web', host: 'h2' },
        { containerId: 'c-dup0', reason: 'conflict', workloadId: 'wl-proj', rowId: 'wl-proj:db' },
        // Other reasons, other workloads and unknown workloads do not make a conflict here.
        { containerId: 'c-long', reason: 'value_too_long', workloadId: 'wl-proj' },
        { containerId: 'c-ghost', reason: 'conflict', workloadId: 'ghost', rowId: 'ghost:web' },
      ]);
      await new Promise((r) => setTimeout(r, 15));
      rec.take();
      svc.refusalsChanged(['wl-proj', 'ghost', '']);
      await svc.flush();
      expect(rec.take(), 'no transition to record: status statements only').to.deep.equal(['SELECT workloads', 'SELECT container_refusals', 'INSERT workload_status', 'DELETE workload_status', 'SELECT workload_status']);
      let s = await status('wl-proj');
      expect(conflict(s)).to.include({
        status: 'True',
        reason: 'DuplicateClaim',
        message: '3 containers refused: container c-dup0 claims row wl-proj:db, container c-dup1 claims row wl-proj:web, container c-dup2 claims row wl-proj:web',
      });
      expect(Date.parse(conflict(s).lastTransitionTime)).to.be.greaterThan(Date.parse(t0));
      expect(s.phase, 'the phase still describes the rows').to.equal('Running');
      expect(ready(s).status).to.equal('True');
      expect(s.observedGeneration).to.equal(gen0 + 1);
      expect(conflict(await status('wl-stack')).status, 'untouched workload').to.equal('False');
      expect((await reader.listStatuses()).map((x) => x.workloadId), 'no status for an unknown workload').to.not.include('ghost');

      await db.query("DELETE FROM `container_refusals` WHERE `reason` = 'conflict' AND `workload_id` = 'wl-proj'");
      svc.refusalsChanged(['wl-proj']);
      await svc.flush();
      s = await status('wl-proj');
      expect(conflict(s)).to.include({ status: 'False', reason: 'NoConflicts' });
      expect(s.observedGeneration).to.equal(gen0 + 2);
    });

    it('computes conflicts of many workloads with one extra statement per batch, naming the first few of each', async () => {
      svc = newService({ batchSize: 25 });
      const ids = Array.from({ length: 60 }, (_, i) => `wl-c${String(i).padStart(2, '0')}`);
      await insertWorkloads(db, ids);
      await insertRefusals(db, ids.flatMap((id, i) => Array.from({ length: (i % 8) + 1 }, (_, k) => ({ containerId: `${id}-x${k}`, reason: 'conflict', workloadId: id, rowId: `${id}:web` }))));
      await svc.start();
      rec.take();
      svc.refusalsChanged(ids);
      await svc.flush();
      expect(rec.take()).to.deep.equal([
        ...['SELECT workloads', 'SELECT container_refusals', 'INSERT workload_status'],
        ...['SELECT workloads', 'SELECT container_refusals', 'INSERT workload_status'],
        ...['SELECT workloads', 'SELECT container_refusals', 'INSERT workload_status'],
        'SELECT workload_status',
      ]);
      for (const [i, id] of ids.entries()) {
        const n = (i % 8) + 1;
        const c = conflict(await status(id));
        expect(c.status, id).to.equal('True');
        expect(c.message.match(/claims row/g), id).to.have.length(Math.min(n, 5));
        expect(c.message.startsWith(`${n} container${n === 1 ? '' : 's'} refused: container ${id}-x0 claims row ${id}:web`), c.message).to.equal(true);
        if (n > 5) expect(c.message.endsWith(`and ${n - 5} more`), c.message).to.equal(true);
      }
    });

    it('the full recompute walks the workloads page by page (one batch in memory), and covers every workload', async () => {
      svc = newService({ batchSize: 25 });
      const ids = Array.from({ length: 60 }, (_, i) => `wl-p${String(i).padStart(2, '0')}`);
      await insertWorkloads(db, ids);
      rec.take();
      await svc.recomputeAll();
      const raw = [...rec.statements];
      const stmts = rec.take();
      // 60 workloads in pages of 25: three ID pages (25, 25, 10), each observed and upserted on its own.
      expect(raw.filter((x) => /^SELECT `id` FROM `workloads`/.test(x)), stmts.join(', ')).to.have.length(3);
      expect(stmts.filter((x) => x === 'INSERT workload_status'), stmts.join(', ')).to.have.length(3);
      const listed = (await reader.listStatuses()).map((x) => x.workloadId);
      for (const id of ids) expect(listed, id).to.include(id);
    });

    it('ignores refusalsChanged while stopped', async () => {
      await svc.start();
      await svc.stop();
      await insertRefusals(db, [{ containerId: 'c-dup', reason: 'conflict', workloadId: 'wl-proj', rowId: 'wl-proj:web' }]);
      rec.take();
      svc.refusalsChanged(['wl-proj']);
      await svc.flush();
      expect(rec.take()).to.deep.equal([]);
      expect(conflict(await status('wl-proj')).status).to.equal('False');
    });

    it('prunes transitions older than the retention in one statement', async () => {
      await svc.start();
      const now = Date.now();
      svc.rowsChanged([
        { rowId: 'wl-proj:web', workloadId: 'wl-proj', from: 'running', to: 'stopped', at: now - 3 * DAY, reason: 'observed' },
        { rowId: 'wl-proj:web', workloadId: 'wl-proj', from: 'stopped', to: 'running', at: now - 2 * DAY, reason: 'observed' },
        { rowId: 'wl-proj:web', workloadId: 'wl-proj', from: 'running', to: 'stopped', at: now - 1000, reason: 'observed' },
      ]);
      await svc.flush();
      expect(await reader.allEvents()).to.have.length(3);
      rec.take();
      expect(await svc.prune()).to.equal(2);
      expect(rec.take()).to.deep.equal(['DELETE container_events']);
      const left = await reader.allEvents();
      expect(left.map((e) => e.at)).to.deep.equal([now - 1000]);
      expect(await svc.prune(), 'idempotent').to.equal(0);
    });

    it('prunes at start too', async () => {
      await repo.insertEvents([{ rowId: 'wl-proj:web', workloadId: 'wl-proj', from: null, to: 'running', at: Date.now() - 2 * DAY, reason: 'created' }]);
      await svc.start();
      expect(await reader.allEvents()).to.deep.equal([]);
    });

    it('keeps the work of a failed flush and writes it exactly once on retry', async () => {
      await svc.start();
      rec.failNext = /^INSERT INTO `container_events`/;
      svc.rowsChanged([await transition(db, 'wl-proj:web', 'wl-proj', 'running', 'stopped')]);
      await svc.flush(); // fails, schedules a retry
      expect(await reader.allEvents()).to.deep.equal([]);
      await eventually(async () => (await reader.allEvents()).length === 1 && (await status('wl-proj')).phase === 'Degraded', 'retried flush', 5000);
      rec.failNext = /^INSERT INTO `workload_status`/;
      svc.rowsChanged([await transition(db, 'wl-proj:web', 'wl-proj', 'stopped', 'running')]);
      await svc.flush(); // events written, status upsert fails
      await eventually(async () => (await status('wl-proj')).phase === 'Running', 'status retried', 5000);
      const events = await reader.allEvents();
      expect(events.map((e) => `${e.from}->${e.to}`)).to.deep.equal(['running->stopped', 'stopped->running']);
    });

    it('computes a workload added after start on first read, and drops status rows of deleted workloads', async () => {
      await svc.start();
      await insertWorkloads(db, ['wl-late']);
      await insertRows(db, [['wl-late:web', 'wl-late', 'stopped', 'c-late']]);
      const s = await svc.getStatus('wl-late');
      expect(s).to.include({ workloadId: 'wl-late', phase: 'Stopped', observedGeneration: 1 });
      expect(await svc.getStatus('nope')).to.equal(undefined);

      await db.query("DELETE FROM `workloads` WHERE `id` = 'wl-proj'");
      svc.rowsChanged([await transition(db, 'wl-proj:web', 'wl-proj', 'running', 'stopped')]);
      await svc.flush();
      expect((await reader.listStatuses()).map((x) => x.workloadId)).to.not.include('wl-proj');
      await db.query("DELETE FROM `workloads` WHERE `id` = 'wl-empty'");
      await svc.recomputeAll();
      expect((await reader.listStatuses()).map((x) => x.workloadId)).to.deep.equal(['wl-late', 'wl-slots', 'wl-stack']);
      expect(gauge.values).to.include({ Pending: 1, Running: 1, Stopped: 1 });
    });

    it('debounces: nothing is written before the window ends, everything after', async () => {
      svc = newService({ debounceMs: 300 });
      await svc.start();
      svc.rowsChanged([await transition(db, 'wl-proj:web', 'wl-proj', 'running', 'stopped')]);
      await new Promise((r) => setTimeout(r, 50));
      expect(await reader.allEvents()).to.have.length(0);
      await eventually(async () => (await reader.allEvents()).length === 1, 'debounced flush', 3000);
      await eventually(async () => (await status('wl-proj')).phase === 'Degraded', 'status after the window', 3000);
    });

    it('writes what is buffered on stop and ignores changes after it', async () => {
      svc = newService({ debounceMs: 10_000 });
      await svc.start();
      svc.rowsChanged([await transition(db, 'wl-proj:web', 'wl-proj', 'running', 'stopped')]);
      await svc.stop();
      expect(await reader.allEvents()).to.have.length(1);
      expect((await status('wl-proj')).phase).to.equal('Degraded');
      svc.rowsChanged([await transition(db, 'wl-proj:web', 'wl-proj', 'stopped', 'running')]);
      await svc.flush();
      expect(await reader.allEvents()).to.have.length(1);
    });

    it('does not fail start when the database fails; completes the table in the background', async () => {
      rec.failNext = /^SELECT g\./;
      await svc.start();
      expect(await reader.listStatuses()).to.deep.equal([]);
      await eventually(async () => (await reader.listStatuses()).length === 4, 'the retried full recompute', 10_000);
    });

    it('can be started again after stop (a new leadership term)', async () => {
      await svc.start();
      await svc.stop();
      svc.rowsChanged([await transition(db, 'wl-proj:web', 'wl-proj', 'running', 'stopped')]);
      await svc.flush();
      expect(await reader.allEvents(), 'ignored while stopped').to.have.length(0);
      await svc.start();
      expect((await status('wl-proj')).phase, 'recomputed at start').to.equal('Degraded');
      svc.rowsChanged([await transition(db, 'wl-proj:web', 'wl-proj', 'stopped', 'running')]);
      await svc.flush();
      expect((await reader.allEvents()).map((e) => `${e.from}->${e.to}`)).to.deep.equal(['stopped->running']);
    });

    it('stores times as UTC with milliseconds', async () => {
      await svc.start();
      const at = Date.parse('2030-01-02T03:04:05.678Z');
      svc.rowsChanged([{ rowId: 'wl-proj:web', workloadId: 'wl-proj', from: null, to: 'running', at, reason: 'created' }]);
      await svc.flush();
      const { rows } = await db.query<{ at: unknown }>('SELECT `at` FROM `container_events`');
      expect(parseDbTime(rows[0]!.at)).to.equal(at);
    });
  });
}
