import { describe, expect, it } from 'vitest';
import { ddlStep, isDoneAlreadyError, isExistenceError } from '../../../connectors/mysql-sink/ddl-applier.js';

const at = (pos: number, file = 'mysql-bin.000002') => ({ file, pos });
const mark = (pos: number, file = 'mysql-bin.000002') => ({ position: at(pos, file), ordinal: 0 });

describe('ddlStep', () => {
  it('skips a DDL at or before the last one recorded as done', () => {
    expect(ddlStep(mark(500), mark(500), at(500))).toBe('skip');
    expect(ddlStep(mark(500), mark(500), at(300))).toBe('skip');
    expect(ddlStep(mark(100, 'mysql-bin.000003'), null, at(900))).toBe('skip');
  });

  it('runs again, tolerating "done already", only the DDL that was started and not recorded as done', () => {
    expect(ddlStep(mark(300), mark(500), at(500))).toBe('run-again');
    expect(ddlStep(null, mark(500), at(500))).toBe('run-again');
  });

  it('runs a DDL never started', () => {
    expect(ddlStep(null, null, at(500))).toBe('run');
    expect(ddlStep(mark(300), mark(300), at(500))).toBe('run');
    expect(ddlStep(mark(300), mark(500), at(700))).toBe('run');
  });
});

describe('isDoneAlreadyError', () => {
  it('takes the server errors of a DDL that ran before', () => {
    for (const errno of [1007, 1008, 1050, 1051, 1054, 1060, 1061, 1091, 1146]) expect(isDoneAlreadyError({ errno }), String(errno)).toBe(true);
  });

  it('not other errors (syntax, privileges, data), nor errors without a server number', () => {
    for (const errno of [1064, 1142, 1265, 1062]) expect(isDoneAlreadyError({ errno }), String(errno)).toBe(false);
    expect(isDoneAlreadyError(new Error('ER_DUP_FIELDNAME'))).toBe(false);
    expect(isDoneAlreadyError(null)).toBe(false);
  });
});

describe('isExistenceError', () => {
  it('CREATE/DROP of a table or database whose object exists / is gone, as IF [NOT] EXISTS would', () => {
    expect(isExistenceError('CREATE TABLE', { errno: 1050 })).toBe(true);
    expect(isExistenceError('DROP TABLE', { errno: 1051 })).toBe(true);
    expect(isExistenceError('CREATE DATABASE', { errno: 1007 })).toBe(true);
    expect(isExistenceError('DROP DATABASE', { errno: 1008 })).toBe(true);
  });

  it('not for other actions or other errors', () => {
    expect(isExistenceError('ALTER TABLE', { errno: 1060 })).toBe(false);
    expect(isExistenceError('RENAME TABLE', { errno: 1050 })).toBe(false);
    expect(isExistenceError('CREATE TABLE', { errno: 1051 })).toBe(false);
    expect(isExistenceError('DROP TABLE', { errno: 1146 })).toBe(false);
  });
});
