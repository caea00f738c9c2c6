/** A pino logger whose JSON lines are kept in memory, for tests that assert on what was logged. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly code?: string;
  readonly attempt?: number;
  /** `describeError` of the error, where the line carries one. */
  readonly err?: string;
  readonly [field: string]: unknown;
}

export function captureLogs(level = 'info'): { lines: LogLine[]; logger: Logger } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as LogLine);
        done();
      },
    }),
  );
  return { lines, logger };
}
