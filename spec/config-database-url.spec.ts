/**
 * DATABASE_URL and API_TOKEN (src/database-url.ts, src/config.ts): TLS options and their mapping
 * onto mysql2, the host list, and refusals that never show a secret. Server-free (the
 * certificates are made by openssl in a temp dir); the connections themselves are in
 * spec/integration/tls.spec.ts.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, describeConfig, loadConfig, type DatabaseConfig } from '../src/config.js';
import { parseDatabaseUrl } from '../src/database-url.js';
import { dataSourceOptions, mysqlSsl } from '../src/store/data-source.js';
import { connectErrorMessage } from '../src/app/connect.js';
import { makeCa, makeCert, type CertificateAuthority } from './support/certs.js';

type Env = Record<string, string | undefined>;

function problems(env: Env): readonly string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/** The one problem DATABASE_URL `url` gives (fails unless there is exactly one). */
function refusal(url: string): string {
  const p = problems({ DATABASE_URL: url });
  expect(p, url).to.have.length(1);
  return p[0]!;
}

function mysql(url: string): Extract<DatabaseConfig, { kind: 'mysql' }> {
  const db = loadConfig({ DATABASE_URL: url }).database;
  if (db.kind !== 'mysql') throw new Error(`${url} gave ${db.kind}`);
  return db;
}

const U = 'mysql://u:pw@db:3306/tf';

describe('DATABASE_URL: TLS, host lists and secrets', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let client: { certFile: string; keyFile: string };
  let otherKey: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-dburl-'));
    ca = await makeCa(dir, 'ca');
    client = await makeCert(ca, dir, 'client', { client: true });
    otherKey = (await makeCert(ca, dir, 'other', { client: true })).keyFile;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('ssl-mode and its spellings', () => {
    it('maps every accepted spelling onto one of four modes; no option means DISABLED', () => {
      const table: Array<[string, string]> = [
        ['', 'DISABLED'],
        ['?ssl-mode=DISABLED', 'DISABLED'],
        ['?ssl-mode=REQUIRED', 'REQUIRED'],
        ['?ssl-mode=required', 'REQUIRED'],
        ['?ssl_mode=VERIFY_CA', 'VERIFY_CA'],
        ['?ssl-mode=verify-ca', 'VERIFY_CA'],
        ['?SSL-MODE=VERIFY_IDENTITY', 'VERIFY_IDENTITY'],
        ['?sslmode=disable', 'DISABLED'],
        ['?sslmode=require', 'REQUIRED'],
        ['?sslmode=verify-ca', 'VERIFY_CA'],
        ['?sslmode=verify-full', 'VERIFY_IDENTITY'],
        // ssl=true kept its old meaning: mysql2's default, the chain checked, the host name not.
        ['?ssl=true', 'VERIFY_CA'],
        ['?ssl=1', 'VERIFY_CA'],
        ['?ssl=TRUE', 'VERIFY_CA'],
        ['?ssl=false', 'DISABLED'],
        ['?ssl=0', 'DISABLED'],
      ];
      for (const [q, mode] of table) expect(mysql(`${U}${q}`).tls.mode, q).to.equal(mode);
    });

    it('refuses PREFERRED in every spelling, saying why and what to use instead', () => {
      for (const q of ['ssl-mode=PREFERRED', 'ssl-mode=preferred', 'sslmode=prefer']) {
        const p = refusal(`${U}?${q}`);
        expect(p, q).to.match(/^DATABASE_URL: .*(PREFERRED|prefer).* is not supported: .*plaintext.*ssl-mode=REQUIRED.*ssl-mode=DISABLED$/);
      }
    });

    it('refuses values it does not know, naming the accepted ones', () => {
      expect(refusal(`${U}?ssl-mode=ON`)).to.equal('DATABASE_URL: ssl-mode="ON" is not DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY');
      expect(refusal(`${U}?sslmode=allow`)).to.equal('DATABASE_URL: sslmode="allow" is not disable, require, verify-ca or verify-full');
      expect(refusal(`${U}?ssl=required`)).to.match(/^DATABASE_URL: ssl="required" is not true, false, 1 or 0/);
      expect(refusal(`${U}?ssl-mode=`)).to.equal('DATABASE_URL: option "ssl-mode" has no value');
      expect(refusal(`${U}?ssl`)).to.equal('DATABASE_URL: option "ssl" has no value');
    });

    it('refuses one setting given twice, in one spelling or two', () => {
      expect(refusal(`${U}?ssl-mode=REQUIRED&ssl-mode=REQUIRED`)).to.equal('DATABASE_URL: option "ssl-mode" is given twice');
      expect(refusal(`${U}?ssl-mode=REQUIRED&ssl=false`)).to.equal('DATABASE_URL: options "ssl-mode" and "ssl" set the same thing; give one');
      expect(refusal(`${U}?ssl-mode=VERIFY_CA&ssl-ca=/a&sslrootcert=/b`)).to.equal('DATABASE_URL: options "ssl-ca" and "sslrootcert" set the same thing; give one');
    });

    it('refuses an unknown option by name and lists the known ones (the old pass-through is gone)', () => {
      const p = refusal(`${U}?charset=utf8mb4`);
      expect(p).to.match(/^DATABASE_URL: unknown option "charset" \(known: ssl-mode \(or sslmode, ssl\), ssl-ca \(or sslrootcert\), ssl-cert \(or sslcert\), ssl-key \(or sslkey\);/);
      expect(p).to.contain('DB_POOL_SIZE, DB_CONNECT_TIMEOUT and DB_STATEMENT_TIMEOUT');
      expect(refusal(`${U}?connectTimeout=5`)).to.contain('unknown option "connecttimeout"');
      // A name that is no plain word may be a piece of something else: not shown.
      expect(refusal(`${U}?a%20b%22c=1`)).to.match(/^DATABASE_URL: unknown option \(name not shown\)/);
      expect(problems({ DATABASE_URL: `${U}?foo=1&bar=2` })).to.have.length(2);
    });
  });

  describe('certificate files', () => {
    it('reads ssl-ca (or sslrootcert) at start under VERIFY_CA and VERIFY_IDENTITY', () => {
      for (const q of [`ssl-mode=VERIFY_CA&ssl-ca=${ca.certFile}`, `sslmode=verify-full&sslrootcert=${ca.certFile}`]) {
        const { tls } = mysql(`${U}?${q}`);
        expect(tls.ca, q).to.equal(ca.pem);
        expect(tls.caPath, q).to.equal(ca.certFile);
      }
    });

    it('reads a client certificate and its key, both or neither, under any TLS mode', () => {
      const { tls } = mysql(`${U}?ssl-mode=REQUIRED&ssl-cert=${client.certFile}&ssl-key=${client.keyFile}`);
      expect(tls.cert).to.equal(fs.readFileSync(client.certFile, 'utf8'));
      expect(tls.key).to.equal(fs.readFileSync(client.keyFile, 'utf8'));
      expect(refusal(`${U}?ssl-mode=REQUIRED&ssl-cert=${client.certFile}`)).to.equal('DATABASE_URL: "ssl-cert" needs its pair: a client certificate takes both ssl-cert and ssl-key');
      expect(refusal(`${U}?ssl-mode=REQUIRED&sslkey=${client.keyFile}`)).to.equal('DATABASE_URL: "sslkey" needs its pair: a client certificate takes both ssl-cert and ssl-key');
      expect(refusal(`${U}?ssl-cert=${client.certFile}&ssl-key=${client.keyFile}`)).to.match(/needs TLS: ssl-mode=REQUIRED, VERIFY_CA or VERIFY_IDENTITY$/);
      expect(refusal(`${U}?ssl-mode=REQUIRED&ssl-cert=${client.certFile}&ssl-key=${otherKey}`)).to.equal(`DATABASE_URL: the key ${JSON.stringify(otherKey)} does not belong to the certificate ${JSON.stringify(client.certFile)}`);
    });

    it('refuses ssl-ca where it would be ignored (REQUIRED, DISABLED, no mode)', () => {
      expect(refusal(`${U}?ssl-mode=REQUIRED&ssl-ca=${ca.certFile}`)).to.equal(
        `DATABASE_URL: "ssl-ca" needs ssl-mode=VERIFY_CA or VERIFY_IDENTITY (with ssl-mode=REQUIRED the server's certificate is never checked against it)`,
      );
      expect(refusal(`${U}?ssl-ca=${ca.certFile}`)).to.contain('(without ssl-mode the server');
      expect(refusal(`${U}?ssl=0&ssl-ca=${ca.certFile}`)).to.contain('(with ssl=0 the server');
    });

    it('says which file cannot be used and why, in one line', () => {
      const missing = path.join(dir, 'missing.pem');
      const notPem = path.join(dir, 'not.pem');
      fs.writeFileSync(notPem, 'hello\n');
      const encrypted = path.join(dir, 'encrypted.key');
      fs.writeFileSync(encrypted, '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJBgkqhkiG9w0BBQ0wPDAbBgkqhkiG9w0BBQwwDgQI\n-----END ENCRYPTED PRIVATE KEY-----\n');
      const table: Array<[string, string]> = [
        [`ssl-mode=VERIFY_CA&ssl-ca=${missing}`, `DATABASE_URL: ssl-ca ${JSON.stringify(missing)} cannot be read (no such file)`],
        [`ssl-mode=VERIFY_CA&ssl-ca=${dir}`, `DATABASE_URL: ssl-ca ${JSON.stringify(dir)} cannot be read (is a directory)`],
        [`ssl-mode=VERIFY_CA&ssl-ca=${notPem}`, `DATABASE_URL: ssl-ca ${JSON.stringify(notPem)} is not a PEM certificate`],
        [`ssl-mode=VERIFY_CA&ssl-ca=${client.keyFile}`, `DATABASE_URL: ssl-ca ${JSON.stringify(client.keyFile)} is not a PEM certificate`],
        [`ssl-mode=REQUIRED&ssl-cert=${client.certFile}&ssl-key=${client.certFile}`, `DATABASE_URL: ssl-key ${JSON.stringify(client.certFile)} is not a PEM private key`],
        [`ssl-mode=REQUIRED&ssl-cert=${client.certFile}&ssl-key=${encrypted}`, `DATABASE_URL: ssl-key ${JSON.stringify(encrypted)} is an encrypted key (give it without a passphrase)`],
      ];
      for (const [q, msg] of table) expect(refusal(`${U}?${q}`), q).to.equal(msg);
    });

    it('reads through the injected reader (the file is read once, at start)', () => {
      const read: string[] = [];
      const out: string[] = [];
      const db = parseDatabaseUrl(`${U}?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/x.pem`, out, (p) => {
        read.push(p);
        return ca.pem;
      });
      expect(out).to.deep.equal([]);
      expect(read).to.deep.equal(['/etc/x.pem']);
      expect(db).to.deep.include({ tls: { mode: 'VERIFY_IDENTITY', ca: ca.pem, caPath: '/etc/x.pem' } });
    });
  });

  describe('mapping onto mysql2', () => {
    it('REQUIRED encrypts without checking; VERIFY_CA checks the chain, not the name; VERIFY_IDENTITY both', () => {
      expect(mysqlSsl({ mode: 'REQUIRED' })).to.deep.equal({ rejectUnauthorized: false, verifyIdentity: false });
      expect(mysqlSsl({ mode: 'VERIFY_CA', ca: 'PEM' })).to.deep.equal({ rejectUnauthorized: true, verifyIdentity: false, ca: 'PEM' });
      expect(mysqlSsl({ mode: 'VERIFY_CA' })).to.deep.equal({ rejectUnauthorized: true, verifyIdentity: false });
      expect(mysqlSsl({ mode: 'VERIFY_IDENTITY', ca: 'PEM' })).to.deep.equal({ rejectUnauthorized: true, verifyIdentity: true, ca: 'PEM' });
      expect(mysqlSsl({ mode: 'REQUIRED', cert: 'C', key: 'K' })).to.deep.equal({ rejectUnauthorized: false, verifyIdentity: false, cert: 'C', key: 'K' });
    });

    it('passes no ssl option when DISABLED, and its own socket only for VERIFY_IDENTITY to an IP address', () => {
      const extra = (url: string) => (dataSourceOptions(mysql(url)) as { extra: Record<string, unknown> }).extra;
      expect(extra(U)).to.not.have.property('ssl');
      expect(extra(`${U}?ssl-mode=REQUIRED`).ssl).to.deep.equal({ rejectUnauthorized: false, verifyIdentity: false });
      expect(extra(`mysql://u:p@127.0.0.1/tf?ssl-mode=VERIFY_IDENTITY`).stream).to.be.a('function');
      expect(extra(`mysql://u:p@[::1]/tf?ssl-mode=VERIFY_IDENTITY`).stream).to.be.a('function');
      expect(extra(`mysql://u:p@db,127.0.0.1:3307/tf?ssl-mode=VERIFY_IDENTITY`).stream, 'any IP of a host list').to.be.a('function');
      expect(extra(`mysql://u:p@db/tf?ssl-mode=VERIFY_IDENTITY`)).to.not.have.property('stream');
      expect(extra(`mysql://u:p@127.0.0.1/tf?ssl-mode=VERIFY_CA`)).to.not.have.property('stream');
    });
  });

  describe('host lists', () => {
    it('parses an ordered list, default port 3306, IPv6 in brackets; host and port are the first', () => {
      const db = mysql('mysql://u:p@h1:3306,h2:3307,h3,[::1]:3308,[fe80::1],10.0.0.1:1/tf');
      expect(db.hosts).to.deep.equal([
        { host: 'h1', port: 3306 },
        { host: 'h2', port: 3307 },
        { host: 'h3', port: 3306 },
        { host: '::1', port: 3308 },
        { host: 'fe80::1', port: 3306 },
        { host: '10.0.0.1', port: 1 },
      ]);
      expect([db.host, db.port]).to.deep.equal(['h1', 3306]);
      expect(mysql('mysql://u:p@galera-0.galera.db.svc.cluster.local:65535/tf').hosts).to.deep.equal([{ host: 'galera-0.galera.db.svc.cluster.local', port: 65535 }]);
      expect(mysql('mysql://u:p@my_db/tf').host).to.equal('my_db');
    });

    it('refuses empty entries, bad ports, bad names and repeats, one line each', () => {
      const table: Array<[string, string]> = [
        ['h1,,h3', 'host 2 of 3 is empty (hosts are separated by single commas: h1:3306,h2:3306)'],
        ['h1,', 'host 2 of 2 is empty (hosts are separated by single commas: h1:3306,h2:3306)'],
        [',h1', 'host 1 of 2 is empty (hosts are separated by single commas: h1:3306,h2:3306)'],
        ['h1:0', 'the host "h1:0" has a bad port (expected a number from 1 to 65535)'],
        ['h1:65536', 'the host "h1:65536" has a bad port (expected a number from 1 to 65535)'],
        ['h1,h2:x', 'host 2 of 2 "h2:x" has a bad port (expected a number from 1 to 65535)'],
        ['h1:', 'the host "h1:" has a bad port (expected a number from 1 to 65535)'],
        ['h1:3306:1', 'the host "h1:3306:1" is no host name, IPv4 address or [IPv6]:port'],
        ['::1', 'the host "::1" is no host name, IPv4 address or [IPv6]:port'],
        ['[::1', 'the host "[::1" is no host name, IPv4 address or [IPv6]:port'],
        ['[db]:3306', 'the host "[db]:3306" is no host name, IPv4 address or [IPv6]:port'],
        ['999.1.1.1', 'the host "999.1.1.1" is no host name, IPv4 address or [IPv6]:port'],
        ['-db', 'the host "-db" is no host name, IPv4 address or [IPv6]:port'],
        ['d b', 'the host "d b" is no host name, IPv4 address or [IPv6]:port'],
        ['h1,h1', 'host 2 of 2 "h1" repeats an earlier host'],
        ['h1,H1:3306', 'host 2 of 2 "H1:3306" repeats an earlier host'],
        ['[::1],[0:0::1]:3306', 'host 2 of 2 "[0:0::1]:3306" repeats an earlier host'],
      ];
      for (const [hosts, msg] of table) expect(refusal(`mysql://u:p@${hosts}/tf`), hosts).to.equal(`DATABASE_URL: ${msg}`);
      // The same name on two ports is two servers.
      expect(mysql('mysql://u:p@h1:3306,h1:3307/tf').hosts).to.have.length(2);
      expect(refusal('mysql://u:p@/tf')).to.equal('DATABASE_URL: names no host (expected mysql://user:password@host:3306/database)');
    });

    it('shows the list and the TLS settings in the logged config, never the password', () => {
      const shown = describeConfig(loadConfig({ DATABASE_URL: `mysql://tf:s3cret-pw@h1,[::1]:3307/x?sslmode=verify-full&sslrootcert=${ca.certFile}` })).database;
      expect(shown).to.equal(`mysql://tf:***@h1:3306,[::1]:3307/x?ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca.certFile}`);
    });
  });

  describe('user, password and database', () => {
    it('takes any character in the password: percent-encoded, or raw where that is unambiguous', () => {
      const table: Array<[string, string]> = [
        ['p%40ss%3Aw%2Fo%3Fr%23d%25', 'p@ss:w/o?r#d%'],
        ['pa ss', 'pa ss'],
        [`it's"quoted"`, `it's"quoted"`],
        ['p@ss@word', 'p@ss@word'],
        ['a:b:c', 'a:b:c'],
        ['h1,h2', 'h1,h2'],
        ['%F0%9F%94%91key', '🔑key'],
        ['🔑key', '🔑key'],
        ['', ''],
      ];
      for (const [raw, pw] of table) expect(mysql(`mysql://u:${raw}@db/tf`).password, raw).to.equal(pw);
      expect(mysql('mysql://us%40er@db/tf')).to.deep.include({ user: 'us@er', password: '' });
      expect(mysql('mysql://u:p@db/t%20f')).to.deep.include({ database: 't f' });
    });

    it('refuses a malformed escape in one line without the value (no URIError, no stack)', () => {
      expect(refusal('mysql://u:se%ZZcret@db/tf')).to.equal('DATABASE_URL: malformed percent-escape in the password (a "%" must start %XX; write a literal "%" as %25)');
      expect(refusal('mysql://u:50%off@db/tf')).to.equal('DATABASE_URL: malformed percent-escape in the password (a "%" must start %XX; write a literal "%" as %25)');
      expect(refusal('mysql://u:%C3@db/tf')).to.match(/^DATABASE_URL: malformed percent-escape in the password/);
      expect(refusal('mysql://u%E0%A4%A@db/tf')).to.match(/^DATABASE_URL: malformed percent-escape in the user name/);
      expect(refusal('mysql://u:p@db/t%ZZ')).to.equal('DATABASE_URL: malformed percent-escape in the database name');
      expect(refusal('mysql://u:p@db/tf?ssl-mode=%ZZ')).to.equal('DATABASE_URL: malformed percent-escape in an option');
    });

    it('refuses a "/", "?" or "#" left unencoded in the password without quoting any of it', () => {
      for (const pw of ['Kq7z/Wx9r', 'Kq7z?Wx9r', 'Kq7z#Wx9r', 'Kq7z@Wx9r/Jm4t', 'Kq7z/Wx9r@Jm4t?Pv2b']) {
        const p = refusal(`mysql://u:${pw}@db/tf`);
        expect(p, pw).to.match(/^DATABASE_URL: names no user, or its user or password holds an unencoded "\/", "\?" or "#"/);
        for (const piece of pw.split(/[/?#@]/)) expect(p, pw).to.not.contain(piece);
      }
    });

    it('needs a user and a single database name', () => {
      expect(refusal('mysql://db/tf')).to.match(/^DATABASE_URL: names no user/);
      expect(refusal('mysql://:pw@db/tf')).to.equal('DATABASE_URL: names no user (expected mysql://user:password@host:3306/database)');
      expect(refusal('mysql://u:p@db')).to.equal('DATABASE_URL: names no database (expected mysql://user:password@host:3306/database)');
      expect(refusal('mysql://u:p@db/')).to.equal('DATABASE_URL: names no database (expected mysql://user:password@host:3306/database)');
      expect(refusal('mysql://u:p@db/a/b')).to.equal('DATABASE_URL: the path must be one database name, got "a/b"');
      expect(refusal(`mysql://u:p@db/${'d'.repeat(65)}`)).to.match(/is no MySQL database name \(at most 64 characters/);
      expect(refusal('mysql://u:p@db/tf#x')).to.equal('DATABASE_URL: has a "#" fragment, which means nothing here (write a "#" in a name or path as %23)');
    });

    it('refuses what is no URL, or another scheme, without quoting it; sqlite: stays as it was', () => {
      expect(refusal("mysql:u:it's secret@db/tf")).to.equal('DATABASE_URL: is not a URL (expected sqlite:PATH or mysql://user:password@host:3306/database)');
      expect(refusal('postgres://u:hunter2@h/db')).to.equal('DATABASE_URL: unsupported scheme "postgres" (expected sqlite: or mysql://)');
      expect(mysql('MySQL://u:p@db/tf').kind).to.equal('mysql');
      expect(loadConfig({ DATABASE_URL: 'sqlite:./x.db' }).database).to.deep.equal({ kind: 'sqlite', path: './x.db' });
    });
  });

  describe('API_TOKEN', () => {
    it('takes printable ASCII as given; empty or unset means open', () => {
      for (const t of ['s3cret-token', 'a.b_c~d+e/f=', '!#$%&*']) expect(loadConfig({ API_TOKEN: t }).apiToken, t).to.equal(t);
      expect(loadConfig({ API_TOKEN: '' }).apiToken).to.equal('');
      expect(loadConfig({}).apiToken).to.equal('');
    });

    it('refuses whitespace anywhere, control characters and non-ASCII, without showing the token', () => {
      const table: Array<[string, string]> = [
        [' tok3n-Secret', 'has leading or trailing whitespace (at character 1 of 13)'],
        ['tok3n-Secret\n', 'has leading or trailing whitespace (at character 13 of 13)'],
        ['tok3n Secret', 'holds whitespace (at character 6 of 12)'],
        ['tok3n\tSecret', 'holds whitespace (at character 6 of 12)'],
        ['tok3n\u0000Secret', 'holds a control character (at character 6 of 12)'],
        ['tok3n\u007fSecret', 'holds a control character (at character 6 of 12)'],
        ['tok3nÄSecret', 'holds a character outside printable ASCII (at character 6 of 12)'],
        ['tok3n\u00a0Secret', 'holds whitespace (at character 6 of 12)'],
        ['   ', 'is only whitespace (at character 1 of 3)'],
      ];
      for (const [token, why] of table) {
        const p = problems({ API_TOKEN: token });
        expect(p, JSON.stringify(token)).to.deep.equal([`API_TOKEN: ${why}; a bearer token is printable ASCII without spaces, and this one could never authenticate`]);
        expect(p[0]).to.not.contain('tok3n').and.not.contain('Secret');
      }
    });
  });

  describe('connect errors', () => {
    const at = (q: string) => mysql(`mysql://u:pw@db.internal:3307/tf${q}`);
    const err = (code: string, message: string) => Object.assign(new Error(message), { code });

    it('says what TLS asked for and what the server did not do', () => {
      expect(connectErrorMessage(err('HANDSHAKE_NO_SSL_SUPPORT', 'Server does not support secure connection'), at('?ssl-mode=REQUIRED'))).to.equal(
        'database db.internal:3307: ssl-mode=REQUIRED asks for TLS, but the server offers none (Server does not support secure connection); give the server a certificate (ssl_cert, ssl_key) or set ssl-mode=DISABLED',
      );
      expect(connectErrorMessage(err('HANDSHAKE_SSL_ERROR', 'self-signed certificate in certificate chain'), at(`?ssl-mode=VERIFY_CA&ssl-ca=${ca.certFile}`))).to.equal(
        `database db.internal:3307: the server's certificate is not trusted under ssl-mode=VERIFY_CA (self-signed certificate in certificate chain); it must chain to ssl-ca ${JSON.stringify(ca.certFile)}`,
      );
      expect(connectErrorMessage(err('HANDSHAKE_SSL_ERROR', 'unable to get local issuer certificate'), at('?ssl-mode=VERIFY_CA'))).to.contain("it must chain to Node's bundled CAs (no ssl-ca given)");
      expect(connectErrorMessage(err('HANDSHAKE_SSL_ERROR', "Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list: "), at('?ssl-mode=VERIFY_IDENTITY'))).to.match(
        /^database db\.internal:3307: the server's certificate does not name the host connected to, which ssl-mode=VERIFY_IDENTITY requires \(.*\); connect by a name or address the certificate holds, or use ssl-mode=VERIFY_CA$/,
      );
      expect(connectErrorMessage(err('HANDSHAKE_SSL_ERROR', 'wrong version number'), at('?ssl-mode=REQUIRED'))).to.equal('database db.internal:3307: the TLS handshake failed under ssl-mode=REQUIRED (wrong version number)');
      const list = mysql('mysql://u:pw@h1,[::1]:3307/tf?ssl-mode=REQUIRED');
      expect(connectErrorMessage(err('HANDSHAKE_NO_SSL_SUPPORT', 'Server does not support secure connection'), list)).to.match(/^database h1:3306,\[::1\]:3307: ssl-mode=REQUIRED asks for TLS/);
    });

    it('leaves other errors as they are (redacted), and TLS-free configurations alone', () => {
      expect(connectErrorMessage(err('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:3307'), at('?ssl-mode=REQUIRED'))).to.equal('connect ECONNREFUSED 10.0.0.1:3307');
      expect(connectErrorMessage(err('HANDSHAKE_NO_SSL_SUPPORT', 'Server does not support secure connection'), at(''))).to.equal('Server does not support secure connection');
      expect(connectErrorMessage(new Error('bad mysql://u:pw@h/d'), at(''))).to.equal('bad mysql://u:***@h/d');
      expect(connectErrorMessage('plain string', { kind: 'sqlite', path: 'x' })).to.equal('plain string');
    });
  });
});
