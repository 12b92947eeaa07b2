/**
 * A private, throwaway Podman serving the Docker Engine API, for tests that point the service's
 * Docker client at Podman instead of dockerd.
 *
 *   const p = await startPodman();                          // own podman (use for stopService tests)
 *   const id = await p.run({ labels: { 'tinyforge.managed': 'true' } });   // full 64-hex ID
 *   new DockerClient({ kind: 'unix', socketPath: p.socketPath });
 *   await p.stop(id); await p.rm(id);
 *   await p.dispose();                                      // stop + delete everything
 *
 *   const shared = await sharedPodman();                    // one per mocha run, torn down by hooks.ts
 *
 * Each instance: `podman system service --time 0 unix://<dir>/api.sock` (rootful) with everything
 * in one mkdtemp dir /tmp/tfpm-XXXXXX (short: unix socket paths must stay < 108 bytes): its own
 * --root, --runroot, --tmpdir, runc state dir (a `runc --root <dir>/runc` wrapper script as the
 * runtime: `--runtime-flag` would not reach the `podman container cleanup` that conmon runs
 * when a container exits by itself, and that cleanup would then miss the container's runc state
 * and leave its cgroups behind), network config dir,
 * volume dir, hooks dir, events log, and its own containers.conf, storage.conf,
 * registries.conf and policy.json (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF,
 * CONTAINERS_REGISTRIES_CONF, HOME), so no other Podman on the machine is seen and /etc/containers
 * is not read (except the registries.conf.d drop-ins, which only matter for pulls, and an
 * /etc/containers/mounts.conf override, which Debian does not ship). What rootful Podman 4.3 still writes outside the dir, at fixed paths, is two caches:
 * /var/lib/containers/cache/blob-info-cache-v1.boltdb and
 * /var/cache/containers/short-name-aliases.conf.lock. The `podman` CLI commands it runs get the same flags and
 * environment, so the service and the CLI share one store and one events log.
 *
 * What this machine needs (see the README's "Point it at Podman" and .ci/install.sh):
 * - `--storage-driver vfs` (no overlay, no fuse-overlayfs needed), `--events-backend file` (no
 *   journald), `--cgroup-manager cgroupfs` (no systemd), runtime runc (crun refuses the hybrid
 *   cgroup v1 layout here), file locks (`lock_type = "file"`, not the global /dev/shm/libpod_lock).
 * - Containers only start with `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024`: rootful
 *   Podman asks runc for nofile=1048576 (and a high nproc), and even root cannot raise a hard
 *   limit above this machine's (nofile 20000), so runc fails with "error setting rlimit type 7".
 *   The CLI passes the flags; containers.conf sets them as `default_ulimits` for containers
 *   created through the API.
 * - `--network none` always (no slirp4netns, no bridge: the CNI plugin dir is an empty private
 *   dir, so a container that asks for a network, as the docker CLI does by default, fails rather
 *   than add a bridge and iptables rules to the host); `--init` (tini from docker.io as
 *   init_path) so `stop` takes milliseconds instead of the 10 s SIGTERM timeout of a PID-1 sleep.
 *
 * How Podman 4.3.1 differs from dockerd, as seen here: its list reports the image as
 * `localhost/NAME:TAG` and `NetworkSettings.Networks` as null; its events stream says `remove`
 * where dockerd says `destroy` (plus extra `init` and `cleanup` events); container processes
 * run under conmon, so stopping the API service does not stop containers.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import {
  SYSTEM_PATH,
  hardCleanupDirSync,
  makeOwnedTempDir,
  runCommand,
  sharedServer,
  sweepStaleDirs,
  type RunResult,
  type SharedServer,
} from './proc.js';
import { ServerProcess } from './server-process.js';

/** The tag the busybox image is imported under (the same name dockerd.ts uses). */
export const PODMAN_TEST_IMAGE = 'tinyforge-busybox:latest';
const DIR_PREFIX = '/tmp/tfpm-';
const STOP_TIMEOUT_MS = 15_000;
const CLI_TIMEOUT_MS = 60_000;
/** The package's default seccomp profile, named so podman does not look in /etc/containers first. */
const SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';
/** Every container gets these: see the module comment. */
export const PODMAN_CONTAINER_FLAGS: readonly string[] = ['--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export interface PodmanContainerOptions {
  name?: string;
  labels?: Record<string, string>;
  /** Command; default ['sleep', '3600']. */
  cmd?: string[];
  /** Default tinyforge-busybox:latest. */
  image?: string;
  /** Extra `podman run/create` options (before the image). Never a --network. */
  extraArgs?: string[];
  /** Run tini as PID 1 (fast stop). Default true. */
  init?: boolean;
}

export interface PrivatePodman {
  readonly label: string;
  readonly socketPath: string;
  /** unix://<socketPath>: the DOCKER_HOST for the service. */
  readonly dockerHost: string;
  /** PID of the current (or, when stopped, the last) `podman system service`. */
  readonly pid: number;
  /** Whether the API service process is alive. */
  readonly running: boolean;
  /** 'tinyforge-busybox:latest' (the tag given to import). */
  readonly image: string;
  /** 'localhost/tinyforge-busybox:latest': how Podman names that image in lists, inspect and events. */
  readonly imageRef: string;
  /** `podman --version`, e.g. 'podman version 4.3.1'. */
  readonly version: string;
  readonly rootDir: string;
  /** The API service's stdout+stderr. */
  readonly logFile: string;
  /** The events log (file backend) shared by the service and the CLI. */
  readonly eventsLog: string;
  /** `podman <private flags> ...args`. Throws on a non-zero exit unless allowFail. */
  podman(args: string[], opts?: { allowFail?: boolean; input?: string; timeoutMs?: number }): Promise<RunResult>;
  /**
   * `podman import` of the busybox tar (static /bin/busybox plus its applet links) under `tag`;
   * returns the image ID (`sha256:...`). `labels` become image labels, which also makes the image
   * ID differ from an import without them (a "new build" of the same tag).
   */
  importImage(tag: string, opts?: { labels?: Record<string, string> }): Promise<string>;
  /** `podman run -d` with --network none and the ulimits; returns the full 64-hex container ID. */
  run(opts?: PodmanContainerOptions): Promise<string>;
  /** `podman create` (never started); returns the full 64-hex container ID. */
  create(opts?: PodmanContainerOptions): Promise<string>;
  /** `podman start` of a container. */
  start(id: string): Promise<void>;
  /** `podman stop -t timeoutSec` (default 2). */
  stop(id: string, opts?: { timeoutSec?: number }): Promise<void>;
  /** `podman kill --signal` (default KILL). */
  kill(id: string, signal?: string): Promise<void>;
  /** `podman rm` (`force`: also a running one, without waiting). */
  rm(id: string, opts?: { force?: boolean }): Promise<void>;
  /** `podman tag source target` (adds a name; use untag/importImage to move a name away). */
  tag(source: string, target: string): Promise<void>;
  /** `podman untag image name...`. */
  untag(image: string, ...names: string[]): Promise<void>;
  /** `podman container inspect`: the document, or undefined when there is no such container. */
  inspect(id: string): Promise<Record<string, any> | undefined>;
  /** `podman rm -f` of every container, for test isolation. */
  removeAllContainers(): Promise<void>;
  /** (Re)start the API service on the same socket and store; waits for /_ping. No-op when running. */
  startService(): Promise<void>;
  /** SIGTERM the API service by PID and wait. Containers keep running (they belong to conmon). */
  stopService(): Promise<void>;
  /** SIGKILL the API service by PID and wait. */
  kill9Service(): Promise<void>;
  /** Remove every container, stop the service, delete everything. Idempotent. */
  dispose(): Promise<void>;
}

function binary(candidates: string[], what: string): string {
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`${what} not found (looked for ${candidates.join(', ')}); see .ci/install.sh`);
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

function toml(s: string): string {
  return JSON.stringify(s); // a TOML basic string is a JSON string for the paths used here
}

function containerId(stdout: string, what: string): string {
  const lines = stdout.trim().split('\n');
  const id = lines[lines.length - 1]!.trim();
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`${what}: expected a container ID from podman, got ${JSON.stringify(stdout)}`);
  return id;
}

/** The storage's container IDs (`<root>/vfs-containers/<id>`). */
function containerIdsInRoot(storageRoot: string): string[] {
  try {
    return fs.readdirSync(path.join(storageRoot, 'vfs-containers')).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch {
    return [];
  }
}

/** cgroupfs leaves /sys/fs/cgroup/<controller>/libpod_parent/libpod-<id> behind when a container is killed past podman. */
function removeCgroupsSync(ids: string[]): void {
  if (!ids.length) return;
  let controllers: string[] = [];
  try {
    controllers = fs.readdirSync('/sys/fs/cgroup');
  } catch {
    return;
  }
  for (const c of controllers) {
    const parent = path.join('/sys/fs/cgroup', c, 'libpod_parent');
    for (const id of ids) {
      for (const name of [`libpod-${id}`, `libpod-conmon-${id}`]) {
        try {
          fs.rmdirSync(path.join(parent, name));
        } catch {
          /* absent or busy */
        }
      }
    }
  }
}

function hardCleanupPodmanDirSync(rootDir: string): void {
  const ids = containerIdsInRoot(path.join(rootDir, 'root'));
  hardCleanupDirSync(rootDir, ids);
  removeCgroupsSync(ids);
}

/** A tar holding the static busybox, its applet links, /etc/passwd, /etc/group and /tmp. */
async function busyboxTar(workDir: string): Promise<string> {
  const tar = path.join(workDir, 'busybox.tar');
  if (fs.existsSync(tar)) return tar;
  const busybox = binary(['/bin/busybox', '/usr/bin/busybox'], 'static busybox (package busybox-static)');
  const stage = path.join(workDir, 'stage');
  await fsp.rm(stage, { recursive: true, force: true });
  for (const d of ['bin', 'etc', 'tmp']) await fsp.mkdir(path.join(stage, d), { recursive: true });
  await fsp.chmod(path.join(stage, 'tmp'), 0o1777);
  await fsp.copyFile(busybox, path.join(stage, 'bin', 'busybox'));
  await fsp.chmod(path.join(stage, 'bin', 'busybox'), 0o755);
  const list = await runCommand(path.join(stage, 'bin', 'busybox'), ['--list']);
  for (const applet of list.stdout.split('\n').map((s) => s.trim())) {
    if (applet && applet !== 'busybox' && /^[\w.[-]+$/.test(applet)) await fsp.symlink('busybox', path.join(stage, 'bin', applet));
  }
  for (const must of ['sh', 'sleep']) {
    if (!fs.existsSync(path.join(stage, 'bin', must))) throw new Error(`busybox at ${busybox} has no ${must} applet`);
  }
  await fsp.writeFile(path.join(stage, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await fsp.writeFile(path.join(stage, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  await runCommand('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', stage, '-cf', `${tar}.tmp`, '.']);
  await fsp.rename(`${tar}.tmp`, tar);
  await fsp.rm(stage, { recursive: true, force: true });
  return tar;
}

class PodmanInstance implements PrivatePodman {
  readonly image = PODMAN_TEST_IMAGE;
  readonly imageRef = `localhost/${PODMAN_TEST_IMAGE}`;
  version = '';
  readonly socketPath: string;
  readonly dockerHost: string;
  readonly logFile: string;
  readonly eventsLog: string;
  private readonly storageRoot: string;
  private readonly runRoot: string;
  private readonly tmpDir: string;
  private readonly runcRoot: string;
  /** `exec runc --root <runcRoot> "$@"`: the runtime podman and conmon's exit command use. */
  private readonly runcWrapper: string;
  private readonly netDir: string;
  private readonly cniPluginDir: string;
  private readonly volumeDir: string;
  private readonly hooksDir: string;
  private readonly homeDir: string;
  private readonly varTmpDir: string;
  private readonly confDir: string;
  private readonly server: ServerProcess;

  constructor(
    readonly label: string,
    readonly rootDir: string,
    private readonly podmanBin: string,
    private readonly runcBin: string,
    private readonly initBin: string,
  ) {
    this.socketPath = path.join(rootDir, 'api.sock');
    this.dockerHost = `unix://${this.socketPath}`;
    this.logFile = path.join(rootDir, 'podman.log');
    this.eventsLog = path.join(rootDir, 'events.log');
    this.storageRoot = path.join(rootDir, 'root');
    this.runRoot = path.join(rootDir, 'run');
    this.tmpDir = path.join(rootDir, 'tmp');
    this.runcRoot = path.join(rootDir, 'runc');
    this.runcWrapper = path.join(rootDir, 'bin', 'runc');
    this.netDir = path.join(rootDir, 'net');
    this.cniPluginDir = path.join(rootDir, 'cni-plugins');
    this.volumeDir = path.join(rootDir, 'volumes');
    this.hooksDir = path.join(rootDir, 'hooks');
    this.homeDir = path.join(rootDir, 'home');
    this.varTmpDir = path.join(rootDir, 'vartmp');
    this.confDir = path.join(rootDir, 'conf');
    this.server = new ServerProcess({
      label,
      program: 'podman system service',
      logFile: this.logFile,
      stopGraceMs: STOP_TIMEOUT_MS,
      disposeGraceMs: STOP_TIMEOUT_MS,
      cleanupSync: () => hardCleanupPodmanDirSync(rootDir),
      // podman rm tears down what the CLI set up (mounts, cgroups, conmon); then the service stops
      beforeDispose: async () => {
        await this.podman(['rm', '--all', '--force', '--time', '0'], { allowFail: true, timeoutMs: 30_000 });
      },
      afterDispose: () => sharedPodman.forget(this),
    });
  }

  get pid(): number {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  async prepare(): Promise<void> {
    for (const d of [this.storageRoot, this.runRoot, this.tmpDir, this.runcRoot, this.netDir, this.cniPluginDir, this.volumeDir, this.hooksDir, this.varTmpDir, this.confDir]) {
      await fsp.mkdir(d, { recursive: true });
    }
    await fsp.mkdir(path.join(this.homeDir, '.config', 'containers'), { recursive: true });
    await fsp.mkdir(path.dirname(this.runcWrapper), { recursive: true });
    await fsp.writeFile(this.runcWrapper, `#!/bin/sh\nexec ${this.runcBin} --root ${this.runcRoot} "$@"\n`, { mode: 0o755 });
    const policy = JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }, null, 2) + '\n';
    await fsp.writeFile(path.join(this.confDir, 'policy.json'), policy);
    // containers/image looks for $HOME/.config/containers/policy.json before /etc/containers/policy.json
    await fsp.writeFile(path.join(this.homeDir, '.config', 'containers', 'policy.json'), policy);
    await fsp.writeFile(path.join(this.confDir, 'mounts.conf'), ''); // no default mounts (else /etc/containers/mounts.conf)
    await fsp.writeFile(path.join(this.confDir, 'auth.json'), '{"auths": {}}\n'); // REGISTRY_AUTH_FILE must exist
    await fsp.writeFile(path.join(this.confDir, 'registries.conf'), 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n');
    await fsp.writeFile(
      path.join(this.confDir, 'storage.conf'),
      ['[storage]', 'driver = "vfs"', `runroot = ${toml(this.runRoot)}`, `graphroot = ${toml(this.storageRoot)}`, ''].join('\n'),
    );
    await fsp.writeFile(
      path.join(this.confDir, 'containers.conf'),
      [
        '[containers]',
        // API-created containers too: see the module comment
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
        'netns = "none"',
        'init = true',
        `init_path = ${toml(this.initBin)}`,
        'log_driver = "k8s-file"',
        `default_mounts_file = ${toml(path.join(this.confDir, 'mounts.conf'))}`,
        ...(fs.existsSync(SECCOMP_PROFILE) ? [`seccomp_profile = ${toml(SECCOMP_PROFILE)}`] : []),
        '',
        '[network]',
        'network_backend = "cni"',
        `network_config_dir = ${toml(this.netDir)}`,
        // no CNI plugins: a container that asks for a network (the docker CLI's default mode is
        // `bridge`) fails instead of creating cni-podman0, iptables chains and /var/lib/cni on the host
        `cni_plugin_dirs = [${toml(this.cniPluginDir)}]`,
        '',
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = ${toml(this.eventsLog)}`,
        'lock_type = "file"',
        `tmp_dir = ${toml(this.tmpDir)}`,
        `volume_path = ${toml(this.volumeDir)}`,
        `hooks_dir = [${toml(this.hooksDir)}]`,
        'runtime = "runc"',
        'no_pivot_root = false',
        '',
        '[engine.runtimes]',
        `runc = [${toml(this.runcWrapper)}]`,
        '',
      ].join('\n'),
    );
  }

  /** Flags every podman invocation (service and CLI) gets. */
  private globalFlags(): string[] {
    return [
      '--root', this.storageRoot,
      '--runroot', this.runRoot,
      '--storage-driver', 'vfs',
      '--events-backend', 'file',
      '--tmpdir', this.tmpDir,
      '--cgroup-manager', 'cgroupfs',
      '--runtime', this.runcWrapper,
      '--network-config-dir', this.netDir,
      '--volumepath', this.volumeDir,
      '--hooks-dir', this.hooksDir,
    ];
  }

  /** Nothing inherited that could point podman elsewhere; private config files only. */
  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) {
      if (
        k.startsWith('DOCKER_') ||
        k.startsWith('CONTAINER') || // CONTAINER_HOST, CONTAINER_CONNECTION, CONTAINERS_*
        k.startsWith('PODMAN_') ||
        k.startsWith('XDG_') ||
        k.startsWith('REGISTRY_') ||
        k === 'STORAGE_DRIVER' ||
        k === 'STORAGE_OPTS' ||
        k === 'LD_PRELOAD' ||
        k.startsWith('FAKETIME')
      ) {
        delete env[k];
      }
    }
    return {
      ...env,
      PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}`,
      HOME: this.homeDir,
      TMPDIR: this.varTmpDir, // image import/commit scratch space (default /var/tmp)
      CONTAINERS_CONF: path.join(this.confDir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: path.join(this.confDir, 'storage.conf'),
      CONTAINERS_REGISTRIES_CONF: path.join(this.confDir, 'registries.conf'),
      REGISTRY_AUTH_FILE: path.join(this.confDir, 'auth.json'),
    };
  }

  podman(args: string[], opts: { allowFail?: boolean; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    if (this.server.disposed) return Promise.reject(new Error(`${this.label}: podman ${args[0] ?? ''} after dispose()`));
    return runCommand(this.podmanBin, [...this.globalFlags(), ...args], {
      env: this.env(),
      cwd: this.rootDir,
      allowFail: opts.allowFail,
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? CLI_TIMEOUT_MS,
    });
  }

  async startService(): Promise<void> {
    this.server.assertNotDisposed('startService()');
    if (this.running) return;
    // a socket left by a killed service would make the ping below talk to nobody; podman re-creates it
    await fsp.rm(this.socketPath, { force: true });
    await this.server.start(
      this.podmanBin,
      [...this.globalFlags(), 'system', 'service', '--time', '0', this.dockerHost],
      { env: this.env(), cwd: this.rootDir },
      { subject: `podman system service (${this.dockerHost})`, probe: () => ping(this.socketPath), intervalMs: 20 },
    );
  }

  stopService(): Promise<void> {
    return this.server.stop();
  }

  kill9Service(): Promise<void> {
    return this.server.kill9();
  }

  async ensureImage(): Promise<void> {
    const res = await this.podman(['image', 'exists', this.image], { allowFail: true });
    if (res.code === 0) return;
    await this.importImage(this.image);
  }

  async importImage(tag: string, opts: { labels?: Record<string, string> } = {}): Promise<string> {
    const tar = await busyboxTar(this.rootDir);
    const changes = ['--change', 'CMD ["sleep","3600"]'];
    for (const [k, v] of Object.entries(opts.labels ?? {})) changes.push('--change', `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
    const res = await this.podman(['import', '--quiet', ...changes, '--message', 'tinyforge test image', tar, tag]);
    const id = res.stdout.trim().split('\n').pop()!.trim();
    if (!/^(sha256:)?[0-9a-f]{64}$/.test(id)) throw new Error(`${this.label}: podman import printed ${JSON.stringify(res.stdout)}`);
    return id.startsWith('sha256:') ? id : `sha256:${id}`;
  }

  private containerFlags(opts: PodmanContainerOptions): string[] {
    const extra = opts.extraArgs ?? [];
    if (extra.some((a) => a === '--network' || a === '--net' || a.startsWith('--network=') || a.startsWith('--net='))) {
      throw new Error('podman: containers always use --network none; do not pass a network');
    }
    const flags = [...PODMAN_CONTAINER_FLAGS];
    if (opts.init ?? true) flags.push('--init');
    if (opts.name) flags.push('--name', opts.name);
    for (const [k, v] of Object.entries(opts.labels ?? {})) flags.push('--label', `${k}=${v}`);
    flags.push(...extra, opts.image ?? this.image, ...(opts.cmd ?? ['sleep', '3600']));
    return flags;
  }

  async run(opts: PodmanContainerOptions = {}): Promise<string> {
    const res = await this.podman(['run', '-d', ...this.containerFlags(opts)]);
    return containerId(res.stdout, 'podman run');
  }

  async create(opts: PodmanContainerOptions = {}): Promise<string> {
    const res = await this.podman(['create', ...this.containerFlags(opts)]);
    return containerId(res.stdout, 'podman create');
  }

  async start(id: string): Promise<void> {
    await this.podman(['start', id]);
  }

  async stop(id: string, opts: { timeoutSec?: number } = {}): Promise<void> {
    await this.podman(['stop', '--time', String(opts.timeoutSec ?? 2), id]);
  }

  async kill(id: string, signal = 'KILL'): Promise<void> {
    await this.podman(['kill', '--signal', signal, id]);
  }

  async rm(id: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.podman(['rm', ...(opts.force ? ['--force', '--time', '0'] : []), id]);
  }

  async tag(source: string, target: string): Promise<void> {
    await this.podman(['tag', source, target]);
  }

  async untag(image: string, ...names: string[]): Promise<void> {
    await this.podman(['untag', image, ...names]);
  }

  async inspect(id: string): Promise<Record<string, any> | undefined> {
    const res = await this.podman(['container', 'inspect', id], { allowFail: true });
    if (res.code !== 0) {
      if (/no such container/i.test(res.stderr)) return undefined;
      throw new Error(`${this.label}: podman container inspect ${id} failed (exit ${res.code}): ${res.stderr.trim()}`);
    }
    const docs = JSON.parse(res.stdout) as Array<Record<string, any>>;
    return docs[0];
  }

  async removeAllContainers(): Promise<void> {
    await this.podman(['rm', '--all', '--force', '--time', '0']);
  }

  dispose(): Promise<void> {
    return this.server.dispose();
  }
}

let nameCounter = 0;

/** Start a private Podman API service (about 0.1 s, plus ~0.5 s for the first image import). Call dispose() when done. */
export async function startPodman(opts: { name?: string } = {}): Promise<PrivatePodman> {
  const podmanBin = binary(['/usr/bin/podman'], 'podman (package podman)');
  binary(['/usr/bin/conmon', '/usr/libexec/podman/conmon'], 'conmon (package conmon)');
  const runcBin = binary(['/usr/sbin/runc', '/usr/bin/runc'], 'runc (package runc, a dependency of docker.io)');
  const initBin = binary(['/usr/bin/docker-init', '/usr/bin/tini', '/usr/bin/catatonit'], 'an init for containers (docker-init from tini, a dependency of docker.io)');
  sweepStaleDirs(DIR_PREFIX, hardCleanupPodmanDirSync);

  const label = `podman[${opts.name ?? `#${++nameCounter}`}]`;
  const rootDir = await makeOwnedTempDir(DIR_PREFIX);
  const inst = new PodmanInstance(label, rootDir, podmanBin, runcBin, initBin);
  try {
    await inst.prepare();
    inst.version = (await inst.podman(['--version'])).stdout.trim();
    await Promise.all([inst.startService(), inst.ensureImage()]);
    return inst;
  } catch (e) {
    await inst.dispose().catch(() => undefined);
    throw e;
  }
}

/**
 * One private Podman for the whole mocha run, started on first use and disposed by hooks.ts.
 * A later call finds a stopped service started again; a failed start is tried again by the next
 * call. Don't dispose() it; isolate tests with removeAllContainers() or unique labels.
 */
export const sharedPodman: SharedServer<PrivatePodman> = sharedServer(() => startPodman({ name: 'shared' }), {
  restart: (s) => s.startService(),
  retryAfterFailure: true,
});
