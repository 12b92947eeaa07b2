/**
 * Docker Engine API simulator for tests and benchmarks.
 *
 * An HTTP server (node:http) on a unix socket that speaks the read-only subset of the Docker Engine API that the
 * reconciler uses through dockerode: `GET|HEAD /_ping`, `GET /version`, `GET /info`, `GET /containers/json`,
 * `GET /containers/{id}/json` and the streaming `GET /events`, with or without a `/vX.YY` prefix.
 *
 * Response shapes were taken from a real daemon (docker.io 20.10.24, API 1.41, see
 * spec/docker/docker-sim.conformance.spec.ts) and the Engine API changelog for later versions: the `apiVersion`
 * option (default '1.47', Docker 27) selects the few version-dependent fields (see `profileFor`).
 *
 * Every request is recorded (`requests`, `requestCounts`, `mutatingRequests`) so tests can assert that the service
 * never calls anything but GETs. Any other method answers 405.
 *
 * Containers are kept as immutable records (every change replaces the record), so a `/containers/json` response is a
 * consistent snapshot even though it is serialised in slices that yield to the event loop.
 */
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdtemp, rm, unlink } from 'node:fs/promises';

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export type SimState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type SimHealth = 'starting' | 'healthy' | 'unhealthy';

export interface SimPort {
  privatePort: number;
  /** Host port; absent = exposed only (not published). */
  publicPort?: number;
  type: 'tcp' | 'udp';
  /** Host IP of a published port. Absent = all addresses, shown by the daemon as two bindings: 0.0.0.0 and ::. */
  ip?: string;
}

export interface SimContainer {
  id: string;
  name: string;
  image: string;
  state: SimState;
  labels: Record<string, string>;
  ports: SimPort[];
  /** Unix seconds. */
  created: number;
  // ---- extensions (all optional in add(); defaults shown) ----
  /** 'sha256:<hex>' (default: derived from `image`). */
  imageId: string;
  /** Container command (Path + Args when there is no entrypoint). Default ['sleep', 'infinity']. */
  cmd: string[];
  entrypoint: string[] | null;
  /** Default [PATH=...]; null as for an imported image without ENV. */
  env: string[] | null;
  /** HostConfig.NetworkMode and the single attached network; 'none' | 'host' | 'bridge' | '<user network>'. Default 'tinyforge'. */
  networkMode: string;
  /** Extra network aliases (compose service name...). */
  aliases: string[] | null;
  exitCode: number;
  /** Epoch ms (fractional allowed), 0 = never started. */
  startedAt: number;
  /** Epoch ms, 0 = never finished. */
  finishedAt: number;
  /** null = no healthcheck configured. */
  health: SimHealth | null;
  restartPolicy: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  restartCount: number;
  pid: number;
  error: string;
  oomKilled: boolean;
}

export type SimContainerInput = Partial<SimContainer> & { labels?: Record<string, string> };

export interface SimRequest {
  method: string;
  /** Path and query as sent (version prefix included). */
  path: string;
  /** Normalised route, e.g. '/containers/{id}/json'. */
  route: string;
  time: number;
}

export interface DockerSimulatorOptions {
  /** Unix socket path; default: a fresh mkdtemp directory + '/docker.sock' (removed on stop()). */
  socketPath?: string;
  /** API version the simulated daemon advertises (default '1.47', Docker 27.5.1). Selects version-dependent fields. */
  apiVersion?: string;
  /** Engine version string (default depends on apiVersion). */
  engineVersion?: string;
  /** Also emit `network connect/disconnect` events around start/die (default false). */
  networkEvents?: boolean;
  /** How many past events are kept for `since` replays (real daemon: 256). */
  eventHistory?: number;
  /** Per-stream limit of unsent event bytes; beyond it events are dropped for that stream (default 16 MiB). */
  eventBufferBytes?: number;
  /** How many recent requests `requests` keeps (default 1000). */
  requestHistory?: number;
}

export interface SetStateOptions {
  exitCode?: number;
  /** How a running container reaches exited: 'stop' (kill 15, die, stop: default), 'kill' (kill 9, die 137), 'exit' (die). */
  via?: 'stop' | 'kill' | 'exit';
}

export interface ChurnOptions {
  perSecond: number;
  mix?: { create: number; stateChange: number; remove: number };
  make?: (i: number) => Partial<SimContainer>;
  /** Tick length (ms, default 20). */
  tickMs?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------------------------

type Rec = Readonly<SimContainer> & { readonly ipIndex: number };

interface Profile {
  api: string;
  apiNum: number;
  engine: string;
  minApi: string;
  goVersion: string;
  gitCommit: string;
  containerd: string;
  runc: string;
  /** Networks[].DNSNames (API >= 1.44). */
  dnsNames: boolean;
  /** Networks[].Aliases carries the short id on user networks (API < 1.45). */
  aliasShortId: boolean;
  /** HostConfig.KernelMemory / KernelMemoryTCP always present (API < 1.42). */
  kernelMemory: boolean;
  /** `die` events carry `execDuration` (Docker >= 23, API >= 1.42). */
  execDuration: boolean;
  /** `_ping` answers Builder-Version and Swarm headers (API >= 1.42). */
  pingExtraHeaders: boolean;
}

function apiNum(v: string): number {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new Error(`bad API version ${v}`);
  return Number(m[1]) * 1000 + Number(m[2]);
}

function profileFor(api: string, engine?: string): Profile {
  const n = apiNum(api);
  const known: Record<string, [string, string, string]> = {
    '1.41': ['20.10.24', 'go1.19.8', '297e128'],
    '1.42': ['23.0.6', 'go1.19.9', '9dbdbd4'],
    '1.43': ['24.0.9', 'go1.20.13', 'fca702d'],
    '1.44': ['25.0.5', 'go1.21.8', 'e63daec'],
    '1.45': ['26.1.4', 'go1.21.11', 'de5c9cf'],
    '1.46': ['27.1.2', 'go1.21.13', 'f9522e5'],
    '1.47': ['27.5.1', 'go1.22.11', '4c9b3b0'],
    '1.48': ['28.0.4', 'go1.23.7', '6430e49'],
  };
  const k = known[api] ?? ['27.5.1', 'go1.22.11', '4c9b3b0'];
  return {
    api,
    apiNum: n,
    engine: engine ?? k[0],
    minApi: n >= apiNum('1.44') ? '1.24' : '1.12',
    goVersion: k[1],
    gitCommit: k[2],
    containerd: n >= apiNum('1.44') ? '1.7.25' : '1.6.20',
    runc: n >= apiNum('1.44') ? '1.2.4' : '1.1.5',
    dnsNames: n >= apiNum('1.44'),
    aliasShortId: n < apiNum('1.45'),
    kernelMemory: n < apiNum('1.42'),
    execDuration: n >= apiNum('1.42'),
    pingExtraHeaders: n >= apiNum('1.42'),
  };
}

const STATES: readonly SimState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const ZERO_TIME = '0001-01-01T00:00:00Z';
const DEFAULT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
const HTML_CHARS = /[<>&\u2028\u2029]/;
const HTML_CHARS_G = /[<>&\u2028\u2029]/g;

/** Characters that make a string need more than plain quoting (Go also escapes <, >, & and U+2028/9). */
const UNSAFE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

/** JSON string the way Go's encoding/json writes it (HTML-safe escapes). */
function gs(s: string): string {
  if (!UNSAFE.test(s)) return '"' + s + '"';
  const j = JSON.stringify(s);
  return HTML_CHARS.test(j) ? goEscape(j) : j;
}
function goEscape(json: string): string {
  return json.replace(HTML_CHARS_G, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
}
function goJson(v: unknown): string {
  const j = JSON.stringify(v);
  return HTML_CHARS.test(j) ? goEscape(j) : j;
}
/** JSON of label keys (a small, repetitive set), bounded. */
const keyJsonCache = new Map<string, string>();
function keyJson(k: string): string {
  let j = keyJsonCache.get(k);
  if (j === undefined) {
    if (keyJsonCache.size >= 10_000) keyJsonCache.clear();
    keyJsonCache.set(k, (j = gs(k)));
  }
  return j;
}
/** A string map (keys already sorted) as Go writes map[string]string. */
function mapJson(m: Record<string, string>): string {
  let out = '{';
  let first = true;
  for (const k in m) {
    out += (first ? '' : ',') + keyJson(k) + ':' + gs(m[k]!);
    first = false;
  }
  return out + '}';
}

function sortedObject(o: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!o) return out;
  for (const k of Object.keys(o).sort()) out[k] = String(o[k]);
  return out;
}

/** `o` itself when its keys are already in Go's (sorted) order and all values are strings, else a sorted copy. */
function sortedOrSame(o: Record<string, string> | undefined): Record<string, string> {
  if (!o) return {};
  let prev = '';
  for (const k in o) {
    if (k < prev || typeof o[k] !== 'string') return sortedObject(o);
    prev = k;
  }
  return o;
}

/** Wall clock in fractional milliseconds (sub-ms precision). */
const clockBase = Date.now() - performance.now();
function nowMs(): number {
  return clockBase + performance.now();
}

/** RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's time.RFC3339Nano. */
export function rfc3339Nano(ms: number): string {
  if (!ms) return ZERO_TIME;
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString();
  const subNs = Math.min(999_999, Math.round((ms - whole) * 1e6));
  const frac = (String(whole % 1000).padStart(3, '0') + String(subNs).padStart(6, '0')).replace(/0+$/, '');
  return iso.slice(0, 19) + (frac ? '.' + frac : '') + 'Z';
}

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** The daemon's State.String() (list `Status`). */
export function statusText(c: Pick<SimContainer, 'state' | 'startedAt' | 'finishedAt' | 'exitCode' | 'health'>, now = Date.now()): string {
  switch (c.state) {
    case 'running': {
      const up = `Up ${humanDuration(now - c.startedAt)}`;
      if (c.health) return `${up} (${c.health === 'starting' ? 'health: starting' : c.health})`;
      return up;
    }
    case 'paused':
      return `Up ${humanDuration(now - c.startedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${c.exitCode}) ${humanDuration(now - c.finishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'created':
      return 'Created';
    case 'exited':
      if (!c.finishedAt) return '';
      return `Exited (${c.exitCode}) ${humanDuration(now - c.finishedAt)} ago`;
  }
}

function isUp(s: SimState): boolean {
  return s === 'running' || s === 'paused';
}
/** The daemon's State.Running flag. */
function runningFlag(s: SimState): boolean {
  return s === 'running' || s === 'paused' || s === 'restarting';
}

function hex64(): string {
  return randomBytes(32).toString('hex');
}
function sha256hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

const WORKLOAD_KINDS = ['project', 'stack', 'site'] as const;
const ROLES: Record<(typeof WORKLOAD_KINDS)[number], string[]> = {
  project: ['app'],
  stack: ['web', 'db', 'cache', 'worker'],
  site: ['web'],
};
const IMAGES: Record<string, string> = {
  app: 'ghcr.io/tinyforge/app-runtime:1.4.2',
  web: 'nginx:1.27-alpine',
  db: 'mysql:8.4',
  cache: 'redis:7.4-alpine',
  worker: 'ghcr.io/tinyforge/worker:1.4.2',
};

const composeImageHashes = new Map<string, string>();
function composeImageHash(role: string): string {
  let h = composeImageHashes.get(role);
  if (!h) composeImageHashes.set(role, (h = 'sha256:' + sha256hex(IMAGES[role] ?? role)));
  return h;
}

/**
 * Default factory: containers that look like Tinyforge's. Index i maps deterministically to a workload
 * (`wl-<n>`), its kind and role; stacks get docker compose labels; web roles publish a port.
 */
export function tinyforgeContainer(i: number): Partial<SimContainer> {
  const kind = WORKLOAD_KINDS[i % 3]!;
  const roles = ROLES[kind];
  const workload = Math.floor(i / 3);
  const role = roles[workload % roles.length]!;
  const wid = `wl-${String(workload).padStart(6, '0')}`;
  // keys inserted in sorted order (Go's map order), so populate() can keep the object as is
  const labels: Record<string, string> = {};
  let name: string;
  if (kind === 'stack') {
    const project = `tinyforge-${wid}`;
    labels['com.docker.compose.config-hash'] = sha256hex(`${project}/${role}`);
    labels['com.docker.compose.container-number'] = '1';
    labels['com.docker.compose.depends_on'] = '';
    labels['com.docker.compose.image'] = composeImageHash(role);
    labels['com.docker.compose.oneoff'] = 'False';
    labels['com.docker.compose.project'] = project;
    labels['com.docker.compose.project.config_files'] = `/var/lib/tinyforge/stacks/${wid}/compose.yaml`;
    labels['com.docker.compose.project.working_dir'] = `/var/lib/tinyforge/stacks/${wid}`;
    labels['com.docker.compose.service'] = role;
    labels['com.docker.compose.version'] = '2.29.7';
    name = `${project}-${role}-1`;
  } else {
    name = `tf-${kind}-${wid}-${role}-${i}`;
  }
  labels['tinyforge.managed'] = 'true';
  labels['tinyforge.role'] = role;
  labels['tinyforge.workload.id'] = wid;
  labels['tinyforge.workload.kind'] = kind;
  const ports: SimPort[] =
    role === 'web' || role === 'app'
      ? [{ privatePort: role === 'app' ? 3000 : 80, publicPort: 20000 + (i % 40000), type: 'tcp' }]
      : role === 'db'
        ? [{ privatePort: 3306, type: 'tcp' }, { privatePort: 33060, type: 'tcp' }]
        : role === 'cache'
          ? [{ privatePort: 6379, type: 'tcp' }]
          : [];
  const r = i % 20;
  const state: SimState = r < 16 ? 'running' : r < 19 ? 'exited' : 'created';
  return {
    name,
    image: IMAGES[role] ?? 'busybox:latest',
    labels,
    ports,
    state,
    exitCode: state === 'exited' ? [0, 137, 1][i % 3]! : 0,
    cmd: role === 'db' ? ['mysqld'] : role === 'cache' ? ['redis-server'] : role === 'web' ? ['nginx', '-g', 'daemon off;'] : ['node', 'server.js'],
    restartPolicy: 'unless-stopped',
    aliases: kind === 'stack' ? [name, role] : null,
  };
}

interface EventRec {
  ns: bigint;
  type: string;
  action: string;
  id: string;
  name: string;
  image: string;
  attrs: Record<string, string>;
  line: string;
}

interface ParsedFilters {
  [key: string]: string[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parseFilters(raw: string | null): ParsedFilters {
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new HttpError(400, `invalid filter: ${raw}`);
  }
  const out: ParsedFilters = {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'invalid filter: not an object');
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (Array.isArray(val)) out[k] = val.map(String);
    else if (val && typeof val === 'object') out[k] = Object.keys(val as object).filter((x) => (val as Record<string, unknown>)[x]);
    else throw new HttpError(400, `invalid filter '${k}'`);
  }
  return out;
}

/** filters.Args.MatchKVList */
function matchKV(wanted: string[] | undefined, src: Record<string, string>): boolean {
  if (!wanted || wanted.length === 0) return true;
  for (const w of wanted) {
    const eq = w.indexOf('=');
    const k = eq < 0 ? w : w.slice(0, eq);
    if (!Object.prototype.hasOwnProperty.call(src, k)) return false;
    if (eq >= 0 && src[k] !== w.slice(eq + 1)) return false;
  }
  return true;
}

/** filters.Args.Match: exact or (unanchored) regular expression. */
function regexMatcher(values: string[] | undefined): ((s: string) => boolean) | null {
  if (!values || values.length === 0) return null;
  const res: RegExp[] = [];
  for (const v of values) {
    try {
      res.push(new RegExp(v));
    } catch {
      /* invalid patterns are skipped, as in the daemon */
    }
  }
  const set = new Set(values);
  return (s) => set.has(s) || res.some((r) => r.test(s));
}

/** filters.Args.FuzzyMatch: exact or prefix. */
function fuzzy(values: string[], s: string): boolean {
  return values.some((v) => s === v || s.startsWith(v));
}

function parseTimestampNs(raw: string | null, param: string): bigint | null {
  if (raw === null || raw === '') return null;
  const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(raw.trim());
  if (!m) throw new HttpError(400, `failed to parse value of ${param}: ${raw}`);
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

const LIST_FILTERS = new Set(['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume']);
const EVENT_FILTERS = new Set(['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume']);

function boolParam(v: string | null): boolean {
  if (v === null) return false;
  const s = v.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none');
}

interface EventStream {
  res: http.ServerResponse;
  filter: (e: EventRec) => boolean;
  untilNs: bigint | null;
  timer?: NodeJS.Timeout;
}

// ---------------------------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------------------------

export class DockerSimulator {
  readonly socketPath: string;
  readonly profile: Profile;
  /** Counts per "METHOD /route" since start (or resetRequests()). */
  readonly requestCounts = new Map<string, number>();
  /** Every non-GET/HEAD request (bounded to the last 10,000). */
  readonly mutatingRequests: SimRequest[] = [];
  totalRequests = 0;

  private readonly server: http.Server;
  private readonly tmpDir: string | null;
  private readonly byId = new Map<string, Rec>();
  private readonly byName = new Map<string, string>();
  /** ids in arbitrary order, for O(1) random pick. */
  private readonly idArr: string[] = [];
  private readonly idPos = new Map<string, number>();
  private readonly streams = new Set<EventStream>();
  private readonly sockets = new Set<net.Socket>();
  private readonly history: EventRec[] = [];
  private readonly historyMax: number;
  private readonly reqRing: SimRequest[] = [];
  private readonly reqMax: number;
  private readonly imageIds = new Map<string, string>();
  private readonly networkIds = new Map<string, string>();
  private readonly networkEvents: boolean;
  private lastNs = 0n;
  private ipCounter = 2;
  /** Next index handed to factories (populate, churn): monotonic, so generated names and workloads never repeat. */
  private factoryIndex = 0;
  private readonly eventBufferLimit: number;
  /** Events not delivered to a stream whose client does not read (the daemon drops them for slow subscribers too). */
  droppedEvents = 0;
  private listening = false;
  private readonly daemonId: string;

  private constructor(socketPath: string, tmpDir: string | null, opts: DockerSimulatorOptions) {
    this.socketPath = socketPath;
    this.tmpDir = tmpDir;
    this.profile = profileFor(opts.apiVersion ?? '1.47', opts.engineVersion);
    this.historyMax = opts.eventHistory ?? 256;
    this.reqMax = opts.requestHistory ?? 1000;
    this.networkEvents = opts.networkEvents ?? false;
    this.eventBufferLimit = opts.eventBufferBytes ?? 16 * 1024 * 1024;
    this.daemonId = sha256hex(socketPath).slice(0, 36);
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 0; // like Go's server: idle keep-alive connections are not timed out
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60_000;
    this.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: DockerSimulatorOptions = {}): Promise<DockerSimulator> {
    let socketPath = opts.socketPath;
    let tmpDir: string | null = null;
    if (!socketPath) {
      tmpDir = await mkdtemp(path.join(os.tmpdir(), 'docker-sim-'));
      socketPath = path.join(tmpDir, 'docker.sock');
    }
    const sim = new DockerSimulator(socketPath, tmpDir, opts);
    await sim.listen();
    return sim;
  }

  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  /** The last `requestHistory` requests (oldest first). */
  get requests(): SimRequest[] {
    if (this.reqRing.length > this.reqMax) this.reqRing.splice(0, this.reqRing.length - this.reqMax);
    return this.reqRing;
  }

  resetRequests(): void {
    this.reqRing.length = 0;
    this.requestCounts.clear();
    this.mutatingRequests.length = 0;
    this.totalRequests = 0;
  }

  /** Sum of request counts whose "METHOD /route" key matches. */
  countRequests(match: string | RegExp): number {
    let n = 0;
    for (const [k, v] of this.requestCounts) if (typeof match === 'string' ? k === match : match.test(k)) n += v;
    return n;
  }

  get size(): number {
    return this.byId.size;
  }

  // ----------------------------------------------------------------------------------------------------------
  // State & control
  // ----------------------------------------------------------------------------------------------------------

  /** A copy of one container (by id, unique id prefix or name), or undefined. */
  get(ref: string): SimContainer | undefined {
    const r = this.lookup(ref);
    return r ? this.publicCopy(r) : undefined;
  }

  /** Copies of all containers, newest first (the daemon's list order). */
  list(): SimContainer[] {
    return Array.from(this.byId.values())
      .reverse()
      .map((r) => this.publicCopy(r));
  }

  /** Adds a container; emits `create`, then the events that bring it to its state (`start` if running...). */
  add(c: SimContainerInput = {}): SimContainer {
    const target = c.state ?? 'running';
    const rec = this.makeRec(c, false, { id: c.id ?? hex64(), state: 'created', created: c.created ?? Math.floor(nowMs() / 1000), startedAt: 0, finishedAt: 0 });
    this.insert(rec);
    this.event('create', rec);
    if (target !== 'created') this.transition(rec.id, target, { exitCode: c.exitCode });
    // A (re)start resets health to 'starting'; honour an explicitly requested status as the next check would.
    if (c.health && this.byId.get(rec.id)!.health !== c.health && runningFlag(target)) this.setHealth(rec.id, c.health);
    return this.get(rec.id)!;
  }

  /** Changes state, emitting what a daemon emits for that transition (see transition table in the report). */
  setState(ref: string, state: SimState, opts: SetStateOptions = {}): void {
    const r = this.mustLookup(ref);
    this.transition(r.id, state, opts);
  }

  /** `docker restart`: kill, die, stop, start, restart (exitCode of the die: default 0, a process killed by SIGTERM shows 143). */
  restart(ref: string, opts: { exitCode?: number } = {}): void {
    const r = this.mustLookup(ref);
    if (isUp(r.state)) this.transition(r.id, 'exited', { via: 'stop', exitCode: opts.exitCode ?? 0 });
    this.transition(r.id, 'running', {});
    this.event('restart', this.byId.get(r.id)!);
  }

  /** Sets the health status; healthy/unhealthy emit `health_status: <status>` when it changes. */
  setHealth(ref: string, health: SimHealth | null): void {
    const r = this.mustLookup(ref);
    const prev = r.health;
    const next = this.replace(r, { health });
    if (health && health !== 'starting' && health !== prev) this.event(`health_status: ${health}`, next);
  }

  /** Changes fields without events (labels of a live container cannot change on a real daemon: use with care). */
  update(ref: string, patch: Partial<Omit<SimContainer, 'id'>>): SimContainer {
    const r = this.mustLookup(ref);
    if (patch.name && patch.name !== r.name) {
      if (this.byName.has(patch.name)) throw new Error(`Conflict. The container name "/${patch.name}" is already in use`);
      this.byName.delete(r.name);
      this.byName.set(patch.name, r.id);
    }
    const next = this.replace(r, { ...patch, ...(patch.labels ? { labels: sortedObject(patch.labels) } : {}) });
    return this.publicCopy(next);
  }

  /** Removes a container (as `docker rm -f`): kill+die if it was up, then `destroy`. */
  remove(ref: string): void {
    const r = this.mustLookup(ref);
    if (runningFlag(r.state)) this.transition(r.id, 'exited', { via: 'kill' });
    const last = this.byId.get(r.id)!;
    this.drop(last.id);
    this.event('destroy', last);
  }

  /** Emits a raw container event (status = Action = `action`), e.g. 'health_status: healthy', 'rename', 'oom'. */
  emit(action: string, ref: string, extraAttributes: Record<string, string> = {}): void {
    const r = this.lookup(ref);
    if (r) this.event(action, r, extraAttributes);
    else this.rawEvent('container', action, ref, ref, '', extraAttributes);
  }

  /** Bulk insert without events; fast (100k in well under a second). */
  populate(n: number, make: (i: number) => Partial<SimContainer> = tinyforgeContainer): void {
    const ids = randomBytes(32 * n).toString('hex');
    const now = nowMs();
    const step = Math.min(1000, 86_400_000 / Math.max(1, n));
    for (let i = 0; i < n; i++) {
      const spec = make(this.factoryIndex++);
      const state = spec.state ?? 'running';
      if (spec.id !== undefined && !/^[0-9a-f]{64}$/.test(spec.id)) throw new Error(`container id must be 64 hex chars: ${spec.id}`);
      const id = spec.id ?? ids.slice(i * 64, i * 64 + 64);
      // creation spread over the last day, increasing with i (the list is newest first, like the daemon's)
      const ageMs = 1000 + (n - 1 - i) * step;
      const createdMs = now - ageMs;
      const started = state === 'created' ? 0 : createdMs + 500;
      const finished = state === 'exited' || state === 'dead' || state === 'restarting' ? started + (ageMs - 500) * ((i % 10) / 10) : 0;
      const rec = this.makeRec(spec, true, {
        id,
        state,
        created: spec.created ?? Math.floor(createdMs / 1000),
        startedAt: spec.startedAt ?? started,
        finishedAt: spec.finishedAt ?? finished,
      });
      this.insert(rec);
    }
  }

  /** Continuous churn with events, driven by a timer. */
  churn(opts: ChurnOptions): { stop(): void } {
    const tick = opts.tickMs ?? 20;
    const mix = opts.mix ?? { create: 0.2, stateChange: 0.6, remove: 0.2 };
    const total = mix.create + mix.stateChange + mix.remove || 1;
    const make = opts.make ?? tinyforgeContainer;
    let budget = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const t = performance.now();
      budget += ((t - last) / 1000) * opts.perSecond;
      last = t;
      while (budget >= 1) {
        budget -= 1;
        const x = Math.random() * total;
        if (x < mix.create || this.byId.size === 0) this.add(this.uniqueName(make(this.factoryIndex++)));
        else if (x < mix.create + mix.stateChange) this.flip(this.randomId()!);
        else this.remove(this.randomId()!);
      }
    }, tick);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  /**
   * Synchronously changes `fraction` of the containers, emitting events: ~80% state flips
   * (running<->exited, created/paused/restarting->running), ~20% remove + create of a replacement.
   * Returns how many containers changed.
   */
  churnOnce(fraction: number, make: (i: number) => Partial<SimContainer> = tinyforgeContainer): number {
    const n = Math.round(this.byId.size * Math.max(0, Math.min(1, fraction)));
    // pick n distinct ids by partial Fisher-Yates over a copy of the id array
    const pool = this.idArr.slice();
    const picked: string[] = [];
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(Math.random() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      picked.push(pool[i]!);
    }
    for (const id of picked) {
      if (Math.random() < 0.8) this.flip(id);
      else {
        this.remove(id);
        this.add(this.uniqueName(make(this.factoryIndex++)));
      }
    }
    return n;
  }

  // ----------------------------------------------------------------------------------------------------------
  // Fault injection
  // ----------------------------------------------------------------------------------------------------------

  /** Closes all open /events responses: 'destroy' (default) resets the connection; 'end' ends the chunked body cleanly. */
  cutEventStreams(mode: 'destroy' | 'end' = 'destroy'): void {
    for (const s of [...this.streams]) {
      this.closeStream(s, mode);
    }
  }

  writeRawToEventStreams(chunk: string): void {
    for (const s of this.streams) s.res.write(chunk);
  }

  /** Stops listening (connections refused), destroys open streams and connections. */
  async pauseServer(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    this.cutEventStreams('destroy');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  async resumeServer(): Promise<void> {
    if (this.listening) return;
    await this.listen();
  }

  openEventStreams(): number {
    return this.streams.size;
  }

  async stop(): Promise<void> {
    await this.pauseServer();
    await unlink(this.socketPath).catch(() => undefined);
    if (this.tmpDir) await rm(this.tmpDir, { recursive: true, force: true });
  }

  // ----------------------------------------------------------------------------------------------------------
  // Container records
  // ----------------------------------------------------------------------------------------------------------

  /**
   * `owned`: populate() path, the input objects (labels, ports) are taken over instead of copied.
   * (No object spread here: V8 makes `{...spec, more}` objects slow, which showed at 100k containers.)
   */
  private makeRec(c: SimContainerInput, owned: boolean, ov: Pick<SimContainer, 'id' | 'state' | 'created' | 'startedAt' | 'finishedAt'>): Rec {
    const id = ov.id;
    if (!owned && c.id !== undefined && !/^[0-9a-f]{64}$/.test(id)) throw new Error(`container id must be 64 hex chars: ${id}`);
    if (this.byId.has(id)) throw new Error(`duplicate container id ${id}`);
    let name = c.name ?? `sim_${id.slice(0, 12)}`;
    if (name.charCodeAt(0) === 47) name = name.slice(1);
    if (this.byName.has(name)) throw new Error(`Conflict. The container name "/${name}" is already in use`);
    const image = c.image ?? 'busybox:latest';
    const ipIndex = this.ipCounter++;
    const rec: Rec = {
      id,
      name,
      image,
      state: ov.state,
      labels: owned ? sortedOrSame(c.labels) : sortedObject(c.labels),
      ports: owned ? (c.ports ?? []) : (c.ports ?? []).map((p) => Object.assign({}, p)),
      created: ov.created,
      imageId: c.imageId ?? this.imageIdFor(image),
      cmd: c.cmd ?? ['sleep', 'infinity'],
      entrypoint: c.entrypoint ?? null,
      env: c.env === undefined ? DEFAULT_ENV : c.env,
      networkMode: c.networkMode ?? 'tinyforge',
      aliases: c.aliases ?? null,
      exitCode: c.exitCode ?? 0,
      startedAt: ov.startedAt,
      finishedAt: ov.finishedAt,
      health: c.health ?? null,
      restartPolicy: c.restartPolicy ?? 'no',
      restartCount: c.restartCount ?? 0,
      pid: c.pid ?? (runningFlag(ov.state) ? 1000 + (ipIndex % 4_000_000) : 0),
      error: c.error ?? '',
      oomKilled: c.oomKilled ?? false,
      ipIndex,
    };
    return rec;
  }

  private publicCopy(r: Rec): SimContainer {
    const { ipIndex: _ignored, ...rest } = r;
    void _ignored;
    return { ...rest, labels: { ...r.labels }, ports: r.ports.map((p) => ({ ...p })), cmd: [...r.cmd] };
  }

  private insert(r: Rec): void {
    this.byId.set(r.id, r);
    this.byName.set(r.name, r.id);
    this.idPos.set(r.id, this.idArr.length);
    this.idArr.push(r.id);
  }

  private drop(id: string): void {
    const r = this.byId.get(id);
    if (!r) return;
    this.byId.delete(id);
    if (this.byName.get(r.name) === id) this.byName.delete(r.name);
    const pos = this.idPos.get(id)!;
    const lastId = this.idArr.pop()!;
    if (lastId !== id) {
      this.idArr[pos] = lastId;
      this.idPos.set(lastId, pos);
    }
    this.idPos.delete(id);
  }

  private replace(r: Rec, patch: Partial<SimContainer>): Rec {
    const next = Object.assign({}, r, patch) as Rec;
    this.byId.set(r.id, next);
    return next;
  }

  private randomId(): string | undefined {
    return this.idArr.length ? this.idArr[Math.floor(Math.random() * this.idArr.length)] : undefined;
  }

  private uniqueName(spec: Partial<SimContainer>): Partial<SimContainer> {
    if (!spec.name || !this.byName.has(spec.name)) return spec;
    let k = 2;
    while (this.byName.has(`${spec.name}-${k}`)) k++;
    return { ...spec, name: `${spec.name}-${k}` };
  }

  private flip(id: string): void {
    const r = this.byId.get(id);
    if (!r) return;
    const to: SimState = r.state === 'running' ? 'exited' : 'running';
    this.transition(id, to, to === 'exited' ? { via: Math.random() < 0.5 ? 'stop' : 'exit' } : {});
  }

  private lookup(ref: string): Rec | undefined {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.byName.get(ref.replace(/^\//, ''));
    if (byName) return this.byId.get(byName);
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    let found: Rec | undefined;
    for (const [id, r] of this.byId) {
      if (id.startsWith(ref)) {
        if (found) throw new HttpError(400, `Multiple IDs found with provided prefix: ${ref}`);
        found = r;
      }
    }
    return found;
  }

  private mustLookup(ref: string): Rec {
    const r = this.lookup(ref);
    if (!r) throw new Error(`No such container: ${ref}`);
    return r;
  }

  private imageIdFor(image: string): string {
    let v = this.imageIds.get(image);
    if (!v) {
      v = 'sha256:' + sha256hex('image:' + image);
      this.imageIds.set(image, v);
    }
    return v;
  }

  private networkIdFor(name: string): string {
    let v = this.networkIds.get(name);
    if (!v) {
      v = sha256hex('network:' + name + ':' + this.daemonId);
      this.networkIds.set(name, v);
    }
    return v;
  }

  // ----------------------------------------------------------------------------------------------------------
  // State machine
  // ----------------------------------------------------------------------------------------------------------

  private transition(id: string, to: SimState, opts: SetStateOptions): void {
    if (!STATES.includes(to)) throw new Error(`unknown state ${to}`);
    let r = this.byId.get(id)!;
    const from = r.state;
    if (from === to) return;
    const start = () => {
      const restarted = r.state === 'restarting';
      r = this.replace(r, {
        state: 'running',
        startedAt: nowMs(),
        exitCode: 0,
        pid: 1000 + Math.floor(Math.random() * 4_000_000),
        health: r.health ? 'starting' : null,
        restartCount: restarted ? r.restartCount + 1 : r.restartCount,
        error: '',
      });
      if (this.networkEvents) this.networkEvent('connect', r);
      this.event('start', r);
    };
    const die = (code: number, state: SimState) => {
      const t = nowMs();
      r = this.replace(r, { state, exitCode: code, finishedAt: t, pid: 0 });
      const attrs: Record<string, string> = { exitCode: String(code) };
      if (this.profile.execDuration) attrs.execDuration = String(Math.max(0, Math.floor((t - r.startedAt) / 1000)));
      this.event('die', r, attrs);
      if (this.networkEvents && state !== 'restarting') this.networkEvent('disconnect', r);
    };
    const kill = (signal: number) => this.event('kill', r, { signal: String(signal) });
    const stopSeq = () => {
      const via = opts.via ?? 'stop';
      if (via === 'stop') {
        kill(15);
        die(opts.exitCode ?? 0, 'exited');
        this.event('stop', r);
      } else if (via === 'kill') {
        kill(9);
        die(opts.exitCode ?? 137, 'exited');
      } else die(opts.exitCode ?? 0, 'exited');
    };
    const set = (state: SimState) => {
      r = this.replace(r, { state });
    };

    switch (to) {
      case 'running':
        if (from === 'paused') {
          set('running');
          this.event('unpause', r);
        } else if (from === 'removing' || from === 'dead') {
          start();
        } else start();
        break;
      case 'paused':
        if (!runningFlag(from) || from === 'restarting') start();
        set('paused');
        this.event('pause', r);
        break;
      case 'exited':
        if (from === 'created') {
          start();
          die(opts.exitCode ?? 0, 'exited');
        } else if (from === 'restarting') {
          set('exited');
          this.event('stop', r);
        } else if (isUp(from)) stopSeq();
        else set('exited');
        break;
      case 'restarting':
        if (!isUp(from)) start();
        die(opts.exitCode ?? 1, 'restarting');
        break;
      case 'dead':
        if (runningFlag(from)) {
          kill(9);
          die(opts.exitCode ?? 137, 'dead');
        } else set('dead');
        break;
      case 'removing':
        if (runningFlag(from)) {
          kill(9);
          die(opts.exitCode ?? 137, 'removing');
        } else set('removing');
        break;
      case 'created':
        set('created');
        break;
    }
  }

  // ----------------------------------------------------------------------------------------------------------
  // Events
  // ----------------------------------------------------------------------------------------------------------

  private nextNs(): bigint {
    const ms = nowMs();
    const whole = Math.floor(ms);
    let ns = BigInt(whole) * 1_000_000n + BigInt(Math.min(999_999, Math.round((ms - whole) * 1e6)));
    if (ns <= this.lastNs) ns = this.lastNs + 1n;
    this.lastNs = ns;
    return ns;
  }

  private event(action: string, r: Rec, extra: Record<string, string> = {}): void {
    this.rawEvent('container', action, r.id, r.name, r.image, Object.assign({}, r.labels, extra, { image: r.image, name: r.name }));
  }

  private networkEvent(action: 'connect' | 'disconnect', r: Rec): void {
    if (r.networkMode === 'host') return;
    const netName = r.networkMode === 'default' ? 'bridge' : r.networkMode;
    const type = netName === 'none' ? 'null' : netName === 'host' ? 'host' : 'bridge';
    const ns = this.nextNs();
    const attrs = sortedObject({ container: r.id, name: netName, type });
    const line =
      `{"Type":"network","Action":${gs(action)},"Actor":{"ID":${gs(this.networkIdFor(netName))},"Attributes":${goJson(attrs)}},` +
      `"scope":"local","time":${ns / 1_000_000_000n},"timeNano":${ns}}\n`;
    this.publish({ ns, type: 'network', action, id: this.networkIdFor(netName), name: netName, image: '', attrs, line });
  }

  private rawEvent(type: string, action: string, id: string, name: string, image: string, attributes: Record<string, string>): void {
    const ns = this.nextNs();
    const attrs = sortedObject(attributes);
    const line =
      `{"status":${gs(action)},"id":${gs(id)},"from":${gs(image)},"Type":${gs(type)},"Action":${gs(action)},` +
      `"Actor":{"ID":${gs(id)},"Attributes":${mapJson(attrs)}},"scope":"local","time":${ns / 1_000_000_000n},"timeNano":${ns}}\n`;
    this.publish({ ns, type, action, id, name, image, attrs, line });
  }

  private publish(e: EventRec): void {
    this.history.push(e);
    if (this.history.length > this.historyMax * 2) this.history.splice(0, this.history.length - this.historyMax);
    for (const s of this.streams) {
      if (s.untilNs !== null && e.ns > s.untilNs) continue;
      if (!s.filter(e)) continue;
      if (s.res.writableLength > this.eventBufferLimit) this.droppedEvents++;
      else s.res.write(e.line);
    }
  }

  private eventFilter(f: ParsedFilters): (e: EventRec) => boolean {
    for (const k of Object.keys(f)) if (!EVENT_FILTERS.has(k)) throw new HttpError(400, `invalid filter '${k}'`);
    const type = f.type;
    const ev = f.event;
    const fuzzyEvent = ev?.some((x) => x === 'health_status' || x === 'exec_create' || x === 'exec_start') ?? false;
    const container = f.container;
    const image = f.image;
    const label = f.label;
    const scope = f.scope;
    const otherTypes = (['network', 'volume', 'plugin', 'service', 'node', 'secret', 'config', 'daemon'] as const).filter((k) => f[k]?.length);
    return (e) => {
      if (type?.length && !type.includes(e.type)) return false;
      if (ev?.length && !(fuzzyEvent ? fuzzy(ev, e.action) : ev.includes(e.action))) return false;
      if (scope?.length && !scope.includes('local')) return false;
      if (label?.length && !matchKV(label, e.attrs)) return false;
      if (container?.length) {
        if (e.type !== 'container' || !(fuzzy(container, e.id) || fuzzy(container, e.name))) return false;
      }
      if (image?.length) {
        const img = e.attrs.image ?? e.image;
        const bare = img.replace(/:[^:/]+$/, '');
        if (!image.some((i) => i === img || i === bare || i === e.id)) return false;
      }
      for (const k of otherTypes) {
        if (e.type !== k || !(fuzzy(f[k]!, e.id) || fuzzy(f[k]!, e.name))) return false;
      }
      return true;
    };
  }

  private closeStream(s: EventStream, mode: 'destroy' | 'end'): void {
    this.streams.delete(s);
    if (s.timer) clearTimeout(s.timer);
    if (mode === 'end') s.res.end();
    else s.res.destroy();
  }

  // ----------------------------------------------------------------------------------------------------------
  // HTTP
  // ----------------------------------------------------------------------------------------------------------

  private async listen(): Promise<void> {
    // A stale socket file (from a crashed run or a paused server) would make listen() fail with EADDRINUSE.
    try {
      const st = await lstat(this.socketPath);
      if (st.isSocket()) {
        const alive = await new Promise<boolean>((resolve) => {
          const c = net.connect(this.socketPath);
          c.once('connect', () => {
            c.destroy();
            resolve(true);
          });
          c.once('error', () => resolve(false));
        });
        if (alive) throw new Error(`${this.socketPath}: another server is listening`);
        await unlink(this.socketPath);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => reject(e);
      this.server.once('error', onErr);
      this.server.listen(this.socketPath, () => {
        this.server.off('error', onErr);
        resolve();
      });
    });
    this.listening = true;
  }

  private record(method: string, url: string, route: string): void {
    this.totalRequests++;
    const rq: SimRequest = { method, path: url, route, time: Date.now() };
    this.reqRing.push(rq);
    if (this.reqRing.length > this.reqMax * 2) this.reqRing.splice(0, this.reqRing.length - this.reqMax);
    const key = `${method} ${route}`;
    this.requestCounts.set(key, (this.requestCounts.get(key) ?? 0) + 1);
    if (method !== 'GET' && method !== 'HEAD') {
      this.mutatingRequests.push(rq);
      if (this.mutatingRequests.length > 10_000) this.mutatingRequests.shift();
    }
  }

  private commonHeaders(): Record<string, string> {
    return {
      'Api-Version': this.profile.api,
      'Docker-Experimental': 'false',
      Ostype: 'linux',
      Server: `Docker/${this.profile.engine} (linux)`,
    };
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown, common = true): void {
    const text = (typeof body === 'string' ? body : goJson(body)) + '\n';
    res.writeHead(status, {
      ...(common ? this.commonHeaders() : {}),
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, 'http://docker');
    let p = url.pathname;
    let version: string | null = null;
    const vm = /^\/v(\d+\.\d+)(\/.*)$/.exec(p);
    if (vm) {
      version = vm[1]!;
      p = vm[2]!;
    }
    const route = routeOf(p);
    this.record(method, rawUrl, route);
    req.resume(); // discard any body
    try {
      if (version !== null) {
        const v = apiNum(version);
        if (v > this.profile.apiNum) {
          throw new HttpError(400, `client version ${version} is too new. Maximum supported API version is ${this.profile.api}`);
        }
        if (v < apiNum(this.profile.minApi)) {
          throw new HttpError(400, `client version ${version} is too old. Minimum supported API version is ${this.profile.minApi}, please upgrade your client to a newer version`);
        }
      }
      if (route === '/_ping' && (method === 'GET' || method === 'HEAD')) return this.ping(res, method);
      if (method !== 'GET') {
        return this.sendJson(res, 405, { message: `docker-sim: ${method} ${p} is not supported (read-only simulator; the service must only read)` });
      }
      switch (route) {
        case '/version':
          return this.sendJson(res, 200, this.versionDoc());
        case '/info':
          return this.sendJson(res, 200, this.infoDoc());
        case '/containers/json':
          return void this.listContainers(url, res).catch((e) => this.fail(res, e));
        case '/containers/{id}/json':
          return this.inspect(decodeURIComponent(p.slice('/containers/'.length, -'/json'.length)), url, res);
        case '/events':
          return this.events(url, res);
        default:
          return this.sendJson(res, 404, { message: 'page not found' }, false);
      }
    } catch (e) {
      this.fail(res, e);
    }
  }

  private fail(res: http.ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof HttpError) this.sendJson(res, e.status, { message: e.message });
    else this.sendJson(res, 500, { message: String((e as Error)?.message ?? e) });
  }

  private ping(res: http.ServerResponse, method: string): void {
    const h: Record<string, string> = {
      ...this.commonHeaders(),
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Type': 'text/plain; charset=utf-8',
    };
    if (this.profile.pingExtraHeaders) {
      h['Builder-Version'] = '2';
      h['Swarm'] = 'inactive';
    }
    if (method === 'HEAD') {
      res.writeHead(200, { ...h, 'Content-Length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { ...h, 'Content-Length': '2' });
    res.end('OK');
  }

  private versionDoc(): object {
    const p = this.profile;
    const buildTime = '2025-01-22T13:42:08.000000000+00:00';
    return {
      Platform: { Name: p.apiNum >= apiNum('1.44') ? 'Docker Engine - Community' : '' },
      Components: [
        {
          Name: 'Engine',
          Version: p.engine,
          Details: {
            ApiVersion: p.api,
            Arch: 'amd64',
            BuildTime: buildTime,
            Experimental: 'false',
            GitCommit: p.gitCommit,
            GoVersion: p.goVersion,
            KernelVersion: os.release(),
            MinAPIVersion: p.minApi,
            Os: 'linux',
          },
        },
        { Name: 'containerd', Version: p.containerd, Details: { GitCommit: 'bcc810d6b9066471b0b6fa75f557a15a1cbf31bb' } },
        { Name: 'runc', Version: p.runc, Details: { GitCommit: 'v' + p.runc + '-0-g6c52b3f' } },
        { Name: 'docker-init', Version: '0.19.0', Details: { GitCommit: 'de40ad0' } },
      ],
      Version: p.engine,
      ApiVersion: p.api,
      MinAPIVersion: p.minApi,
      GitCommit: p.gitCommit,
      GoVersion: p.goVersion,
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: os.release(),
      BuildTime: buildTime,
    };
  }

  private infoDoc(): object {
    let running = 0;
    let paused = 0;
    for (const r of this.byId.values()) {
      if (r.state === 'paused') paused++;
      else if (runningFlag(r.state)) running++;
    }
    return {
      ID: this.daemonId,
      Containers: this.byId.size,
      ContainersRunning: running,
      ContainersPaused: paused,
      ContainersStopped: this.byId.size - running - paused,
      Images: this.imageIds.size,
      Driver: 'overlay2',
      OSType: 'linux',
      Architecture: 'x86_64',
      OperatingSystem: 'docker-sim',
      KernelVersion: os.release(),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      Name: os.hostname(),
      ServerVersion: this.profile.engine,
      DockerRootDir: '/var/lib/docker',
      Labels: [],
      ExperimentalBuild: false,
      Warnings: null,
    };
  }

  // ---- /containers/json --------------------------------------------------------------------------------------

  private listPredicate(f: ParsedFilters): (r: Rec) => boolean {
    for (const k of Object.keys(f)) if (!LIST_FILTERS.has(k)) throw new HttpError(400, `invalid filter '${k}'`);
    const status = f.status;
    if (status) for (const s of status) if (!STATES.includes(s as SimState)) throw new HttpError(400, `invalid filter 'status=${s}'`);
    const health = f.health;
    if (health) for (const h of health) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw new HttpError(400, `Unrecognised filter value for health: ${h}`);
    const exited = f.exited?.map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n)) throw new HttpError(400, `invalid filter 'exited=${x}'`);
      return n;
    });
    const idM = regexMatcher(f.id);
    const nameM = regexMatcher(f.name);
    const label = f.label;
    const network = f.network;
    const ancestor = f.ancestor;
    const portSpec = (vals: string[] | undefined) =>
      vals?.map((v) => {
        const [port, proto] = v.split('/');
        return { port: Number(port), proto: proto ?? 'tcp' };
      });
    const publish = portSpec(f.publish);
    const expose = portSpec(f.expose);
    return (r) => {
      if (status && !status.includes(r.state)) return false;
      if (label && !matchKV(label, r.labels)) return false;
      if (idM && !idM(r.id)) return false;
      if (nameM && !nameM('/' + r.name)) return false;
      if (exited && !(r.state === 'exited' && exited.includes(r.exitCode))) return false;
      if (health && !health.includes(r.health ?? 'none')) return false;
      if (network && !network.some((n) => n === r.networkMode || n === this.networkIdFor(r.networkMode))) return false;
      if (ancestor && !ancestor.some((a) => a === r.image || a === r.image.replace(/:[^:/]+$/, '') || a === r.imageId)) return false;
      if (publish && !publish.some((q) => r.ports.some((p) => p.publicPort === q.port && p.type === q.proto))) return false;
      if (expose && !expose.some((q) => r.ports.some((p) => p.privatePort === q.port && p.type === q.proto))) return false;
      return true;
    };
  }

  private async listContainers(url: URL, res: http.ServerResponse): Promise<void> {
    const q = url.searchParams;
    const filters = parseFilters(q.get('filters'));
    const pred = this.listPredicate(filters);
    const limit = q.has('limit') ? Number(q.get('limit')) : -1;
    const all = boolParam(q.get('all')) || limit > 0 || !!filters.status?.length;
    const size = boolParam(q.get('size'));
    // Consistent snapshot: records are immutable, so holding references is enough.
    const snap = Array.from(this.byId.values());
    const now = Date.now();
    res.writeHead(200, { ...this.commonHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    let out = '[';
    let first = true;
    let count = 0;
    let sinceYield = 0;
    for (let i = snap.length - 1; i >= 0; i--) {
      const r = snap[i]!;
      if (!all && !runningFlag(r.state)) continue;
      if (!pred(r)) continue;
      if (limit > 0 && count >= limit) break;
      count++;
      out += (first ? '' : ',') + this.listEntry(r, now, size);
      first = false;
      if (out.length >= 256 * 1024) {
        const ok = res.write(out);
        out = '';
        if (res.destroyed) return;
        if (!ok) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        }
        else if (++sinceYield >= 8) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        if (res.destroyed) return;
      }
    }
    res.end(out + ']\n');
  }

  private portsListJson(r: Rec): string {
    if (r.ports.length === 0) return '[]';
    const up = isUp(r.state);
    const entries: { ip?: string; priv: number; pub?: number; type: string }[] = [];
    if (!up) return '[]';
    for (const p of r.ports) {
      if (p.publicPort === undefined) entries.push({ priv: p.privatePort, type: p.type });
      else if (p.ip) entries.push({ ip: p.ip, priv: p.privatePort, pub: p.publicPort, type: p.type });
      else {
        entries.push({ ip: '0.0.0.0', priv: p.privatePort, pub: p.publicPort, type: p.type });
        entries.push({ ip: '::', priv: p.privatePort, pub: p.publicPort, type: p.type });
      }
    }
    return (
      '[' +
      entries
        .map((e) =>
          e.pub === undefined
            ? `{"PrivatePort":${e.priv},"Type":"${e.type}"}`
            : `{"IP":${gs(e.ip!)},"PrivatePort":${e.priv},"PublicPort":${e.pub},"Type":"${e.type}"}`,
        )
        .join(',') +
      ']'
    );
  }

  private netName(r: Rec): string {
    return r.networkMode === 'default' ? 'bridge' : r.networkMode;
  }

  private ipOf(r: Rec): { ip: string; gw: string; mac: string; prefix: number } {
    const n = this.netName(r);
    if (n === 'none' || n === 'host' || !isUp(r.state)) return { ip: '', gw: '', mac: '', prefix: 0 };
    const second = n === 'bridge' ? 17 : 18;
    const idx = r.ipIndex;
    const b3 = (idx >> 8) & 255;
    const b4 = idx & 255 || 2;
    const hx = (x: number) => x.toString(16).padStart(2, '0');
    return { ip: `172.${second}.${b3}.${b4}`, gw: `172.${second}.0.1`, mac: `02:42:ac:${hx(second)}:${hx(b3)}:${hx(b4)}`, prefix: 16 };
  }

  /** EndpointSettings JSON for the container's network (list: Aliases/DNSNames null as the daemon does). */
  private endpointJson(r: Rec, forInspect: boolean): string {
    const n = this.netName(r);
    const up = isUp(r.state);
    const never = r.state === 'created';
    const networkId = never ? '' : this.networkIdFor(n);
    const endpointId = up ? r.id.slice(32) + r.id.slice(0, 32) : '';
    const { ip, gw, mac, prefix } = this.ipOf(r);
    const userNet = n !== 'none' && n !== 'host' && n !== 'bridge';
    let aliases: string[] | null = null;
    let dnsNames: string[] | null = null;
    if (forInspect && userNet) {
      const base = r.aliases ? [...r.aliases] : [];
      if (this.profile.aliasShortId) aliases = never ? (base.length ? base : null) : [...base, r.id.slice(0, 12)];
      else aliases = base.length ? base : null;
      if (this.profile.dnsNames && !never) dnsNames = [r.name, r.id.slice(0, 12), ...base.filter((a) => a !== r.name)];
    }
    const p = this.profile;
    if (p.dnsNames) {
      return (
        `{"IPAMConfig":null,"Links":null,"Aliases":${goJson(aliases)},"MacAddress":${gs(mac)},"DriverOpts":null,` +
        `"NetworkID":${gs(networkId)},"EndpointID":${gs(endpointId)},"Gateway":${gs(gw)},"IPAddress":${gs(ip)},"IPPrefixLen":${prefix},` +
        `"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":${goJson(dnsNames)}}`
      );
    }
    return (
      `{"IPAMConfig":null,"Links":null,"Aliases":${goJson(aliases)},"NetworkID":${gs(networkId)},"EndpointID":${gs(endpointId)},` +
      `"Gateway":${gs(gw)},"IPAddress":${gs(ip)},"IPPrefixLen":${prefix},"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,` +
      `"MacAddress":${gs(mac)},"DriverOpts":null}`
    );
  }

  private commandString(r: Rec): string {
    const full = [...(r.entrypoint ?? []), ...r.cmd];
    if (full.length === 0) return '';
    const [pathArg, ...args] = full;
    if (args.length === 0) return pathArg!;
    return `${pathArg} ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`;
  }

  private listEntry(r: Rec, now: number, size: boolean): string {
    return (
      `{"Id":"${r.id}","Names":[${gs('/' + r.name)}],"Image":${gs(r.image)},"ImageID":${gs(r.imageId)},` +
      `"Command":${gs(this.commandString(r))},"Created":${r.created},"Ports":${this.portsListJson(r)},` +
      (size ? `"SizeRw":0,"SizeRootFs":4194304,` : '') +
      `"Labels":${mapJson(r.labels)},"State":"${r.state}","Status":${gs(statusText(r, now))},` +
      `"HostConfig":{"NetworkMode":${gs(r.networkMode)}},"NetworkSettings":{"Networks":{${gs(this.netName(r))}:${this.endpointJson(r, false)}}},` +
      `"Mounts":[]}`
    );
  }

  // ---- /containers/{id}/json ---------------------------------------------------------------------------------

  private inspect(ref: string, url: URL, res: http.ServerResponse): void {
    const r = this.lookup(ref);
    if (!r) return this.sendJson(res, 404, { message: `No such container: ${ref}` });
    this.sendJson(res, 200, this.inspectJson(r, boolParam(url.searchParams.get('size'))));
  }

  private inspectJson(r: Rec, size: boolean): string {
    const p = this.profile;
    const full = [...(r.entrypoint ?? []), ...r.cmd];
    const up = isUp(r.state);
    const never = r.state === 'created';
    const dir = `/var/lib/docker/containers/${r.id}`;
    const layer = sha256hex('layer:' + r.id);
    const createdMs = r.created * 1000 + (parseInt(r.id.slice(0, 5), 16) % 1000) + parseInt(r.id.slice(5, 11), 16) / 16_777_216;
    const state: Record<string, unknown> = {
      Status: r.state,
      Running: runningFlag(r.state),
      Paused: r.state === 'paused',
      Restarting: r.state === 'restarting',
      OOMKilled: r.oomKilled,
      Dead: r.state === 'dead',
      Pid: up ? r.pid : 0,
      ExitCode: r.exitCode,
      Error: r.error,
      StartedAt: rfc3339Nano(r.startedAt),
      FinishedAt: rfc3339Nano(r.finishedAt),
    };
    if (r.health) {
      const log = never
        ? []
        : [{ Start: rfc3339Nano(r.startedAt + 1000), End: rfc3339Nano(r.startedAt + 1040), ExitCode: r.health === 'unhealthy' ? 1 : 0, Output: '' }];
      state.Health = { Status: r.health, FailingStreak: r.health === 'unhealthy' ? 3 : 0, Log: log };
    }
    const exposed: Record<string, object> = {};
    const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    const nsPorts: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
    for (const port of r.ports) {
      const key = `${port.privatePort}/${port.type}`;
      exposed[key] = {};
      if (port.publicPort !== undefined) {
        (portBindings[key] ??= []).push({ HostIp: port.ip ?? '', HostPort: String(port.publicPort) });
        if (up) {
          const b = (nsPorts[key] ??= []) as { HostIp: string; HostPort: string }[];
          if (port.ip) b.push({ HostIp: port.ip, HostPort: String(port.publicPort) });
          else b.push({ HostIp: '0.0.0.0', HostPort: String(port.publicPort) }, { HostIp: '::', HostPort: String(port.publicPort) });
        }
      } else if (up && !(key in nsPorts)) nsPorts[key] = null;
    }
    const hostConfig: Record<string, unknown> = {
      Binds: null,
      ContainerIDFile: '',
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: r.networkMode,
      PortBindings: portBindings,
      RestartPolicy: { Name: r.restartPolicy, MaximumRetryCount: 0 },
      AutoRemove: false,
      VolumeDriver: '',
      VolumesFrom: null,
      CapAdd: null,
      CapDrop: null,
      CgroupnsMode: p.apiNum >= apiNum('1.42') ? 'private' : 'host',
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: null,
      GroupAdd: null,
      IpcMode: 'private',
      Cgroup: '',
      Links: null,
      OomScoreAdj: 0,
      PidMode: '',
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      SecurityOpt: null,
      UTSMode: '',
      UsernsMode: '',
      ShmSize: 67108864,
      Runtime: 'runc',
      ConsoleSize: [0, 0],
      Isolation: '',
      CpuShares: 0,
      Memory: 0,
      NanoCpus: 0,
      CgroupParent: '',
      BlkioWeight: 0,
      BlkioWeightDevice: [],
      BlkioDeviceReadBps: null,
      BlkioDeviceWriteBps: null,
      BlkioDeviceReadIOps: null,
      BlkioDeviceWriteIOps: null,
      CpuPeriod: 0,
      CpuQuota: 0,
      CpuRealtimePeriod: 0,
      CpuRealtimeRuntime: 0,
      CpusetCpus: '',
      CpusetMems: '',
      Devices: [],
      DeviceCgroupRules: null,
      DeviceRequests: null,
      ...(p.kernelMemory ? { KernelMemory: 0, KernelMemoryTCP: 0 } : {}),
      MemoryReservation: 0,
      MemorySwap: 0,
      MemorySwappiness: null,
      OomKillDisable: false,
      PidsLimit: null,
      Ulimits: null,
      CpuCount: 0,
      CpuPercent: 0,
      IOMaximumIOps: 0,
      IOMaximumBandwidth: 0,
      MaskedPaths: [
        '/proc/asound',
        '/proc/acpi',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
      ],
      ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    };
    const config: Record<string, unknown> = {
      Hostname: r.id.slice(0, 12),
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ...(r.ports.length ? { ExposedPorts: exposed } : {}),
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: r.env,
      Cmd: r.cmd.length ? r.cmd : null,
      ...(r.health ? { Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30_000_000_000 } } : {}),
      Image: r.image,
      Volumes: null,
      WorkingDir: '',
      Entrypoint: r.entrypoint,
      OnBuild: null,
      Labels: r.labels,
    };
    const nn = this.netName(r);
    const topIp = nn === 'bridge' ? this.ipOf(r) : { ip: '', gw: '', mac: '', prefix: 0 };
    const sandboxId = never ? '' : r.id.slice(16) + r.id.slice(0, 16);
    const networkSettings =
      `{"Bridge":"","SandboxID":${gs(sandboxId)},"HairpinMode":false,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,` +
      `"Ports":${goJson(nsPorts)},"SandboxKey":${gs(never ? '' : `/var/run/docker/netns/${sandboxId.slice(0, 12)}`)},` +
      `"SecondaryIPAddresses":null,"SecondaryIPv6Addresses":null,"EndpointID":${gs(nn === 'bridge' && up ? r.id.slice(32) + r.id.slice(0, 32) : '')},` +
      `"Gateway":${gs(topIp.gw)},"GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAddress":${gs(topIp.ip)},"IPPrefixLen":${topIp.prefix},` +
      `"IPv6Gateway":"","MacAddress":${gs(topIp.mac)},"Networks":{${gs(nn)}:${this.endpointJson(r, true)}}}`;
    const head = {
      Id: r.id,
      Created: rfc3339Nano(createdMs),
      Path: full[0] ?? '',
      Args: full.slice(1),
      State: state,
      Image: r.imageId,
      ResolvConfPath: never ? '' : `${dir}/resolv.conf`,
      HostnamePath: never ? '' : `${dir}/hostname`,
      HostsPath: never ? '' : `${dir}/hosts`,
      LogPath: never ? '' : `${dir}/${r.id}-json.log`,
      Name: '/' + r.name,
      RestartCount: r.restartCount,
      Driver: 'overlay2',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: hostConfig,
      GraphDriver: {
        Data: {
          LowerDir: `/var/lib/docker/overlay2/${layer}-init/diff:/var/lib/docker/overlay2/${sha256hex('image-layer:' + r.imageId)}/diff`,
          MergedDir: `/var/lib/docker/overlay2/${layer}/merged`,
          UpperDir: `/var/lib/docker/overlay2/${layer}/diff`,
          WorkDir: `/var/lib/docker/overlay2/${layer}/work`,
        },
        Name: 'overlay2',
      },
      ...(size ? { SizeRw: 0, SizeRootFs: 4194304 } : {}),
      Mounts: [],
      Config: config,
    };
    const headJson = goJson(head);
    return headJson.slice(0, -1) + `,"NetworkSettings":${networkSettings}}`;
  }

  // ---- /events -------------------------------------------------------------------------------------------------

  private events(url: URL, res: http.ServerResponse): void {
    const q = url.searchParams;
    const filter = this.eventFilter(parseFilters(q.get('filters')));
    const sinceNs = parseTimestampNs(q.get('since'), 'since');
    const untilNs = parseTimestampNs(q.get('until'), 'until');
    res.writeHead(200, { ...this.commonHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    if (sinceNs !== null) {
      for (const e of this.history) {
        if (e.ns < sinceNs) continue;
        if (untilNs !== null && e.ns > untilNs) continue;
        if (filter(e)) res.write(e.line);
      }
    }
    const nowNs = BigInt(Math.floor(nowMs() * 1e3)) * 1000n;
    if (untilNs !== null && untilNs <= nowNs) {
      res.end();
      return;
    }
    const s: EventStream = { res, filter, untilNs };
    if (untilNs !== null) {
      const waitMs = Number((untilNs - nowNs) / 1_000_000n);
      s.timer = setTimeout(() => this.closeStream(s, 'end'), Math.min(waitMs, 2 ** 31 - 1));
    }
    this.streams.add(s);
    const gone = () => {
      if (this.streams.delete(s) && s.timer) clearTimeout(s.timer);
    };
    // (not req 'close': for an IncomingMessage that fires as soon as the request body has been consumed)
    res.on('close', gone);
  }
}

function routeOf(p: string): string {
  if (p === '/_ping' || p === '/version' || p === '/info' || p === '/events' || p === '/containers/json') return p;
  const m = /^\/containers\/[^/]+\/([^/]+)$/.exec(p);
  if (m) return `/containers/{id}/${m[1]}`;
  return p;
}
