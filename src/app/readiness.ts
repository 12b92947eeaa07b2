import type { Probe } from '../health.js';
import { errorMessage } from '../domain/errors.js';
import { redactSecrets } from '../util/redact.js';
import { withTimeout } from '../util/timers.js';

/** Time to wait for Docker or the database to answer a readiness check. */
export const PROBE_TIMEOUT_MS = 2000;

/**
 * `/readyz`: the database and Docker answer (each within {@link PROBE_TIMEOUT_MS}) and, unless
 * this replica is a standby, the first full pass has completed.
 */
export async function checkReadiness(d: {
  db: { ping(): Promise<void> } | undefined;
  docker: { ping(): Promise<void> };
  standby: boolean;
  firstPassDone: boolean;
}): Promise<Probe> {
  const problems: string[] = [];
  const [dbRes, dockerRes] = await Promise.allSettled([d.db ? withTimeout(d.db.ping(), PROBE_TIMEOUT_MS) : Promise.reject(new Error('not connected yet')), withTimeout(d.docker.ping(), PROBE_TIMEOUT_MS)]);
  if (dbRes.status === 'rejected') problems.push(`database: ${message(dbRes.reason)}`);
  if (dockerRes.status === 'rejected') problems.push(`docker: ${message(dockerRes.reason)}`);
  if (!d.standby && !d.firstPassDone) problems.push('the first full pass has not completed yet');
  if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
  return { ok: true, reason: d.standby ? 'standby: another replica holds the lease for this host' : 'ok' };
}

function message(e: unknown): string {
  return redactSecrets(errorMessage(e));
}
