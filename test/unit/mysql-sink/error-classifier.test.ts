import { describe, expect, it } from 'vitest';
import { classifyMySqlError, remedyFor } from '../../../connectors/mysql-sink/error-classifier.js';

/** Shaped like mysql2's errors: server errors carry errno + ER_* code + sqlState; socket errors a Node code. */
function sqlError(errno: number, code: string, fatal = false): Error {
  return Object.assign(new Error(code), { errno, code, sqlState: 'HY000', fatal });
}
function netError(code: string, errno?: number): Error {
  return Object.assign(new Error(code), { code, fatal: true, ...(errno === undefined ? {} : { errno }) });
}

describe('classifyMySqlError', () => {
  it.each([
    [1213, 'ER_LOCK_DEADLOCK'],
    [1205, 'ER_LOCK_WAIT_TIMEOUT'],
  ])('retries lock conflicts (%i) on the same connection', (errno, code) => {
    expect(classifyMySqlError(sqlError(errno, code))).toEqual({ retriable: true, errorClass: 'lock-conflict', discardConnection: false });
  });

  it.each([
    [1040, 'ER_CON_COUNT_ERROR', 'unavailable'],
    [1053, 'ER_SERVER_SHUTDOWN', 'unavailable'],
    [1290, 'ER_OPTION_PREVENTS_STATEMENT', 'unavailable'],
    [2006, 'CR_SERVER_GONE_ERROR', 'connection'],
    [2013, 'CR_SERVER_LOST', 'connection'],
    [1927, 'ER_CONNECTION_KILLED', 'connection'],
  ])('retries %i %s on a new connection', (errno, code, errorClass) => {
    expect(classifyMySqlError(sqlError(errno, code))).toEqual({ retriable: true, errorClass, discardConnection: true });
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'ENOTFOUND'])(
    'retries the socket/protocol error %s on a new connection',
    (code) => {
      expect(classifyMySqlError(netError(code))).toEqual({ retriable: true, errorClass: 'connection', discardConnection: true });
      // Node system errors carry a negative errno.
      expect(classifyMySqlError(netError(code, -111)).retriable).toBe(true);
    },
  );

  it.each([
    [1054, 'ER_BAD_FIELD_ERROR'],
    [1146, 'ER_NO_SUCH_TABLE'],
    [1406, 'ER_DATA_TOO_LONG'],
    [1264, 'ER_WARN_DATA_OUT_OF_RANGE'],
    [1062, 'ER_DUP_ENTRY'],
    [1064, 'ER_PARSE_ERROR'],
    [1045, 'ER_ACCESS_DENIED_ERROR'],
    [1153, 'ER_NET_PACKET_TOO_LARGE'],
  ])('does not retry %i %s', (errno, code) => {
    expect(classifyMySqlError(sqlError(errno, code))).toEqual({ retriable: false, errorClass: 'fatal', discardConnection: false });
  });

  it('discards the connection after a fatal non-retriable error', () => {
    expect(classifyMySqlError(sqlError(1153, 'ER_NET_PACKET_TOO_LARGE', true))).toEqual({
      retriable: false,
      errorClass: 'fatal',
      discardConnection: true,
    });
  });

  it('does not retry errors it does not know, nor non-errors', () => {
    expect(classifyMySqlError(new Error('boom')).retriable).toBe(false);
    expect(classifyMySqlError(new TypeError('x is undefined')).retriable).toBe(false);
    expect(classifyMySqlError('string').retriable).toBe(false);
    expect(classifyMySqlError(null).retriable).toBe(false);
    expect(classifyMySqlError(undefined).retriable).toBe(false);
  });
});

describe('remedyFor', () => {
  it('says what to do for the common schema mismatches', () => {
    expect(remedyFor(sqlError(1054, 'ER_BAD_FIELD_ERROR'))).toMatch(/add it on the target/);
    expect(remedyFor(sqlError(1146, 'ER_NO_SUCH_TABLE'))).toMatch(/create the table/);
    expect(remedyFor(sqlError(1406, 'ER_DATA_TOO_LONG'))).toMatch(/narrower/);
    expect(remedyFor(sqlError(1264, 'ER_WARN_DATA_OUT_OF_RANGE'))).toMatch(/narrower/);
    expect(remedyFor(sqlError(1153, 'ER_NET_PACKET_TOO_LARGE'))).toMatch(/max_allowed_packet/);
    expect(remedyFor(new Error('other'))).toMatch(/resumes from its last checkpoint/);
  });
});
