/**
 * One error hierarchy for the whole pipeline. Every error has a stable `code` (for logs, metrics and
 * tests), a message that says what happened and what to do, an optional `cause`, and `retriable`:
 * whether trying the same thing again can succeed (lost connection: yes; unknown column: no).
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'PREFLIGHT_FAILED'
  | 'SOURCE_CONNECTION'
  | 'SOURCE_POSITION_PURGED'
  | 'SOURCE_SILENT'
  | 'SOURCE_DECODE'
  | 'SOURCE_TABLE_WITHOUT_KEY'
  | 'SOURCE_METADATA'
  | 'SOURCE_STATEMENT_EVENT'
  | 'SOURCE_SCHEMA_CHANGE'
  | 'SOURCE_PARTIAL_ROW_IMAGE'
  | 'SOURCE_UNREADABLE_EVENT'
  | 'SOURCE_XA'
  | 'SOURCE_CHANGED'
  | 'SNAPSHOT'
  | 'TARGET_CONNECTION'
  | 'TARGET_TRANSIENT'
  | 'TARGET_APPLY'
  | 'CHECKPOINT'
  | 'QUARANTINE'
  | 'PIPELINE_LOCKED'
  | 'PARTITION_FENCED'
  | 'KAFKA'
  | 'KAFKA_MESSAGE'
  | 'KAFKA_MESSAGE_TOO_LARGE'
  | 'USAGE'
  | 'VERIFY';

export class BinlogSyncError extends Error {
  override readonly name: string = 'BinlogSyncError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; retriable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

export class ConfigError extends BinlogSyncError {
  override readonly name = 'ConfigError';
  /** Every problem found, each `path: message`, so the user fixes the file in one pass. */
  readonly problems: readonly string[];
  constructor(file: string, problems: readonly string[], cause?: unknown) {
    super('CONFIG_INVALID', `${file}: invalid pipeline file\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      cause,
      details: { file, problems },
    });
    this.problems = problems;
  }
}

export class SourceError extends BinlogSyncError {
  override readonly name = 'SourceError';
}

export class TargetError extends BinlogSyncError {
  override readonly name = 'TargetError';
}

export class PreflightError extends BinlogSyncError {
  override readonly name = 'PreflightError';
}

/** The message of an unknown thrown value, including a mysql2 error's code and errno. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; errno?: unknown };
    const tag = typeof e.code === 'string' ? ` [${e.code}${typeof e.errno === 'number' ? ` ${e.errno}` : ''}]` : '';
    return `${err.message}${tag}`;
  }
  return String(err);
}
