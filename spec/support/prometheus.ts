/**
 * A real, throwaway Prometheus server for integration tests (Debian's `prometheus` 2.42 package).
 *
 *   const prom = await startPrometheus({ job: 'tinyforge-reconciler', targets: ['127.0.0.1:4567'] });
 *   await prom.waitForTargetUp();
 *   const v = await prom.query('up{job="tinyforge-reconciler"}');   // instant vector
 *   await prom.dispose();                                             // stop (by PID) + delete the dir
 *
 * Each server: its own mkdtemp dir /tmp/tfp-XXXXXX holding the scrape config the test wrote, the
 * TSDB (`--storage.tsdb.path`) and the log; `--web.listen-address` on a free loopback port. The process
 * is started and stopped by PID through ManagedProcess (PR_SET_PDEATHSIG, so a killed test runner leaves
 * nothing behind) and registered with the server registry, so hooks.ts disposes a forgotten one.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { stringify as toYaml } from 'yaml';
import {
  freePort,
  hardCleanupDirSync,
  makeOwnedTempDir,
  sleep,
  sweepStaleDirs,
  tailFile,
} from './proc.js';
import { ServerProcess } from './server-process.js';

const DIR_PREFIX = '/tmp/tfp-';
const STOP_TIMEOUT_MS = 15_000;

export interface PromSample {
  metric: Record<string, string>;
  /** [unix seconds, value as a string] */
  value: [number, string];
}

export interface StartPrometheusOptions {
  /** `job_name` of the one scrape config. */
  job: string;
  /** `host:port` targets (static_configs). */
  targets: string[];
  /** Default 1 (seconds); also the evaluation interval. */
  scrapeIntervalSec?: number;
  /** Default /metrics. */
  metricsPath?: string;
  name?: string;
}

export interface PrometheusServer {
  readonly label: string;
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  readonly port: number;
  readonly pid: number;
  readonly rootDir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly running: boolean;
  /** Instant query through /api/v1/query; throws (with the log tail) unless status is success and the result a vector. */
  query(expr: string): Promise<PromSample[]>;
  /** The scrape targets as /api/v1/targets reports them. */
  targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string; labels: Record<string, string> }>>;
  /** Waits until every target of the job was scraped successfully at least once (health "up"). */
  waitForTargetUp(timeoutMs?: number): Promise<void>;
  /** The last lines of the server's log (for failure messages). */
  logTail(lines?: number): string;
  /** SIGTERM by PID and wait (SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** Stop and delete the directory. Idempotent. */
  dispose(): Promise<void>;
}

function binary(): string {
  const candidates = [process.env.PROMETHEUS, '/usr/bin/prometheus', '/usr/local/bin/prometheus'].filter((c): c is string => !!c);
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`prometheus not found (looked for ${candidates.join(', ')}); install Debian's prometheus package (see .ci/install.sh) or set PROMETHEUS`);
}

class PrometheusInstance implements PrometheusServer {
  readonly baseUrl: string;
  readonly configFile: string;
  readonly logFile: string;
  private readonly server: ServerProcess;

  constructor(
    readonly label: string,
    readonly rootDir: string,
    readonly port: number,
    private readonly job: string,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.configFile = path.join(rootDir, 'prometheus.yml');
    this.logFile = path.join(rootDir, 'prometheus.log');
    this.server = new ServerProcess({
      label,
      program: 'prometheus',
      logFile: this.logFile,
      stopGraceMs: STOP_TIMEOUT_MS,
      disposeGraceMs: STOP_TIMEOUT_MS,
      cleanupSync: () => hardCleanupDirSync(rootDir),
    });
  }

  get pid(): number {
    return this.server.pid || -1;
  }

  get running(): boolean {
    return this.server.running;
  }

  logTail(lines = 30): string {
    return `--- tail of ${this.logFile} ---\n${tailFile(this.logFile, lines)}`;
  }

  async start(): Promise<void> {
    const args = [
      `--config.file=${this.configFile}`,
      `--storage.tsdb.path=${path.join(this.rootDir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
      '--storage.tsdb.retention.time=1h',
      '--web.enable-lifecycle',
      '--log.level=info',
    ];
    await this.server.start(
      binary(),
      args,
      { cwd: this.rootDir },
      {
        subject: `Prometheus on ${this.baseUrl}`,
        intervalMs: 100,
        probe: async () => {
          const res = await fetch(`${this.baseUrl}/-/ready`, { signal: AbortSignal.timeout(2_000) });
          await res.arrayBuffer();
          return res.status === 200;
        },
      },
    );
  }

  private async api<T>(pathAndQuery: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      throw new Error(`${this.label}: GET ${pathAndQuery} failed: ${e instanceof Error ? e.message : String(e)} (process ${this.server.describeExit()})\n${this.logTail()}`);
    }
    const text = await res.text();
    let body: { status?: string; data?: T; error?: string; errorType?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${this.label}: GET ${pathAndQuery} answered ${res.status} with non-JSON: ${text.slice(0, 500)}\n${this.logTail()}`);
    }
    if (res.status !== 200 || body.status !== 'success') {
      throw new Error(`${this.label}: GET ${pathAndQuery} answered ${res.status}: ${body.errorType ?? ''} ${body.error ?? text.slice(0, 500)}\n${this.logTail()}`);
    }
    return body.data as T;
  }

  async query(expr: string): Promise<PromSample[]> {
    const data = await this.api<{ resultType: string; result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (data.resultType !== 'vector') throw new Error(`${this.label}: ${expr}: expected a vector, got ${data.resultType}`);
    return data.result;
  }

  async targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string; labels: Record<string, string> }>> {
    const data = await this.api<{ activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string; labels: Record<string, string>; scrapePool: string }> }>('/api/v1/targets?state=active');
    return data.activeTargets.filter((t) => t.scrapePool === this.job);
  }

  async waitForTargetUp(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no targets yet';
    for (;;) {
      if (!this.running) throw new Error(`${this.label}: prometheus ${this.server.describeExit()}\n${this.logTail()}`);
      const ts = await this.targets();
      if (ts.length > 0 && ts.every((t) => t.health === 'up')) return;
      if (ts.length > 0) last = ts.map((t) => `${t.scrapeUrl}: ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`).join('; ');
      if (Date.now() > deadline) throw new Error(`${this.label}: job ${this.job} not up after ${timeoutMs} ms: ${last}\n${this.logTail()}`);
      await sleep(200);
    }
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  dispose(): Promise<void> {
    return this.server.dispose();
  }
}

let nameCounter = 0;

/** Writes a scrape config and starts a Prometheus that scrapes `targets`; resolves once /-/ready answers. */
export async function startPrometheus(opts: StartPrometheusOptions): Promise<PrometheusServer> {
  sweepStaleDirs(DIR_PREFIX, (dir) => hardCleanupDirSync(dir));
  const label = `prometheus[${opts.name ?? `#${++nameCounter}`}]`;
  const rootDir = await makeOwnedTempDir(DIR_PREFIX);
  const port = await freePort();
  const inst = new PrometheusInstance(label, rootDir, port, opts.job);
  try {
    const interval = `${opts.scrapeIntervalSec ?? 1}s`;
    const config = {
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      scrape_configs: [
        {
          job_name: opts.job,
          metrics_path: opts.metricsPath ?? '/metrics',
          scheme: 'http',
          static_configs: [{ targets: opts.targets }],
        },
      ],
    };
    await fsp.writeFile(inst.configFile, toYaml(config));
    await inst.start();
    return inst;
  } catch (e) {
    await inst.dispose().catch(() => undefined);
    throw e;
  }
}
