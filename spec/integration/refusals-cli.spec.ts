import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app.js';
import { sharedDockerd, type PrivateDockerd } from '../support/dockerd.js';
import { sharedMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { runCommand } from '../support/proc.js';

/**
 * Refusals a user can list without reading logs: `GET /api/v1/refusals`, and the real CLI
 * (`refusals`, `explain <container>`) as a separate process against the same dockerd and MariaDB.
 */
describe('refused containers: API, `refusals` and `explain` (real CLI, dockerd, MariaDB)', function () {
  this.timeout(120_000);
  let docker: PrivateDockerd;
  let maria: MariaDbServer;
  let url: string;
  let t: TestApp;
  let holder: string;
  let claimant: string;
  let forged: string;
  let stranger: string;
  const env = () => ({ ...process.env, DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: 'local', LOG_LEVEL: 'silent' });
  const cli = (...args: string[]) => runCommand(process.execPath, ['dist/src/cli.js', ...args], { env: env(), allowFail: true, timeoutMs: 30_000 });

  before(async () => {
    [docker, maria] = await Promise.all([sharedDockerd(), sharedMariaDb()]);
    await docker.removeAllContainers();
    url = await maria.createDatabase('refusals');
    t = await startTestApp({ DATABASE_URL: url, DOCKER_HOST: docker.dockerHost, HOST_NAME: 'local' });
    const db = new URL(url).pathname.slice(1);
    await maria.query(`INSERT INTO \`${db}\`.workloads (id, kind, ref_id, name) VALUES ('wl-r', 'project', 'p-r', 'r')`);
    const web = { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wl-r', 'tinyforge.workload.kind': 'project', 'tinyforge.role': 'web' };
    holder = await docker.runContainer({ name: 'rf-holder', labels: web });
    await t.app.runPassNow();
    claimant = await docker.runContainer({ name: 'rf-claimant', labels: web });
    forged = await docker.runContainer({ name: 'rf-forged', labels: { 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'no-such-workload', 'tinyforge.role': 'x' } });
    stranger = await docker.runContainer({ name: 'rf-stranger', labels: { app: 'other' } });
    const report = await t.app.runPassNow();
    expect(report.ok, report.error).to.equal(true);
  });

  after(async () => {
    await t?.stop();
    await docker?.removeAllContainers();
  });

  it('GET /api/v1/refusals lists each refused container once with its reason, row and holder', async () => {
    const body = (await (await fetch(`${t.baseUrl}/api/v1/refusals`)).json()) as { items: Array<Record<string, string>> };
    const byContainer = new Map(body.items.map((r) => [r.containerId, r]));
    expect(body.items).to.have.length(2);
    expect(byContainer.get(claimant)).to.include({ host: 'local', reason: 'conflict', rowId: 'wl-r:web', workloadId: 'wl-r', containerName: 'rf-claimant', dispatch: 'workload' });
    expect(byContainer.get(claimant)!.detail).to.contain(holder.slice(0, 12));
    expect(byContainer.get(forged)).to.include({ reason: 'unknown_workload', workloadId: 'no-such-workload' });
    expect(byContainer.has(stranger)).to.equal(false);
    const conflicts = (await (await fetch(`${t.baseUrl}/api/v1/refusals?reason=conflict`)).json()) as { items: unknown[] };
    expect(conflicts.items).to.have.length(1);
  });

  it('`refusals` prints the same from the database; --reason and --json filter and structure it', async () => {
    const text = await cli('refusals');
    expect(text.code, text.stderr).to.equal(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines).to.have.length(2);
    expect(lines.find((l) => l.includes(claimant.slice(0, 12)))).to.match(/\tconflict\twl-r:web\t/);
    expect(lines.find((l) => l.includes(forged.slice(0, 12)))).to.match(/\tunknown_workload\t/);
    const json = await cli('refusals', '--reason', 'conflict', '--json');
    expect(json.code, json.stderr).to.equal(0);
    const parsed = JSON.parse(json.stdout) as Array<{ containerId: string; reason: string; since: string }>;
    expect(parsed.map((r) => [r.containerId, r.reason])).to.deep.equal([[claimant, 'conflict']]);
    expect(Number.isNaN(Date.parse(parsed[0]!.since))).to.equal(false);
    expect((await cli('refusals', '--bogus')).code, 'an unknown option is refused').to.equal(2);
  });

  it('`explain` prints the dispatch path, the derived row, the rows found and why a container gets no row', async () => {
    const out = await cli('explain', 'rf-claimant');
    expect(out.code, out.stderr).to.equal(0);
    expect(out.stdout).to.contain('path        workload label: tinyforge.workload.id=wl-r, kind=project, role=web');
    expect(out.stdout).to.contain('derived ID  wl-r:web');
    expect(out.stdout).to.match(/derived row wl-r:web \(host local, state running, container [0-9a-f]{12}/);
    expect(out.stdout).to.contain(`REFUSED (conflict): row wl-r:web is held by live container ${holder.slice(0, 12)}`);
    expect(out.stdout).to.match(/recorded {4}refused since \d{4}-\d\d-\d\dT/);

    const ok = await cli('explain', holder.slice(0, 12));
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain('decision    row wl-r:web is up to date');
    expect(ok.stdout).to.contain('no refusal recorded');

    const json = await cli('explain', forged, '--json');
    const e = JSON.parse(json.stdout) as { decision: { ok: boolean; reason: string }; derivedId: string; candidate: boolean };
    expect(e).to.deep.include({ derivedId: '', candidate: true });
    expect(e.decision).to.include({ ok: false, reason: 'unknown_workload' });

    const notOurs = await cli('explain', stranger);
    expect(notOurs.stdout).to.contain('not listed');
    const none = await cli('explain', 'no-such-container-anywhere');
    expect(none.code).to.equal(1);
    expect(none.stderr).to.contain('no such container');
    expect((await cli('explain')).code, 'a container is required').to.equal(2);
  });

  it('a refusal ends when its cause does: the holder goes, the claimant takes the row, the list empties', async () => {
    await docker.docker(['rm', '-f', holder, forged]);
    const report = await t.app.runPassNow();
    expect(report.ok, report.error).to.equal(true);
    const body = (await (await fetch(`${t.baseUrl}/api/v1/refusals`)).json()) as { items: unknown[] };
    expect(body.items).to.deep.equal([]);
    const out = await cli('explain', claimant);
    expect(out.stdout).to.contain('decision    row wl-r:web is up to date');
    expect(await cli('refusals').then((r) => r.stdout.trim())).to.equal('no refused containers');
  });
});
