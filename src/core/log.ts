/**
 * Structured logs with pino: JSON lines when stdout is not a terminal (daemons, log shippers),
 * human-readable lines on a terminal. `LOG_LEVEL` and `LOG_FORMAT=json|pretty` override.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { name?: string; level?: string; destination?: number } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const fd = options.destination ?? 1;
  const pretty = process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  const base = { level, ...(options.name ? { name: options.name } : {}) };
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: fd, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino(base, pino.destination({ fd, sync: true }));
}

/** A logger that drops everything (unit tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
