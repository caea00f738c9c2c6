import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/core/errors.js';
import { keysAsWritten } from '../../../connectors/mysql-source/keys-as-written.js';
import type { TableInfo } from '../../../connectors/mysql-source/schema-cache.js';

const table = { schema: 'shop', name: 't' };
const NONE = new Map<string, number>();
const LONG = 8;
const VARCHAR = 15;

function info(primaryKey: string[], uniqueKeys: string[][] = [], extra: Partial<TableInfo> = {}): TableInfo {
  return {
    keys: { table, primaryKey, uniqueKeys },
    dataTypes: new Map(),
    collations: new Map(),
    prefixes: { primary: NONE, unique: uniqueKeys.map(() => NONE) },
    generated: new Set(),
    ...extra,
  };
}

const unknown = (): Error => new SourceError('SOURCE_METADATA', 'shop.t: INFORMATION_SCHEMA does not know it');

describe('keysAsWritten', () => {
  it('keeps INFORMATION_SCHEMA when the event has its key columns', () => {
    const i = info(['id'], [['email']]);
    expect(keysAsWritten(table, i, { columns: ['id', 'email', 'n'], types: [LONG, VARCHAR, LONG], primaryKey: [0] }, unknown)).toBe(i);
  });

  it('takes a case-only rename of a key column as a rename (the row image has the old spelling)', () => {
    const out = keysAsWritten(table, info(['ID']), { columns: ['id', 'n'], types: [LONG, LONG], primaryKey: [0] }, unknown);
    expect(out.keys.primaryKey).toEqual(['id']);
  });

  it('leaves out a unique key whose column the event lacks (added later)', () => {
    const out = keysAsWritten(table, info(['id'], [['later'], ['email']]), { columns: ['id', 'email'], types: [LONG, VARCHAR] }, unknown);
    expect(out.keys.uniqueKeys).toEqual([['email']]);
    expect(out.prefixes.unique).toHaveLength(1);
  });

  it("takes the table map's key when the key column was renamed since", () => {
    const out = keysAsWritten(table, info(['pk']), { columns: ['id', 'n'], types: [LONG, LONG], primaryKey: [0] }, unknown);
    expect(out.keys.primaryKey).toEqual(['id']);
  });

  it("takes the table map's key when the primary key moved to other columns since, and today's as a unique key", () => {
    const out = keysAsWritten(table, info(['code'], [['email']]), { columns: ['id', 'code', 'email'], types: [LONG, LONG, VARCHAR], primaryKey: [0] }, unknown);
    expect(out.keys.primaryKey).toEqual(['id']);
    expect(out.keys.uniqueKeys).toEqual([['code'], ['email']]);
    expect(out.prefixes.unique).toHaveLength(2);
    // The same columns in another order are the same key.
    const same = info(['a', 'b']);
    expect(keysAsWritten(table, same, { columns: ['a', 'b'], types: [LONG, LONG], primaryKey: [1, 0] }, unknown)).toBe(same);
  });

  it("takes the table map's key for a table INFORMATION_SCHEMA does not know any more", () => {
    const out = keysAsWritten(table, null, { columns: ['a', 'id'], types: [VARCHAR, LONG], primaryKey: [1] }, unknown);
    expect(out.keys).toEqual({ table, primaryKey: ['id'], uniqueKeys: [] });
  });

  it('refuses a text key it cannot learn the collation of, naming the table and what to do', () => {
    expect(() => keysAsWritten(table, null, { columns: ['code'], types: [VARCHAR], primaryKey: [0] }, unknown)).toThrow(/shop\.t.*code.*snapshot --tables shop\.t/s);
  });

  it('throws the unknown-table error, or a missing-key error, when the table map has no key', () => {
    expect(() => keysAsWritten(table, null, { columns: ['id'], types: [LONG] }, unknown)).toThrow(/does not know it/);
    expect(() => keysAsWritten(table, info(['pk']), { columns: ['id'], types: [LONG] }, unknown)).toThrow(/without its key column\(s\) pk.*snapshot --tables shop\.t/s);
  });

  it('matches a keyless full-row table by the columns it was written with', () => {
    const i: TableInfo = { ...info(['a', 'b', 'added']), keys: { table, primaryKey: ['a', 'b', 'added'], uniqueKeys: [], fullRow: true } };
    expect(keysAsWritten(table, i, { columns: ['a', 'b'], types: [LONG, LONG] }, unknown).keys.primaryKey).toEqual(['a', 'b']);
  });
});
