import type { ChangeEvent, Mutation, Row, TableKeys, TableRef } from '../../../src/core/event.js';
import { exactIdentity, mutationRowId } from '../../../src/core/key.js';

export const USERS: TableRef = { schema: 'shop', name: 'users' };
export const ORDERS: TableRef = { schema: 'shop', name: 'orders' };
export const usersKeys: TableKeys = { table: USERS, primaryKey: ['id'], uniqueKeys: [['email']] };
export const ordersKeys: TableKeys = { table: ORDERS, primaryKey: ['id'], uniqueKeys: [] };

const pos = { file: 'mysql-bin.000001', pos: 4 };

export function change(op: ChangeEvent['op'], keys: TableKeys, before: Row | null, after: Row | null, txSeq = 1): ChangeEvent {
  return {
    kind: 'change',
    op,
    table: keys.table,
    keys,
    before,
    after,
    beforeId: before && exactIdentity(keys, before),
    afterId: after && exactIdentity(keys, after),
    txSeq,
    position: pos,
    txStart: pos,
    index: 0,
    timestampMs: 0,
    bytes: 100,
  };
}

export function upsert(keys: TableKeys, row: Row, txSeq = 1, uniqueTokens: string[] = []): Mutation {
  const key = keys.primaryKey.map((c) => row[c] ?? null);
  return { op: 'upsert', table: keys.table, keys, key, rowId: mutationRowId({ table: keys.table, key }), row, uniqueTokens, txSeq, timestampMs: 0, bytes: 100, oldKey: null, txStart: pos, index: 0 };
}
