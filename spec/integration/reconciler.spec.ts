import { expect } from 'chai';
import { sharedDockerd, type PrivateDockerd } from '../support/dockerd.js';
import { sharedMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { counter, startTestApp, type TestApp } from '../support/app.js';

interface Row {
  id: string;
  workload_id: string;
  workload_kind: string;
  role: string;
  container_id: string;
  image_ref: string;
  host: string;
  state: string;
  port: number;
  last_seen_at: Date | null;
  deploy_note?: string | null;
}

const HOST = 'it-host';
/** Derived row IDs on a host other than `local` carry the host (docs/architecture.md). */
const rid = (id: string) => `${id}@${HOST}`;

/**
 * The whole service end to end against a real private Docker engine and a real throwaway
 * MariaDB: no mock anywhere.
 */
describe('reconciler end to end (real dockerd + MariaDB)', function () {
  this.timeout(180_000);
  let docker: PrivateDockerd;
  let maria: MariaDbServer;
  let url: string;
  let db: string;
  let t: TestApp | undefined;

  const rows = async (): Promise<Row[]> => maria.query(`SELECT * FROM \`${db}\`.containers ORDER BY id`);
  const rowFor = async (containerId: string): Promise<Row | undefined> => (await rows()).find((r) => r.container_id === containerId);
  const start = async () => {
    t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: HOST, WORKERS: '4' });
    return t;
  };
  const pass = async () => {
    const r = await t!.app.runPassNow();
    expect(r.ok, `pass failed: ${r.error}`).to.equal(true);
    return r;
  };

  before(async () => {
    [docker, maria] = await Promise.all([sharedDockerd(), sharedMariaDb()]);
    await docker.removeAllContainers();
    url = await maria.createDatabase('it_core');
    db = new URL(url).pathname.slice(1);
    await start(); // migrates
    await maria.query(`ALTER TABLE \`${db}\`.containers ADD COLUMN deploy_note VARCHAR(64) NULL`);
    await maria.query(
      `INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ('wl-proj','project','proj-1','shop'),('wl-site','site','site-1','docs'),('wl-stack','stack','stack-1','blog'),('wl-uni','project','proj-2','uni')`,
    );
    await maria.query(`INSERT INTO \`${db}\`.stacks (id, name, compose_project_name) VALUES ('stack-1','blog','tinyforge-blog')`);
  });

  after(async () => {
    await t?.stop();
    await docker?.removeAllContainers();
  });

  it('writes rows for all three dispatch kinds, in every state, and ignores what is not ours', async () => {
    const proj = await docker.runContainer({ name: 'proj-blue', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-proj', 'tinyforge.workload.kind': 'project', 'tinyforge.role': 'blue' } });
    const site = await docker.runContainer({ name: 'site', labels: { 'tinyforge.managed': 'true', 'tinyforge.static-site': 'site-1' }, createOnly: true });
    const exited = await docker.runContainer({ name: 'proj-green', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-proj', 'tinyforge.role': 'green' }, cmd: ['true'], detach: false });
    const unmanaged = await docker.runContainer({ name: 'stranger', labels: { app: 'other' } });
    const forged = await docker.runContainer({ name: 'forged', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'does-not-exist', 'tinyforge.role': 'x' } });
    await docker.compose('tinyforge-blog', composeYaml(['web', 'worker']), ['up', '-d', '--scale', 'web=2']);
    await docker.compose('otherapp', composeYaml(['db']), ['up', '-d']);

    const unmatchedBefore = await counter(t!, 'tinyforge_reconciler_unmatched_containers_total{reason="unknown_workload"}');
    await pass();
    const all = await rows();
    const byId = new Map(all.map((r) => [r.id, r]));

    expect(byId.get(rid('wl-proj:blue'))).to.include({ workload_id: 'wl-proj', workload_kind: 'project', role: 'blue', container_id: proj, state: 'running', host: HOST, image_ref: docker.image });
    expect(byId.get(rid('wl-proj:green'))).to.include({ container_id: exited, state: 'stopped', workload_kind: 'project' });
    expect(byId.get(rid('wl-site:site'))).to.include({ workload_kind: 'site', role: '', container_id: site, state: 'created' });
    expect(byId.get(rid('wl-stack:web'))).to.include({ workload_kind: 'stack', role: 'web', state: 'running' });
    expect(byId.get(rid('wl-stack:web:2'))).to.include({ workload_kind: 'stack', role: 'web', state: 'running' });
    expect(byId.get(rid('wl-stack:worker'))).to.include({ role: 'worker', state: 'running' });
    expect(byId.get(rid('wl-stack:web'))!.container_id).not.to.equal(byId.get(rid('wl-stack:web:2'))!.container_id);
    for (const r of all) expect(r.last_seen_at, r.id).to.be.instanceOf(Date);
    expect(all.map((r) => r.container_id)).not.to.include.members([unmanaged, forged]);
    expect(all).to.have.length(6);
    // The forged container is refused: counted once (by its event or by this pass), listed with
    // its reason, and not counted again by later passes.
    const counted = await counter(t!, 'tinyforge_reconciler_unmatched_containers_total{reason="unknown_workload"}');
    expect(counted).to.be.at.least(1);
    await pass();
    expect(await counter(t!, 'tinyforge_reconciler_unmatched_containers_total{reason="unknown_workload"}'), 'a refusal is counted once, not per pass').to.equal(counted);
    expect(unmatchedBefore).to.be.at.most(counted);
    const refusals = (await (await fetch(`${t!.baseUrl}/api/v1/refusals?host=${HOST}`)).json()) as { items: Array<{ containerId: string; reason: string; workloadId: string }> };
    expect(refusals.items.find((r) => r.containerId === forged)).to.include({ reason: 'unknown_workload', workloadId: 'does-not-exist' });
    expect(refusals.items.map((r) => r.containerId), 'containers that are not ours are never listed').not.to.include(unmanaged);
    await docker.compose('otherapp', composeYaml(['db']), ['down']);
  });

  it('marks a removed container missing and leaves unbound pre-created rows alone', async () => {
    await maria.query(`INSERT INTO \`${db}\`.containers (id, workload_id, workload_kind, role, container_id, host, state) VALUES ('pre-1','wl-proj','project','canary','', ?, 'created')`, [HOST]);
    const victim = await docker.runContainer({ name: 'victim', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-proj', 'tinyforge.role': 'victim' } });
    await pass();
    expect((await rowFor(victim))!.state).to.equal('running');
    await docker.docker(['rm', '-f', victim]);
    await pass();
    const r = (await rows()).find((x) => x.id === rid('wl-proj:victim'))!;
    expect(r.state).to.equal('missing');
    expect(r.container_id, 'the binding is kept for the record').to.equal(victim);
    const pre = (await rows()).find((x) => x.id === 'pre-1')!;
    expect(pre).to.include({ state: 'created', container_id: '' });
  });

  it('keeps deployer-assigned row IDs and deployer-owned columns', async () => {
    // The deployer's order: pre-create the row (empty container_id, no host yet), docker create,
    // bind the row. The service is down meanwhile so no event races the binding.
    await t!.stop();
    await maria.query(`INSERT INTO \`${db}\`.containers (id, workload_id, workload_kind, role, container_id, host, state, deploy_note) VALUES ('5b0d-uuid','wl-proj','project','canary2','', '', 'created', 'keep me')`);
    const c = await docker.runContainer({ name: 'proj-canary', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-proj', 'tinyforge.role': 'canary2' } });
    await maria.query(`UPDATE \`${db}\`.containers SET container_id = ? WHERE id = '5b0d-uuid'`, [c]);
    await start();
    await pass();
    const r = (await rows()).find((x) => x.container_id === c)!;
    expect(r.id).to.equal('5b0d-uuid');
    expect(r.state).to.equal('running');
    expect(r.host, 'adopted by this agent').to.equal(HOST);
    expect(r.deploy_note).to.equal('keep me');
    expect((await rows()).filter((x) => x.container_id === c)).to.have.length(1);
    // A later change keeps both the ID and the deployer's column.
    await docker.docker(['stop', '-t', '1', c]);
    await pass();
    const after = (await rows()).find((x) => x.container_id === c)!;
    expect(after).to.include({ id: '5b0d-uuid', state: 'stopped', deploy_note: 'keep me' });
  });

  it('stores a unicode role and a role full of SQL metacharacters verbatim; a 10,000-character label does not break the pass', async () => {
    const hostile = "'); DROP TABLE containers;-- \\ % _ \" `";
    const uni = await docker.runContainer({ labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-uni', 'tinyforge.role': 'фронт-🚀-東京' } });
    const sql = await docker.runContainer({ labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-uni', 'tinyforge.role': hostile } });
    const huge = await docker.runContainer({ labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-uni', 'tinyforge.role': 'r'.repeat(10_000), note: 'n'.repeat(10_000) } });
    const bigNote = await docker.runContainer({ labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-uni', 'tinyforge.role': 'noted', description: 'd'.repeat(10_000) } });
    await pass();
    expect((await rowFor(uni))!.role).to.equal('фронт-🚀-東京');
    expect((await rowFor(uni))!.id).to.equal(rid('wl-uni:фронт-🚀-東京'));
    expect((await rowFor(sql))!.role).to.equal(hostile);
    expect(await rowFor(huge), 'a role longer than its column is refused, not truncated').to.equal(undefined);
    expect((await rowFor(bigNote))!.state).to.equal('running');
    expect(await counter(t!, 'tinyforge_reconciler_unmatched_containers_total{reason="value_too_long"}')).to.be.at.least(1);
    const refusals = (await (await fetch(`${t!.baseUrl}/api/v1/refusals?reason=value_too_long`)).json()) as { items: Array<{ containerId: string; detail: string }> };
    expect(refusals.items.find((r) => r.containerId === huge)?.detail).to.match(/role/);
    const [{ n }] = await maria.query(`SELECT COUNT(*) AS n FROM \`${db}\`.containers`);
    expect(Number(n)).to.be.greaterThan(5);
  });

  it('never duplicates rows across many passes and a restart of the service', async () => {
    await pass();
    const before = await rows();
    for (let i = 0; i < 5; i++) await pass();
    await t!.stop();
    await start();
    await pass();
    await pass();
    const after = await rows();
    expect(after.map((r) => r.id)).to.deep.equal(before.map((r) => r.id));
    const ids = after.filter((r) => r.container_id !== '').map((r) => r.container_id);
    expect(new Set(ids).size, 'one row per container').to.equal(ids.length);
    for (const r of after) {
      const b = before.find((x) => x.id === r.id)!;
      expect({ ...r, last_seen_at: null }).to.deep.equal({ ...b, last_seen_at: null });
    }
  });

  it('a steady pass costs a constant number of statements and rows whatever the number of containers; an outside write makes the next pass read the host in full', async () => {
    // A max age far longer than the test, so that no row's refresh falls due while it measures.
    await t!.stop();
    t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: HOST, LAST_SEEN_MAX_AGE: '24h' });
    for (let i = 0; i < 12; i++) await docker.runContainer({ labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-proj', 'tinyforge.role': `steady-${i}` } });
    await pass();
    await pass();
    const status = async () => {
      const rs = (await maria.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_select','Com_insert','Com_update','Com_delete')")) as Array<{ Variable_name: string; Value: string }>;
      return Object.fromEntries(rs.map((r) => [r.Variable_name, Number(r.Value)]));
    };
    const reads = (reason: string) => counter(t!, `tinyforge_reconciler_host_snapshot_reads_total{reason="${reason}"}`);
    const changedBefore = await reads('changed');
    const seenAt = async () => ((await maria.query(`SELECT id, last_seen_at FROM \`${db}\`.containers ORDER BY id`)) as Array<{ id: string; last_seen_at: Date | null }>).map((r) => `${r.id}=${r.last_seen_at?.getTime()}`);
    // Let the status flush of the last pass land before measuring.
    await new Promise((r) => setTimeout(r, 300));
    const seenBefore = await seenAt();
    const a = await status();
    await pass();
    const b = await status();
    // Minus the SHOW that read the figures (counted as a select by MariaDB).
    const selects = b.Com_select! - a.Com_select! - 1;
    expect(selects, 'the clock, the desired-state checksum, the host checksum').to.be.at.most(3);
    expect(b.Com_update! - a.Com_update! + b.Com_delete! - a.Com_delete!, 'no update: nothing changed, nothing due').to.equal(0);
    expect(b.Com_insert! - a.Com_insert!, 'the heartbeat').to.equal(1);
    expect(await seenAt(), 'no last_seen_at rewritten').to.deep.equal(seenBefore);
    expect(await reads('changed')).to.equal(changedBefore);
    const [beat] = (await maria.query(`SELECT host, containers, bound_rows, passes FROM \`${db}\`.hosts`)) as Array<{ host: string; containers: number; bound_rows: number; passes: number }>;
    expect(beat).to.include({ host: HOST });
    expect(beat!.bound_rows).to.be.at.least(12);

    // Another program rebinds one of our rows to a container that does not exist: the index
    // cannot know it without reading.
    const victim = (await rows()).find((r) => r.role === 'steady-3')!;
    await maria.query(`UPDATE \`${db}\`.containers SET container_id = 'f00d' WHERE id = ?`, [victim.id]);
    await pass();
    expect(await reads('changed')).to.equal(changedBefore + 1);
    const fixed = (await rows()).find((r) => r.id === victim.id)!;
    // The container it named is gone and its own container is alive: the pass that read the
    // change gives the row back to it.
    expect(fixed).to.include({ container_id: victim.container_id, state: 'running' });
  });

  it('LAST_SEEN_MAX_AGE=0 refreshes last_seen_at of every unchanged row at every pass (one statement)', async () => {
    await t!.stop();
    t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: HOST, LAST_SEEN_MAX_AGE: '0' });
    const c = await docker.runContainer({ labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-proj', 'tinyforge.role': 'seen' } });
    await pass();
    const first = (await rowFor(c))!.last_seen_at!.getTime();
    await new Promise((r) => setTimeout(r, 30));
    const touches = await counter(t, 'tinyforge_reconciler_write_statements_total{kind="touch"}');
    await pass();
    const second = (await rowFor(c))!.last_seen_at!.getTime();
    expect(second).to.be.greaterThan(first);
    expect(await counter(t, 'tinyforge_reconciler_write_statements_total{kind="touch"}')).to.equal(touches + 1);
  });
});

function composeYaml(services: string[]): string {
  return `version: "2.4"\nservices:\n${services.map((s) => `  ${s}:\n    image: tinyforge-busybox:latest\n    command: ["sleep", "3600"]\n    network_mode: none\n    stop_grace_period: 1s\n`).join('')}`;
}

