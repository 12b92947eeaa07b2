import type { Config, DatabaseConfig } from '../config.js';
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
      db = await Database.connect(config.database, {
        poolSize: config.dbPoolSize,
        connectTimeoutMs: config.dbConnectTimeoutMs,
        statementTimeoutMs: config.dbStatementTimeoutMs,
        onFailover: (from, to, reason) => d.log.warn({ from, to, reason }, 'database connections moved to another server'),
      });
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
      d.log.warn({ error: connectErrorMessage(err, config.database), retryInMs: delay }, 'database not available; retrying');
      await sleep(delay, d.signal);
    }
  }
  return undefined;
}

/**
 * The message for a failed connect, redacted. TLS failures are said in the operator's terms (the
 * ssl-mode asked for, what the server or its certificate did not do, what to change); mysql2 and
 * Node word them as handshake internals. Anything else keeps its own message. mysql2's messages
 * never hold the password; the redaction is a second net for URLs in a message.
 */
export function connectErrorMessage(err: unknown, db: DatabaseConfig): string {
  const message = redactSecrets(errorMessage(err));
  if (db.kind !== 'mysql' || db.tls.mode === 'DISABLED') return message;
  const code = (err as { code?: unknown } | undefined)?.code;
  const servers = db.hosts.length > 0 ? db.hosts : [db];
  const where = `database ${servers.map((h) => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`).join(',')}`;
  const mode = `ssl-mode=${db.tls.mode}`;
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return `${where}: ${mode} asks for TLS, but the server offers none (${message}); give the server a certificate (ssl_cert, ssl_key) or set ssl-mode=DISABLED`;
  }
  // Only mysql2's own codes: an https error from Docker (explain) must not read as the database's.
  if (code !== 'HANDSHAKE_SSL_ERROR') return message;
  if (/altnames|does not match certificate/i.test(message)) {
    return `${where}: the server's certificate does not name the host connected to, which ${mode} requires (${message}); connect by a name or address the certificate holds, or use ssl-mode=VERIFY_CA`;
  }
  if (/certificate|self.signed|issuer|expired|not yet valid|verify/i.test(message)) {
    const ca = db.tls.caPath === undefined ? "Node's bundled CAs (no ssl-ca given)" : `ssl-ca ${JSON.stringify(db.tls.caPath)}`;
    return `${where}: the server's certificate is not trusted under ${mode} (${message}); it must chain to ${ca}`;
  }
  return `${where}: the TLS handshake failed under ${mode} (${message})`;
}
