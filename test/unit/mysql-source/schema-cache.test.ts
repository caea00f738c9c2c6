import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/core/errors.js';
import { SchemaCache, type MetadataQuery } from '../../../connectors/mysql-source/schema-cache.js';

interface FakeTable {
  columns: [string, string][];
  indexes: [string, string][];
}

function fake(tables: Record<string, FakeTable>): { query: MetadataQuery; calls: () => number } {
  let calls = 0;
  const query: MetadataQuery = async (sql, params) => {
    calls++;
    const t = tables[`${String(params[0])}.${String(params[1])}`];
    if (!t) return [];
    if (sql.includes('information_schema.COLUMNS')) return t.columns.map(([name, dataType]) => ({ name, dataType }));
    return t.indexes.map(([indexName, name]) => ({ indexName, name }));
  };
  return { query, calls: () => calls };
}

const shop: Record<string, FakeTable> = {
  'shop.orders': { columns: [['id', 'bigint'], ['email', 'varchar'], ['u', 'uuid']], indexes: [['PRIMARY', 'id'], ['uq_email', 'email']] },
  'shop.pairs': { columns: [['a', 'int'], ['b', 'int']], indexes: [['PRIMARY', 'a'], ['PRIMARY', 'b'], ['uq_ba', 'b'], ['uq_ba', 'a']] },
  'shop.nokey': { columns: [['x', 'int'], ['y', 'int']], indexes: [] },
  'shop.proto': { columns: [['id', 'int'], ['__proto__', 'varchar']], indexes: [['PRIMARY', 'id']] },
};

describe('SchemaCache', () => {
  it('reads the primary key, unique keys and column types', async () => {
    const { query } = fake(shop);
    const c = new SchemaCache(query);
    const info = await c.get({ schema: 'shop', name: 'orders' });
    expect(info.keys).toEqual({ table: { schema: 'shop', name: 'orders' }, primaryKey: ['id'], uniqueKeys: [['email']] });
    expect(info.dataTypes.get('u')).toBe('uuid');
    const pairs = await c.get({ schema: 'shop', name: 'pairs' });
    expect(pairs.keys.primaryKey).toEqual(['a', 'b']);
    expect(pairs.keys.uniqueKeys).toEqual([['b', 'a']]);
  });

  it('refuses a column named __proto__ (a row object would drop its values), naming the table and what to do', async () => {
    const { query } = fake(shop);
    const err = await new SchemaCache(query).get({ schema: 'shop', name: 'proto' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('SOURCE_METADATA');
    expect((err as SourceError).message).toMatch(/shop\.proto has a column named __proto__.*Rename the column, or exclude the table in source\.exclude/);
  });

  it('caches, and reloads after invalidation by DDL that mentions the table', async () => {
    const { query, calls } = fake(shop);
    const c = new SchemaCache(query);
    await c.get({ schema: 'shop', name: 'orders' });
    await c.get({ schema: 'shop', name: 'orders' });
    expect(calls()).toBe(2); // one load = two queries
    c.invalidateMentionedIn('ALTER TABLE `pairs` ADD COLUMN z INT');
    await c.get({ schema: 'shop', name: 'orders' });
    expect(calls()).toBe(2);
    c.invalidateMentionedIn('ALTER TABLE `ORDERS` ADD COLUMN z INT');
    await c.get({ schema: 'shop', name: 'orders' });
    expect(calls()).toBe(4);
  });

  it('names the table and the fixes when a table has no key', async () => {
    const c = new SchemaCache(fake(shop).query);
    const err = await c.get({ schema: 'shop', name: 'nokey' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('SOURCE_TABLE_WITHOUT_KEY');
    expect((err as Error).message).toMatch(/shop\.nokey.*PRIMARY KEY.*source\.keys/s);
  });

  it('uses configured keys for a table without a primary key, and checks the columns exist', async () => {
    const warnings: string[] = [];
    const c = new SchemaCache(fake(shop).query, { 'shop.nokey': ['x'], 'shop.orders': ['email'] }, (m) => warnings.push(m));
    expect((await c.get({ schema: 'shop', name: 'nokey' })).keys.primaryKey).toEqual(['x']);
    expect((await c.get({ schema: 'shop', name: 'orders' })).keys.primaryKey).toEqual(['id']);
    expect(warnings.join()).toMatch(/shop\.orders: source\.keys is ignored/);
    const bad = new SchemaCache(fake(shop).query, { 'shop.nokey': ['nope'] });
    await expect(bad.get({ schema: 'shop', name: 'nokey' })).rejects.toThrow(/does not have: nope/);
  });

  it('does not cache a failed load', async () => {
    const tables: Record<string, FakeTable> = {};
    const c = new SchemaCache(fake(tables).query);
    await expect(c.get({ schema: 'a', name: 'b' })).rejects.toThrow(/does not know it/);
    tables['a.b'] = { columns: [['id', 'int']], indexes: [['PRIMARY', 'id']] };
    await expect(c.get({ schema: 'a', name: 'b' })).resolves.toMatchObject({ keys: { primaryKey: ['id'] } });
  });
});
