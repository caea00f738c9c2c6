import { describe, expect, it } from 'vitest';
import { compareTableKeys, withCollation } from '../../../src/preflight/keys-check.js';
import type { TableColumn, TableKeySchema, UniqueIndex } from '../../../src/preflight/table-keys.js';

const utf8 = (name: string, collation = 'utf8mb4_general_ci'): TableColumn => ({ name, nullable: false, charset: 'utf8mb4', collation });
const num = (name: string): TableColumn => ({ name, nullable: false, charset: null, collation: null });
const idx = (name: string, ...cols: string[]): UniqueIndex => ({
  name,
  parts: cols.map((c) => {
    const m = /^(\w+)\((\d+)\)$/.exec(c);
    return m ? { column: m[1]!, prefix: Number(m[2]) } : { column: c, prefix: null };
  }),
});

function table(opts: { pk?: string[]; uniques?: UniqueIndex[]; columns: TableColumn[] }): TableKeySchema {
  return {
    table: { db: 'd', table: 't' },
    primaryKey: opts.pk ? idx('PRIMARY', ...opts.pk) : null,
    uniqueKeys: opts.uniques ?? [],
    columns: new Map(opts.columns.map((c) => [c.name.toLowerCase(), c])),
  };
}

describe('compareTableKeys', () => {
  const cols = [num('id'), num('region'), utf8('email'), utf8('nick')];

  it('sees no difference in index names, column order or column name case', () => {
    const s = table({ pk: ['id', 'region'], uniques: [idx('uk_email', 'email', 'nick')], columns: cols });
    const t = table({ pk: ['REGION', 'id'], uniques: [idx('other', 'nick', 'Email')], columns: cols });
    expect(compareTableKeys(s, t)).toEqual([]);
  });

  it('tells a prefix index from a whole-column one', () => {
    const s = table({ pk: ['id'], uniques: [idx('u', 'email(10)')], columns: cols });
    const t = table({ pk: ['id'], uniques: [idx('u', 'email')], columns: cols });
    expect(compareTableKeys(s, t).map((d) => d.kind)).toEqual(['missing-unique', 'extra-unique']);
  });

  it('counts duplicate unique indexes one for one', () => {
    const s = table({ pk: ['id'], uniques: [idx('a', 'email')], columns: cols });
    const t = table({ pk: ['id'], uniques: [idx('a', 'email'), idx('b', 'email')], columns: cols });
    expect(compareTableKeys(s, t)).toEqual([{ kind: 'extra-unique', index: idx('b', 'email') }]);
  });

  it('a primary key the target lacks, or has on other columns', () => {
    const s = table({ pk: ['id'], columns: cols });
    expect(compareTableKeys(s, table({ columns: cols }))).toEqual([{ kind: 'primary-key', source: idx('PRIMARY', 'id'), target: null }]);
    expect(compareTableKeys(s, table({ pk: ['id', 'region'], columns: cols })).map((d) => d.kind)).toEqual(['primary-key']);
  });

  it('source.keys: the target must have those columns as its primary key or a unique index, which is then not "extra"', () => {
    const s = table({ columns: cols });
    expect(compareTableKeys(s, table({ uniques: [idx('k', 'email')], columns: cols }), ['email'])).toEqual([]);
    expect(compareTableKeys(s, table({ pk: ['email'], columns: cols }), ['email'])).toEqual([]);
    expect(compareTableKeys(s, table({ columns: cols }), ['email'])).toEqual([{ kind: 'configured-key-not-unique', columns: ['email'] }]);
    // A target primary key on other columns is a difference of its own.
    expect(compareTableKeys(s, table({ pk: ['id'], uniques: [idx('k', 'email')], columns: cols }), ['email'])).toEqual([
      { kind: 'primary-key', source: null, target: idx('PRIMARY', 'id') },
    ]);
    // source.keys does not count for a table with a primary key (the pipeline ignores it too).
    expect(compareTableKeys(table({ pk: ['id'], columns: cols }), table({ pk: ['id'], columns: cols }), ['email'])).toEqual([]);
  });

  it('a source unique index on the configured key: the same on the target is fine, its absence is reported once', () => {
    const s = table({ uniques: [idx('k', 'email')], columns: cols });
    expect(compareTableKeys(s, table({ uniques: [idx('k2', 'email')], columns: cols }), ['email'])).toEqual([]);
    expect(compareTableKeys(s, table({ columns: cols }), ['email'])).toEqual([{ kind: 'missing-unique', index: idx('k', 'email') }]);
  });

  it('compares the collation of key columns only', () => {
    const s = table({ pk: ['id'], uniques: [idx('u', 'email')], columns: cols });
    const t = table({ pk: ['id'], uniques: [idx('u', 'email')], columns: [num('id'), num('region'), utf8('email', 'utf8mb4_bin'), utf8('nick', 'utf8mb4_bin')] });
    expect(compareTableKeys(s, t)).toEqual([{ kind: 'collation', column: 'email', source: utf8('email'), target: utf8('email', 'utf8mb4_bin') }]);
    // A configured key's columns are key columns too.
    expect(compareTableKeys(table({ columns: cols }), table({ uniques: [idx('k', 'nick')], columns: [...t.columns.values()] }), ['nick'])).toEqual([
      { kind: 'collation', column: 'nick', source: utf8('nick'), target: utf8('nick', 'utf8mb4_bin') },
    ]);
  });
});

describe('withCollation', () => {
  it('spells out the character set and collation, replacing any the definition had', () => {
    expect(withCollation('`name` varchar(40) NOT NULL', 'utf8mb4', 'utf8mb4_bin')).toBe('`name` varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL');
    expect(withCollation('`name` varchar(40) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL', 'utf8mb4', 'utf8mb4_bin')).toBe(
      '`name` varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL',
    );
    expect(withCollation("`k` enum('a b','c)') COLLATE utf8mb4_general_ci NOT NULL DEFAULT 'a b'", 'utf8mb4', 'utf8mb4_bin')).toBe(
      "`k` enum('a b','c)') CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT 'a b'",
    );
  });
});
