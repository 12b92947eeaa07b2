#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, ENV_VARS, loadConfig, type Config } from './config.js';
import { DockerClient } from './docker/docker.client.js';
import { explainContainer, formatExplanation } from './explain.js';
import { StatusRepository } from './store/status.repository.js';
import { App } from './main.js';
import { Database } from './store/database.js';
import { createLogger } from './log.js';
import { errorMessage } from './domain/errors.js';
import { redactSecrets } from './util/redact.js';
import { VERSION } from './version.js';
import { connectErrorMessage } from './app/connect.js';
import { DOCKER_PROXY_USAGE, dockerProxyCommand } from './proxy/command.js';

const USAGE = `tinyforge-reconciler ${VERSION}: keeps the Tinyforge containers table true to what Docker runs.

Usage:
  tinyforge-reconciler [run]     run the controller (default); applies pending migrations first
  tinyforge-reconciler migrate   apply pending database migrations and exit
  tinyforge-reconciler explain <container> [--json]
                                 why a container has the row it has, or none (reads Docker and
                                 the database as HOST_NAME's agent would; writes nothing)
  tinyforge-reconciler refusals [--host H] [--reason R] [--workload W] [--json]
                                 containers that get no row, with the reason (all hosts by default)
${DOCKER_PROXY_USAGE}
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
  // The proxy sidecar needs no service configuration (no database): it starts before loadConfig.
  if (command === 'docker-proxy') return dockerProxyCommand(args.slice(1));
  if (!['run', 'migrate', 'explain', 'refusals'].includes(command)) {
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

  if (command === 'explain' || command === 'refusals') return inspectCommand(command, args.slice(1), config);

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
      log.error({ error: connectErrorMessage(err, config.database) }, 'migration failed');
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
    app.log.fatal({ error: errorMessage(err) }, 'could not start');
    await app.stop().catch(() => undefined);
    return 1;
  }
  return done;
}

/** `explain` and `refusals`: read-only commands against the database (and Docker for explain). */
async function inspectCommand(command: 'explain' | 'refusals', rest: string[], config: Config): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, host: { type: 'string' }, reason: { type: 'string' }, workload: { type: 'string' } },
    });
  } catch (err) {
    process.stderr.write(`tinyforge-reconciler ${command}: ${errorMessage(err)}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (command === 'explain' && positionals.length !== 1) {
    process.stderr.write('usage: tinyforge-reconciler explain <container ID or name> [--json]\n');
    return 2;
  }
  let db: Database | undefined;
  try {
    db = await Database.connect(config.database, { connectTimeoutMs: config.dbConnectTimeoutMs, poolSize: 2 });
    if (command === 'explain') {
      const docker = new DockerClient(config.docker);
      const e = await explainContainer(positionals[0]!, { config, docker, db });
      if (!e) {
        process.stderr.write(`no such container: ${positionals[0]}\n`);
        return 1;
      }
      process.stdout.write(values.json ? `${JSON.stringify(e, null, 2)}\n` : `${formatExplanation(e)}\n`);
      return 0;
    }
    const repo = new StatusRepository(db);
    const all = [];
    let afterKey: { host: string; containerId: string } | undefined;
    for (;;) {
      const page = await repo.listRefusals({ host: values.host, reason: values.reason, workload: values.workload, afterKey, limit: 500 });
      all.push(...page);
      if (page.length < 500) break;
      const last = page[page.length - 1]!;
      afterKey = { host: last.host, containerId: last.containerId };
    }
    if (values.json) process.stdout.write(`${JSON.stringify(all.map((r) => ({ ...r, since: new Date(r.since).toISOString() })), null, 2)}\n`);
    else if (all.length === 0) process.stdout.write('no refused containers\n');
    else {
      for (const r of all) process.stdout.write(`${r.host}\t${r.containerId.slice(0, 12)}\t${r.containerName || '-'}\t${r.reason}\t${r.rowId || '-'}\t${r.detail}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`tinyforge-reconciler ${command}: ${connectErrorMessage(err, config.database)}\n`);
    return 1;
  } finally {
    await db?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tinyforge-reconciler: ${redactSecrets(errorMessage(err, { stack: true }))}\n`);
    process.exit(1);
  },
);
