import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { APP_PASSWORD, APP_USER, sharedGalera, type GaleraCluster } from '../support/galera.js';
import { eventually } from '../support/app.js';
import { processAlive, sleep } from '../support/proc.js';

/**
 * The test cluster itself (spec/support/galera.ts): nodes that crash, stop, rejoin by IST or by a
 * full SST, a cluster that lost its majority, and nothing left behind. Uses the shared cluster and
 * leaves every node Synced.
 */
describe('Galera test cluster (spec/support/galera.ts)', function () {
  this.timeout(240_000);
  let cluster: GaleraCluster;
  let db: string;
  const count = async (node: number) => Number(((await cluster.nodes[node]!.query(`SELECT COUNT(*) AS n FROM \`${db}\`.t`)) as Array<{ n: number }>)[0]!.n);

  before(async () => {
    cluster = await sharedGalera();
    db = await cluster.createDatabase('g_fixture');
    await cluster.query(`CREATE TABLE \`${db}\`.t (id INT PRIMARY KEY, v VARCHAR(16))`);
  });
  after(async () => {
    if (cluster) await cluster.startAll();
  });

  it('three Synced nodes of one Primary component; a write on one node is read on every other', async () => {
    const states = await Promise.all(cluster.nodes.map((n) => n.status()));
    expect(states.map((s) => [s.state, s.ready, s.clusterStatus, s.clusterSize])).to.deep.equal(cluster.nodes.map(() => ['Synced', true, 'Primary', 3]));
    expect(new Set(states.map((s) => s.clusterStateUuid)).size, 'one history').to.equal(1);
    await cluster.nodes[0]!.query(`INSERT INTO \`${db}\`.t VALUES (1, 'a')`);
    expect([await count(1), await count(2)]).to.deep.equal([1, 1]);
    expect(cluster.url(db)).to.equal(`mysql://root:tf-secret-pw@${cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}/${db}`);
  });

  it('the unprivileged service account exists on every node: it writes data, and may not grant', async () => {
    for (const n of cluster.nodes) {
      const conn = await createConnection({ host: '127.0.0.1', port: n.port, user: APP_USER, password: APP_PASSWORD, database: db });
      try {
        await conn.query('INSERT INTO t VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', [100 + n.index, n.name]);
        const denied = await conn.query(`GRANT SELECT ON *.* TO '${APP_USER}'@'%'`).catch((e: { code?: string }) => e.code);
        expect(denied).to.equal('ER_ACCESS_DENIED_ERROR');
      } finally {
        await conn.end();
      }
    }
    expect(cluster.nodes[0]!.appUrl(db)).to.equal(`mysql://tinyforge:tf-app-pw@127.0.0.1:${cluster.nodes[0]!.port}/${db}`);
    await cluster.query(`DELETE FROM \`${db}\`.t WHERE id >= 100`);
  });

  it('kill(): the others evict the node and go on; start() rejoins by IST with what it missed', async () => {
    const victim = cluster.nodes[1]!;
    const pid = victim.pid;
    await victim.kill();
    expect(processAlive(pid), 'SIGKILLed by PID').to.equal(false);
    expect((await victim.status()).running).to.equal(false);
    const t0 = Date.now();
    await cluster.nodes[0]!.query(`INSERT INTO \`${db}\`.t VALUES (2, 'while down')`);
    const stallMs = Date.now() - t0;
    // Every survivor installs the new view; the other one may report it a moment later on a loaded machine.
    await eventually(async () => (await cluster.nodes[2]!.status()).clusterSize === 2, 'the other survivor sees a cluster of 2', 30_000);
    await victim.start();
    expect(victim.lastStart?.transfer, 'the crash position recovered from InnoDB, so IST').to.equal('ist');
    expect(await count(1)).to.equal(2);
    console.log(`      [galera fixture] a write on a survivor waited ${stallMs} ms for the eviction; the rejoin took ${victim.lastStart?.ms} ms`);
  });

  it('stop(): a clean leave (the cluster shrinks at once); start() rejoins by IST', async () => {
    const node = cluster.nodes[2]!;
    await node.stop();
    await eventually(async () => (await cluster.nodes[0]!.status()).clusterSize === 2, 'the cluster shrinks to 2 after a clean leave', 30_000);
    await cluster.nodes[0]!.query(`INSERT INTO \`${db}\`.t VALUES (3, 'while stopped')`);
    await node.start();
    expect(node.lastStart?.transfer).to.equal('ist');
    expect(await count(2)).to.equal(3);
  });

  it('start({ forceSst: true }): a node with another history receives a full SST', async () => {
    const node = cluster.nodes[1]!;
    await node.stop();
    await node.start({ forceSst: true });
    expect(node.lastStart?.transfer).to.equal('sst');
    expect(await count(1)).to.equal(3);
  });

  it('a killed majority leaves the survivor non-Primary; startAll() makes it Primary again and brings the others back', async () => {
    await Promise.all([cluster.nodes[0]!.kill(), cluster.nodes[1]!.kill()]);
    const survivor = cluster.nodes[2]!;
    let s = await survivor.status();
    for (let i = 0; i < 100 && s.clusterStatus === 'Primary'; i++) {
      await sleep(100);
      s = await survivor.status();
    }
    expect([s.clusterStatus, s.ready]).to.deep.equal(['non-Primary', false]);
    const refused = await survivor.query(`SELECT COUNT(*) FROM \`${db}\`.t`).catch((e: { code?: string }) => e.code);
    expect(refused).to.equal('ER_UNKNOWN_COM_ERROR');
    await cluster.startAll();
    expect(cluster.running).to.equal(true);
    expect(await count(0)).to.equal(3);
  });

  it('nothing outlives a test process that is SIGKILLed: its nodes die with it (parent-death signal)', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('../support/galera-child.js', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the child did not start its cluster: ${out}`)), 120_000);
      child.stdout!.on('data', () => {
        const l = out.split('\n').find((x) => x.startsWith('{'));
        if (l) {
          clearTimeout(t);
          resolve(l);
        }
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}): ${out}`)));
    });
    const { pids, rootDir } = JSON.parse(line) as { pids: number[]; rootDir: string };
    expect(pids.every(processAlive)).to.equal(true);
    child.kill('SIGKILL');
    let alive = pids.filter(processAlive);
    for (let i = 0; i < 50 && alive.length > 0; i++) {
      await sleep(100);
      alive = pids.filter(processAlive);
    }
    expect(alive, 'mariadbd processes left running').to.deep.equal([]);
    fs.rmSync(rootDir, { recursive: true, force: true });
  });
});
