import type { CheckState, Probe, ProbeChecks } from '../health.js';
import { errorMessage } from '../domain/errors.js';
import { redactSecrets } from '../util/redact.js';
import { TimeoutError, withTimeout } from '../util/timers.js';

/** Time to wait for Docker or the database to answer a readiness check. */
export const PROBE_TIMEOUT_MS = 2000;

/**
 * `/readyz`: the database and Docker answer (each within {@link PROBE_TIMEOUT_MS}) and, unless
 * this replica is a standby, the first full pass has completed. The answer names each check in
 * fixed words (`database`: ok, connecting, unreachable, timeout; `docker`: ok, unreachable,
 * timeout; `firstPass`: ok, pending); the error text of a failed check is in `detail` only, for
 * the log.
 */
export async function checkReadiness(d: {
  db: { ping(): Promise<void> } | undefined;
  docker: { ping(): Promise<void> };
  standby: boolean;
  firstPassDone: boolean;
  timeoutMs?: number;
}): Promise<Probe> {
  const ms = d.timeoutMs ?? PROBE_TIMEOUT_MS;
  const [dbRes, dockerRes] = await Promise.allSettled([d.db ? withTimeout(d.db.ping(), ms) : Promise.resolve(), withTimeout(d.docker.ping(), ms)]);
  const checks: ProbeChecks = {};
  const detail: Record<string, string> = {};
  const record = (name: string, res: PromiseSettledResult<void>) => {
    checks[name] = res.status === 'fulfilled' ? 'ok' : failed(res.reason);
    if (res.status === 'rejected') detail[name] = redactSecrets(errorMessage(res.reason));
  };
  if (d.db) record('database', dbRes);
  else {
    checks['database'] = 'connecting';
    detail['database'] = 'not connected yet (the connect loop logs each failed attempt)';
  }
  record('docker', dockerRes);
  if (!d.standby) {
    checks['firstPass'] = d.firstPassDone ? 'ok' : 'pending';
    if (!d.firstPassDone) detail['firstPass'] = 'the first full pass has not completed yet';
  }
  const ok = Object.values(checks).every((c) => c === 'ok');
  return { ok, body: { status: ok ? 'ready' : 'not ready', ...(d.standby ? { role: 'standby' as const } : {}), checks }, ...(ok ? {} : { detail }) };
}

function failed(e: unknown): CheckState {
  return e instanceof TimeoutError ? 'timeout' : 'unreachable';
}
