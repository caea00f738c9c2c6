/**
 * Structured logs with pino: JSON lines when stdout is not a terminal (daemons, log shippers),
 * human-readable lines on a terminal. `LOG_LEVEL` and `LOG_FORMAT=json|pretty` override.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** A warning or error log record's fields and its logger's bindings (`component`), for metrics. */
export type LogProblemListener = (fields: Readonly<Record<string, unknown>>, bindings: Readonly<Record<string, unknown>>) => void;

export function createLogger(options: { name?: string; level?: string; destination?: number; onProblem?: LogProblemListener } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const fd = options.destination ?? 1;
  const pretty = process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  const onProblem = options.onProblem;
  // Every retried or fatal problem is already a warn/error record with its code: counting those keeps
  // the metrics and the logs in agreement without a metrics call beside each log line. Child loggers
  // inherit the hook.
  const hooks = onProblem
    ? {
        hooks: {
          logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void, levelValue: number): void {
            const first: unknown = args[0];
            if (levelValue >= 40 && first !== null && typeof first === 'object' && !(first instanceof Error)) onProblem(first as Record<string, unknown>, this.bindings());
            method.apply(this, args);
          },
        },
      }
    : {};
  const base = { level, ...(options.name ? { name: options.name } : {}), ...hooks };
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
