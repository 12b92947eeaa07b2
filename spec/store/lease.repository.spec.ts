import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { Database } from '../../src/store/database.js';
import { LeaseRepository } from '../../src/store/lease.repository.js';
import { sharedMariaDb } from '../support/mariadb.js';

describe('leases on MariaDB (database-clock Lease semantics)', function () {
  this.timeout(60_000);
  let db: Database;
  let leases: LeaseRepository;
  before(async () => {
    db = await Database.connect(loadConfig({ DATABASE_URL: await (await sharedMariaDb()).createDatabase('lease') }).database);
    await db.migrate();
    leases = new LeaseRepository(db);
  });
  after(() => db?.close());

  it('one holder at a time; renew; takeover after expiry counts a transition; release frees it at once', async () => {
    expect(await leases.tryAcquireOrRenew('l1', 'a', 400)).to.equal(true);
    expect(await leases.tryAcquireOrRenew('l1', 'b', 400)).to.equal(false);
    expect(await leases.tryAcquireOrRenew('l1', 'a', 400), 'renew').to.equal(true);
    expect((await leases.get('l1'))!.transitions).to.equal(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(await leases.tryAcquireOrRenew('l1', 'b', 400), 'expired: b takes over').to.equal(true);
    expect(await leases.tryAcquireOrRenew('l1', 'a', 400), 'a lost it').to.equal(false);
    const rec = (await leases.get('l1'))!;
    expect(rec).to.include({ holder: 'b', transitions: 1, leaseDurationMs: 400 });
    expect(await leases.release('l1', 'a'), 'only the holder releases').to.equal(false);
    expect(await leases.release('l1', 'b')).to.equal(true);
    expect(await leases.tryAcquireOrRenew('l1', 'a', 400), 'released: free at once').to.equal(true);
  });

  it('concurrent candidates: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => leases.tryAcquireOrRenew('l2', `c${i}`, 10_000)));
    expect(results.filter(Boolean)).to.have.length(1);
  });

  it('separate lease names are independent (one per host)', async () => {
    expect(await leases.tryAcquireOrRenew('tinyforge-reconciler/h1', 'x', 10_000)).to.equal(true);
    expect(await leases.tryAcquireOrRenew('tinyforge-reconciler/h2', 'y', 10_000)).to.equal(true);
  });
});
