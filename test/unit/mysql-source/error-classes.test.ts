import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/core/errors.js';
import { classifyBinlogError } from '../../../connectors/mysql-source/error-classes.js';

const mysqlError = (props: Record<string, unknown>): Error => Object.assign(new Error('x'), props);

describe('classifyBinlogError', () => {
  it('retries lost connections and server restarts', () => {
    expect(classifyBinlogError(mysqlError({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))).toBe('retriable');
    expect(classifyBinlogError(mysqlError({ code: 'ECONNREFUSED', errno: -111 }))).toBe('retriable');
    expect(classifyBinlogError(mysqlError({ code: 'ER_CONNECTION_KILLED', errno: 1927 }))).toBe('retriable');
    expect(classifyBinlogError(mysqlError({ errno: 1053 }))).toBe('retriable');
    expect(classifyBinlogError(new SourceError('SOURCE_SILENT', 'x', { retriable: true }))).toBe('retriable');
  });
  it('never retries a purged position', () => {
    expect(classifyBinlogError(mysqlError({ code: 'ER_MASTER_FATAL_ERROR_READING_BINLOG', errno: 1236 }))).toBe('purged');
  });
  it('does not retry what would fail the same way', () => {
    expect(classifyBinlogError(mysqlError({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, fatal: true }))).toBe('fatal');
    expect(classifyBinlogError(new Error('Unsupported type "255"'))).toBe('fatal');
    expect(classifyBinlogError(new SourceError('SOURCE_TABLE_WITHOUT_KEY', 'x'))).toBe('fatal');
    expect(classifyBinlogError('string')).toBe('fatal');
  });
});
