/**
 * Turns decoded row changes into idempotent mutations. Pure.
 * - insert → upsert(after); delete → delete(before);
 * - update → upsert(after), or, when the primary key changed, delete(before) + upsert(after): the two
 *   keys are different rows as far as ordering goes, each keeps its own order.
 */
import type { ChangeEvent, Mutation, Row, SqlValue, TableKeys } from './event.js';
import { uniqueToken } from './key.js';

function keyValues(keys: TableKeys, row: Row): SqlValue[] {
  const pk = keys.primaryKey;
  if (pk.length === 1) return [row[pk[0]!] ?? null];
  const out: SqlValue[] = [];
  for (let i = 0; i < pk.length; i++) out.push(row[pk[i]!] ?? null);
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
export function uniqueTokens(keys: TableKeys, first: Row, second?: Row): readonly string[] {
  if (keys.uniqueKeys.length === 0) return NO_TOKENS;
  const rows = second ? [first, second] : [first];
  const out = new Set<string>();
  for (const row of rows) {
    keys.uniqueKeys.forEach((cols, i) => {
      const t = uniqueToken(keys.table, i, cols.map((c) => row[c]));
      if (t !== null) out.add(t);
    });
  }
  return [...out];
}

/** One mutation, built as a literal of one fixed shape (V8 keeps every mutation on one hidden class). */
function mutation(ev: ChangeEvent, op: Mutation['op'], key: readonly SqlValue[], row: Row, tokens: readonly string[]): Mutation {
  return { op, table: ev.table, keys: ev.keys, key, row, uniqueTokens: tokens, txSeq: ev.txSeq, timestampMs: ev.timestampMs, bytes: ev.bytes };
}

export function toMutations(ev: ChangeEvent): Mutation[] {
  const out: Mutation[] = [];
  appendMutations(ev, out);
  return out;
}

/** `toMutations` into a caller's array (the dispatcher reuses one: no array per change). */
export function appendMutations(ev: ChangeEvent, out: Mutation[]): void {
  const keys = ev.keys;
  switch (ev.op) {
    case 'insert': {
      const after = ev.after!;
      out.push(mutation(ev, 'upsert', keyValues(keys, after), after, uniqueTokens(keys, after)));
      return;
    }
    case 'delete': {
      const before = ev.before!;
      out.push(mutation(ev, 'delete', keyValues(keys, before), before, uniqueTokens(keys, before)));
      return;
    }
    case 'update': {
      const before = ev.before!;
      const after = ev.after!;
      const newKey = keyValues(keys, after);
      const oldKey = keyValues(keys, before);
      if (sameKey(oldKey, newKey)) out.push(mutation(ev, 'upsert', newKey, after, uniqueTokens(keys, before, after)));
      else out.push(mutation(ev, 'delete', oldKey, before, uniqueTokens(keys, before)), mutation(ev, 'upsert', newKey, after, uniqueTokens(keys, after)));
      return;
    }
  }
}
