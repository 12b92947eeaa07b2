import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config.js';
import type { PassReport } from '../../src/domain/pass.js';
import { App, type AppOptions } from '../../src/main.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';

export interface TestApp {
  app: App;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  passes: PassReport[];
  stop(): Promise<void>;
}

/**
 * Starts the real service in-process with `env` (HTTP on an ephemeral loopback port, silent
 * logs unless TEST_LOG is set) and waits until its pipeline runs.
 */
export async function startTestApp(env: Record<string, string>, opts: { log?: Logger; waitForPipeline?: boolean; app?: AppOptions } = {}): Promise<TestApp> {
  // DESIRED_STATE_RECHECK=0: scenarios change workloads and expect the next pass to see it.
  const config = loadConfig({ HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', RECONCILE_INTERVAL: '5m', LEADER_ELECTION: 'false', DESIRED_STATE_RECHECK: '0', ...env });
  const passes: PassReport[] = [];
  const log = opts.log ?? (process.env.TEST_LOG ? createLogger('debug') : silentLogger());
  const app = new App(config, { log, registry: new Registry(), onPass: (r) => passes.push(r), watchBackoff: { baseMs: 50, maxMs: 1000, healthyAfterMs: 5000 }, ...opts.app });
  await app.start();
  if (opts.waitForPipeline !== false) await app.waitUntilRunning();
  const addr = app.address()!;
  return { app, baseUrl: `http://127.0.0.1:${addr.port}`, passes, stop: () => app.stop() };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function eventually<T>(fn: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Reads one series from the service's own /metrics. */
export async function counter(t: TestApp, series: string): Promise<number> {
  const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`series ${series} not in /metrics`);
  return Number(line.slice(series.length + 1));
}
