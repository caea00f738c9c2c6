/**
 * The target's retry loop against scripted attempts: what is retried, what is rethrown, and what a
 * close() in the middle of an attempt turns into.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { TargetError } from '../../../src/core/errors.js';
import { retryTransient } from '../../../connectors/mysql-sink/retry.js';

const logger = pino({ level: 'silent' });
const policy = { initialMs: 1, maxMs: 2, factor: 2 };

function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
}

describe('retryTransient', () => {
  it('retries a network error and returns the first success', async () => {
    let calls = 0;
    const result = await retryTransient({ policy, logger, signal: new AbortController().signal, what: 'x' }, async () => {
      if (++calls < 3) throw refused();
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('rethrows a non-retriable error unchanged', async () => {
    const bad = Object.assign(new Error('You have an error in your SQL syntax'), { errno: 1064, code: 'ER_PARSE_ERROR' });
    await expect(retryTransient({ policy, logger, signal: new AbortController().signal, what: 'x' }, async () => Promise.reject(bad))).rejects.toBe(bad);
  });

  // CI flake: close() ended the pool under a retry attempt, whose acquire() then failed with mysql2's
  // "Pool is closed" (no network code): that was rethrown as non-retriable, as if the statement were bad.
  it('reports an attempt that fails because the owner closed as a retriable TARGET_CONNECTION error', async () => {
    const closing = new AbortController();
    const err = await retryTransient({ policy, logger, signal: closing.signal, what: 'apply 1 statement' }, async () => {
      closing.abort();
      throw new Error('Pool is closed.');
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).code).toBe('TARGET_CONNECTION');
    expect((err as TargetError).retriable).toBe(true);
    expect((err as TargetError).message).toMatch(/abandoned because the sink was closed after: Pool is closed/);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    const last = refused();
    await expect(
      retryTransient({ policy, logger, signal: new AbortController().signal, what: 'x', maxAttempts: 2 }, async () => {
        calls++;
        throw last;
      }),
    ).rejects.toBe(last);
    expect(calls).toBe(2);
  });
});
