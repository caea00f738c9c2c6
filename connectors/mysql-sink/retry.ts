/**
 * The target's retry loop: run an attempt; on an error the classifier calls transient, log it, wait a
 * capped exponential backoff and run it again, for as long as it takes (a target restart must not stop
 * the pipeline). Non-retriable errors are rethrown unchanged for the caller to wrap. Closing the owner
 * (`signal`) ends the wait and rejects with a retriable TARGET_CONNECTION error.
 */
import type { Logger } from 'pino';
import { backoffDelay, sleep, type BackoffPolicy } from '../../src/index.js';
import { TargetError, describeError } from '../../src/index.js';
import { classifyMySqlError } from './error-classifier.js';

export interface RetryContext {
  readonly policy: BackoffPolicy;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** What is being attempted, for log lines and the closing error ("apply 3 statements to `db`.`t`"). */
  readonly what: string;
  /** Give up after this many failed attempts (one-shot commands such as `status`); default: never. */
  readonly maxAttempts?: number;
}

export async function retryTransient<T>(ctx: RetryContext, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    if (ctx.signal.aborted) throw closedError(ctx, undefined);
    try {
      return await attempt(n);
    } catch (err) {
      if (err instanceof TargetError) throw err;
      // Closing ends the pool under an attempt in flight, which then fails with mysql2's "Pool is
      // closed" (not a network error): whatever fails after close() is the close, not the statement.
      if (ctx.signal.aborted) throw closedError(ctx, err);
      const cls = classifyMySqlError(err);
      if (!cls.retriable) throw err;
      if (ctx.maxAttempts !== undefined && n + 1 >= ctx.maxAttempts) throw err;
      const delayMs = backoffDelay(ctx.policy, n);
      ctx.logger.warn(
        { attempt: n + 1, delayMs, errorClass: cls.errorClass, err: describeError(err) },
        `target: ${ctx.what} failed (${describeError(err)}); retrying in ${delayMs} ms`,
      );
      await sleep(delayMs, ctx.signal);
    }
  }
}

function closedError(ctx: RetryContext, last: unknown): TargetError {
  const tail = last === undefined ? '' : ` after: ${describeError(last)}`;
  return new TargetError('TARGET_CONNECTION', `target: ${ctx.what} abandoned because the sink was closed${tail}`, {
    retriable: true,
    cause: last,
  });
}
