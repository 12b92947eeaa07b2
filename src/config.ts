/**
 * Configuration: parsed and validated once at start-up from the environment into a
 * typed object. A bad value never starts the service: {@link loadConfig} throws a
 * {@link ConfigError} that names every bad variable at once, so an operator fixes
 * them in one round trip. Passwords never appear in a message.
 */

import { redactSecrets } from './util/redact.js';
import { describeDatabase, parseDatabaseUrl, type DatabaseConfig } from './database-url.js';

export type { DatabaseConfig, DatabaseHost, DatabaseTls, TlsMode } from './database-url.js';

/** How to reach the Docker Engine API. */
export type DockerConfig =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number; protocol: 'http' | 'https' };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface Config {
  database: DatabaseConfig;
  docker: DockerConfig;
  hostName: string;
  /** Resync period in ms, after the Go original's clamping (<= 0 -> 30 s, > 5 min -> 5 min; see {@link clampInterval}). */
  reconcileIntervalMs: number;
  /** How often a pass lists the Docker daemon (ms); equal to {@link reconcileIntervalMs} (the default): every pass. */
  relistIntervalMs: number;
  workers: number;
  httpPort: number;
  httpHost: string;
  logLevel: LogLevel;
  /** /healthz fails when the last successful pass is older than this. */
  healthzMaxPassAgeMs: number;
  /** Leader election through the `leases` table; `auto` means on for MySQL, off for SQLite. */
  leaderElection: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** `last_seen_at` of a live container's row is refreshed at least this often; 0 = every pass. */
  lastSeenMaxAgeMs: number;
  /** How often a pass checks the desired state's checksum; 0 = every pass. */
  desiredStateRecheckMs: number;
  shutdownGracePeriodMs: number;
  /** Rows per multi-row statement. */
  writeBatchSize: number;
  /** Per-key retry backoff: 5 ms doubling up to this cap. */
  retryMaxDelayMs: number;
  dbPoolSize: number;
  dbStatementTimeoutMs: number;
  dbConnectTimeoutMs: number;
  /** Bearer token for /api; empty = open. */
  apiToken: string;
  /** How long container state transitions are kept. */
  eventRetentionMs: number;
  /** Largest Docker list entry, event line or inspect answer read (src/docker/docker.client.ts). */
  dockerMaxEntryBytes: number;
  /** Deadline of one whole container list, distinct from the per-request idle timeout. */
  dockerListTimeoutMs: number;
}

/** One environment variable the service reads: the single list for --help, README and the chart test. */
export interface EnvVarSpec {
  name: string;
  default: string;
  description: string;
}

export const ENV_VARS: readonly EnvVarSpec[] = [
  { name: 'DATABASE_URL', default: 'sqlite:./data/tinyforge.db', description: 'embedded SQLite file, or mysql://user:pass@host:3306/db for MySQL/MariaDB (options: ssl-mode=DISABLED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY, ssl-ca, ssl-cert, ssl-key; several hosts as h1:3306,h2:3306)' },
  { name: 'DOCKER_HOST', default: 'unix:///var/run/docker.sock', description: 'Docker Engine API: unix:///path or tcp://host:port (for example a read-only socket proxy)' },
  { name: 'DOCKER_MAX_ENTRY_BYTES', default: '1Mi', description: 'largest container list entry, event line or inspect answer read (64Ki-256Mi; bytes, or with Ki/Mi); larger ones are skipped unread, counted and logged once per container' },
  { name: 'DOCKER_LIST_TIMEOUT', default: '60s', description: 'deadline of one whole container list (at least 1s); a list past it is cut and the pass fails without sweeping' },
  { name: 'HOST_NAME', default: 'local', description: 'the `host` column this agent owns' },
  { name: 'RECONCILE_INTERVAL', default: '30s', description: 'resync period (500ms, 30s, 2m or plain seconds); <= 0 means 30s, above 5m is clamped to 5m' },
  { name: 'RELIST_INTERVAL', default: '0', description: 'how often a pass lists the Docker daemon; passes in between decide from the cache the event stream keeps (a list anyway at start, on every event stream reconnect and while it is down). 0 lists at every pass; otherwise from RECONCILE_INTERVAL to 1h' },
  { name: 'WORKERS', default: '4', description: 'concurrent queue workers (1-256)' },
  { name: 'HTTP_PORT', default: '8080', description: 'port for /healthz, /readyz, /metrics and /api' },
  { name: 'HTTP_HOST', default: '0.0.0.0', description: 'address the HTTP server binds' },
  { name: 'LOG_LEVEL', default: 'info', description: 'trace, debug, info, warn, error, fatal or silent; JSON logs on stdout' },
  { name: 'HEALTHZ_MAX_PASS_AGE', default: '3 intervals, at least 60s', description: '/healthz fails when the last successful pass is older than this' },
  { name: 'LEADER_ELECTION', default: 'auto', description: 'true, false or auto (on for MySQL, off for SQLite): one writer per HOST_NAME through the leases table' },
  { name: 'LEASE_DURATION', default: '40s', description: "how long a lease is valid without renewal (a node lease's cadence: one renewal per RETRY_PERIOD per host)" },
  { name: 'RENEW_DEADLINE', default: '30s', description: 'the holder stops writing when it could not renew for this long (must be < LEASE_DURATION)' },
  { name: 'RETRY_PERIOD', default: '10s', description: 'how often candidates try to acquire and holders renew (must be < RENEW_DEADLINE)' },
  { name: 'DESIRED_STATE_RECHECK', default: '5m', description: 'how often a pass checks whether workloads or stacks changed (one checksum query over both tables); a container naming an unknown workload reloads at once anyway; 0 checks at every pass' },
  { name: 'LAST_SEEN_MAX_AGE', default: '5m', description: "a live container's row gets its last_seen_at refreshed at least this often (spread over passes); 0 refreshes every row at every pass" },
  { name: 'SHUTDOWN_GRACE_PERIOD', default: '30s', description: 'SIGTERM drains work and exits within this; a second signal exits at once' },
  { name: 'WRITE_BATCH_SIZE', default: '500', description: 'rows per multi-row write statement (1-5000)' },
  { name: 'RETRY_MAX_DELAY', default: '60s', description: 'cap of the per-key exponential retry backoff (starts at 5ms)' },
  { name: 'DB_POOL_SIZE', default: '10', description: 'MySQL connection pool size' },
  { name: 'DB_STATEMENT_TIMEOUT', default: '30s', description: 'per-statement timeout on MySQL' },
  { name: 'DB_CONNECT_TIMEOUT', default: '10s', description: 'connect timeout and bounded wait for a pooled connection' },
  { name: 'API_TOKEN', default: '(empty: open)', description: 'bearer token required by /api/v1 when set; /healthz, /readyz and /metrics stay open' },
  { name: 'EVENT_RETENTION', default: '7d', description: 'how long container state transitions are kept' },
];

/** Start-up refused: one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `500ms`, `30s`, `2m`, `1h`, `7d`, `1m30s` or a plain number of seconds (`45`, `0.5`)
 * into milliseconds. Negative values are accepted (`-1` -> -1000) so callers can apply their
 * own rules; anything else returns undefined.
 */
export function parseDuration(raw: string): number | undefined {
  const s = raw.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let neg = false;
  let body = s;
  if (body.startsWith('-')) {
    neg = true;
    body = body.slice(1);
  }
  if (body === '') return undefined;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched !== body.length) return undefined;
  return Math.round(neg ? -total : total);
}

export const DEFAULT_INTERVAL_MS = 30_000;
export const MAX_INTERVAL_MS = 5 * 60_000;
/** The longest RELIST_INTERVAL: a destroy event the daemon dropped leaves a row live at most this long. */
export const MAX_RELIST_INTERVAL_MS = 60 * 60_000;

/**
 * The Go original's clamping of the interval (docs/architecture.md, "The Go original"): values
 * <= 0 mean 30 s; values above 5 min are clamped to 5 min.
 */
export function clampInterval(ms: number): number {
  if (!(ms > 0)) return DEFAULT_INTERVAL_MS;
  return Math.min(ms, MAX_INTERVAL_MS);
}

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the whole configuration. Throws {@link ConfigError} listing every bad
 * variable; never includes a password in the message.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const duration = (name: string, def: number, opts: { min?: number; allowNonPositive?: boolean } = {}): number => {
    const raw = get(name);
    if (raw === undefined) return def;
    const ms = parseDuration(raw);
    if (ms === undefined) {
      problems.push(`${name}: "${raw}" is not a duration (use 500ms, 30s, 2m, 1h, 7d or a number of seconds)`);
      return def;
    }
    if (!opts.allowNonPositive && ms <= 0) {
      problems.push(`${name}: must be greater than zero, got "${raw}"`);
      return def;
    }
    if (opts.min !== undefined && ms < opts.min) {
      problems.push(`${name}: must be at least ${opts.min}ms, got "${raw}"`);
      return def;
    }
    return ms;
  };

  const integer = (name: string, def: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return def;
    if (!/^\d+$/.test(raw)) {
      problems.push(`${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
      return def;
    }
    const n = Number(raw);
    if (n < min || n > max) {
      problems.push(`${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
      return def;
    }
    return n;
  };

  const database = parseDatabaseUrl(get('DATABASE_URL') ?? 'sqlite:./data/tinyforge.db', problems);
  const docker = parseDockerHost(get('DOCKER_HOST') ?? 'unix:///var/run/docker.sock', problems);

  const hostName = get('HOST_NAME') ?? 'local';
  if (hostName.length > 255) problems.push(`HOST_NAME: at most 255 characters, got ${hostName.length}`);
  // `@` separates a derived row ID from its host (docs/architecture.md, "Row IDs").
  else if (!/^[^\s@\u0000-\u001f\u007f]+$/.test(hostName)) problems.push(`HOST_NAME: expected a host name without spaces, control characters or "@", got ${JSON.stringify(hostName.slice(0, 80))}`);

  const reconcileIntervalMs = clampInterval(duration('RECONCILE_INTERVAL', DEFAULT_INTERVAL_MS, { allowNonPositive: true }));
  let relistIntervalMs = duration('RELIST_INTERVAL', 0, { allowNonPositive: true });
  if (relistIntervalMs !== 0 && (relistIntervalMs < reconcileIntervalMs || relistIntervalMs > MAX_RELIST_INTERVAL_MS)) {
    problems.push(`RELIST_INTERVAL: must be 0 (a list every pass) or from RECONCILE_INTERVAL (${reconcileIntervalMs}ms) to 1h, got "${get('RELIST_INTERVAL')}"`);
  }
  if (relistIntervalMs < reconcileIntervalMs || relistIntervalMs > MAX_RELIST_INTERVAL_MS) relistIntervalMs = reconcileIntervalMs;
  const workers = integer('WORKERS', 4, 1, 256);
  const httpPort = integer('HTTP_PORT', 8080, 0, 65535);
  const httpHost = get('HTTP_HOST') ?? '0.0.0.0';

  const levels: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  const rawLevel = (get('LOG_LEVEL') ?? 'info').toLowerCase();
  let logLevel: LogLevel = 'info';
  if ((levels as string[]).includes(rawLevel)) logLevel = rawLevel as LogLevel;
  else problems.push(`LOG_LEVEL: expected one of ${levels.join(', ')}, got "${get('LOG_LEVEL')}"`);

  const healthzMaxPassAgeMs = duration('HEALTHZ_MAX_PASS_AGE', Math.max(3 * reconcileIntervalMs, 60_000));

  let leaderElection = database.kind === 'mysql';
  const rawLe = get('LEADER_ELECTION')?.toLowerCase();
  if (rawLe !== undefined) {
    if (rawLe === 'true' || rawLe === '1' || rawLe === 'yes') leaderElection = true;
    else if (rawLe === 'false' || rawLe === '0' || rawLe === 'no') leaderElection = false;
    else if (rawLe !== 'auto') problems.push(`LEADER_ELECTION: expected true, false or auto, got "${get('LEADER_ELECTION')}"`);
  }
  if (leaderElection && database.kind === 'sqlite' && rawLe !== undefined && rawLe !== 'auto') {
    problems.push('LEADER_ELECTION: needs a MySQL DATABASE_URL; the embedded SQLite database has a single writer');
  }
  if (database.kind === 'sqlite') leaderElection = false;

  const leaseDurationMs = duration('LEASE_DURATION', 40_000, { min: 1000 });
  const renewDeadlineMs = duration('RENEW_DEADLINE', 30_000, { min: 500 });
  const retryPeriodMs = duration('RETRY_PERIOD', 10_000, { min: 100 });
  let desiredStateRecheckMs = duration('DESIRED_STATE_RECHECK', 5 * 60_000, { allowNonPositive: true });
  if (desiredStateRecheckMs < 0 || desiredStateRecheckMs > 86_400_000) {
    problems.push(`DESIRED_STATE_RECHECK: must be 0 (every pass) to 24h, got "${get('DESIRED_STATE_RECHECK')}"`);
    desiredStateRecheckMs = 5 * 60_000;
  }
  let lastSeenMaxAgeMs = duration('LAST_SEEN_MAX_AGE', 5 * 60_000, { allowNonPositive: true });
  if (lastSeenMaxAgeMs < 0) {
    problems.push(`LAST_SEEN_MAX_AGE: must be 0 (every pass) or positive, got "${get('LAST_SEEN_MAX_AGE')}"`);
    lastSeenMaxAgeMs = 5 * 60_000;
  }
  if (renewDeadlineMs >= leaseDurationMs) problems.push(`RENEW_DEADLINE: must be shorter than LEASE_DURATION (${renewDeadlineMs}ms >= ${leaseDurationMs}ms)`);
  if (retryPeriodMs >= renewDeadlineMs) problems.push(`RETRY_PERIOD: must be shorter than RENEW_DEADLINE (${retryPeriodMs}ms >= ${renewDeadlineMs}ms)`);

  const shutdownGracePeriodMs = duration('SHUTDOWN_GRACE_PERIOD', 30_000);
  const writeBatchSize = integer('WRITE_BATCH_SIZE', 500, 1, 5000);
  const retryMaxDelayMs = duration('RETRY_MAX_DELAY', 60_000, { min: 5 });
  const dbPoolSize = integer('DB_POOL_SIZE', 10, 1, 1000);
  const dbStatementTimeoutMs = duration('DB_STATEMENT_TIMEOUT', 30_000, { min: 100 });
  const dbConnectTimeoutMs = duration('DB_CONNECT_TIMEOUT', 10_000, { min: 100 });
  const apiToken = parseApiToken(env.API_TOKEN, problems);
  const eventRetentionMs = duration('EVENT_RETENTION', 7 * 86_400_000, { min: 60_000 });
  const rawEntryBytes = get('DOCKER_MAX_ENTRY_BYTES');
  let dockerMaxEntryBytes = rawEntryBytes === undefined ? 1 << 20 : parseByteSize(rawEntryBytes);
  if (dockerMaxEntryBytes === undefined || dockerMaxEntryBytes < 64 << 10 || dockerMaxEntryBytes > 256 << 20) {
    problems.push(`DOCKER_MAX_ENTRY_BYTES: expected a size from 64Ki to 256Mi (bytes, or with Ki, KiB, Mi, MiB), got "${rawEntryBytes}"`);
    dockerMaxEntryBytes = 1 << 20;
  }
  const dockerListTimeoutMs = duration('DOCKER_LIST_TIMEOUT', 60_000, { min: 1000 });

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    database,
    docker,
    hostName,
    reconcileIntervalMs,
    relistIntervalMs,
    workers,
    httpPort,
    httpHost,
    logLevel,
    healthzMaxPassAgeMs,
    leaderElection,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    lastSeenMaxAgeMs,
    desiredStateRecheckMs,
    shutdownGracePeriodMs,
    writeBatchSize,
    retryMaxDelayMs,
    dbPoolSize,
    dbStatementTimeoutMs,
    dbConnectTimeoutMs,
    apiToken,
    eventRetentionMs,
    dockerMaxEntryBytes,
    dockerListTimeoutMs,
  };
}

/** A byte size: `1048576`, `512Ki`, `512KiB`, `1Mi` or `1MiB` (powers of 1024); undefined when it is none. */
export function parseByteSize(raw: string): number | undefined {
  const m = /^(\d+)\s*(?:(Ki|Mi)B?)?$/.exec(raw.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'Ki' ? 1024 : m[2] === 'Mi' ? 1 << 20 : 1);
}

/**
 * API_TOKEN as given, not trimmed: a token with a space, a control character or anything but
 * printable ASCII can never arrive whole in an `Authorization: Bearer` header, so the API would be
 * locked for good. Empty (or unset) means open. The message never shows the token.
 */
function parseApiToken(raw: string | undefined, problems: string[]): string {
  if (raw === undefined || raw === '') return '';
  const bad = /[^\x21-\x7e]/.exec(raw);
  if (bad) {
    const what = /\s/.test(bad[0]) ? (raw.trim() === '' ? 'is only whitespace' : raw.trim() !== raw ? 'has leading or trailing whitespace' : 'holds whitespace') : /[\x00-\x1f\x7f]/.test(bad[0]) ? 'holds a control character' : 'holds a character outside printable ASCII';
    problems.push(`API_TOKEN: ${what} (at character ${bad.index + 1} of ${raw.length}); a bearer token is printable ASCII without spaces, and this one could never authenticate`);
    return '';
  }
  return raw;
}

function parseDockerHost(raw: string, problems: string[]): DockerConfig {
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (!socketPath.startsWith('/')) problems.push(`DOCKER_HOST: "${raw}" needs an absolute socket path (unix:///var/run/docker.sock)`);
    return { kind: 'unix', socketPath };
  }
  // Brackets only around an IPv6 literal: `tcp://a]b` or `tcp://[a[b]` is no host.
  const m = /^(tcp|http|https):\/\/(\[[^[\]]+\]|[^:/[\]]+)(?::(\d+))?\/?$/.exec(raw);
  if (m) {
    const port = m[3] === undefined ? (m[1] === 'https' ? 2376 : 2375) : Number(m[3]);
    if (port < 1 || port > 65535) problems.push(`DOCKER_HOST: port out of range in "${raw}"`);
    return { kind: 'tcp', host: m[2]!.replace(/^\[|\]$/g, ''), port, protocol: m[1] === 'https' ? 'https' : 'http' };
  }
  problems.push(`DOCKER_HOST: "${redactSecrets(raw)}" is not unix:///path or tcp://host:port`);
  return { kind: 'unix', socketPath: '/var/run/docker.sock' };
}

/** A copy of the config that can be logged: no password, no token. */
export function describeConfig(c: Config): Record<string, unknown> {
  const db = describeDatabase(c.database);
  const docker = c.docker.kind === 'unix' ? `unix://${c.docker.socketPath}` : `${c.docker.protocol === 'https' ? 'https' : 'tcp'}://${c.docker.host}:${c.docker.port}`;
  return { ...c, database: db, docker, apiToken: c.apiToken ? '***' : '' };
}
