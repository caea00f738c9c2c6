import { describe, expect, it } from 'vitest';
import { TableFilter, TableFilterError } from '../../../src/core/table-filter.js';

describe('TableFilter', () => {
  it('matches db.table globs with * and ?', () => {
    const f = new TableFilter(['shop.*', 'crm.user_?', 'logs.2024_*_x']);
    expect(f.matches('shop', 'orders')).toBe(true);
    expect(f.matches('shop', '')).toBe(true);
    expect(f.matches('shopx', 'orders')).toBe(false);
    expect(f.matches('crm', 'user_a')).toBe(true);
    expect(f.matches('crm', 'user_ab')).toBe(false);
    expect(f.matches('crm', 'user_')).toBe(false);
    expect(f.matches('logs', '2024_01_x')).toBe(true);
    expect(f.matches('logs', '2024_01_y')).toBe(false);
  });

  it('treats regex metacharacters in names literally', () => {
    const f = new TableFilter(['a$b.t+1']);
    expect(f.matches('a$b', 't+1')).toBe(true);
    expect(f.matches('a$b', 'tt1')).toBe(false);
  });

  it('lets exclude win over include', () => {
    const f = new TableFilter(['*.*'], ['shop.tmp_*', 'audit.*']);
    expect(f.matches('shop', 'orders')).toBe(true);
    expect(f.matches('shop', 'tmp_1')).toBe(false);
    expect(f.matches('audit', 'log')).toBe(false);
  });

  it('always excludes the pipeline schema and system schemas, even when included by name', () => {
    const f = new TableFilter(['*.*', '_binlog_sync.*', 'mysql.user']);
    for (const s of ['_binlog_sync', 'mysql', 'sys', 'information_schema', 'performance_schema', 'MySQL']) {
      expect(f.matches(s, 'checkpoints')).toBe(false);
    }
    expect(f.matches('app', 'checkpoints')).toBe(true);
  });

  it('includes nothing without include patterns', () => {
    expect(new TableFilter([]).matches('shop', 'orders')).toBe(false);
  });

  it('is case-sensitive like a Linux server', () => {
    expect(new TableFilter(['Shop.*']).matches('shop', 'a')).toBe(false);
  });

  it('rejects patterns that are not db.table', () => {
    expect(() => new TableFilter(['shop'])).toThrow(TableFilterError);
    expect(() => new TableFilter(['a.b.c'])).toThrow(/db\.table/);
  });
});
