/**
 * The simulator's vocabulary: the public types callers build containers and read requests with, and the two
 * internal records every module shares (a container as stored, an event as published).
 */

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

/**
 * A container as stored. Immutable: every change replaces the record, so a `/containers/json` response is a
 * consistent snapshot even though it is serialised in slices that yield to the event loop.
 */
export type Rec = Readonly<SimContainer> & { readonly ipIndex: number };

/** One published event: what filters match on, and the line streams receive. */
export interface EventRec {
  /** Nanoseconds since the epoch; strictly increasing. */
  ns: bigint;
  type: string;
  action: string;
  id: string;
  name: string;
  image: string;
  attrs: Record<string, string>;
  /** The JSON line as written to the stream (newline included). */
  line: string;
}
