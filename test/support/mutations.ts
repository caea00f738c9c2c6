/** Mutations as the lane scheduler hands them to a sink, for sink tests. */
import type { Mutation, Row, SqlValue, TableKeys } from '../../src/index.js';
import { mutationRowId } from '../../src/index.js';

export function upsert(keys: TableKeys, row: Row): Mutation {
  const key = keys.primaryKey.map((c) => row[c] ?? null);
  return { op: 'upsert', table: keys.table, keys, key, rowId: mutationRowId({ table: keys.table, key }), row, uniqueTokens: [], txSeq: 1, timestampMs: 0, bytes: 100, oldKey: null, txStart: { file: 'mysql-bin.000001', pos: 4 }, index: 0 };
}

export function del(keys: TableKeys, key: SqlValue[]): Mutation {
  const row: Record<string, SqlValue> = {};
  keys.primaryKey.forEach((c, i) => (row[c] = key[i] ?? null));
  return { op: 'delete', table: keys.table, keys, key, rowId: mutationRowId({ table: keys.table, key }), row, uniqueTokens: [], txSeq: 1, timestampMs: 0, bytes: 100, oldKey: null, txStart: { file: 'mysql-bin.000001', pos: 4 }, index: 0 };
}
