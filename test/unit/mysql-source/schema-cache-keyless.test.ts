// keyless: full-row in the source's table metadata: every column is the key, the table its own order group.
import { describe, expect, it } from 'vitest';
import { SchemaCache, type MetadataQuery } from '../../../connectors/mysql-source/schema-cache.js';

const query: MetadataQuery = async (sql, params) => {
  const table = `${String(params[0])}.${String(params[1])}`;
  if (!sql.includes('information_schema.COLUMNS')) return table === 'app.keyed' ? [{ indexName: 'PRIMARY', name: 'id' }] : [];
  if (table === 'app.log') return [{ name: 'at', dataType: 'int' }, { name: 'msg', dataType: 'varchar', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }, { name: 'g', dataType: 'int', extra: 'VIRTUAL GENERATED' }];
  return [{ name: 'id', dataType: 'int' }];
};

describe('SchemaCache with keyless: full-row', () => {
  it('keys a table without a primary key by all its stored columns, as its own order group', async () => {
    const c = new SchemaCache(query, {}, () => {}, null, (t) => t === 'app.log');
    const info = await c.get({ schema: 'app', name: 'log' });
    expect(info.keys).toEqual({ table: { schema: 'app', name: 'log' }, primaryKey: ['at', 'msg'], uniqueKeys: [], collatedKey: true, orderGroup: 'keyless:app.log', fullRow: true });
  });

  it('leaves tables with a key alone, and still refuses keyless tables it is not told about', async () => {
    const c = new SchemaCache(query, {}, () => {}, null, (t) => t === 'app.keyed');
    expect((await c.get({ schema: 'app', name: 'keyed' })).keys.fullRow).toBeUndefined();
    await expect(c.get({ schema: 'app', name: 'log' })).rejects.toThrow(/app\.log has no PRIMARY KEY.*keyless: full-row/);
  });
});
