/** Command-line parsing on `node:util` parseArgs, with errors that name the command and the flag. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BinlogSyncError } from '../core/errors.js';

export class UsageError extends BinlogSyncError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super('USAGE', message);
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')} (see \`binlog-sync help\`)`);
  }
}

/** `--config FILE`, or the first positional argument, is the pipeline file. */
export function configPath(command: string, values: { config?: string | boolean | undefined }, positionals: string[]): string {
  const file = typeof values.config === 'string' ? values.config : positionals[0];
  if (!file) throw new UsageError(`${command}: which pipeline file? Give --config FILE (e.g. --config config/example.yaml)`);
  return file;
}
