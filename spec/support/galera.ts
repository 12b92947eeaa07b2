/**
 * A real, throwaway MariaDB Galera cluster on loopback for integration tests.
 *
 *   const cluster = await startGaleraCluster({ nodes: 3 });   // own cluster (kill/stop/start nodes freely)
 *   const shared = await sharedGalera();                       // one per mocha run, torn down by hooks.ts
 *   const db = await cluster.createDatabase('store');          // CREATE DATABASE, replicated; returns the name
 *   cluster.nodes[1].url(db);                                  // mysql://root:tf-secret-pw@127.0.0.1:<port of node2>/<db>
 *   cluster.url(db);                                           // every node: mysql://root:...@127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/<db>
 *   await cluster.nodes[0].kill();                             // SIGKILL by PID (the others go on as a 2-node cluster)
 *   await cluster.nodes[0].start();                            // rejoins (IST, or SST when it must), resolves once Synced
 *   await cluster.stopAll();                                   // SIGKILL everything, delete every file
 *
 * Each node is a MariaDbServer (spec/support/mariadb.ts: `query`, `createDatabase`, `connectPlain`, ...)
 * plus its Galera side (`status()`, `kill()`, `waitSynced()`). Nodes run `--no-defaults` with their own
 * datadir, unix socket and four free TCP ports on 127.0.0.1 (SQL, group communication, IST, SST), under
 * one mkdtemp dir in /dev/shm (else /tmp). The accounts, root@'%' (ROOT_PASSWORD, as in mariadb.ts) and
 * the unprivileged APP_USER (APP_PASSWORD), are created once, in the first node's datadir by
 * mariadb-install-db; the other nodes get them with that datadir (see below) or an SST.
 *
 * How the cluster starts fast: the first node's datadir is installed once (mariadb-install-db), the node
 * founds the cluster and is stopped cleanly, which saves the cluster's state UUID and seqno in its
 * datadir (`grastate.dat` and InnoDB). That datadir is the seed: every joiner starts from a copy, so it
 * holds the cluster's history and gets only the few events since (view changes) by IST from a donor's
 * gcache; no node ever needs a full state transfer (SST) to start. A later (re)start joins by IST too:
 * after a kill, the last committed position is first recovered from InnoDB (`--wsrep-recover`, as
 * galera_recovery does). A full SST happens only when IST cannot serve (or `start({ forceSst: true })`):
 * by mysqldump into the running joiner (default) or by rsync (`sstMethod: 'rsync'`). rsync SST starts an
 * rsync daemon that drops to `nobody`, so a node's tree is handed to `nobody` before each start. A
 * joiner that fails is killed and tried once more from the seed. A node that is not Synced (in SST)
 * ignores SIGTERM: stop() kills it. Whatever a node leaves (SST scripts, rsync daemons) is killed by
 * its dir path, and mariadbd dies with the test process (parent-death signal, as in mariadb.ts).
 *
 * A killed node is evicted after about 3 s (`evs.suspect_timeout`; writes anywhere wait until then).
 * Killing a majority (2 of 3) leaves the rest non-Primary, refusing queries: startAll() then
 * re-bootstraps the most advanced survivor (`pc.bootstrap`) before starting the others.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnection, type Connection, type ConnectionOptions } from 'mysql2/promise';
import { ROOT_PASSWORD, type MariaDbServer } from './mariadb.js';
import {
  SYSTEM_PATH,
  freePort,
  hardCleanupDirSync,
  makeOwnedTempDir,
  registerServer,
  runCommand,
  sharedServer,
  sleep,
  sweepStaleDirs,
  tailFile,
  unregisterServer,
  waitUntil,
  type SharedServer,
  type TrackedServer,
} from './proc.js';
import { ServerProcess } from './server-process.js';

export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';

/**
 * An unprivileged account like a real install's service user (no SUPER, no GRANT): data and schema
 * statements on every database. Created once with root, on the seed, so every node has it.
 */
export const APP_USER = 'tinyforge';
export const APP_PASSWORD = 'tf-app-pw';
const APP_GRANTS = 'SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE TEMPORARY TABLES, LOCK TABLES';

/** What a node says about itself (`SHOW GLOBAL STATUS LIKE 'wsrep%'`), or why it says nothing. */
export interface GaleraNodeStatus {
  /** The mariadbd process is alive. */
  running: boolean;
  /** It answered a query just now (false while in SST, stopped, or hung). */
  reachable: boolean;
  /** `wsrep_local_state_comment`: Synced, Donor/Desynced, Joining, Joined, Initialized... */
  state?: string;
  /** `wsrep_ready`: the node accepts queries. */
  ready?: boolean;
  /** `wsrep_connected`: the node is in a group. */
  connected?: boolean;
  /** `wsrep_cluster_size`: members of the component this node is in. */
  clusterSize?: number;
  /** `wsrep_cluster_status`: Primary, non-Primary, Disconnected. */
  clusterStatus?: string;
  /** `wsrep_cluster_state_uuid` */
  clusterStateUuid?: string;
  /** `wsrep_last_committed`: the last seqno this node committed. */
  lastCommitted?: number;
  /** Why `reachable` is false. */
  error?: string;
}

/** How a node's last start went. */
export interface GaleraStartRecord {
  /** How the node got the cluster's state: it founded the cluster, was already up to date, or received IST / SST. */
  transfer: 'bootstrap' | 'none' | 'ist' | 'sst';
  /** From spawning mariadbd to Synced, ms (the last attempt). */
  ms: number;
  /** Attempts it took (a second attempt starts from an empty datadir: a full SST). */
  attempts: number;
}

export interface GaleraNode extends MariaDbServer {
  /** Position in `cluster.nodes` (0-based). */
  readonly index: number;
  /** `wsrep_node_name`: node1, node2, ... */
  readonly name: string;
  /** The unix socket (same as socketPath). */
  readonly socket: string;
  /** Group communication (gmcast) port: the node's address in `gcomm://`. */
  readonly galeraPort: number;
  /** Port this node receives IST on. */
  readonly istPort: number;
  /** Port this node's rsync daemon listens on while it receives an SST. */
  readonly sstPort: number;
  /** How its last start went (undefined before the first). */
  readonly lastStart: GaleraStartRecord | undefined;
  /** Like url(), as {@link APP_USER}: `mysql://tinyforge:tf-app-pw@127.0.0.1:<port>/<db>`. */
  appUrl(database: string): string;
  /** `SHOW GLOBAL STATUS LIKE 'wsrep%'` over a fresh connection (never throws). */
  status(): Promise<GaleraNodeStatus>;
  /**
   * (Re)start and wait until the node is Synced in a Primary component. It joins the running nodes
   * (IST, or SST when the donors' gcache no longer holds what it missed) or, when no other node
   * runs, founds the cluster again from its own data. `forceSst` throws its state away first (a
   * fresh state UUID on the seed's data), so it must receive a full SST. No-op when running. A
   * joiner that fails is killed and retried once from the seed datadir.
   */
  start(opts?: { forceSst?: boolean }): Promise<void>;
  /** Graceful stop: SIGTERM by PID (the node leaves the cluster cleanly); SIGKILL when it is not Synced or does not exit in 15 s. */
  stop(): Promise<void>;
  /** SIGKILL by PID (a crash: the others notice within ~3 s), then SIGKILL whatever it left (SST helpers). No-op when not running. */
  kill(): Promise<void>;
  /** Same as kill(). */
  kill9(): Promise<void>;
  /** Waits until this node is Synced, ready and in a Primary component. */
  waitSynced(timeoutMs?: number): Promise<void>;
  /** The cluster's stopAll(): a node has no life of its own. */
  dispose(): Promise<void>;
}

export interface GaleraCluster {
  /** `wsrep_cluster_name` */
  readonly name: string;
  readonly nodes: readonly GaleraNode[];
  /** The mkdtemp dir holding every node's dir. */
  readonly rootDir: string;
  /** startGaleraCluster() from call to every node Synced, ms. */
  readonly startMs: number;
  /** Every node's process runs. */
  readonly running: boolean;
  readonly password: string;
  /** `mysql://root:<pw>@127.0.0.1:<p1>,127.0.0.1:<p2>,.../<db>` for `nodes` (default all), in that order. */
  url(database: string, nodes?: readonly GaleraNode[]): string;
  /** The same as {@link APP_USER}. */
  appUrl(database: string, nodes?: readonly GaleraNode[]): string;
  /** CREATE DATABASE (utf8mb4, replicated to every node) with a unique name starting with `prefix`; returns the name. */
  createDatabase(prefix?: string): Promise<string>;
  /** One statement on the first reachable node, with `wsrep_sync_wait = 15` (reads see every write committed anywhere). */
  query(sql: string, params?: unknown[]): Promise<any>;
  /** Waits until every running node is Synced in one Primary component of that many members. */
  waitSynced(timeoutMs?: number): Promise<void>;
  /** Starts every stopped node (one after another), waiting for each to be Synced. */
  startAll(): Promise<void>;
  /** SIGKILL every node (the data is thrown away), then delete everything. Idempotent. */
  stopAll(): Promise<void>;
  /** Same as stopAll(). */
  dispose(): Promise<void>;
}

export interface StartGaleraOptions {
  /** Number of nodes, 1 to 9; default 3. */
  nodes?: number;
  /** Names the cluster in labels and errors; default `#<n>`. */
  name?: string;
  /** More `key=value` Galera provider options, appended to the defaults (later wins). */
  providerOptions?: string[];
  /** More mariadbd arguments for every node (`--wsrep-retry-autocommit=0`, ...). */
  serverArgs?: string[];
  /** How long one node may take to become Synced, ms; default 60 s. */
  nodeStartTimeoutMs?: number;
  /** Whole-cluster attempts (each with new ports and dirs) before giving up; default 2. */
  attempts?: number;
  /**
   * How a joiner that IST cannot serve gets a full copy (SST): `mysqldump` (default: the donor
   * pipes a dump into the running joiner; an IST runs no script at all) or `rsync` (files copied by
   * an rsync daemon before the joiner's InnoDB starts; each IST also runs the SST scripts on both
   * sides and one donor serves one joiner at a time: seconds more per join).
   */
  sstMethod?: 'mysqldump' | 'rsync';
}

const SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION';
/** Shared by mariadb-install-db and mariadbd: a small InnoDB (three of them run at once). */
const INNODB_ARGS = ['--innodb-buffer-pool-size=48M', '--innodb-log-file-size=16M'];
/**
 * A small gcache (a joiner gets IST while the donors still hold what it missed), no primary
 * component recovery files, and failure detection twice as fast as the defaults (suspect 5 s,
 * inactive 15 s, install 7.5 s) but not so tight that a loaded machine evicts a live node.
 */
const DEFAULT_PROVIDER_OPTIONS = [
  'gcache.size=32M',
  'pc.recovery=FALSE',
  'evs.suspect_timeout=PT3S',
  'evs.inactive_timeout=PT6S',
  'evs.install_timeout=PT6S',
];
const STOP_GRACE_MS = 15_000;

function binary(candidates: string[], what: string): string {
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`${what} not found (looked for ${candidates.join(', ')}); install mariadb-server, galera-4 and rsync (see .ci/install.sh)`);
}

function dirPrefix(): string {
  for (const base of [process.env.TF_MARIADB_TMPDIR, '/dev/shm', os.tmpdir()]) {
    if (!base) continue;
    try {
      fs.accessSync(base, fs.constants.W_OK);
      if (fs.statSync(base).isDirectory()) return path.join(base, 'tfg-');
    } catch {
      /* next */
    }
  }
  return '/tmp/tfg-';
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}`, TZ: 'UTC' };
  for (const k of Object.keys(env)) if (k.startsWith('MYSQL_') || k.startsWith('MARIADB_') || k.startsWith('WSREP_')) delete env[k];
  return env;
}

/** SIGKILL every process whose command line names `dir` (SST scripts, rsync daemons), except `keep`. */
function killByDirSync(dir: string, keep: number[] = []): number {
  const needle = dir.endsWith('/') ? dir : `${dir}/`;
  let killed = 0;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || pid === 1 || keep.includes(pid)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv.some((a) => a === dir || a.includes(needle) || a.endsWith(`=${dir}`))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      /* gone */
    }
  }
  return killed;
}

async function killByDir(dir: string): Promise<void> {
  for (let round = 0; round < 5 && killByDirSync(dir) > 0; round++) await sleep(50);
}

/**
 * Before each start: the node's tree belongs to `nobody`, and its parent is open. An rsync SST
 * receives files through an rsync daemon that drops to `nobody`, which must be able to write into
 * the datadir and to set the attributes of the files and dirs it replaces (it can do that only to
 * its own; mariadbd, running as root, does not care who owns them).
 */
async function openUp(dir: string): Promise<void> {
  await runCommand('chown', ['-R', 'nobody:', dir], { env: childEnv(), timeoutMs: 30_000 });
  await runCommand('chmod', ['-R', 'u+rwX', dir], { env: childEnv(), timeoutMs: 30_000 });
  await fsp.chmod(path.dirname(dir), 0o755);
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

let dbCounter = 0;

interface ClusterContext {
  readonly name: string;
  readonly nodes: readonly GaleraNodeInstance[];
  readonly mariadbd: string;
  readonly opts: Required<Pick<StartGaleraOptions, 'providerOptions' | 'serverArgs' | 'nodeStartTimeoutMs' | 'sstMethod'>>;
  /** A copy of the seeded datadir (state saved at a known seqno): what a joiner that failed starts over from. */
  readonly seedDir: string;
  /** Every node's `127.0.0.1:<galeraPort>`. */
  gcommAddress(): string;
  /** Makes the running nodes a Primary component again when they lost quorum. */
  restorePrimary(): Promise<void>;
  stopAll(): Promise<void>;
  assertAlive(what: string): void;
}

class GaleraNodeInstance implements GaleraNode {
  readonly user = 'root' as const;
  readonly password = ROOT_PASSWORD;
  readonly defaultTimeZone = '+00:00';
  readonly systemTimeZone = 'UTC';
  readonly name: string;
  readonly rootDir: string;
  readonly datadir: string;
  readonly socketPath: string;
  readonly logFile: string;
  private readonly pidFile: string;
  private readonly server: ServerProcess;
  private record: GaleraStartRecord | undefined;
  /** The next start founds a new cluster (only the first node's very first start). */
  bootstrapNext = false;

  constructor(
    private readonly cluster: ClusterContext,
    readonly index: number,
    clusterDir: string,
    readonly port: number,
    readonly galeraPort: number,
    readonly istPort: number,
    readonly sstPort: number,
  ) {
    this.name = `node${index + 1}`;
    this.rootDir = path.join(clusterDir, this.name);
    this.datadir = path.join(this.rootDir, 'data');
    this.socketPath = path.join(this.rootDir, 'mysqld.sock');
    this.logFile = path.join(this.rootDir, 'mariadbd.err');
    this.pidFile = path.join(this.rootDir, 'mariadbd.pid');
    this.server = new ServerProcess({
      label: `galera[${cluster.name}/${this.name}]`,
      program: 'mariadbd',
      logFile: this.logFile,
      startTimeoutMs: cluster.opts.nodeStartTimeoutMs,
      stopGraceMs: STOP_GRACE_MS,
      disposeGraceMs: 1_000,
      cleanupSync: () => killByDirSync(this.rootDir),
    });
  }

  get socket(): string {
    return this.socketPath;
  }

  get pid(): number {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  get lastStart(): GaleraStartRecord | undefined {
    return this.record;
  }

  url(database: string): string {
    return `mysql://root:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  appUrl(database: string): string {
    return `mysql://${APP_USER}:${encodeURIComponent(APP_PASSWORD)}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  connectionOptions(database?: string): ConnectionOptions {
    return { host: '127.0.0.1', port: this.port, user: this.user, password: this.password, database, connectTimeout: 5_000, multipleStatements: true, timezone: 'Z', charset: 'utf8mb4_unicode_ci' };
  }

  plainConnectionOptions(database?: string): ConnectionOptions {
    return { host: '127.0.0.1', port: this.port, user: this.user, password: this.password, database, connectTimeout: 5_000 };
  }

  async connectPlain(database?: string): Promise<Connection> {
    this.cluster.assertAlive('connectPlain()');
    return createConnection(this.plainConnectionOptions(database));
  }

  async createDatabase(prefix = 'tf'): Promise<string> {
    const name = uniqueDbName(prefix);
    await this.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    return this.url(name);
  }

  /** On this node, with `wsrep_sync_wait = 15`: a read sees every write the cluster committed before it. */
  async query(sql: string, params?: unknown[]): Promise<any> {
    this.cluster.assertAlive('query()');
    const conn = await createConnection(this.connectionOptions());
    try {
      await conn.query('SET SESSION wsrep_sync_wait = 15');
      const [rows] = await conn.query(sql, params);
      return rows;
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  async status(): Promise<GaleraNodeStatus> {
    const running = this.running;
    if (!running) return { running, reachable: false, error: `not running (${this.server.describeExit()})` };
    let conn: Connection | undefined;
    try {
      conn = await createConnection({ ...this.connectionOptions(), connectTimeout: 2_000 });
      const [rows] = (await conn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment','wsrep_ready','wsrep_connected','wsrep_cluster_size','wsrep_cluster_status','wsrep_cluster_state_uuid','wsrep_last_committed')")) as unknown as [Array<{ Variable_name: string; Value: string }>];
      const v = new Map(rows.map((r) => [r.Variable_name.toLowerCase(), r.Value]));
      return {
        running,
        reachable: true,
        state: v.get('wsrep_local_state_comment'),
        ready: v.get('wsrep_ready') === 'ON',
        connected: v.get('wsrep_connected') === 'ON',
        clusterSize: Number(v.get('wsrep_cluster_size') ?? 0),
        clusterStatus: v.get('wsrep_cluster_status'),
        clusterStateUuid: v.get('wsrep_cluster_state_uuid'),
        lastCommitted: Number(v.get('wsrep_last_committed') ?? -1),
      };
    } catch (e) {
      return { running, reachable: false, error: e instanceof Error ? e.message : String(e) };
    } finally {
      await conn?.end().catch(() => conn?.destroy());
    }
  }

  private async synced(): Promise<boolean> {
    const s = await this.status();
    if (!s.reachable) throw new Error(s.error);
    if (s.state === 'Synced' && s.ready && s.clusterStatus === 'Primary') return true;
    throw new Error(`state ${s.state}, ready ${s.ready}, cluster ${s.clusterStatus} of ${s.clusterSize}`);
  }

  async waitSynced(timeoutMs = 60_000): Promise<void> {
    await waitUntil(() => this.synced(), {
      timeoutMs,
      intervalMs: 100,
      dead: () => (this.running ? undefined : `mariadbd ${this.server.describeExit()}`),
      explain: (reason) => `${this.server.label}: not Synced: ${reason}\n--- tail of ${this.logFile} ---\n${tailFile(this.logFile, 40)}`,
    });
  }

  async start(opts: { forceSst?: boolean } = {}): Promise<void> {
    this.cluster.assertAlive('start()');
    if (this.running) return;
    const bootstrap = this.bootstrapNext || !this.cluster.nodes.some((n) => n !== this && n.running);
    // Nobody joins a component that lost its majority: make the survivors Primary first.
    if (!bootstrap) await this.cluster.restorePrimary();
    if (opts.forceSst && !bootstrap) {
      await fsp.rm(this.datadir, { recursive: true, force: true });
      await fsp.cp(this.cluster.seedDir, this.datadir, { recursive: true });
      const state = await fsp.readFile(path.join(this.datadir, 'grastate.dat'), 'utf8');
      await fsp.writeFile(path.join(this.datadir, 'grastate.dat'), state.replace(/^uuid:.*$/m, `uuid:    ${randomUUID()}`));
    }
    const attempts = bootstrap ? 1 : 2;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce(bootstrap, attempt);
        this.bootstrapNext = false;
        return;
      } catch (e) {
        await this.kill();
        if (attempt >= attempts) throw e;
        // A joiner that could not join: start over from the seed (IST if the donors' gcache still
        // holds what followed it, else a full SST).
        fs.appendFileSync(this.logFile, `\n==== tinyforge test harness: ${this.name} did not join (${firstLine(e)}); retrying from the seed datadir ====\n`);
        await fsp.rm(this.datadir, { recursive: true, force: true });
        await fsp.cp(this.cluster.seedDir, this.datadir, { recursive: true });
      }
    }
  }

  /** mariadbd's arguments for this node. */
  private args(extra: string[]): string[] {
    const providerOptions = [`gmcast.listen_addr=tcp://127.0.0.1:${this.galeraPort}`, `ist.recv_addr=127.0.0.1:${this.istPort}`, ...DEFAULT_PROVIDER_OPTIONS, ...this.cluster.opts.providerOptions];
    return [
      '--no-defaults', // must be first: ignore /etc/mysql/*.cnf and ~/.my.cnf
      `--datadir=${this.datadir}`,
      `--socket=${this.socketPath}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${this.pidFile}`,
      `--log-error=${this.logFile}`,
      `--tmpdir=${path.join(this.rootDir, 'tmp')}`,
      // As root (never a setuid: that would clear the parent-death signal that kills the node with
      // the test process); the rsync daemon of an SST still drops to nobody, see openUp().
      '--user=root',
      ...INNODB_ARGS,
      '--innodb-flush-log-at-trx-commit=2',
      `--sql-mode=${SQL_MODE}`,
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      `--default-time-zone=${this.defaultTimeZone}`,
      '--max-connections=500',
      '--skip-log-bin',
      '--skip-name-resolve',
      '--performance-schema=OFF',
      '--default-storage-engine=InnoDB',
      '--binlog-format=ROW',
      '--innodb-autoinc-lock-mode=2',
      '--wsrep-on=ON',
      `--wsrep-provider=${GALERA_PROVIDER}`,
      `--wsrep-cluster-name=${this.cluster.name}`,
      `--wsrep-cluster-address=gcomm://${this.cluster.gcommAddress()}`,
      `--wsrep-node-name=${this.name}`,
      `--wsrep-node-address=127.0.0.1:${this.galeraPort}`,
      `--wsrep-node-incoming-address=127.0.0.1:${this.port}`,
      ...(this.cluster.opts.sstMethod === 'rsync'
        ? ['--wsrep-sst-method=rsync', `--wsrep-sst-receive-address=127.0.0.1:${this.sstPort}`]
        : ['--wsrep-sst-method=mysqldump', `--wsrep-sst-auth=root:${this.password}`, `--wsrep-sst-receive-address=127.0.0.1:${this.port}`]),
      `--wsrep-provider-options=${providerOptions.join(';')}`,
      ...this.cluster.opts.serverArgs,
      ...extra,
    ];
  }

  /**
   * After a crash grastate.dat says seqno -1: ask InnoDB for the last committed position, as
   * galera_recovery does for systemd, so the node rejoins by IST instead of a full SST.
   */
  private async recoveredPosition(): Promise<string | undefined> {
    let saved = '';
    try {
      saved = await fsp.readFile(path.join(this.datadir, 'grastate.dat'), 'utf8');
    } catch {
      return undefined;
    }
    if (!/^seqno:\s*-1\s*$/m.test(saved)) return undefined;
    const log = path.join(this.rootDir, 'wsrep-recover.log');
    await fsp.writeFile(log, '');
    await openUp(this.rootDir);
    const args = this.args(['--wsrep-recover']).map((a) => (a.startsWith('--log-error=') ? `--log-error=${log}` : a));
    await runCommand(this.cluster.mariadbd, args, { env: childEnv(), cwd: this.rootDir, allowFail: true, timeoutMs: 60_000 });
    const text = await fsp.readFile(log, 'utf8').catch(() => '');
    fs.appendFileSync(this.logFile, `\n==== tinyforge test harness: --wsrep-recover ====\n${text}`);
    const m = /WSREP: Recovered position: ([0-9a-f-]{36}:-?\d+)/.exec(text);
    return m && !m[1]!.endsWith(':-1') ? m[1] : undefined;
  }

  private async startOnce(bootstrap: boolean, attempt: number): Promise<void> {
    const t0 = Date.now();
    if (bootstrap) await markSafeToBootstrap(this.datadir);
    const position = await this.recoveredPosition();
    await fsp.mkdir(path.join(this.rootDir, 'tmp'), { recursive: true });
    await fsp.appendFile(this.logFile, '');
    await openUp(this.rootDir);
    const logOffset = fileSize(this.logFile);
    const args = this.args([...(position ? [`--wsrep-start-position=${position}`] : []), ...(bootstrap ? ['--wsrep-new-cluster'] : [])]);
    await this.server.start(
      this.cluster.mariadbd,
      args,
      { env: childEnv(), cwd: this.rootDir, banner: `mariadbd ${this.name}${bootstrap ? ' (bootstrap)' : ''}, attempt ${attempt}` },
      { subject: `Galera ${this.name} on 127.0.0.1:${this.port} (Synced)`, probe: () => this.synced(), intervalMs: 100 },
    );
    this.record = { transfer: bootstrap ? 'bootstrap' : transferIn(readFrom(this.logFile, logOffset)), ms: Date.now() - t0, attempts: attempt };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const s = await this.status();
    if (s.state === 'Synced') await this.server.stop();
    else await this.server.kill9();
    await killByDir(this.rootDir);
  }

  async kill(): Promise<void> {
    await this.server.kill9();
    await killByDir(this.rootDir);
  }

  kill9(): Promise<void> {
    return this.kill();
  }

  dispose(): Promise<void> {
    return this.cluster.stopAll();
  }

  /** Part of stopAll(): SIGKILL, leave the registry, kill what is left. */
  async destroy(): Promise<void> {
    await this.server.kill9().catch(() => undefined);
    await this.server.dispose();
  }

  hardKillSync(): void {
    this.server.hardKillSync();
  }
}

function uniqueDbName(prefix: string): string {
  const clean = prefix.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 32) || 'tf';
  return `${clean}_${process.pid.toString(36)}_${++dbCounter}_${randomBytes(3).toString('hex')}`;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readFrom(file: string, offset: number): string {
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(Math.min(offset, buf.length)).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * How a joiner got its state, from what it logged during this start: Galera names the group's and
 * its own state when it needs a transfer; another history (UUID) or an unknown position means SST.
 */
function transferIn(log: string): GaleraStartRecord['transfer'] {
  const m = /Group state: ([0-9a-f-]{36}):(-?\d+)\s*\n\s*Local state: ([0-9a-f-]{36}):(-?\d+)/.exec(log);
  if (!m) return 'none';
  return m[1] !== m[3] || Number(m[4]) < 0 ? 'sst' : 'ist';
}

/** A bootstrap from saved state needs `safe_to_bootstrap: 1` (Galera refuses otherwise after an unclean stop). */
async function markSafeToBootstrap(datadir: string): Promise<void> {
  const file = path.join(datadir, 'grastate.dat');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return; // no saved state: a brand-new cluster
  }
  if (/safe_to_bootstrap:\s*0/.test(text)) await fsp.writeFile(file, text.replace(/safe_to_bootstrap:\s*0/, 'safe_to_bootstrap: 1'));
}

class Cluster implements GaleraCluster, ClusterContext, TrackedServer {
  readonly label: string;
  readonly seedDir: string;
  nodes: GaleraNodeInstance[] = [];
  startMs = 0;
  private disposing: Promise<void> | undefined;
  private disposed = false;

  constructor(
    readonly name: string,
    readonly rootDir: string,
    readonly mariadbd: string,
    readonly opts: ClusterContext['opts'],
  ) {
    this.label = `galera[${name}]`;
    this.seedDir = path.join(rootDir, 'seed');
    registerServer(this);
  }

  get password(): string {
    return ROOT_PASSWORD;
  }

  get running(): boolean {
    return this.nodes.every((n) => n.running);
  }

  assertAlive(what: string): void {
    if (this.disposed) throw new Error(`${this.label}: ${what} after stopAll()`);
  }

  gcommAddress(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.galeraPort}`).join(',');
  }

  url(database: string, nodes: readonly GaleraNode[] = this.nodes): string {
    return `mysql://root:${encodeURIComponent(ROOT_PASSWORD)}@${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}/${encodeURIComponent(database)}`;
  }

  appUrl(database: string, nodes: readonly GaleraNode[] = this.nodes): string {
    return `mysql://${APP_USER}:${encodeURIComponent(APP_PASSWORD)}@${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}/${encodeURIComponent(database)}`;
  }

  async createDatabase(prefix = 'tf'): Promise<string> {
    const name = uniqueDbName(prefix);
    await this.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    return name;
  }

  async query(sql: string, params?: unknown[]): Promise<any> {
    this.assertAlive('query()');
    const up = this.nodes.filter((n) => n.running);
    if (up.length === 0) throw new Error(`${this.label}: query() with no node running`);
    let last: unknown;
    for (const n of up) {
      try {
        return await n.query(sql, params);
      } catch (e) {
        // Only "this node cannot serve" moves on to the next node; an SQL error is the answer.
        const code = (e as { code?: string }).code ?? '';
        if (!/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|PROTOCOL_CONNECTION_LOST|ER_UNKNOWN_COM_ERROR|EPIPE)$/.test(code)) throw e;
        last = e;
      }
    }
    throw last;
  }

  async waitSynced(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const up = this.nodes.filter((n) => n.running);
    for (const n of up) await n.waitSynced(Math.max(1, deadline - Date.now()));
    await waitUntil(
      async () => {
        const sizes = await Promise.all(up.map(async (n) => (await n.status()).clusterSize));
        if (sizes.every((s) => s === up.length)) return true;
        throw new Error(`cluster sizes ${sizes.join(', ')}, expected ${up.length}`);
      },
      { timeoutMs: Math.max(1, deadline - Date.now()), intervalMs: 100, explain: (r) => `${this.label}: ${r}` },
    );
  }

  async startAll(): Promise<void> {
    this.assertAlive('startAll()');
    await this.restorePrimary();
    for (const n of this.nodes) if (!n.running) await n.start();
    await this.waitSynced();
  }

  /**
   * When the running nodes lost quorum (a majority was killed), they stay non-Primary and refuse
   * queries: make the most advanced of them a Primary component again (`pc.bootstrap`).
   */
  async restorePrimary(): Promise<void> {
    const up = this.nodes.filter((n) => n.running);
    if (up.length === 0) return;
    const states = await Promise.all(up.map(async (n) => ({ n, s: await n.status() })));
    if (states.some(({ s }) => s.clusterStatus === 'Primary')) return;
    const reachable = states.filter(({ s }) => s.reachable);
    if (reachable.length === 0) return;
    const best = reachable.reduce((a, b) => ((b.s.lastCommitted ?? -1) > (a.s.lastCommitted ?? -1) ? b : a));
    const conn = await createConnection(best.n.connectionOptions());
    try {
      await conn.query("SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'");
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
    await best.n.waitSynced(30_000);
  }

  stopAll(): Promise<void> {
    this.disposing ??= this.stopAllOnce();
    return this.disposing;
  }

  dispose(): Promise<void> {
    return this.stopAll();
  }

  private async stopAllOnce(): Promise<void> {
    this.disposed = true;
    try {
      await Promise.all(this.nodes.map((n) => n.destroy().catch(() => n.hardKillSync())));
    } finally {
      hardCleanupDirSync(this.rootDir);
      unregisterServer(this);
      sharedGalera.forget(this);
    }
  }

  hardKillSync(): void {
    this.disposed = true;
    for (const n of this.nodes) n.hardKillSync();
    hardCleanupDirSync(this.rootDir);
  }
}

let clusterCounter = 0;

/** Copies every node's log out of a cluster that failed to start (its dir is deleted); returns where. */
function keepLogs(cluster: Cluster): string | undefined {
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfg-failed-'));
    for (const n of cluster.nodes) if (fs.existsSync(n.logFile)) fs.copyFileSync(n.logFile, path.join(dir, `${n.name}.err`));
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Starts a fresh Galera cluster of `nodes` nodes (default 3), every node Synced on return: 9-15 s
 * for three nodes on a 2-core machine (up to 30 s when it is heavily loaded); the joiners need no
 * SST (see the file comment). Call stopAll() when done, or leave it to hooks.ts.
 */
export async function startGaleraCluster(opts: StartGaleraOptions = {}): Promise<GaleraCluster> {
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new RangeError(`startGaleraCluster: nodes must be an integer from 1 to 9, got ${count}`);
  const attempts = opts.attempts ?? 2;
  const t0 = Date.now();
  const failures: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      const cluster = await startOnce(opts, count);
      cluster.startMs = Date.now() - t0;
      return cluster;
    } catch (e) {
      // Everything of the failed attempt is gone (processes, dir); the next one has new ports and dirs.
      failures.push(e instanceof Error ? e.message : String(e));
      if (attempt >= attempts) throw new Error(failures.length === 1 ? failures[0] : `startGaleraCluster: ${attempts} attempts failed:\n${failures.map((f, i) => `--- attempt ${i + 1} ---\n${f}`).join('\n')}`);
    }
  }
}

async function startOnce(opts: StartGaleraOptions, count: number): Promise<Cluster> {
  const mariadbd = binary(['/usr/sbin/mariadbd', '/usr/sbin/mysqld'], 'mariadbd');
  const installDb = binary(['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'], 'mariadb-install-db');
  binary([GALERA_PROVIDER], 'the Galera provider');
  binary(['/usr/bin/rsync'], 'rsync');
  const prefix = dirPrefix();
  sweepStaleDirs(prefix, (dir) => hardCleanupDirSync(dir));

  const label = opts.name ?? `#${++clusterCounter}`;
  const rootDir = await makeOwnedTempDir(prefix);
  const cluster = new Cluster(`tf-${label.replace(/[^A-Za-z0-9_-]/g, '_')}-${randomBytes(3).toString('hex')}`, rootDir, mariadbd, {
    providerOptions: opts.providerOptions ?? [],
    serverArgs: opts.serverArgs ?? [],
    nodeStartTimeoutMs: opts.nodeStartTimeoutMs ?? 60_000,
    sstMethod: opts.sstMethod ?? 'mysqldump',
  });
  try {
    const ports = await Promise.all(Array.from({ length: count * 4 }, () => freePort()));
    cluster.nodes = Array.from({ length: count }, (_, i) => new GaleraNodeInstance(cluster, i, rootDir, ports[i * 4]!, ports[i * 4 + 1]!, ports[i * 4 + 2]!, ports[i * 4 + 3]!));
    const first = cluster.nodes[0]!;
    for (const n of cluster.nodes) await fsp.mkdir(n.rootDir);

    // One datadir for all: root's password set inside the bootstrap (see mariadb.ts).
    const pw = ROOT_PASSWORD.replace(/'/g, "''");
    const initSql = path.join(rootDir, 'init.sql');
    await fsp.writeFile(
      initSql,
      [
        'FLUSH PRIVILEGES;',
        `CREATE USER 'root'@'%' IDENTIFIED BY '${pw}';`,
        `GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;`,
        `ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('${pw}');`,
        "DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';",
        `CREATE USER '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASSWORD}';`,
        `GRANT ${APP_GRANTS} ON *.* TO '${APP_USER}'@'%';`,
        'FLUSH PRIVILEGES;',
        '',
      ].join('\n'),
    );
    await fsp.mkdir(path.join(rootDir, 'tmp'), { recursive: true });
    const res = await runCommand(
      installDb,
      ['--no-defaults', `--datadir=${first.datadir}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db', '--skip-name-resolve', `--extra-file=${initSql}`, `--tmpdir=${path.join(rootDir, 'tmp')}`, ...INNODB_ARGS],
      { env: childEnv(), cwd: rootDir, allowFail: true, timeoutMs: 120_000 },
    );
    await fsp.writeFile(path.join(rootDir, 'install-db.log'), res.stdout + res.stderr);
    if (res.code !== 0) throw new Error(`${cluster.label}: ${installDb} failed (exit ${res.code}):\n${tailFile(path.join(rootDir, 'install-db.log'), 30)}`);

    // Seed: found the cluster once on the first node and stop it cleanly, so its datadir (InnoDB
    // included) records the cluster's state UUID and seqno. Every joiner starts from a copy of
    // that datadir: it holds the cluster's history up to that seqno and receives the few events
    // since (the view changes of the founder's restart and of the joins) by IST, never an SST.
    first.bootstrapNext = true;
    await first.start();
    await first.stop();
    const saved = await fsp.readFile(path.join(first.datadir, 'grastate.dat'), 'utf8');
    if (/^seqno:\s*-1\s*$/m.test(saved)) throw new Error(`${cluster.label}: the seed node did not save its state:\n${saved}`);
    await fsp.cp(first.datadir, cluster.seedDir, { recursive: true });
    await fsp.writeFile(path.join(cluster.seedDir, 'grastate.dat'), saved.replace(/safe_to_bootstrap:\s*1/, 'safe_to_bootstrap: 0'));
    await fsp.rm(path.join(cluster.seedDir, 'galera.cache'), { force: true });
    for (const n of cluster.nodes.slice(1)) await fsp.cp(cluster.seedDir, n.datadir, { recursive: true });
    first.bootstrapNext = true;
    await first.start();
    await Promise.all(cluster.nodes.slice(1).map((n) => n.start()));
    await cluster.waitSynced();
    return cluster;
  } catch (e) {
    // The failing node's error carries its own log; the cause is often in another node's.
    const others = cluster.nodes.map((n) => `--- tail of ${n.name}'s log (${n.running ? 'running' : 'not running'}) ---\n${tailFile(n.logFile, 25)}`).join('\n');
    const kept = keepLogs(cluster);
    const err = new Error(`${cluster.label}: the cluster did not start: ${e instanceof Error ? e.message : String(e)}\n${others}${kept ? `\n(every node's whole log is kept in ${kept})` : ''}`);
    await cluster.stopAll().catch(() => undefined);
    throw err;
  }
}

/**
 * One 3-node cluster for the whole mocha run, started on first use and disposed by hooks.ts. A test
 * that stops or kills nodes should start them again before it ends (the next call restarts stopped
 * nodes anyway). Isolate tests with createDatabase().
 */
export const sharedGalera: SharedServer<GaleraCluster> = sharedServer(() => startGaleraCluster({ name: 'shared' }), { restart: (c) => c.startAll() });
