/**
 * A seeded generator of DATABASE_URL shapes for the fuzz specs (spec/unit/database-url.fuzz.spec.ts,
 * spec/integration/database-url-cli.spec.ts): well-formed URLs with what they must parse to, and
 * anything else (raw or half-encoded passwords, odd hosts, options, missing parts). Every password
 * is built around random marker words, so a leak of any part of it can be found in any output.
 */
import { prng } from './truth.js';

export interface Case {
  url: string;
  /** The password as meant (before encoding). */
  password: string;
  /** Marker words of the password: none may appear in any output. */
  markers: string[];
  /** Built to be valid: must parse, and give back exactly these. */
  expect?: { user: string; password: string; hosts: Array<{ host: string; port: number }>; database: string; mode: string };
}

export function generator(seed: number): () => Case {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const ALNUM = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789';
  // "Qz" + 6 random characters: never part of a message, a host or a keyword.
  const marker = () => `Qz${Array.from({ length: 6 }, () => ALNUM[int(ALNUM.length)]).join('')}`;
  // No NUL and no lone surrogate: an environment variable holds neither.
  const SPECIAL = [' ', '"', "'", '@', ':', '/', '?', '#', '%', '%Z', '%4', '%C3', '%40', '%%', '😀', '東京', ',', '[', ']', '&', '=', '\\', '+', '\t', '\n', '\u0001', '@@', '://', ''];
  const PLAIN_HOSTS = ['db', 'h1', 'h2:3307', 'galera-0.galera', '127.0.0.1', '127.0.0.1:13306', '[::1]', '[::1]:3308', 'my_db:1', 'h3:65535'];
  const ANY_HOSTS = [...PLAIN_HOSTS, '', 'h:0', 'h:99999', 'h:x', 'h:', '::1', '[::1', 'ü', '999.1.1.1', 'd b', '-x', 'h1', 'db:3306'];
  const GOOD_OPTS: Array<[string, string]> = [
    ['', 'DISABLED'],
    ['?ssl-mode=REQUIRED', 'REQUIRED'],
    ['?sslmode=verify-full', 'VERIFY_IDENTITY'],
    ['?ssl=1', 'VERIFY_CA'],
    ['?ssl-mode=verify_ca', 'VERIFY_CA'],
    ['?ssl=false', 'DISABLED'],
  ];
  const ANY_OPTS = [...GOOD_OPTS.map(([q]) => q), '?', '?&', '?foo=bar', '?ssl-mode=PREFERRED', '?ssl-ca=/nonexistent.pem', '?ssl-mode=VERIFY_CA&ssl-ca=/nonexistent.pem', '?ssl', '?ssl-mode=%ZZ', '?charset=utf8mb4', '?ssl-mode=REQUIRED&ssl=0', '#frag', '?ssl-mode=REQUIRED#x'];
  // No sqlite: there is no password in a file path, and the path is shown as given.
  const SCHEMES = ['mysql://', 'mariadb://', 'MySQL://', 'postgres://', '', 'mysql:/', 'mysql:', 'mysql//'];

  const parseHost = (h: string) => {
    const m = /^(?:\[(.*)\]|([^:]+))(?::(\d+))?$/.exec(h)!;
    return { host: m[1] ?? m[2]!, port: m[3] === undefined ? 3306 : Number(m[3]) };
  };

  return () => {
    const markers = Array.from({ length: 1 + int(3) }, marker);
    const parts: string[] = [];
    for (const m of markers) {
      for (let i = int(3); i > 0; i--) parts.push(pick(SPECIAL));
      parts.push(m);
    }
    for (let i = int(2); i > 0; i--) parts.push(pick(SPECIAL));
    const password = parts.join('');
    const user = pick(['tf', 'u', 'us@er', 'a b', '', 'root']);

    if (rnd() < 0.35) {
      // A well-formed URL: everything encoded, hosts distinct, a known option.
      const hosts = [...new Set(Array.from({ length: 1 + int(3) }, () => pick(PLAIN_HOSTS)))];
      const unique = hosts.filter((h, i) => hosts.findIndex((o) => parseHost(o).host.toLowerCase() === parseHost(h).host.toLowerCase() && parseHost(o).port === parseHost(h).port) === i);
      const [opts, mode] = pick(GOOD_OPTS);
      const u = user === '' ? 'tf' : user;
      const database = pick(['tf', 'tinyforge', 'a b', 'dé']);
      const url = `${pick(['mysql://', 'mariadb://'])}${encodeURIComponent(u)}:${encodeURIComponent(password)}@${unique.join(',')}/${encodeURIComponent(database)}${opts}`;
      return { url, password, markers, expect: { user: u, password, hosts: unique.map(parseHost), database, mode } };
    }
    // Anything: raw or half-encoded passwords, odd hosts, odd options, missing parts.
    const pw = rnd() < 0.5 ? password : rnd() < 0.5 ? encodeURIComponent(password) : password.replace(/[@/]/g, encodeURIComponent);
    // Not `${pw}` alone: without a ":" it is the user name, which the logged config shows.
    const userInfo = pick([`${user}:${pw}`, `${user}:${pw}`, `:${pw}`, `${user}:${pw}@`, '']);
    const hosts = Array.from({ length: int(4) }, () => pick(ANY_HOSTS)).join(pick([',', ',', ',,', ';']));
    const at = userInfo === '' ? '' : '@';
    const dbPath = pick(['/tf', '/tf', '', '/', '/a/b', '/%ZZ', '/t%20f', `/${'d'.repeat(70)}`]);
    const url = `${pick(SCHEMES)}${userInfo}${at}${hosts}${dbPath}${pick(ANY_OPTS)}`;
    return { url, password, markers };
  };
}

export function leaks(text: string, c: Case): string | undefined {
  return c.markers.find((m) => text.includes(m));
}

