#!/usr/bin/env node
import { ConfigError, ENV_VARS, loadConfig, redactUrl } from './config.js';
import { App } from './main.js';
import { Database } from './store/database.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';

const USAGE = `tinyforge-reconciler ${VERSION}: keeps the Tinyforge containers table true to what Docker runs.

Usage:
  tinyforge-reconciler [run]     run the controller (default); applies pending migrations first
  tinyforge-reconciler migrate   apply pending database migrations and exit
  tinyforge-reconciler --help    this text
  tinyforge-reconciler --version the version

Environment:
${ENV_VARS.map((v) => `  ${v.name.padEnd(22)} ${v.description} (default: ${v.default})`).join('\n')}

Signals: SIGTERM or SIGINT stop gracefully (exit 0); a second signal exits at once.
`;

async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== '');
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.includes('--version') || args.includes('-v')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = args[0] ?? 'run';
  if (command !== 'run' && command !== 'migrate') {
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }

  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tinyforge-reconciler: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  if (command === 'migrate') {
    const log = createLogger(config.logLevel);
    try {
      const db = await Database.connect(config.database, { connectTimeoutMs: config.dbConnectTimeoutMs });
      try {
        const applied = await db.migrate();
        log.info({ migrations: applied }, applied.length > 0 ? 'migrations applied' : 'schema is up to date');
      } finally {
        await db.close();
      }
      return 0;
    } catch (err) {
      log.error({ error: redactUrl(err instanceof Error ? err.message : String(err)) }, 'migration failed');
      return 1;
    }
  }

  const app = new App(config);
  let signals = 0;
  const done = new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        app.log.warn({ signal: sig }, 'second signal: exiting at once');
        process.exit(sig === 'SIGINT' ? 130 : 143);
      }
      app.log.info({ signal: sig, gracePeriodMs: config.shutdownGracePeriodMs }, 'stopping gracefully');
      const timer = setTimeout(() => {
        app.log.error({ gracePeriodMs: config.shutdownGracePeriodMs }, 'graceful stop exceeded the grace period; exiting');
        process.exit(1);
      }, config.shutdownGracePeriodMs);
      timer.unref();
      app.stop().then(
        () => resolve(0),
        (err: unknown) => {
          app.log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  process.on('unhandledRejection', (reason) => app.log.error({ err: reason }, 'unhandled promise rejection (kept running)'));
  try {
    await app.start();
  } catch (err) {
    app.log.fatal({ error: err instanceof Error ? err.message : String(err) }, 'could not start');
    await app.stop().catch(() => undefined);
    return 1;
  }
  return done;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tinyforge-reconciler: ${redactUrl(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
    process.exit(1);
  },
);
