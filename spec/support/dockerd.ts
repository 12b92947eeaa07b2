/**
 * A private, throwaway Docker engine for integration tests.
 *
 *   const d = await startDockerd();                       // own engine (use for kill9/stop/start tests)
 *   const id = await d.runContainer({ labels: { 'tinyforge.app': 'x' } });
 *   await d.compose('proj', yaml, ['up', '-d', '--scale', 'web=2']);
 *   await d.dispose();                                    // stop + delete everything
 *
 *   const shared = await sharedDockerd();                 // one per mocha run, torn down by hooks.ts
 *
 * Each engine: its own dockerd (+ the containerd it spawns) with socket, data-root and exec-root in
 * one mkdtemp dir /tmp/tfd-XXXXXX (short: unix socket paths must stay < 108 bytes), an empty
 * daemon.json (ignores /etc/docker), no bridge / iptables, `--init` (tini as PID 1 in every
 * container, so `docker stop` takes milliseconds instead of 10 s), and the image
 * tinyforge-busybox:latest imported from the host's static busybox. No network, no registry.
 * Containers must always use `--network none` (runContainer does; compose() enforces
 * `network_mode: none`).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  SYSTEM_PATH,
  containerIdsIn,
  hardCleanupDirSync,
  makeOwnedTempDir,
  processAlive,
  sleep,
  registerServer,
  runCommand,
  sweepStaleDirs,
  sharedServer,
  type RunResult,
  type SharedServer,
} from './proc.js';
import { NotReadyError, ServerProcess } from './server-process.js';

export const TEST_IMAGE = 'tinyforge-busybox:latest';
const DIR_PREFIX = '/tmp/tfd-';
const STOP_TIMEOUT_MS = 30_000;
const DISPOSE_TIMEOUT_MS = 15_000;
const SHIM_SOCKET_DIR = '/run/containerd/s';

export interface RunContainerOptions {
  name?: string;
  labels?: Record<string, string>;
  /** Command; default ['sleep', '3600']. */
  cmd?: string[];
  /** Default true (`docker run -d`). false: run in the foreground until the command exits. */
  detach?: boolean;
  /** `docker create` instead of `docker run`: the container exists but never started. */
  createOnly?: boolean;
  /** Extra `docker run/create` options (before the image), e.g. ['--restart', 'always']. Never a --network. */
  extraArgs?: string[];
  /** Default tinyforge-busybox:latest. */
  image?: string;
}

export interface PrivateDockerd {
  readonly socketPath: string;
  /** unix://<socketPath> */
  readonly dockerHost: string;
  /** PID of the current (or, when stopped, the last) dockerd. */
  readonly pid: number;
  /** 'tinyforge-busybox:latest' */
  readonly image: string;
  readonly rootDir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly logFile: string;
  /** overlay2, or vfs where overlay2 does not work. */
  readonly storageDriver: string;
  readonly running: boolean;
  /** docker CLI against this engine. Throws on a non-zero exit unless allowFail. */
  docker(args: string[], opts?: { allowFail?: boolean; input?: string; timeoutMs?: number }): Promise<RunResult>;
  /**
   * docker-compose (v1) against this engine; the yaml is written to <rootDir>/compose/<project>/docker-compose.yml.
   * Every service must set `network_mode: none`. Throws on a non-zero exit unless allowFail.
   */
  compose(projectName: string, composeYaml: string, args: string[], opts?: { allowFail?: boolean }): Promise<RunResult>;
  /** Create (and by default start, detached) a container with --network none; returns the full container ID. */
  runContainer(opts?: RunContainerOptions): Promise<string>;
  /** docker rm -f -v of every container, for test isolation. */
  removeAllContainers(): Promise<void>;
  /** SIGTERM dockerd and wait: running containers are stopped (they show as exited after start()). */
  stop(): Promise<void>;
  /** SIGKILL dockerd and wait. Containers keep running until start(), which then marks them exited. */
  kill9(): Promise<void>;
  /** (Re)start on the same socket / data-root / exec-root and wait until it answers /_ping. No-op when running. */
  start(): Promise<void>;
  /** Stop and delete everything (processes, containers, mounts, dirs). Idempotent. */
  dispose(): Promise<void>;
}

function binary(candidates: string[], what: string): string {
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`${what} not found (looked for ${candidates.join(', ')}); see .ci/install.sh`);
}

function findInPath(name: string): string | undefined {
  for (const dir of SYSTEM_PATH.split(':')) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Environment for dockerd / docker / docker-compose: nothing inherited that could redirect them. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('DOCKER_') || k.startsWith('COMPOSE_') || k === 'PYTHONPATH' || k === 'PYTHONHOME') delete env[k];
  }
  env.PATH = `${SYSTEM_PATH}:${process.env.PATH ?? ''}`;
  return { ...env, ...extra };
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: '/_ping', method: 'GET', agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('/_ping timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** containerd 1.6 puts shim sockets at /run/containerd/s/sha256(<address>/<namespace>/<id>). */
function shimSocketPath(containerdAddress: string, namespace: string, id: string): string {
  return path.join(SHIM_SOCKET_DIR, createHash('sha256').update(path.join(containerdAddress, namespace, id)).digest('hex'));
}

/**
 * containerd namespace of an engine. Unique per engine because dockerd 20.10, when given no
 * --containerd, attaches to the *system* containerd if /run/containerd/containerd.sock exists
 * (e.g. a dev box running the system docker) instead of starting its own.
 */
function containerdNamespace(rootDir: string): string {
  return `tf-${createHash('sha256').update(rootDir).digest('hex').slice(0, 12)}`;
}

function hardCleanupDockerDirSync(rootDir: string): void {
  const dataRoot = path.join(rootDir, 'data');
  const ids = containerIdsIn(dataRoot);
  hardCleanupDirSync(rootDir, ids);
  const address = path.join(rootDir, 'x', 'containerd', 'containerd.sock');
  for (const id of ids) {
    try {
      fs.rmSync(shimSocketPath(address, containerdNamespace(rootDir), id), { force: true });
    } catch {
      /* ignore */
    }
  }
}

let busyboxTarPromise: Promise<string> | undefined;

/** A rootfs tar with the static busybox and a symlink per applet (built once per process). */
function busyboxTar(workDir: string): Promise<string> {
  busyboxTarPromise ??= (async () => {
    const busybox = binary(['/bin/busybox', '/usr/bin/busybox'], 'static busybox (package busybox-static)');
    const stage = path.join(workDir, 'rootfs');
    await fsp.mkdir(path.join(stage, 'bin'), { recursive: true });
    for (const d of ['etc', 'tmp', 'root', 'proc', 'sys', 'dev']) await fsp.mkdir(path.join(stage, d));
    await fsp.chmod(path.join(stage, 'tmp'), 0o1777);
    await fsp.copyFile(busybox, path.join(stage, 'bin', 'busybox'));
    await fsp.chmod(path.join(stage, 'bin', 'busybox'), 0o755);
    const list = await runCommand(path.join(stage, 'bin', 'busybox'), ['--list']);
    for (const applet of list.stdout.split('\n').map((s) => s.trim())) {
      if (applet && applet !== 'busybox' && /^[\w.[-]+$/.test(applet)) {
        await fsp.symlink('busybox', path.join(stage, 'bin', applet));
      }
    }
    await fsp.writeFile(path.join(stage, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    await fsp.writeFile(path.join(stage, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = path.join(workDir, 'tinyforge-busybox.tar');
    await runCommand('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', stage, '-cf', tar, '.']);
    await fsp.rm(stage, { recursive: true, force: true });
    return tar;
  })();
  busyboxTarPromise.catch(() => {
    busyboxTarPromise = undefined;
  });
  return busyboxTarPromise;
}

/** Storage driver that worked in this process (so later engines don't probe again). */
let workingStorageDriver: string | undefined;

class DockerdInstance implements PrivateDockerd {
  readonly image = TEST_IMAGE;
  readonly socketPath: string;
  readonly dockerHost: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly logFile: string;
  storageDriver = '';
  private readonly pidFile: string;
  private readonly configFile: string;
  private readonly cliConfigDir: string;
  private readonly server: ServerProcess;

  constructor(
    readonly label: string,
    readonly rootDir: string,
    private readonly dockerd: string,
    private readonly dockerCli: string,
  ) {
    this.socketPath = path.join(rootDir, 'd.sock');
    this.dockerHost = `unix://${this.socketPath}`;
    this.dataRoot = path.join(rootDir, 'data');
    this.execRoot = path.join(rootDir, 'x');
    this.logFile = path.join(rootDir, 'dockerd.log');
    this.pidFile = path.join(rootDir, 'dockerd.pid');
    this.configFile = path.join(rootDir, 'daemon.json');
    this.cliConfigDir = path.join(rootDir, 'cli');
    this.server = new ServerProcess({
      label,
      program: 'dockerd',
      logFile: this.logFile,
      stopGraceMs: STOP_TIMEOUT_MS,
      disposeGraceMs: DISPOSE_TIMEOUT_MS,
      cleanupSync: () => hardCleanupDockerDirSync(rootDir),
      afterDispose: () => sharedDockerd.forget(this),
    });
  }

  get pid(): number {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  async prepare(): Promise<void> {
    await fsp.mkdir(this.dataRoot);
    await fsp.mkdir(this.execRoot);
    await fsp.mkdir(this.cliConfigDir);
    await fsp.writeFile(this.configFile, '{}\n');
    await fsp.writeFile(path.join(this.cliConfigDir, 'config.json'), '{}\n');
  }

  /**
   * After `kill -9` of dockerd, its containerd gets SIGKILL (pdeathsig) but, orphaned, may stay a
   * zombie for seconds until PID 1 reaps it. dockerd's "is containerd still running?" check (kill -0
   * on <exec-root>/containerd/containerd.pid) counts a zombie as alive and then waits ~20 s for a
   * socket nobody serves. So: wait until that containerd is dead or a zombie, then drop its pid
   * file. A containerd that really runs is left alone (dockerd reuses it).
   */
  private async clearDeadContainerd(): Promise<void> {
    const pidFile = path.join(this.execRoot, 'containerd', 'containerd.pid');
    let pid: number;
    try {
      pid = Number((await fsp.readFile(pidFile, 'utf8')).trim());
    } catch {
      return;
    }
    if (!(pid > 0)) return;
    const deadline = Date.now() + 3_000;
    while (processAlive(pid) && Date.now() < deadline) await sleep(20);
    if (!processAlive(pid)) await fsp.rm(pidFile, { force: true });
  }

  /** Starts dockerd with `driver` and waits until it answers /_ping (NotReadyError when it does not). */
  private async startDaemon(driver: string): Promise<void> {
    // dockerd refuses to start while its --pidfile exists (left behind by kill -9); ours is dead here.
    fs.rmSync(this.pidFile, { force: true });
    await this.clearDeadContainerd();
    const args = [
      `--host=${this.dockerHost}`,
      `--config-file=${this.configFile}`,
      `--data-root=${this.dataRoot}`,
      `--exec-root=${this.execRoot}`,
      `--pidfile=${this.pidFile}`,
      `--storage-driver=${driver}`,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
      '--userland-proxy=false',
      `--containerd-namespace=${containerdNamespace(this.rootDir)}`,
      `--containerd-plugins-namespace=${containerdNamespace(this.rootDir)}-plugins`,
      '--init',
      '--shutdown-timeout=2',
      '--log-driver=json-file',
    ];
    await this.server.start(
      this.dockerd,
      args,
      { env: cleanEnv({}), cwd: this.rootDir, banner: `dockerd (${driver})` },
      { subject: `dockerd (${this.dockerHost}, storage driver ${driver || '?'})`, probe: () => ping(this.socketPath) },
    );
  }

  async start(): Promise<void> {
    this.server.assertNotDisposed('start()');
    if (this.running) return;
    if (this.storageDriver) {
      await this.startDaemon(this.storageDriver);
      return;
    }
    // First start: pick the storage driver.
    const override = process.env.TF_DOCKER_STORAGE_DRIVER;
    const candidates = override ? [override] : workingStorageDriver ? [workingStorageDriver] : ['overlay2', 'vfs'];
    let lastError: unknown;
    for (const driver of candidates) {
      this.storageDriver = driver;
      try {
        await this.startDaemon(driver);
        workingStorageDriver ??= driver;
        await this.ensureImage();
        return;
      } catch (e) {
        lastError = e;
        await this.server.kill9().catch(() => undefined); // (a daemon that did not become ready is already dead)
        // a daemon that refused the driver exits; a hang (or a failed image import) is not a driver problem
        if (!(e instanceof NotReadyError && e.exited)) break;
        // start over with an empty data-root for the next driver
        hardCleanupDirSync(this.dataRoot);
        hardCleanupDirSync(this.execRoot);
        await fsp.mkdir(this.dataRoot, { recursive: true });
        await fsp.mkdir(this.execRoot, { recursive: true });
      }
    }
    this.storageDriver = '';
    throw lastError;
  }

  private async ensureImage(): Promise<void> {
    const inspect = await this.docker(['image', 'inspect', '--format', '{{.Id}}', this.image], { allowFail: true });
    if (inspect.code === 0) return;
    const tar = await busyboxTar(await busyboxCacheDir());
    await this.docker(['import', '--change', 'CMD ["sleep","3600"]', '--message', 'tinyforge test image', tar, this.image]);
  }

  docker(args: string[], opts: { allowFail?: boolean; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return runCommand(this.dockerCli, ['--host', this.dockerHost, ...args], {
      env: cleanEnv({ DOCKER_CONFIG: this.cliConfigDir }),
      cwd: this.rootDir,
      allowFail: opts.allowFail,
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 120_000,
    });
  }

  async compose(projectName: string, composeYaml: string, args: string[], opts: { allowFail?: boolean } = {}): Promise<RunResult> {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(projectName)) {
      throw new Error(`compose: invalid project name ${JSON.stringify(projectName)} (use [a-z0-9][a-z0-9_-]*)`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(composeYaml);
    } catch (e) {
      throw new Error(`compose(${projectName}): invalid YAML: ${e instanceof Error ? e.message : String(e)}`);
    }
    const services = (doc as { services?: Record<string, { network_mode?: unknown } | null> } | null)?.services;
    if (!services || typeof services !== 'object') {
      throw new Error(`compose(${projectName}): the YAML has no "services:" map`);
    }
    for (const [name, svc] of Object.entries(services)) {
      if (svc?.network_mode !== 'none') {
        throw new Error(`compose(${projectName}): service "${name}" must set "network_mode: none" (tests never use a network)`);
      }
    }
    const compose = binary(['/usr/bin/docker-compose'], 'docker-compose (v1, package docker-compose)');
    const dir = path.join(this.rootDir, 'compose', projectName);
    await fsp.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'docker-compose.yml');
    await fsp.writeFile(file, composeYaml);
    return runCommand(compose, ['--project-name', projectName, '--file', file, '--project-directory', dir, ...args], {
      env: cleanEnv({ DOCKER_HOST: this.dockerHost, DOCKER_CONFIG: this.cliConfigDir, COMPOSE_INTERACTIVE_NO_CLI: '1' }),
      cwd: dir,
      allowFail: opts.allowFail,
      timeoutMs: 180_000,
    });
  }

  async runContainer(opts: RunContainerOptions = {}): Promise<string> {
    const extra = opts.extraArgs ?? [];
    if (extra.some((a) => a === '--network' || a === '--net' || a.startsWith('--network=') || a.startsWith('--net='))) {
      throw new Error('runContainer: containers always use --network none; do not pass a network');
    }
    const flags: string[] = ['--network', 'none'];
    if (opts.name) flags.push('--name', opts.name);
    for (const [k, v] of Object.entries(opts.labels ?? {})) flags.push('--label', `${k}=${v}`);
    flags.push(...extra, opts.image ?? this.image, ...(opts.cmd ?? ['sleep', '3600']));
    if (opts.createOnly) {
      const res = await this.docker(['create', ...flags]);
      return lastLine(res.stdout);
    }
    if (opts.detach ?? true) {
      const res = await this.docker(['run', '-d', ...flags]);
      return lastLine(res.stdout);
    }
    const cidFile = path.join(this.rootDir, `cid-${process.hrtime.bigint()}`);
    try {
      const res = await this.docker(['run', '--cidfile', cidFile, ...flags], { allowFail: true });
      let id = '';
      try {
        id = (await fsp.readFile(cidFile, 'utf8')).trim();
      } catch {
        /* not created */
      }
      if (!id) throw new Error(`runContainer: docker run failed (exit ${res.code}): ${res.stderr.trim()}`);
      return id;
    } finally {
      await fsp.rm(cidFile, { force: true });
    }
  }

  async removeAllContainers(): Promise<void> {
    const res = await this.docker(['ps', '-a', '-q', '--no-trunc']);
    const ids = res.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    for (let i = 0; i < ids.length; i += 100) {
      await this.docker(['rm', '-f', '-v', ...ids.slice(i, i + 100)]);
    }
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

function lastLine(s: string): string {
  const lines = s.trim().split('\n');
  const id = lines[lines.length - 1]!.trim();
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`expected a container ID from docker, got ${JSON.stringify(s)}`);
  return id;
}

let busyboxCache: Promise<string> | undefined;
/** Per-process dir for the image tar (an owned temp dir, removed on exit). */
function busyboxCacheDir(): Promise<string> {
  busyboxCache ??= (async () => {
    const dir = await makeOwnedTempDir('/tmp/tfb-');
    registerServer({
      label: 'busybox image cache',
      dispose: async () => {
        fs.rmSync(dir, { recursive: true, force: true });
        busyboxCache = undefined;
        busyboxTarPromise = undefined;
      },
      hardKillSync: () => fs.rmSync(dir, { recursive: true, force: true }),
    });
    return dir;
  })();
  return busyboxCache;
}

let nameCounter = 0;

/** Start a private dockerd (typically ~1 s incl. image import). Call dispose() when done. */
export async function startDockerd(opts: { name?: string } = {}): Promise<PrivateDockerd> {
  const dockerd = binary(['/usr/sbin/dockerd', '/usr/bin/dockerd'], 'dockerd (package docker.io)');
  // The distro CLI matches the distro daemon; /usr/local/bin/docker may be a different build.
  const dockerCli = binary(['/usr/bin/docker', '/usr/local/bin/docker'], 'docker CLI (package docker.io)');
  if (!findInPath('docker-init')) throw new Error('docker-init not found (package tini, a dependency of docker.io); see .ci/install.sh');
  if (!findInPath('containerd') || !findInPath('runc')) throw new Error('containerd/runc not found (dependencies of docker.io); see .ci/install.sh');
  sweepStaleDirs(DIR_PREFIX, hardCleanupDockerDirSync);
  sweepStaleDirs('/tmp/tfb-', (dir) => fs.rmSync(dir, { recursive: true, force: true }));

  const label = `dockerd[${opts.name ?? `#${++nameCounter}`}]`;
  const rootDir = await makeOwnedTempDir(DIR_PREFIX);
  const inst = new DockerdInstance(label, rootDir, dockerd, dockerCli);
  try {
    await inst.prepare();
    await inst.start();
    return inst;
  } catch (e) {
    await inst.dispose().catch(() => undefined);
    throw e;
  }
}

/**
 * One private dockerd for the whole mocha run, started on first use and disposed by hooks.ts.
 * Don't stop()/kill9() it (use startDockerd() for that); isolate tests with removeAllContainers()
 * or unique labels.
 */
export const sharedDockerd: SharedServer<PrivateDockerd> = sharedServer(() => startDockerd({ name: 'shared' }), { restart: (s) => s.start() });
