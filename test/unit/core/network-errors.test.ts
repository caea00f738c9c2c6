/**
 * One table of connection failures, run through the source's and the sink's classifiers: both must
 * retry every one of them (they used to disagree: a DNS error stopped the source but not the sink).
 */
import { describe, expect, it } from 'vitest';
import { isNetworkError } from '../../../src/core/network-errors.js';
import { classifyBinlogError } from '../../../connectors/mysql-source/error-classes.js';
import { classifyMySqlError } from '../../../connectors/mysql-sink/error-classifier.js';

/** Shaped as Node and mysql2 throw them: Node system errors have a negative errno and a syscall. */
const err = (props: Record<string, unknown>): Error => Object.assign(new Error(String(props.code ?? props.errno)), props);

const CONNECTION_FAILURES: readonly [string, Error][] = [
  ['DNS name not found (a restarting container)', err({ code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: 'source', fatal: true })],
  ['DNS temporary failure', err({ code: 'EAI_AGAIN', errno: -3001, syscall: 'getaddrinfo', hostname: 'source', fatal: true })],
  ['connection refused', err({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect', fatal: true })],
  ['connection reset', err({ code: 'ECONNRESET', errno: -104, syscall: 'read', fatal: true })],
  ['connection aborted', err({ code: 'ECONNABORTED', errno: -103, fatal: true })],
  ['broken pipe', err({ code: 'EPIPE', errno: -32, syscall: 'write', fatal: true })],
  ['timed out', err({ code: 'ETIMEDOUT', errno: -110, fatal: true })],
  ['mysql2 connect timeout (no errno)', err({ code: 'ETIMEDOUT', fatal: true })],
  ['host unreachable', err({ code: 'EHOSTUNREACH', errno: -113, fatal: true })],
  ['host down', err({ code: 'EHOSTDOWN', errno: -112, fatal: true })],
  ['network unreachable', err({ code: 'ENETUNREACH', errno: -101, fatal: true })],
  ['network down', err({ code: 'ENETDOWN', errno: -100, fatal: true })],
  ['no local address free', err({ code: 'EADDRNOTAVAIL', errno: -99, fatal: true })],
  ['mysql2 connection lost', err({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true })],
  ['mysql2 sequence timeout', err({ code: 'PROTOCOL_SEQUENCE_TIMEOUT', fatal: true })],
  ['mysql2 enqueue after fatal error', err({ code: 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', fatal: true })],
  ['CR_SERVER_GONE_ERROR', err({ code: 'CR_SERVER_GONE_ERROR', errno: 2006 })],
  ['CR_SERVER_LOST', err({ code: 'CR_SERVER_LOST', errno: 2013 })],
  ['CR_CONN_HOST_ERROR', err({ errno: 2003 })],
  ['ER_NET_READ_ERROR', err({ code: 'ER_NET_READ_ERROR', errno: 1158, sqlState: '08S01' })],
  ['ER_NET_ERROR_ON_WRITE', err({ code: 'ER_NET_ERROR_ON_WRITE', errno: 1160, sqlState: '08S01' })],
  ['ER_ABORTING_CONNECTION', err({ code: 'ER_ABORTING_CONNECTION', errno: 1152, sqlState: '08S01' })],
];

/** Errors of the statement or the account: neither side may retry these forever. */
const NOT_CONNECTION_FAILURES: readonly [string, Error][] = [
  ['access denied', err({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, sqlState: '28000', fatal: true })],
  ['unknown column', err({ code: 'ER_BAD_FIELD_ERROR', errno: 1054, sqlState: '42S22' })],
  ['a plain Error', new Error('boom')],
];

describe('connection failures: one table for source and sink', () => {
  it.each(CONNECTION_FAILURES)('%s is a network error, retried by the source and the sink', (_what, e) => {
    expect(isNetworkError(e)).toBe(true);
    expect(classifyBinlogError(e)).toBe('retriable');
    expect(classifyMySqlError(e)).toEqual({ retriable: true, errorClass: 'connection', discardConnection: true });
  });

  it.each(NOT_CONNECTION_FAILURES)('%s is not a network error and retried by neither', (_what, e) => {
    expect(isNetworkError(e)).toBe(false);
    expect(classifyBinlogError(e)).toBe('fatal');
    expect(classifyMySqlError(e).retriable).toBe(false);
  });

  it('looks only at objects', () => {
    expect(isNetworkError('ECONNRESET')).toBe(false);
    expect(isNetworkError(null)).toBe(false);
    expect(isNetworkError({ errno: -111 })).toBe(false);
  });
});
