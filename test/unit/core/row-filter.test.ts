import { describe, expect, it } from 'vitest';
import { RowFilter, RowFilterError, parseFilter } from '../../../src/core/row-filter.js';

const passes = (expr: string, row: Record<string, null | number | string | Buffer>): boolean => new RowFilter(expr).passes(row);

describe('RowFilter', () => {
  it('compares columns with string and number literals', () => {
    expect(passes("status = 'paid'", { status: 'paid' })).toBe(true);
    expect(passes("status = 'paid'", { status: 'Paid' })).toBe(false); // exact, not by a collation
    expect(passes('qty >= 10', { qty: 10 })).toBe(true);
    expect(passes('qty > 10', { qty: 10 })).toBe(false);
    expect(passes('qty <> 3', { qty: 4 })).toBe(true);
    expect(passes('qty != 3', { qty: 3 })).toBe(false);
    expect(passes('price < 10.5', { price: '10.25' })).toBe(true); // DECIMAL travels as text
    expect(passes('id > -5', { id: -4 })).toBe(true);
    expect(passes("name = 'it''s'", { name: "it's" })).toBe(true);
    expect(passes('`odd col` = 1', { 'odd col': 1 })).toBe(true);
    expect(passes('a = b', { a: 'x', b: 'x' })).toBe(true);
  });

  it('follows SQL precedence: NOT over AND over OR, parentheses first', () => {
    const row = { a: 1, b: 0, c: 1 };
    expect(passes('a = 1 OR b = 1 AND c = 0', row)).toBe(true);
    expect(passes('(a = 1 OR b = 1) AND c = 0', row)).toBe(false);
    expect(passes('NOT a = 1 OR c = 1', row)).toBe(true);
    expect(passes('NOT (a = 1 OR c = 1)', row)).toBe(false);
    expect(passes('a = 1 and not b = 1', row)).toBe(true); // keywords in any case
  });

  it('treats NULL as unknown: a comparison with NULL never passes, IS NULL does', () => {
    expect(passes('x = 1', { x: null })).toBe(false);
    expect(passes('NOT x = 1', { x: null })).toBe(false);
    expect(passes('x IS NULL', { x: null })).toBe(true);
    expect(passes('x IS NOT NULL', { x: null })).toBe(false);
    expect(passes('x = 1 OR y = 2', { x: null, y: 2 })).toBe(true);
    expect(passes('x = NULL', { x: null })).toBe(false);
  });

  it('IN and NOT IN, with NULL in the list as SQL does', () => {
    expect(passes("c IN ('DE', 'FR')", { c: 'FR' })).toBe(true);
    expect(passes("c IN ('DE', 'FR')", { c: 'US' })).toBe(false);
    expect(passes("c NOT IN ('DE', 'FR')", { c: 'US' })).toBe(true);
    expect(passes('c NOT IN (1, NULL)', { c: 2 })).toBe(false); // unknown
    expect(passes('c IN (1, NULL)', { c: 1 })).toBe(true);
    expect(passes('c IN (1, 2)', { c: null })).toBe(false);
  });

  it('compares bytes with the UTF-8 of a string', () => {
    expect(passes("b = 'ab'", { b: Buffer.from('ab') })).toBe(true);
    expect(passes("b > 'ab'", { b: Buffer.from('ac') })).toBe(true);
  });

  it('a lone column is true when non-zero', () => {
    expect(passes('active', { active: 1 })).toBe(true);
    expect(passes('active AND NOT deleted', { active: 1, deleted: 0 })).toBe(true);
    expect(passes('active', { active: 0 })).toBe(false);
  });

  it('lists the columns it reads', () => {
    expect(new RowFilter("a = 1 AND (b IS NULL OR c IN (d, 'x'))").columns).toEqual(['a', 'b', 'c', 'd']);
  });

  it('rejects what it does not understand, saying where', () => {
    const message = (t: string): string => {
      try {
        parseFilter(t);
      } catch (err) {
        expect(err).toBeInstanceOf(RowFilterError);
        return (err as Error).message;
      }
      throw new Error(`parsed: ${t}`);
    };
    expect(message('')).toMatch(/empty/);
    expect(message("a = 'x")).toMatch(/unterminated string starting at character 5/);
    expect(message('a = 1 AND')).toMatch(/expected a column name.*found the end/);
    expect(message('a == 1')).toMatch(/found "=" at character 4/);
    expect(message('a = 1; DROP TABLE t')).toMatch(/unexpected character ";" at character 6/);
    expect(message('(a = 1')).toMatch(/expected "\)"/);
    expect(message('a IS 1')).toMatch(/NULL after IS/);
    expect(message('a IN 1')).toMatch(/"\(" after IN/);
    expect(message('a NOT 1')).toMatch(/IN after NOT/);
    expect(message('a = 1 b = 2')).toMatch(/expected AND, OR or the end/);
    expect(message('a + 1')).toMatch(/unexpected character "\+"/);
  });
});
