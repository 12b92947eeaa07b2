import { expect } from 'chai';
import type { QueryRunner } from 'typeorm';
import { loadConfig } from '../../src/config.js';
import { MIGRATIONS } from '../../src/store/data-source.js';
import { Database } from '../../src/store/database.js';
import { MIGRATION_LOCK_TABLE, MigrationLock } from '../../src/store/migration-lock.js';
import { sharedMariaDb, type MariaDbServer } from '../support/mariadb.js';

/**
 * The migration lock row on one MariaDB (the cluster-wide case, replicas on different Galera
 * nodes, is in spec/integration/galera.spec.ts): waiting, naming the holder, taking over a lock
 * whose holder died, and the heartbeat that keeps a long migration's lock.
 */
describe('migration lock (src/store/migration-lock.ts) on MariaDB', function () {
  this.timeout(60_000);
  let maria: MariaDbServer;
  let url: string;
  let db: Database;
  const runners: QueryRunner[] = [];

  const runner = async (): Promise<QueryRunner> => {
    const qr = db.dataSource.createQueryRunner();
    await qr.connect();
    runners.push(qr);
    return qr;
  };
  const lockRows = async () => (await db.query<{ holder: string }>(`SELECT \`holder\` FROM \`${MIGRATION_LOCK_TABLE}\``)).rows;

  before(async () => {
    maria = await sharedMariaDb();
    url = await maria.createDatabase('miglock');
    db = await Database.connect(loadConfig({ DATABASE_URL: url }).database);
  });
  after(async () => {
    for (const qr of runners) await qr.release().catch(() => undefined);
    await db?.close();
  });

  it('a second replica waits, and when it gives up its error names the holder; after release it takes the lock', async () => {
    const a = new MigrationLock(await runner(), { holder: 'replica-a' });
    await a.acquire();
    expect(await lockRows()).to.deep.equal([{ holder: 'replica-a' }]);
    const b = new MigrationLock(await runner(), { holder: 'replica-b', waitMs: 400, pollMs: 50 });
    const err = await b.acquire().catch((e: unknown) => e as Error);
    expect(String(err)).to.match(/could not take the migration lock within 0s .*held by replica-a since/);
    await a.release();
    expect(await lockRows()).to.deep.equal([]);
    await b.acquire();
    expect(await lockRows()).to.deep.equal([{ holder: 'replica-b' }]);
    await b.release();
  });

  it('a lock whose holder stopped renewing is taken over after staleAfterMs; the stalled holder learns it when it releases', async () => {
    const dead = new MigrationLock(await runner(), { holder: 'replica-dead', heartbeatMs: 60_000 });
    await dead.acquire();
    const t0 = Date.now();
    const next = new MigrationLock(await runner(), { holder: 'replica-next', staleAfterMs: 300, pollMs: 50, waitMs: 10_000 });
    await next.acquire();
    const waited = Date.now() - t0;
    expect(waited, 'waited for the lock to go stale').to.be.within(250, 5_000);
    expect(await lockRows()).to.deep.equal([{ holder: 'replica-next' }]);
    const err = await dead.release().catch((e: unknown) => e as Error);
    expect(String(err)).to.match(/taken over by replica-next/);
    expect(await lockRows(), "the stalled holder's release leaves the new holder's row").to.deep.equal([{ holder: 'replica-next' }]);
    await next.release();
  });

  it('the holder renews the row, so a long migration keeps its lock past staleAfterMs', async () => {
    const holder = new MigrationLock(await runner(), { holder: 'replica-long', heartbeatMs: 100 });
    await holder.acquire();
    const waiter = new MigrationLock(await runner(), { holder: 'replica-waiting', staleAfterMs: 400, pollMs: 50, waitMs: 1_500 });
    const err = await waiter.acquire().catch((e: unknown) => e as Error);
    expect(String(err)).to.match(/held by replica-long/);
    await holder.release();
    expect(await lockRows()).to.deep.equal([]);
  });

  it('four replicas migrating one fresh database at once: each migration recorded once', async () => {
    const fresh = await maria.createDatabase('miglock_race');
    const dbs = await Promise.all(Array.from({ length: 4 }, () => Database.connect(loadConfig({ DATABASE_URL: fresh }).database, { poolSize: 2 })));
    try {
      const applied = await Promise.all(dbs.map((d) => d.migrate()));
      expect(applied.filter((a) => a.length > 0)).to.have.length(1);
      const { rows } = await dbs[0]!.query<{ name: string; n: number }>('SELECT name, COUNT(*) AS n FROM tinyforge_reconciler_migrations GROUP BY name ORDER BY name');
      expect(rows.map((r) => [r.name, Number(r.n)])).to.deep.equal(MIGRATIONS.map((m) => [m.name, 1]).sort());
    } finally {
      for (const d of dbs) await d.close();
    }
  });
});
