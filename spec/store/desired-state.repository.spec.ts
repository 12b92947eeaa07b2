import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { DesiredStateCache } from '../../src/cache/desired-cache.js';
import { Database } from '../../src/store/database.js';
import { DesiredStateRepository, fingerprintSql } from '../../src/store/desired-state.repository.js';
import { crc32 } from '../../src/store/sql.js';
import { DB_TARGETS } from '../status/support.js';

/** The same content, loaded into every target: the fingerprints must agree across databases. */
const WORKLOADS: Array<[string, string, string, string]> = [
  ['wl-a', 'project', 'proj-a', 'A'],
  ['wl-b', 'project', 'proj-b', 'B'],
  ['wl-s', 'stack', 'st-1', 'S'],
  ['wl-site', 'site', 'site-1', 'Site'],
  ['wl-ü😀', 'project', 'ref with spaces ', 'unicode'],
];
const STACKS: Array<[string, string, string]> = [
  ['st-1', 'one', 'tinyforge-one'],
  ['st-2', 'two', 'tinyforge-two'],
];

const fingerprints: Record<string, string> = {};

describe('crc32 (the SQLite stand-in for MySQL CRC32)', () => {
  it('is the standard CRC-32 of the UTF-8 bytes', () => {
    expect(crc32('123456789')).to.equal(0xcbf43926);
    expect(crc32('')).to.equal(0);
    expect(crc32('ü')).to.equal(crc32(Buffer.from([0xc3, 0xbc])));
    expect(crc32(42)).to.equal(crc32('42'));
    expect(crc32(null)).to.equal(null);
  });
});

for (const target of DB_TARGETS) {
  describe(`desired-state fingerprint on ${target.name}`, function () {
    this.timeout(120_000);
    let db: Database;
    let repo: DesiredStateRepository;

    before(async () => {
      db = await Database.connect(loadConfig({ DATABASE_URL: await target.url() }).database);
      await db.migrate();
      repo = new DesiredStateRepository(db);
    });
    after(async () => {
      await db?.close();
    });
    beforeEach(async () => {
      await db.query('DELETE FROM `workloads`');
      await db.query('DELETE FROM `stacks`');
      await db.query(`INSERT INTO \`workloads\` (\`id\`, \`kind\`, \`ref_id\`, \`name\`) VALUES ${WORKLOADS.map(() => '(?,?,?,?)').join(',')}`, WORKLOADS.flat());
      await db.query(`INSERT INTO \`stacks\` (\`id\`, \`name\`, \`compose_project_name\`) VALUES ${STACKS.map(() => '(?,?,?)').join(',')}`, STACKS.flat());
    });

    it('is one statement reading no updated_at', async () => {
      const sql = fingerprintSql(db.dialect);
      expect(sql).to.not.match(/updated_at/);
      expect(sql).to.match(/COUNT\(\*\).*BIT_XOR\(CRC32\(CONCAT_WS\(CHAR\(31\)/);
      const fp = await repo.fingerprint();
      expect(fp).to.match(/^5\|\d+\|\d+\|2\|\d+\|\d+$/);
      expect(await repo.fingerprint(), 'deterministic').to.equal(fp);
      fingerprints[target.name] = fp;
    });

    it('is the same number on every database for the same content', function () {
      const names = Object.keys(fingerprints);
      if (names.length < 2) this.skip();
      expect(new Set(Object.values(fingerprints)).size, JSON.stringify(fingerprints)).to.equal(1);
    });

    const changes: Array<[string, string, unknown[]]> = [
      ['workloads.id', 'UPDATE `workloads` SET `id` = ? WHERE `id` = ?', ['wl-a2', 'wl-a']],
      ['workloads.kind', 'UPDATE `workloads` SET `kind` = ? WHERE `id` = ?', ['site', 'wl-a']],
      ['workloads.ref_id', 'UPDATE `workloads` SET `ref_id` = ? WHERE `id` = ?', ['proj-a2', 'wl-a']],
      ['workloads.ref_id (trailing space only)', 'UPDATE `workloads` SET `ref_id` = ? WHERE `id` = ?', ['ref with spaces', 'wl-ü😀']],
      ['workloads.ref_id (case only)', 'UPDATE `workloads` SET `ref_id` = ? WHERE `id` = ?', ['PROJ-A', 'wl-a']],
      ['a workload inserted', "INSERT INTO `workloads` (`id`, `kind`, `ref_id`, `name`) VALUES ('wl-new', 'project', 'proj-new', '')", []],
      ['a workload deleted', 'DELETE FROM `workloads` WHERE `id` = ?', ['wl-b']],
      ['stacks.id', 'UPDATE `stacks` SET `id` = ? WHERE `id` = ?', ['st-9', 'st-2']],
      ['stacks.compose_project_name', 'UPDATE `stacks` SET `compose_project_name` = ? WHERE `id` = ?', ['tinyforge-2', 'st-2']],
      ['a stack deleted', 'DELETE FROM `stacks` WHERE `id` = ?', ['st-1']],
    ];
    for (const [what, sql, params] of changes) {
      it(`changes when ${what} changes`, async () => {
        const before = await repo.fingerprint();
        const n = (await db.query(sql, params)).affected;
        expect(n, 'the change happened').to.equal(1);
        expect(await repo.fingerprint()).to.not.equal(before);
      });
    }

    it('changes when two rows swap the values of a read column (same multiset of values)', async () => {
      const before = await repo.fingerprint();
      // ref_id swap between wl-a and wl-b (unique (kind, ref_id): through a temporary value).
      await db.query("UPDATE `workloads` SET `ref_id` = 'tmp' WHERE `id` = 'wl-a'");
      await db.query("UPDATE `workloads` SET `ref_id` = 'proj-a' WHERE `id` = 'wl-b'");
      await db.query("UPDATE `workloads` SET `ref_id` = 'proj-b' WHERE `id` = 'wl-a'");
      const swapped = await repo.fingerprint();
      expect(swapped).to.not.equal(before);
      // kind swap between wl-s and wl-site, compose_project_name swap between the stacks.
      await db.query("UPDATE `workloads` SET `kind` = CASE `id` WHEN 'wl-s' THEN 'site' ELSE 'stack' END WHERE `id` IN ('wl-s', 'wl-site')");
      const kindSwapped = await repo.fingerprint();
      expect(kindSwapped).to.not.equal(swapped);
      await db.query("UPDATE `stacks` SET `compose_project_name` = 'tmp' WHERE `id` = 'st-1'");
      await db.query("UPDATE `stacks` SET `compose_project_name` = 'tinyforge-one' WHERE `id` = 'st-2'");
      await db.query("UPDATE `stacks` SET `compose_project_name` = 'tinyforge-two' WHERE `id` = 'st-1'");
      expect(await repo.fingerprint()).to.not.equal(kindSwapped);
      // Swapping back restores it exactly (a checksum of content, not of history).
      await db.query("UPDATE `stacks` SET `compose_project_name` = 'tmp' WHERE `id` = 'st-1'");
      await db.query("UPDATE `stacks` SET `compose_project_name` = 'tinyforge-two' WHERE `id` = 'st-2'");
      await db.query("UPDATE `stacks` SET `compose_project_name` = 'tinyforge-one' WHERE `id` = 'st-1'");
      expect(await repo.fingerprint()).to.equal(kindSwapped);
    });

    it('moves a value between columns of one row: changes', async () => {
      await db.query("INSERT INTO `workloads` (`id`, `kind`, `ref_id`) VALUES ('x', 'a', 'b')");
      const before = await repo.fingerprint();
      await db.query("UPDATE `workloads` SET `kind` = 'b', `ref_id` = 'a' WHERE `id` = 'x'");
      expect(await repo.fingerprint()).to.not.equal(before);
    });

    it('does not change when only columns the service does not read change', async () => {
      const before = await repo.fingerprint();
      await db.query("UPDATE `workloads` SET `name` = 'renamed'");
      await db.query("UPDATE `stacks` SET `name` = 'renamed'");
      expect(await repo.fingerprint()).to.equal(before);
    });

    it('lets the desired-state cache skip a load when nothing it reads changed, and reload when it did', async () => {
      let loads = 0;
      const counting = { load: () => (loads++, repo.load()), fingerprint: () => repo.fingerprint() };
      const cache = new DesiredStateCache(counting, { minReloadMs: 0 });
      await cache.refresh({ ifChanged: true });
      expect(loads).to.equal(1);
      await cache.refresh({ ifChanged: true });
      await db.query("UPDATE `workloads` SET `name` = 'x'");
      await cache.refresh({ ifChanged: true });
      expect(loads, 'nothing read changed').to.equal(1);
      await db.query("UPDATE `workloads` SET `ref_id` = 'proj-z' WHERE `id` = 'wl-a'");
      await cache.refresh({ ifChanged: true });
      expect(loads).to.equal(2);
      expect(cache.workloadByRef('project', 'proj-z')?.id).to.equal('wl-a');
    });

    it('handles empty tables', async () => {
      await db.query('DELETE FROM `workloads`');
      await db.query('DELETE FROM `stacks`');
      const fp = await repo.fingerprint();
      expect(fp.startsWith('0|0||0|0|')).to.equal(true);
      await db.query("INSERT INTO `stacks` (`id`, `compose_project_name`) VALUES ('s', 'tinyforge-s')");
      expect(await repo.fingerprint()).to.not.equal(fp);
    });
  });
}
