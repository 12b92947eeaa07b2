import { expect } from 'chai';
import { ConfigError, describeConfig, loadConfig } from '../../src/config.js';
import { generator, leaks } from '../support/database-urls.js';

/**
 * Seeded fuzz of DATABASE_URL (src/database-url.ts): thousands of URL shapes (spaces, quotes,
 * "@", ":", "/", "?", "#", "%", bad escapes, unicode, empty parts, host lists, options), each
 * with a password made of random marker words. Every URL is either accepted or refused with
 * one-line `DATABASE_URL:` problems; no marker of the password ever shows, in a problem, in the
 * logged config (spec/integration/database-url-cli.spec.ts runs a sample through the real CLI).
 * `FUZZ_SEED` replays another seed.
 */

describe('fuzz (seeded): DATABASE_URL never shows its password', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20251202);
  const N = 4000;

  it(`parses or refuses ${N} generated URLs in one line each, never showing a password marker, and round-trips the well-formed ones`, () => {
    const next = generator(seed);
    let accepted = 0;
    let refused = 0;
    let wellFormed = 0;
    const refusalKinds = new Set<string>();
    for (let i = 0; i < N; i++) {
      const c = next();
      const where = `case ${i} (seed ${seed}): ${JSON.stringify(c.url)}`;
      let result: ReturnType<typeof loadConfig> | undefined;
      let problems: readonly string[] = [];
      try {
        result = loadConfig({ DATABASE_URL: c.url });
      } catch (err) {
        expect(err, where).to.be.instanceOf(ConfigError);
        problems = (err as ConfigError).problems;
        const leaked = leaks((err as Error).message, c) ?? leaks((err as Error).stack ?? '', c);
        expect(leaked, `${where} leaked into ${(err as Error).message}`).to.equal(undefined);
      }
      if (result) {
        accepted++;
        const shown = JSON.stringify(describeConfig(result));
        expect(leaks(shown, c), `${where} leaked into ${shown}`).to.equal(undefined);
        // Deterministic: the same text gives the same config.
        expect(loadConfig({ DATABASE_URL: c.url }).database, where).to.deep.equal(result.database);
      } else {
        refused++;
        expect(problems.length, where).to.be.greaterThan(0);
        for (const p of problems) {
          expect(p, where).to.match(/^DATABASE_URL: /);
          expect(p, where).to.not.match(/[\n\r]|\bat .*:\d+:\d+/);
          refusalKinds.add(p.replace(/".*?"|\d+/g, '_').slice(0, 40));
        }
      }
      if (c.expect) {
        wellFormed++;
        expect(problems, where).to.deep.equal([]);
        const db = result!.database;
        if (db.kind !== 'mysql') throw new Error(`${where}: not mysql`);
        expect({ user: db.user, password: db.password, hosts: db.hosts, database: db.database, mode: db.tls.mode }, where).to.deep.equal(c.expect);
        expect([db.host, db.port], where).to.deep.equal([c.expect.hosts[0]!.host, c.expect.hosts[0]!.port]);
      }
    }
    // Not vacuous: both outcomes, many well-formed URLs, many different refusals.
    expect(accepted, 'accepted').to.be.greaterThan(N / 4);
    expect(refused, 'refused').to.be.greaterThan(N / 4);
    expect(wellFormed, 'well-formed').to.be.greaterThan(N / 4);
    expect(refusalKinds.size, [...refusalKinds].join('\n')).to.be.greaterThan(15);
  });
});
