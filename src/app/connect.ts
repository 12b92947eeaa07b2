import type { Config } from '../config.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../log.js';
import { Database } from '../store/database.js';
import { Backoff } from '../util/backoff.js';
import type { DatabaseClock } from '../util/clock.js';
import { redactSecrets } from '../util/redact.js';
import { sleep } from '../util/timers.js';

/**
 * Connects and migrates, retrying with backoff (0.5 s doubling to 30 s) for as long as it takes,
 * until `signal` aborts (then undefined). Calibrates the database clock once connected.
 */
export async function connectWithRetry(
  config: Pick<Config, 'database' | 'dbPoolSize' | 'dbConnectTimeoutMs' | 'dbStatementTimeoutMs'>,
  d: { log: Logger; clock: DatabaseClock; signal: AbortSignal },
): Promise<Database | undefined> {
  const backoff = new Backoff({ baseMs: 500, maxMs: 30_000 });
  while (!d.signal.aborted) {
    let db: Database | undefined;
    try {
      db = await Database.connect(config.database, { poolSize: config.dbPoolSize, connectTimeoutMs: config.dbConnectTimeoutMs, statementTimeoutMs: config.dbStatementTimeoutMs });
      const applied = await db.migrate();
      if (applied.length > 0) d.log.info({ migrations: applied }, 'migrations applied');
      const sentAt = Date.now();
      const dbNow = await db.now();
      d.clock.calibrate(dbNow, sentAt, Date.now());
      if (d.signal.aborted) {
        await db.close();
        return undefined;
      }
      return db;
    } catch (err) {
      await db?.close().catch(() => undefined);
      const delay = backoff.next();
      d.log.warn({ error: redactSecrets(errorMessage(err)), retryInMs: delay }, 'database not available; retrying');
      await sleep(delay, d.signal);
    }
  }
  return undefined;
}
