/**
 * Turns decoded row changes into idempotent mutations. Pure.
 * - insert → upsert(after); delete → delete(before);
 * - update → upsert(after), or, when the primary key changed, delete(before) + upsert(after): the two
 *   keys are different rows as far as ordering goes, each keeps its own order.
 */
import type { ChangeEvent, Mutation, Row, SqlValue, TableKeys } from './event.js';
import { uniqueToken } from './key.js';

function keyValues(keys: TableKeys, row: Row): SqlValue[] {
  const out = new Array<SqlValue>(keys.primaryKey.length);
  for (let i = 0; i < keys.primaryKey.length; i++) {
    const v = row[keys.primaryKey[i]!];
    out[i] = v === undefined ? null : v;
  }
  return out;
}

function sameValue(a: SqlValue, b: SqlValue): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return false;
}

function sameKey(a: readonly SqlValue[], b: readonly SqlValue[]): boolean {
  for (let i = 0; i < a.length; i++) if (!sameValue(a[i]!, b[i]!)) return false;
  return true;
}

const NO_TOKENS: readonly string[] = Object.freeze([]);

/** Unique-index value tokens of each given image (before and after), deduplicated. */
export function uniqueTokens(keys: TableKeys, ...rows: (Row | null)[]): readonly string[] {
  if (keys.uniqueKeys.length === 0) return NO_TOKENS;
  const out = new Set<string>();
  for (const row of rows) {
    if (!row) continue;
    keys.uniqueKeys.forEach((cols, i) => {
      const t = uniqueToken(keys.table, i, cols.map((c) => row[c]));
      if (t !== null) out.add(t);
    });
  }
  return [...out];
}

export function toMutations(ev: ChangeEvent): Mutation[] {
  const { keys, table, txSeq, timestampMs } = ev;
  const base = { table, keys, txSeq, timestampMs };
  switch (ev.op) {
    case 'insert': {
      const after = ev.after!;
      return [{ ...base, op: 'upsert', key: keyValues(keys, after), row: after, uniqueTokens: uniqueTokens(keys, after) }];
    }
    case 'delete': {
      const before = ev.before!;
      return [{ ...base, op: 'delete', key: keyValues(keys, before), row: before, uniqueTokens: uniqueTokens(keys, before) }];
    }
    case 'update': {
      const before = ev.before!;
      const after = ev.after!;
      const newKey = keyValues(keys, after);
      const oldKey = keyValues(keys, before);
      if (sameKey(oldKey, newKey)) {
        return [{ ...base, op: 'upsert', key: newKey, row: after, uniqueTokens: uniqueTokens(keys, before, after) }];
      }
      return [
        { ...base, op: 'delete', key: oldKey, row: before, uniqueTokens: uniqueTokens(keys, before) },
        { ...base, op: 'upsert', key: newKey, row: after, uniqueTokens: uniqueTokens(keys, after) },
      ];
    }
  }
}
