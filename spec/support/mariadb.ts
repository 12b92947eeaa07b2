/**
 * A real, throwaway MariaDB server for integration tests.
 *
 *   const db = await startMariaDb();            // own server (use for kill9/stop/start tests)
 *   const url = await db.createDatabase('store'); // mysql://root:tf-secret-pw@127.0.0.1:<port>/store_...
 *   await db.dispose();                          // stop + delete the datadir
 *
 *   const shared = await sharedMariaDb();        // one per mocha run, torn down by hooks.ts
 *
 *   const ist = await startMariaDb({ defaultTimeZone: '+05:30' });   // server not in UTC
 *   const other = await ist.connectPlain('store_...');                // "another program's session"
 *
 * Each server: fresh datadir (mariadb-install-db) in a mkdtemp dir under /dev/shm (else /tmp), `--no-defaults`
 * (ignores /etc/mysql), its own free TCP port on 127.0.0.1 and unix socket; never touches 3306.
 * root@'%' has password ROOT_PASSWORD (TCP); root@localhost also accepts the unix socket.
 * The server's default time zone is UTC (`--default-time-zone=+00:00`, TZ=UTC) unless the
 * `defaultTimeZone` / `systemTimeZone` options say otherwise.
 *
 *   const tls = await startMariaDb({ tls: true });   // also offers TLS: a CA and a server certificate
 *   tls.tls!.ca.certFile                              // (SAN IP:127.0.0.1, DNS:localhost) made by openssl
 *
 * Without `tls` the server offers no TLS at all (MariaDB 10.x has none unless given certificates).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnection, type Connection, type ConnectionOptions } from 'mysql2/promise';
import {
  SYSTEM_PATH,
  freePort,
  hardCleanupDirSync,
  makeOwnedTempDir,
  runCommand,
  sweepStaleDirs,
  tailFile,
  sharedServer,
  type SharedServer,
} from './proc.js';
import { ServerProcess } from './server-process.js';
import { makeCa, makeCert, type CertificateAuthority } from './certs.js';

export const ROOT_PASSWORD = 'tf-secret-pw';

/**
 * Datadirs live in /dev/shm (tmpfs) when available: mariadb-install-db and InnoDB fsync a lot, and
 * on tmpfs that is free (a datadir is ~35 MB). Crash semantics for kill9() are unchanged (the page
 * cache survives a killed process). Override with TF_MARIADB_TMPDIR.
 */
function dirPrefix(): string {
  const candidates = [process.env.TF_MARIADB_TMPDIR, '/dev/shm', os.tmpdir()].filter((d): d is string => !!d);
  for (const base of candidates) {
    try {
      fs.accessSync(base, fs.constants.W_OK);
      if (fs.statSync(base).isDirectory()) return path.join(base, 'tfm-');
    } catch {
      /* next */
    }
  }
  return '/tmp/tfm-';
}
const STOP_TIMEOUT_MS = 30_000;
/** A graceful shutdown takes ~50 ms; the data is thrown away anyway, so dispose() does not wait long. */
const DISPOSE_TIMEOUT_MS = 5_000;

export interface MariaDbServer {
  readonly port: number;
  readonly socketPath: string;
  /** PID of the current (or, when stopped, the last) mariadbd process. */
  readonly pid: number;
  readonly datadir: string;
  /** The mkdtemp dir holding datadir, socket, pid file and logs. */
  readonly rootDir: string;
  /** mariadbd's --log-error file. */
  readonly logFile: string;
  readonly user: 'root';
  readonly password: string;
  readonly running: boolean;
  /** The server's `--default-time-zone` (`+00:00` unless started with another). */
  readonly defaultTimeZone: string;
  /** TZ of the mariadbd process, i.e. `@@system_time_zone` (`UTC` unless started with another). */
  readonly systemTimeZone: string;
  /** With `tls`: the CA and the server's certificate (`--ssl-ca`, `--ssl-cert`, `--ssl-key`). */
  readonly tls?: MariaDbTls;
  /** mysql://root:<password>@127.0.0.1:<port>/<db> */
  url(database: string): string;
  /** mysql2 connection options (TCP, root, password), optionally for a database. */
  connectionOptions(database?: string): ConnectionOptions;
  /**
   * mysql2 options of a plain client: host, port, user, password, database and nothing else. No
   * `timezone` (mysql2's default `local`: Dates converted in this process's TZ), no charset, no
   * init statement: its session runs in the server's default time zone, like another program's.
   */
  plainConnectionOptions(database?: string): ConnectionOptions;
  /** A connection with {@link plainConnectionOptions} (the caller ends it). */
  connectPlain(database?: string): Promise<Connection>;
  /** CREATE DATABASE (utf8mb4) with a unique name starting with `prefix`, returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** One statement (or several: multipleStatements is on) over a short-lived connection; returns the rows / result header. */
  query(sql: string, params?: unknown[]): Promise<any>;
  /** SIGTERM by PID, wait for exit. No-op when not running. */
  stop(): Promise<void>;
  /** SIGKILL by PID, wait for exit. No-op when not running. */
  kill9(): Promise<void>;
  /** (Re)start on the same port and datadir, wait until it accepts connections. No-op when running. */
  start(): Promise<void>;
  /** Stop (SIGTERM, then SIGKILL) and delete everything. Idempotent. */
  dispose(): Promise<void>;
}

const SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION';

/** Options shared by mariadb-install-db (passes them on to its bootstrap server) and mariadbd. */
const INNODB_ARGS = ['--innodb-buffer-pool-size=64M', '--innodb-log-file-size=16M'];

function binary(candidates: string[], what: string): string {
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`${what} not found (looked for ${candidates.join(', ')}); install mariadb-server (see .ci/install.sh)`);
}

function childEnv(tz = 'UTC'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}`, TZ: tz };
  for (const k of Object.keys(env)) if (k.startsWith('MYSQL_') || k.startsWith('MARIADB_')) delete env[k];
  return env;
}

let dbCounter = 0;

export interface MariaDbTls {
  /** The directory holding the files (inside the server's rootDir). */
  readonly dir: string;
  readonly ca: CertificateAuthority;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** The server certificate's subjectAltName entries. */
  readonly san: readonly string[];
}

class MariaDbInstance implements MariaDbServer {
  readonly user = 'root' as const;
  readonly password = ROOT_PASSWORD;
  readonly datadir: string;
  readonly socketPath: string;
  readonly logFile: string;
  private readonly pidFile: string;
  private readonly server: ServerProcess;

  constructor(
    readonly label: string,
    readonly rootDir: string,
    readonly port: number,
    private readonly mariadbd: string,
    readonly defaultTimeZone = '+00:00',
    readonly systemTimeZone = 'UTC',
    readonly tls: MariaDbTls | undefined = undefined,
  ) {
    this.datadir = path.join(rootDir, 'data');
    this.socketPath = path.join(rootDir, 'mysqld.sock');
    this.logFile = path.join(rootDir, 'mariadbd.err');
    this.pidFile = path.join(rootDir, 'mariadbd.pid');
    this.server = new ServerProcess({
      label,
      program: 'mariadbd',
      logFile: this.logFile,
      stopGraceMs: STOP_TIMEOUT_MS,
      disposeGraceMs: DISPOSE_TIMEOUT_MS,
      cleanupSync: () => hardCleanupDirSync(rootDir),
      afterDispose: () => sharedMariaDb.forget(this),
    });
  }

  get pid(): number {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  url(database: string): string {
    return `mysql://root:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  connectionOptions(database?: string): ConnectionOptions {
    return {
      host: '127.0.0.1',
      port: this.port,
      user: this.user,
      password: this.password,
      database,
      connectTimeout: 5_000,
      multipleStatements: true,
      timezone: 'Z',
      charset: 'utf8mb4_unicode_ci',
    };
  }

  plainConnectionOptions(database?: string): ConnectionOptions {
    return { host: '127.0.0.1', port: this.port, user: this.user, password: this.password, database, connectTimeout: 5_000 };
  }

  async connectPlain(database?: string): Promise<Connection> {
    this.server.assertNotDisposed('connectPlain()');
    return createConnection(this.plainConnectionOptions(database));
  }

  async createDatabase(prefix = 'tf'): Promise<string> {
    const clean = prefix.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 32) || 'tf';
    const name = `${clean}_${process.pid.toString(36)}_${++dbCounter}_${randomBytes(3).toString('hex')}`;
    await this.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    return this.url(name);
  }

  async query(sql: string, params?: unknown[]): Promise<any> {
    this.server.assertNotDisposed('query()');
    const conn = await createConnection(this.connectionOptions());
    try {
      const [rows] = await conn.query(sql, params);
      return rows;
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  async start(): Promise<void> {
    this.server.assertNotDisposed('start()');
    if (this.running) return;
    const args = [
      '--no-defaults', // must be first: ignore /etc/mysql/*.cnf and ~/.my.cnf
      `--datadir=${this.datadir}`,
      `--socket=${this.socketPath}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${this.pidFile}`,
      `--log-error=${this.logFile}`,
      `--tmpdir=${path.join(this.rootDir, 'tmp')}`,
      '--user=root',
      ...INNODB_ARGS,
      '--innodb-flush-log-at-trx-commit=2', // survives kill -9 of mariadbd (not of the machine); faster
      `--sql-mode=${SQL_MODE}`,
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      `--default-time-zone=${this.defaultTimeZone}`,
      '--max-connections=500',
      '--skip-log-bin',
      '--skip-name-resolve',
      '--performance-schema=OFF',
      ...(this.tls ? [`--ssl-ca=${this.tls.ca.certFile}`, `--ssl-cert=${this.tls.serverCertFile}`, `--ssl-key=${this.tls.serverKeyFile}`] : []),
    ];
    await this.server.start(
      this.mariadbd,
      args,
      { env: childEnv(this.systemTimeZone), cwd: this.rootDir },
      {
        subject: `MariaDB on 127.0.0.1:${this.port}`,
        probe: async () => {
          const conn = await createConnection({ ...this.connectionOptions(), connectTimeout: 2_000 });
          await conn.end().catch(() => conn.destroy());
          return true;
        },
      },
    );
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  kill9(): Promise<void> {
    return this.server.kill9();
  }

  dispose(): Promise<void> {
    return this.server.dispose();
  }
}

let nameCounter = 0;

export interface StartMariaDbOptions {
  name?: string;
  /**
   * `--default-time-zone`: a UTC offset (`+05:30`, `-07:00`; needs no time zone tables) or
   * `SYSTEM` (then {@link systemTimeZone} decides). Default `+00:00`. Named zones
   * (`Europe/Berlin`) are refused: the fresh datadir has no time zone tables.
   */
  defaultTimeZone?: string;
  /**
   * TZ of the mariadbd process, which becomes `@@system_time_zone` and is what `SYSTEM` means:
   * a zone name from /usr/share/zoneinfo (`Asia/Kolkata`, `America/Denver`), resolved by the C
   * library, so no time zone tables are needed. Default `UTC`.
   */
  systemTimeZone?: string;
  /**
   * Offer TLS: a fresh CA and a server certificate signed by it, made with openssl in the
   * server's own directory. `san` sets the certificate's subjectAltName (default
   * `IP:127.0.0.1`, `DNS:localhost`; give another name to make host name checks fail).
   * Plaintext connections stay allowed.
   */
  tls?: boolean | { san?: string[] };
}

function checkTimeZones(opts: StartMariaDbOptions): { defaultTimeZone: string; systemTimeZone: string } {
  const defaultTimeZone = opts.defaultTimeZone ?? '+00:00';
  const systemTimeZone = opts.systemTimeZone ?? 'UTC';
  const m = /^([+-])(\d{1,2}):(\d{2})$/.exec(defaultTimeZone);
  if (m) {
    // MariaDB accepts -12:59 .. +13:00
    const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    if (Number(m[3]) > 59 || minutes < -(12 * 60 + 59) || minutes > 13 * 60) {
      throw new Error(`startMariaDb: defaultTimeZone ${defaultTimeZone} is outside -12:59..+13:00`);
    }
  } else if (defaultTimeZone !== 'SYSTEM') {
    throw new Error(
      `startMariaDb: defaultTimeZone must be a UTC offset like +05:30 or SYSTEM, got ${JSON.stringify(defaultTimeZone)} ` +
        '(named zones need time zone tables, which a fresh datadir lacks; use systemTimeZone with SYSTEM instead)',
    );
  }
  if (!/^[A-Za-z0-9_+\-]+(\/[A-Za-z0-9_+\-]+)*$/.test(systemTimeZone) || (systemTimeZone !== 'UTC' && !fs.existsSync(path.join('/usr/share/zoneinfo', systemTimeZone)))) {
    throw new Error(`startMariaDb: systemTimeZone ${JSON.stringify(systemTimeZone)} is not a zone in /usr/share/zoneinfo (package tzdata)`);
  }
  return { defaultTimeZone, systemTimeZone };
}

/** Start a fresh MariaDB (fresh datadir, free port). Typically 0.5–1 s. Call dispose() when done. */
export async function startMariaDb(opts: StartMariaDbOptions = {}): Promise<MariaDbServer> {
  const { defaultTimeZone, systemTimeZone } = checkTimeZones(opts);
  const mariadbd = binary(['/usr/sbin/mariadbd', '/usr/sbin/mysqld'], 'mariadbd');
  const installDb = binary(['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'], 'mariadb-install-db');
  const prefix = dirPrefix();
  sweepStaleDirs(prefix, (dir) => hardCleanupDirSync(dir));

  const label = `mariadb[${opts.name ?? `#${++nameCounter}`}]`;
  const rootDir = await makeOwnedTempDir(prefix);
  const port = await freePort();
  let tls: MariaDbTls | undefined;
  if (opts.tls) {
    const dir = path.join(rootDir, 'tls');
    const san = (typeof opts.tls === 'object' ? opts.tls.san : undefined) ?? ['IP:127.0.0.1', 'DNS:localhost'];
    try {
      await fsp.mkdir(dir);
      const ca = await makeCa(dir, 'ca');
      const server = await makeCert(ca, dir, 'server', { san });
      tls = { dir, ca, serverCertFile: server.certFile, serverKeyFile: server.keyFile, san };
    } catch (e) {
      hardCleanupDirSync(rootDir);
      throw e;
    }
  }
  const inst = new MariaDbInstance(label, rootDir, port, mariadbd, defaultTimeZone, systemTimeZone, tls);
  try {
    await fsp.mkdir(path.join(rootDir, 'tmp'));
    // Root's password is set inside the bootstrap (FLUSH PRIVILEGES loads the grant tables that
    // --bootstrap skips), so the server never runs without one and needs no extra round trip.
    const pw = ROOT_PASSWORD.replace(/'/g, "''");
    const initSql = path.join(rootDir, 'init.sql');
    await fsp.writeFile(
      initSql,
      [
        'FLUSH PRIVILEGES;',
        `CREATE USER 'root'@'%' IDENTIFIED BY '${pw}';`,
        `GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;`,
        `ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('${pw}');`,
        'DELETE FROM mysql.proxies_priv WHERE Host <> \'localhost\';',
        'FLUSH PRIVILEGES;',
        '',
      ].join('\n'),
    );
    const installLog = path.join(rootDir, 'install-db.log');
    const res = await runCommand(
      installDb,
      [
        '--no-defaults',
        `--datadir=${inst.datadir}`,
        '--user=root',
        '--auth-root-authentication-method=socket',
        '--skip-test-db',
        '--skip-name-resolve',
        `--extra-file=${initSql}`,
        // Its own temporary files: bootstraps running at once in a shared /tmp were seen to
        // lose each other's temporary tables ("Could not remove temporary table ... error: 2").
        `--tmpdir=${path.join(rootDir, 'tmp')}`,
        ...INNODB_ARGS,
      ],
      { env: childEnv(), cwd: rootDir, allowFail: true, timeoutMs: 120_000 },
    );
    await fsp.writeFile(installLog, res.stdout + res.stderr);
    if (res.code !== 0) {
      throw new Error(`${label}: ${installDb} failed (exit ${res.code}):\n${tailFile(installLog, 30)}`);
    }
    await inst.start();
    return inst;
  } catch (e) {
    await inst.dispose().catch(() => undefined);
    throw e;
  }
}

/**
 * One MariaDB for the whole mocha run, started on first use and disposed by hooks.ts
 * (`--require dist/spec/support/hooks.js`). Don't stop()/kill9() it: use startMariaDb() for that.
 * Isolate tests with createDatabase().
 */
export const sharedMariaDb: SharedServer<MariaDbServer> = sharedServer(() => startMariaDb({ name: 'shared' }), { restart: (s) => s.start() });
