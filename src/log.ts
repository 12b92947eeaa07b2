import { pino, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';
import { redactSecrets } from './util/redact.js';


export type Logger = Pick<PinoLogger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'child'>;

/** JSON logs on stdout (or `dest`); passwords in URLs and known secret fields are redacted. */
export function createLogger(level: LogLevel, dest?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tinyforge-reconciler' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'apiToken', '*.apiToken', 'config.database.password'], censor: '***' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        streamWrite: (s) => redactSecrets(s),
      },
      serializers: { err: pino.stdSerializers.err },
    },
    (dest as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
