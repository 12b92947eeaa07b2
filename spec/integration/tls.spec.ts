/**
 * TLS to MySQL/MariaDB for real (README "Security"): two MariaDB servers started with
 * certificates made by openssl in their own directories (one whose certificate names 127.0.0.1
 * and localhost, one naming only localhost) and the shared server, which offers no TLS. Each
 * ssl-mode is checked against what the server's session reports (`Ssl_cipher`), each failure
 * for the operator's wording, and every failure path (the error, its stack, the service's logs,
 * /readyz, /metrics, the CLI) for the password, which holds every character a URL can trip on.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { Database } from '../../src/store/database.js';
import { connectErrorMessage } from '../../src/app/connect.js';
import { createLogger } from '../../src/log.js';
import { errorMessage } from '../../src/domain/errors.js';
import { redactSecrets } from '../../src/util/redact.js';
import { ROOT_PASSWORD, sharedMariaDb, startMariaDb, type MariaDbServer } from '../support/mariadb.js';
import { makeCa, makeCert, type CertificateAuthority, type IssuedCertificate } from '../support/certs.js';
import { runCommand } from '../support/proc.js';
import { CLI } from '../support/service-process.js';
import { eventually, startTestApp } from '../support/app.js';

/** The TLS users' password: a space, quotes, "@", ":", "/", "?", "#", "%", unicode. */
const PASSWORD = `Tls "p@ss':w/o?r#d% Qz9🔑`;
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD), 'Qz9🔑', ROOT_PASSWORD];

function expectNoSecret(text: string, where: string): void {
  for (const s of SECRETS) expect(text, `${where} shows a password`).to.not.contain(s);
}

describe('TLS to the database (real MariaDB with certificates made by openssl)', function () {
  this.timeout(180_000);
  let tls: MariaDbServer;
  let dnsOnly: MariaDbServer;
  let plain: MariaDbServer;
  let plainDb: string;
  let dir: string;
  let wrongCa: CertificateAuthority;
  let client: IssuedCertificate;

  /** `mysql://<user>:<PASSWORD>@127.0.0.1:<port>/tls_db?<options>` */
  const url = (s: MariaDbServer, options: string, user = 'tls_user') => `mysql://${user}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${s.port}/tls_db${options ? `?${options}` : ''}`;

  before(async () => {
    [tls, dnsOnly, plain] = await Promise.all([startMariaDb({ name: 'tls', tls: true }), startMariaDb({ name: 'tls-dns-only', tls: { san: ['DNS:localhost'] } }), sharedMariaDb()]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-tls-'));
    wrongCa = await makeCa(dir, 'wrong-ca');
    client = await makeCert(tls.tls!.ca, dir, 'client', { client: true });
    const pw = PASSWORD.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    for (const s of [tls, dnsOnly]) {
      await s.query(
        [
          'CREATE DATABASE tls_db',
          'CREATE DATABASE tls_cli',
          `CREATE USER 'tls_user'@'%' IDENTIFIED BY '${pw}' REQUIRE SSL`,
          `CREATE USER 'x509_user'@'%' IDENTIFIED BY '${pw}' REQUIRE X509`,
          "GRANT ALL ON *.* TO 'tls_user'@'%'",
          "GRANT ALL ON *.* TO 'x509_user'@'%'",
        ].join(';'),
      );
    }
    plainDb = new URL(await plain.createDatabase('tls_plain')).pathname.slice(1);
  });

  after(async () => {
    await Promise.all([tls?.dispose(), dnsOnly?.dispose()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Connects as the service would and returns the session's `Ssl_cipher` ('' = plaintext). */
  async function cipherOf(databaseUrl: string): Promise<string> {
    const db = await Database.connect(loadConfig({ DATABASE_URL: databaseUrl }).database, { connectTimeoutMs: 5_000, poolSize: 1 });
    try {
      const { rows } = await db.query<{ Value: string }>("SHOW STATUS LIKE 'Ssl_cipher'");
      return rows[0]!.Value;
    } finally {
      await db.close();
    }
  }

  /** Connects and expects a failure: returns the operator's message, having checked no form of the error shows a password. */
  async function failureOf(databaseUrl: string): Promise<string> {
    const database = loadConfig({ DATABASE_URL: databaseUrl }).database;
    let db: Database | undefined;
    try {
      db = await Database.connect(database, { connectTimeoutMs: 5_000, poolSize: 1 });
    } catch (err) {
      const message = connectErrorMessage(err, database);
      expectNoSecret(message, 'the message');
      expectNoSecret(errorMessage(err, { stack: true }), 'the stack');
      expectNoSecret(inspect(err, { depth: 4 }), 'the inspected error');
      return message;
    }
    await db.close();
    throw new Error(`connected with ${redactSecrets(databaseUrl)}`);
  }

  it('REQUIRED (and sslmode=require) connects encrypted; the same user without TLS is refused by the server', async () => {
    for (const options of ['ssl-mode=REQUIRED', 'sslmode=require', 'ssl_mode=required']) {
      expect(await cipherOf(url(tls, options)), options).to.match(/^TLS_|^ECDHE|^AES/);
    }
    // The user is REQUIRE SSL: a plaintext session (what every option above gave before ssl-mode existed) is refused.
    expect(await failureOf(url(tls, ''))).to.match(/^Access denied for user 'tls_user'/);
  });

  it('VERIFY_CA connects with the CA that signed the server certificate and fails clearly with another', async () => {
    expect(await cipherOf(url(tls, `ssl-mode=VERIFY_CA&ssl-ca=${tls.tls!.ca.certFile}`))).to.not.equal('');
    expect(await cipherOf(url(tls, `sslmode=verify-ca&sslrootcert=${tls.tls!.ca.certFile}`))).to.not.equal('');
    expect(await cipherOf(url(tls, `ssl=true&ssl-ca=${tls.tls!.ca.certFile}`))).to.not.equal('');
    expect(await failureOf(url(tls, `ssl-mode=VERIFY_CA&ssl-ca=${wrongCa.certFile}`))).to.equal(
      `database 127.0.0.1:${tls.port}: the server's certificate is not trusted under ssl-mode=VERIFY_CA (self-signed certificate in certificate chain); it must chain to ssl-ca ${JSON.stringify(wrongCa.certFile)}`,
    );
    expect(await failureOf(url(tls, 'ssl-mode=VERIFY_CA'))).to.match(/not trusted under ssl-mode=VERIFY_CA \(.*\); it must chain to Node's bundled CAs \(no ssl-ca given\)$/);
  });

  it('VERIFY_IDENTITY connects when the certificate names 127.0.0.1, and fails when it names only another host, which VERIFY_CA accepts', async () => {
    expect(await cipherOf(url(tls, `ssl-mode=VERIFY_IDENTITY&ssl-ca=${tls.tls!.ca.certFile}`))).to.not.equal('');
    expect(await cipherOf(url(tls, `sslmode=verify-full&sslrootcert=${tls.tls!.ca.certFile}`))).to.not.equal('');
    // mysql2 alone would check this certificate against "localhost" for an IP address, and pass it.
    expect(await failureOf(url(dnsOnly, `ssl-mode=VERIFY_IDENTITY&ssl-ca=${dnsOnly.tls!.ca.certFile}`))).to.equal(
      `database 127.0.0.1:${dnsOnly.port}: the server's certificate does not name the host connected to, which ssl-mode=VERIFY_IDENTITY requires ` +
        "(Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ); connect by a name or address the certificate holds, or use ssl-mode=VERIFY_CA",
    );
    expect(await cipherOf(url(dnsOnly, `ssl-mode=VERIFY_CA&ssl-ca=${dnsOnly.tls!.ca.certFile}`))).to.not.equal('');
  });

  it('a client certificate (ssl-cert, ssl-key) authenticates a REQUIRE X509 user; without it the server refuses', async () => {
    const ca = tls.tls!.ca.certFile;
    expect(await cipherOf(url(tls, `ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca}&ssl-cert=${client.certFile}&ssl-key=${client.keyFile}`, 'x509_user'))).to.not.equal('');
    expect(await failureOf(url(tls, `ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca}`, 'x509_user'))).to.match(/^Access denied for user 'x509_user'/);
  });

  it('TLS asked of a server that offers none fails in every mode, saying so', async () => {
    const [haveSsl] = await plain.query("SHOW VARIABLES LIKE 'have_ssl'");
    expect(haveSsl.Value, 'the shared server offers no TLS').to.not.equal('YES');
    const plainUrl = (options: string) => `mysql://root:${encodeURIComponent(ROOT_PASSWORD)}@127.0.0.1:${plain.port}/${plainDb}?${options}`;
    for (const [options, mode] of [
      ['ssl-mode=REQUIRED', 'REQUIRED'],
      [`ssl-mode=VERIFY_CA&ssl-ca=${tls.tls!.ca.certFile}`, 'VERIFY_CA'],
      ['sslmode=verify-full', 'VERIFY_IDENTITY'],
      ['ssl=1', 'VERIFY_CA'],
    ]) {
      expect(await failureOf(plainUrl(options!)), options).to.equal(
        `database 127.0.0.1:${plain.port}: ssl-mode=${mode} asks for TLS, but the server offers none (Server does not support secure connection); give the server a certificate (ssl_cert, ssl_key) or set ssl-mode=DISABLED`,
      );
    }
  });

  it('the running service logs a TLS failure in those words while it retries, and neither its logs, /readyz nor /metrics show the password', async () => {
    let logs = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs += String(chunk);
        done();
      },
    });
    const t = await startTestApp(
      { DATABASE_URL: url(tls, `ssl-mode=VERIFY_CA&ssl-ca=${wrongCa.certFile}`), DOCKER_HOST: `unix://${path.join(dir, 'no-docker.sock')}`, API_TOKEN: 'QzApiTok3n' },
      { log: createLogger('debug', sink), waitForPipeline: false },
    );
    try {
      await eventually(async () => logs.includes("the server's certificate is not trusted under ssl-mode=VERIFY_CA"), 'the TLS failure in the log');
      const readyz = await fetch(`${t.baseUrl}/readyz`);
      expect(readyz.status).to.equal(503);
      const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
      const body = await readyz.text();
      for (const [what, text] of [['logs', logs], ['/readyz', body], ['/metrics', metrics]] as const) {
        expectNoSecret(text, what);
        expect(text, what).to.not.contain('QzApiTok3n');
      }
      expect(logs).to.contain(`"database":"mysql://tls_user:***@127.0.0.1:${tls.port}/tls_db?ssl-mode=VERIFY_CA&ssl-ca=${wrongCa.certFile}"`);
    } finally {
      await t.stop();
    }
  });

  it('the CLI migrates over VERIFY_IDENTITY, and prints a TLS failure in one line without the password (mysql2, TypeORM and the logger included)', async () => {
    const env = (databaseUrl: string) => ({ PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, DB_CONNECT_TIMEOUT: '10s' });
    const ok = await runCommand(process.execPath, [CLI, 'migrate'], { env: env(url(tls, `ssl-mode=VERIFY_IDENTITY&ssl-ca=${tls.tls!.ca.certFile}`).replace('/tls_db', '/tls_cli')), allowFail: true, timeoutMs: 120_000 });
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain('migrations applied');
    const [plainRow] = await plain.query("SHOW VARIABLES LIKE 'have_ssl'");
    expect(plainRow.Value).to.not.equal('YES');
    const bad = await runCommand(process.execPath, [CLI, 'migrate'], { env: env(`mysql://root:${encodeURIComponent(PASSWORD)}@127.0.0.1:${plain.port}/${plainDb}?ssl-mode=REQUIRED`), allowFail: true, timeoutMs: 120_000 });
    const out = bad.stdout + bad.stderr;
    expect(bad.code, out).to.equal(1);
    expect(out).to.contain(`database 127.0.0.1:${plain.port}: ssl-mode=REQUIRED asks for TLS, but the server offers none`);
    expect(out.trim().split('\n'), out).to.have.length(1);
    expectNoSecret(out, 'the CLI');
  });
});
