/**
 * DATABASE_URL and API_TOKEN through the real CLI (`node dist/src/cli.js`): refused values are a
 * one-line configuration error (exit 2) without the secret, for a sample of the fuzz generator's
 * URLs (spec/unit/database-url.fuzz.spec.ts) and a few by hand; a connection failure (exit 1)
 * and `--help` show no password either. Child processes only, no server.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { generator, leaks, type Case } from '../support/database-urls.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli.js');

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', DB_CONNECT_TIMEOUT: '2s', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('DATABASE_URL and API_TOKEN through the CLI: no secret in what it prints', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20251202);

  it('migrate and run print a refused URL as a one-line configuration error without the password, for a sample', async function () {
    this.timeout(240_000);
    const next = generator(seed + 1);
    const sample: Case[] = [];
    while (sample.length < 5) {
      const c = next();
      try {
        loadConfig({ DATABASE_URL: c.url });
      } catch {
        sample.push(c);
      }
    }
    sample.push({ url: 'mysql://u:QzSpace it%ZZ@db/tf', password: 'QzSpace it%ZZ', markers: ['QzSpace'] });
    sample.push({ url: `mysql://u:Qz"quote'@h:99999/tf`, password: `Qz"quote'`, markers: ['Qz"quote', 'quote'] });
    // Three at a time: each is a node start-up; the machine has two cores.
    const runs: Array<{ code: number | null; out: string }> = [];
    for (let i = 0; i < sample.length; i += 3) {
      runs.push(...(await Promise.all(sample.slice(i, i + 3).map((c, j) => runCli([(i + j) % 2 === 0 ? 'migrate' : 'run'], { DATABASE_URL: c.url })))));
    }
    for (const [i, c] of sample.entries()) {
      const command = i % 2 === 0 ? 'migrate' : 'run';
      const { code, out } = runs[i]!;
      const where = `${command} with ${JSON.stringify(c.url)}: ${out}`;
      expect(code, where).to.equal(2);
      expect(out, where).to.match(/^tinyforge-reconciler: invalid configuration:\n(  - DATABASE_URL: [^\n]*\n)+$/);
      expect(leaks(out, c), where).to.equal(undefined);
    }
  });

  it('keeps the password out of a connection failure, and API_TOKEN out of its refusal and --help', async function () {
    this.timeout(180_000);
    // Port 1 on loopback: refused at once; TLS asked for, so the TLS wording is exercised too.
    const c: Case = { url: `mysql://u:${encodeURIComponent('QzConn ect"@pw')}@127.0.0.1:1/tf?ssl-mode=REQUIRED`, password: 'QzConn ect"@pw', markers: ['QzConn', 'ect"@pw'] };
    const migrate = await runCli(['migrate'], { DATABASE_URL: c.url });
    expect(migrate.code, migrate.out).to.equal(1);
    expect(migrate.out).to.contain('ECONNREFUSED');
    expect(leaks(migrate.out, c), migrate.out).to.equal(undefined);
    const token = await runCli(['run'], { DATABASE_URL: 'sqlite::memory:', API_TOKEN: 'QzTok3n secret ' });
    expect(token.code, token.out).to.equal(2);
    expect(token.out).to.match(/API_TOKEN: has leading or trailing whitespace/);
    expect(token.out).to.not.contain('QzTok3n').and.not.contain('secret ');
    const help = await runCli(['--help'], { DATABASE_URL: c.url, API_TOKEN: 'QzTok3nHelp' });
    expect(help.code).to.equal(0);
    expect(help.out).to.contain('ssl-mode=DISABLED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY');
    expect(help.out).to.not.contain('QzConn').and.not.contain('QzTok3nHelp');
  });
});
