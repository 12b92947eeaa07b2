import { parseArgs } from 'node:util';
import type { LogLevel } from '../config.js';
import { errorMessage } from '../domain/errors.js';
import { createLogger, type Logger } from '../log.js';
import { DockerProxy, parseProxyAddress, type ProxyAddress } from './docker-proxy.js';

export const DEFAULT_PROXY_LISTEN = 'unix:///run/tinyforge/docker.sock';
export const DEFAULT_PROXY_UPSTREAM = 'unix:///var/run/docker.sock';

/** Usage lines of `docker-proxy`, for the CLI's --help. */
export const DOCKER_PROXY_USAGE = `  tinyforge-reconciler docker-proxy [--listen ADDR] [--upstream ADDR] [--socket-mode MODE] [--log-level L]
                                 allow-list proxy in front of the Docker socket: only GET of ping,
                                 version, container list/inspect and events pass, the rest gets 403
                                 (--listen default ${DEFAULT_PROXY_LISTEN}, --upstream default
                                 ${DEFAULT_PROXY_UPSTREAM}, --socket-mode default 0660;
                                 ADDR is unix:///path or tcp://host:port)`;

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface DockerProxySettings {
  listen: ProxyAddress;
  upstream: ProxyAddress;
  socketMode: number;
  logLevel: LogLevel;
}

/** The command line of `docker-proxy` as settings, or every problem found in it. */
export function parseDockerProxyArgs(args: string[]): DockerProxySettings | { problems: string[] } {
  let values;
  try {
    values = parseArgs({
      args,
      allowPositionals: false,
      options: { listen: { type: 'string' }, upstream: { type: 'string' }, 'socket-mode': { type: 'string' }, 'log-level': { type: 'string' } },
    }).values;
  } catch (err) {
    return { problems: [errorMessage(err)] };
  }
  const problems: string[] = [];
  const listen = parseProxyAddress('--listen', values.listen ?? DEFAULT_PROXY_LISTEN);
  const upstream = parseProxyAddress('--upstream', values.upstream ?? DEFAULT_PROXY_UPSTREAM);
  if (typeof listen === 'string') problems.push(listen);
  if (typeof upstream === 'string') problems.push(upstream);
  const rawMode = values['socket-mode'] ?? '0660';
  const socketMode = /^0?[0-7]{3}$/.test(rawMode) ? parseInt(rawMode, 8) : NaN;
  if (Number.isNaN(socketMode)) problems.push(`--socket-mode: "${rawMode}" is not an octal mode such as 0660`);
  // The engine's socket is root on the host: never let "other" users reach the proxy's.
  else if ((socketMode & 0o007) !== 0) problems.push(`--socket-mode: ${rawMode} lets any user on the machine connect; use 0660 or 0600`);
  const logLevel = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  if (typeof listen === 'object' && typeof upstream === 'object' && listen.kind === 'unix' && upstream.kind === 'unix' && listen.path === upstream.path) {
    problems.push('--listen: must differ from --upstream');
  }
  if (problems.length > 0 || typeof listen === 'string' || typeof upstream === 'string') return { problems };
  return { listen, upstream, socketMode, logLevel };
}

/**
 * `tinyforge-reconciler docker-proxy`: runs the proxy until SIGTERM or SIGINT, then closes it
 * (open event streams included) and returns 0. Bad arguments return 2, a failed start 1.
 */
export async function dockerProxyCommand(args: string[], opts: { stderr?: NodeJS.WritableStream; log?: Logger } = {}): Promise<number> {
  const stderr = opts.stderr ?? process.stderr;
  const settings = parseDockerProxyArgs(args);
  if ('problems' in settings) {
    stderr.write(`tinyforge-reconciler docker-proxy: invalid arguments:\n  - ${settings.problems.join('\n  - ')}\n`);
    return 2;
  }
  const log = opts.log ?? createLogger(settings.logLevel);
  const proxy = new DockerProxy({ listen: settings.listen, upstream: settings.upstream, socketMode: settings.socketMode, log });
  try {
    await proxy.start();
  } catch (err) {
    log.fatal({ error: errorMessage(err) }, 'docker-proxy: could not start');
    return 1;
  }
  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      log.info({ signal }, 'docker-proxy: stopping');
      proxy.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ error: errorMessage(err) }, 'docker-proxy: error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
