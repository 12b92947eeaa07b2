/**
 * DATABASE_URL: `sqlite:PATH`, or `mysql://user:password@host[:port][,host[:port]...]/database[?options]`
 * (also `mariadb://`). Parsed by hand rather than with `new URL()`, for three reasons: a
 * comma-separated host list is no WHATWG URL; `decodeURIComponent` throws on a malformed escape;
 * and a message about a URL that did not parse must never quote it, because where parsing went
 * wrong is exactly where a password may sit. So no message below quotes the user or password,
 * and text after the host list is quoted only once the URL is known to hold no `@` there (an
 * unencoded `/`, `?` or `#` in a password would otherwise spill the rest of it into the "path").
 *
 * TLS options (README "Security"): `ssl-mode` as MySQL spells it, with libpq's `sslmode` and a
 * boolean `ssl` as aliases; `ssl-ca`, `ssl-cert`, `ssl-key` (libpq: `sslrootcert`, `sslcert`,
 * `sslkey`) name PEM files, read here, at start, so a missing file stops start-up with a message
 * instead of failing every connection later. Any other option is refused by name.
 */

import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * How the MySQL connection uses TLS (MySQL's `--ssl-mode` values):
 * - `DISABLED`: plaintext (the default when the URL says nothing).
 * - `REQUIRED`: encrypted, the server's certificate is not checked (protects against a passive
 *   listener only).
 * - `VERIFY_CA`: encrypted, and the certificate must chain to `ssl-ca` (or Node's bundled CAs);
 *   the host name is not compared with it.
 * - `VERIFY_IDENTITY`: as VERIFY_CA, and the certificate must name the host connected to.
 *
 * `PREFERRED` (MySQL's client default: TLS when the server offers it, else plaintext) is refused:
 * mysql2 cannot fall back to plaintext on the same connection, and a silent fallback is what an
 * attacker in the middle asks for anyway. Say REQUIRED or DISABLED.
 */
export type TlsMode = 'DISABLED' | 'REQUIRED' | 'VERIFY_CA' | 'VERIFY_IDENTITY';

export const TLS_MODES: readonly TlsMode[] = ['DISABLED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'];

/** The TLS settings of a MySQL DATABASE_URL, files already read. */
export interface DatabaseTls {
  mode: TlsMode;
  /** PEM of `ssl-ca` (VERIFY_CA, VERIFY_IDENTITY only); undefined: Node's bundled CAs. */
  ca?: string;
  caPath?: string;
  /** Client certificate and its key (`ssl-cert`, `ssl-key`), both or neither. */
  cert?: string;
  certPath?: string;
  key?: string;
  keyPath?: string;
}

/** One server of the host list. */
export interface DatabaseHost {
  host: string;
  port: number;
}

/** Where the rows live. */
export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | {
      kind: 'mysql';
      /** The first of {@link hosts}: the server every connection goes to. */
      host: string;
      port: number;
      /**
       * Every `host[:port]` of the URL, in order (`h1,h2:3307,[::1]`; default port 3306). Parsed
       * and validated only: connections go to the first.
       */
      hosts: DatabaseHost[];
      user: string;
      password: string;
      database: string;
      tls: DatabaseTls;
      /** The `?key=value` options as written (names lower-cased), all of them known ones. */
      params: Record<string, string>;
    };

export const DEFAULT_MYSQL_PORT = 3306;

/** The options DATABASE_URL takes, each with the setting it spells. */
const OPTIONS: Readonly<Record<string, 'mode' | 'ca' | 'cert' | 'key'>> = {
  'ssl-mode': 'mode',
  sslmode: 'mode',
  ssl: 'mode',
  'ssl-ca': 'ca',
  sslrootcert: 'ca',
  'ssl-cert': 'cert',
  sslcert: 'cert',
  'ssl-key': 'key',
  sslkey: 'key',
};

/** Named in the message refusing an unknown option. */
const OPTIONS_HELP =
  'known: ssl-mode (or sslmode, ssl), ssl-ca (or sslrootcert), ssl-cert (or sslcert), ssl-key (or sslkey); ' +
  'the pool size and timeouts are DB_POOL_SIZE, DB_CONNECT_TIMEOUT and DB_STATEMENT_TIMEOUT';

const MYSQL_EXAMPLE = 'mysql://user:password@host:3306/database';

/** A file read at start; injectable for tests. */
export type ReadFile = (path: string) => string;

const readUtf8: ReadFile = (path) => readFileSync(path, 'utf8');

/**
 * Parses DATABASE_URL. Pushes one single-line message per problem onto `problems` (each starting
 * `DATABASE_URL:`) and then returns a placeholder; never throws, never quotes the password.
 */
export function parseDatabaseUrl(raw: string, problems: string[], readFile: ReadFile = readUtf8): DatabaseConfig {
  const fallback: DatabaseConfig = { kind: 'sqlite', path: './data/tinyforge.db' };
  const fail = (msg: string): DatabaseConfig => {
    problems.push(`DATABASE_URL: ${msg}`);
    return fallback;
  };
  if (raw.startsWith('sqlite:')) {
    let path = raw.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') return fail('sqlite: needs a file path, for example sqlite:./data/tinyforge.db');
    return { kind: 'sqlite', path };
  }

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(raw);
  if (!scheme) return fail(`is not a URL (expected sqlite:PATH or ${MYSQL_EXAMPLE})`);
  const protocol = scheme[1]!.toLowerCase();
  if (protocol !== 'mysql' && protocol !== 'mariadb') return fail(`unsupported scheme "${clip(protocol, 20)}" (expected sqlite: or mysql://)`);

  const rest = raw.slice(scheme[0].length);
  const authorityEnd = firstIndexOf(rest, '/?#');
  const authority = rest.slice(0, authorityEnd);
  const tail = rest.slice(authorityEnd);
  if (authority === '' && !tail.includes('@')) return fail(`names no host (expected ${MYSQL_EXAMPLE})`);
  const at = authority.lastIndexOf('@');
  // Nothing past the host list may hold an "@": if it does, the password (or user) most likely
  // holds an unencoded "/", "?" or "#" and the URL cannot be split without guessing.
  if (at < 0 || tail.includes('@')) {
    return fail(
      `names no user, or its user or password holds an unencoded "/", "?" or "#" ` +
        `(expected ${MYSQL_EXAMPLE}; percent-encode those characters: %2F, %3F, %23)`,
    );
  }
  const userInfo = authority.slice(0, at);
  const colon = userInfo.indexOf(':');
  const user = decode(colon < 0 ? userInfo : userInfo.slice(0, colon));
  const password = colon < 0 ? '' : decode(userInfo.slice(colon + 1));
  const before = problems.length;
  if (user === undefined) problems.push('DATABASE_URL: malformed percent-escape in the user name (a "%" must start %XX; write a literal "%" as %25)');
  else if (user === '') problems.push(`DATABASE_URL: names no user (expected ${MYSQL_EXAMPLE})`);
  if (password === undefined) problems.push('DATABASE_URL: malformed percent-escape in the password (a "%" must start %XX; write a literal "%" as %25)');

  const hosts = parseHosts(authority.slice(at + 1), problems);

  const hash = tail.indexOf('#');
  if (hash >= 0) problems.push('DATABASE_URL: has a "#" fragment, which means nothing here (write a "#" in a name or path as %23)');
  const beforeHash = hash >= 0 ? tail.slice(0, hash) : tail;
  const q = beforeHash.indexOf('?');
  const path = q >= 0 ? beforeHash.slice(0, q) : beforeHash;
  const query = q >= 0 ? beforeHash.slice(q + 1) : '';

  let database = '';
  if (path === '' || path === '/') problems.push(`DATABASE_URL: names no database (expected ${MYSQL_EXAMPLE})`);
  else {
    const segment = path.slice(1);
    const name = decode(segment);
    if (segment.includes('/')) problems.push(`DATABASE_URL: the path must be one database name, got ${quote(segment)}`);
    else if (name === undefined) problems.push('DATABASE_URL: malformed percent-escape in the database name');
    else if (name.length > 64 || /[\u0000-\u001f\u007f/\\]/.test(name)) problems.push(`DATABASE_URL: ${quote(name)} is no MySQL database name (at most 64 characters, no "/", "\\" or control characters)`);
    else database = name;
  }

  const { params, tls } = parseOptions(query, problems, readFile);

  if (problems.length > before) return fallback;
  return { kind: 'mysql', host: hosts[0]!.host, port: hosts[0]!.port, hosts, user: user!, password: password!, database, tls: tls!, params };
}

/** `h1[:port],h2[:port],[v6]:port`: each entry once, ports 1-65535, default 3306. */
function parseHosts(list: string, problems: string[]): DatabaseHost[] {
  if (list === '') {
    problems.push(`DATABASE_URL: names no host (expected ${MYSQL_EXAMPLE})`);
    return [];
  }
  const entries = list.split(',');
  const hosts: DatabaseHost[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const where = entries.length > 1 ? `host ${i + 1} of ${entries.length}` : 'the host';
    if (entry === '') {
      problems.push(`DATABASE_URL: ${where} is empty (hosts are separated by single commas: h1:3306,h2:3306)`);
      return;
    }
    const m = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::([^:]*))?$/.exec(entry);
    const host = m?.[1] ?? m?.[2];
    if (!m || host === undefined || !(m[1] !== undefined ? isIPv6(host) : isHostName(host))) {
      problems.push(`DATABASE_URL: ${where} ${quote(entry)} is no host name, IPv4 address or [IPv6]:port`);
      return;
    }
    let port = DEFAULT_MYSQL_PORT;
    if (m[3] !== undefined) {
      port = /^\d{1,5}$/.test(m[3]) ? Number(m[3]) : NaN;
      if (!(port >= 1 && port <= 65535)) {
        problems.push(`DATABASE_URL: ${where} ${quote(entry)} has a bad port (expected a number from 1 to 65535)`);
        return;
      }
    }
    const key = `${m[1] !== undefined ? canonicalIPv6(host) : host.toLowerCase().replace(/\.$/, '')}|${port}`;
    if (seen.has(key)) {
      problems.push(`DATABASE_URL: ${where} ${quote(entry)} repeats an earlier host`);
      return;
    }
    seen.add(key);
    hosts.push({ host, port });
  });
  return hosts;
}

/** A DNS name (letters, digits, "-", "_" for container names, dots between labels) or an IPv4 address. */
function isHostName(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  if (/^[\d.]+$/.test(h)) return isIPv4(h);
  return /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$/.test(h);
}

/** `0:0::1` and `::1` are one host. */
function canonicalIPv6(h: string): string {
  try {
    return new URL(`http://[${h}]/`).hostname;
  } catch {
    return h.toLowerCase();
  }
}

function parseOptions(query: string, problems: string[], readFile: ReadFile): { params: Record<string, string>; tls?: DatabaseTls } {
  const params: Record<string, string> = {};
  const given: Partial<Record<'mode' | 'ca' | 'cert' | 'key', { name: string; value: string }>> = {};
  const before = problems.length;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq))?.toLowerCase().replace(/_/g, '-');
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    if (name === undefined || value === undefined) {
      problems.push('DATABASE_URL: malformed percent-escape in an option');
      continue;
    }
    const setting = Object.hasOwn(OPTIONS, name) ? OPTIONS[name] : undefined;
    if (setting === undefined) {
      problems.push(`DATABASE_URL: unknown option ${/^[a-z0-9.-]{1,40}$/.test(name) ? `"${name}"` : '(name not shown)'} (${OPTIONS_HELP})`);
      continue;
    }
    if (eq < 0 || value === '') {
      problems.push(`DATABASE_URL: option "${name}" has no value`);
      continue;
    }
    const prior = given[setting];
    if (prior) {
      problems.push(prior.name === name ? `DATABASE_URL: option "${name}" is given twice` : `DATABASE_URL: options "${prior.name}" and "${name}" set the same thing; give one`);
      continue;
    }
    given[setting] = { name, value };
    params[name] = value;
  }

  const mode = given.mode ? tlsMode(given.mode.name, given.mode.value, problems) : 'DISABLED';
  if (problems.length > before || mode === undefined) return { params };

  const tls: DatabaseTls = { mode };
  if (given.ca) {
    if (mode !== 'VERIFY_CA' && mode !== 'VERIFY_IDENTITY') {
      problems.push(
        `DATABASE_URL: "${given.ca.name}" needs ssl-mode=VERIFY_CA or VERIFY_IDENTITY ` +
          `(${given.mode ? `with ${given.mode.name}=${given.mode.value}` : 'without ssl-mode'} the server's certificate is never checked against it)`,
      );
    } else {
      tls.caPath = given.ca.value;
      tls.ca = readPem(given.ca.name, given.ca.value, 'certificate', problems, readFile);
    }
  }
  if (given.cert || given.key) {
    if (!given.cert || !given.key) problems.push(`DATABASE_URL: "${given.cert ? given.cert.name : given.key!.name}" needs its pair: a client certificate takes both ssl-cert and ssl-key`);
    else if (mode === 'DISABLED') problems.push(`DATABASE_URL: a client certificate (ssl-cert, ssl-key) needs TLS: ssl-mode=REQUIRED, VERIFY_CA or VERIFY_IDENTITY`);
    else {
      tls.certPath = given.cert.value;
      tls.keyPath = given.key.value;
      tls.cert = readPem(given.cert.name, given.cert.value, 'certificate', problems, readFile);
      tls.key = readPem(given.key.name, given.key.value, 'key', problems, readFile);
      if (tls.cert !== undefined && tls.key !== undefined) {
        let matches = false;
        try {
          matches = new X509Certificate(tls.cert).checkPrivateKey(createPrivateKey(tls.key));
        } catch {
          /* reported as false */
        }
        if (!matches) problems.push(`DATABASE_URL: the key ${quote(given.key.value)} does not belong to the certificate ${quote(given.cert.value)}`);
      }
    }
  }
  return { params, tls };
}

/** `ssl-mode`, `sslmode` or `ssl` to a {@link TlsMode}; undefined (and a problem) when refused. */
function tlsMode(name: string, value: string, problems: string[]): TlsMode | undefined {
  const v = value.toUpperCase().replace(/-/g, '_');
  const shown = /^[A-Za-z0-9_.-]{1,24}$/.test(value) ? `"${value}"` : '(value not shown)';
  let mode: TlsMode | 'PREFERRED' | undefined;
  if (name === 'ssl') {
    // Before ssl-mode, ssl=true gave mysql2's default: the chain checked, the host name not.
    mode = v === 'TRUE' || v === '1' ? 'VERIFY_CA' : v === 'FALSE' || v === '0' ? 'DISABLED' : undefined;
    if (mode === undefined) problems.push(`DATABASE_URL: ssl=${shown} is not true, false, 1 or 0 (or say ssl-mode=REQUIRED, VERIFY_CA, VERIFY_IDENTITY or DISABLED)`);
    return mode;
  }
  if (name === 'sslmode') {
    const libpq: Record<string, TlsMode | 'PREFERRED'> = { DISABLE: 'DISABLED', PREFER: 'PREFERRED', REQUIRE: 'REQUIRED', VERIFY_CA: 'VERIFY_CA', VERIFY_FULL: 'VERIFY_IDENTITY' };
    mode = Object.hasOwn(libpq, v) ? libpq[v] : undefined;
    if (mode === undefined) problems.push(`DATABASE_URL: sslmode=${shown} is not disable, require, verify-ca or verify-full`);
  } else {
    mode = (TLS_MODES as readonly string[]).includes(v) || v === 'PREFERRED' ? (v as TlsMode | 'PREFERRED') : undefined;
    if (mode === undefined) problems.push(`DATABASE_URL: ssl-mode=${shown} is not DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY`);
  }
  if (mode === 'PREFERRED') {
    problems.push(
      `DATABASE_URL: ${name}=${value} (TLS if the server offers it, else plaintext) is not supported: ` +
        'the client cannot fall back on one connection, and a silent fallback to plaintext is what an attacker in the middle wants; ' +
        'say ssl-mode=REQUIRED (or VERIFY_CA, VERIFY_IDENTITY) or ssl-mode=DISABLED',
    );
    return undefined;
  }
  return mode;
}

/** Reads a PEM file named by an option; undefined (and a problem) when unreadable or not PEM. */
function readPem(option: string, path: string, what: 'certificate' | 'key', problems: string[], readFile: ReadFile): string | undefined {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    problems.push(`DATABASE_URL: ${option} ${quote(path)} cannot be read (${why})`);
    return undefined;
  }
  try {
    if (what === 'certificate') {
      if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no certificate');
      new X509Certificate(text);
    } else {
      const key = createPrivateKey(text);
      if (key.type !== 'private') throw new Error('no private key');
    }
  } catch (err) {
    const encrypted = what === 'key' && /ENCRYPTED|passphrase/i.test(`${text.slice(0, 200)} ${(err as Error).message}`);
    problems.push(`DATABASE_URL: ${option} ${quote(path)} ${encrypted ? 'is an encrypted key (give it without a passphrase)' : `is not a PEM ${what === 'key' ? 'private key' : 'certificate'}`}`);
    return undefined;
  }
  return text;
}

/** `mysql://user:***@h1:3306,h2:3306/db?ssl-mode=VERIFY_CA&ssl-ca=...`: for logs, no secret. */
export function describeDatabase(db: DatabaseConfig): string {
  if (db.kind === 'sqlite') return `sqlite:${db.path}`;
  const hosts = db.hosts.map((h) => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`).join(',');
  const opts = [
    ...(db.tls.mode === 'DISABLED' ? [] : [`ssl-mode=${db.tls.mode}`]),
    ...(db.tls.caPath === undefined ? [] : [`ssl-ca=${db.tls.caPath}`]),
    ...(db.tls.certPath === undefined ? [] : [`ssl-cert=${db.tls.certPath}`, `ssl-key=${db.tls.keyPath}`]),
  ];
  return `mysql://${db.user}${db.password ? ':***' : ''}@${hosts}/${db.database}${opts.length > 0 ? `?${opts.join('&')}` : ''}`;
}

/** decodeURIComponent that returns undefined instead of throwing URIError. */
function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function firstIndexOf(s: string, chars: string): number {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return s.length;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

/** A value safe to show (it holds no "@", so no part of a password): JSON-quoted, clipped. */
function quote(s: string): string {
  return JSON.stringify(clip(s, 80));
}
