/**
 * Turns decoded row changes into idempotent mutations. Pure.
 * - insert → upsert(after); delete → delete(before);
 * - update → upsert(after) when before and after are the same target row (equal identity: the key
 *   did not change, or changed to a value its collation calls equal), else delete(before) +
 *   upsert(after): the two keys are different rows as far as ordering goes, each keeps its own order.
 *   In an order group (tables linked by foreign keys) a key change is one `update` instead: a delete
 *   would make the target run ON DELETE rules where the source ran ON UPDATE ones.
 */
import type { ChangeEvent, Mutation, Row, RowIdentity, SqlValue, TableKeys } from './event.js';
import type { BinlogPosition } from './position.js';

function keyValues(keys: TableKeys, row: Row): SqlValue[] {
  const pk = keys.primaryKey;
  if (pk.length === 1) return [row[pk[0]!] ?? null];
  const out: SqlValue[] = [];
  for (let i = 0; i < pk.length; i++) out.push(row[pk[i]!] ?? null);
  return out;
}

const NO_TOKENS: readonly string[] = Object.freeze([]);

/** Unique-index tokens of one or two identities (before and after), deduplicated, NULLs left out. */
export function uniqueTokens(first: RowIdentity, second?: RowIdentity): readonly string[] {
  if (first.unique.length === 0) return NO_TOKENS;
  const out: string[] = [];
  for (const id of second ? [first, second] : [first]) {
    for (const t of id.unique) if (t !== null && !out.includes(t)) out.push(t);
  }
  return out;
}

/** One mutation, built as a literal of one fixed shape (V8 keeps every mutation on one hidden class). */
function mutation(ev: ChangeEvent, op: Mutation['op'], row: Row, id: RowIdentity, tokens: readonly string[], oldKey: readonly SqlValue[] | null = null): Mutation {
  return {
    op,
    table: ev.table,
    keys: ev.keys,
    key: keyValues(ev.keys, row),
    rowId: id.key,
    oldKey,
    row,
    uniqueTokens: tokens,
    txSeq: ev.txSeq,
    timestampMs: ev.timestampMs,
    bytes: ev.bytes,
    txStart: ev.txStart,
    index: ev.index,
  };
}

class MissingIdentityError extends Error {
  override readonly name = 'MissingIdentityError';
}

function required(id: RowIdentity | null, ev: ChangeEvent, image: string): RowIdentity {
  if (id === null) throw new MissingIdentityError(`${ev.op} on ${ev.table.schema}.${ev.table.name} without the identity of its ${image} image (a source bug)`);
  return id;
}

export function toMutations(ev: ChangeEvent): Mutation[] {
  const out: Mutation[] = [];
  appendMutations(ev, out);
  return out;
}

/** `toMutations` into a caller's array (the dispatcher reuses one: no array per change). */
export function appendMutations(ev: ChangeEvent, out: Mutation[]): void {
  switch (ev.op) {
    case 'insert': {
      const id = required(ev.afterId, ev, 'after');
      out.push(mutation(ev, 'upsert', ev.after!, id, uniqueTokens(id)));
      return;
    }
    case 'delete': {
      const id = required(ev.beforeId, ev, 'before');
      out.push(mutation(ev, 'delete', ev.before!, id, uniqueTokens(id)));
      return;
    }
    case 'update': {
      const b = required(ev.beforeId, ev, 'before');
      const a = required(ev.afterId, ev, 'after');
      // No key: the row is found by its whole before-image, so every update is one UPDATE of one row
      // (an upsert would insert a second copy).
      if (ev.keys.fullRow) out.push(mutation(ev, 'update', ev.after!, a, uniqueTokens(b, a), keyValues(ev.keys, ev.before!)));
      else if (a.key === b.key) out.push(mutation(ev, 'upsert', ev.after!, a, uniqueTokens(b, a)));
      // Foreign keys: the target's ON UPDATE rules must see a key change as one update of the row.
      else if (ev.keys.orderGroup !== undefined) out.push(mutation(ev, 'update', ev.after!, a, uniqueTokens(b, a), keyValues(ev.keys, ev.before!)));
      else out.push(mutation(ev, 'delete', ev.before!, b, uniqueTokens(b)), mutation(ev, 'upsert', ev.after!, a, uniqueTokens(a)));
      return;
    }
  }
}

/**
 * A row a snapshot read, as the upsert of the chunk's transaction `txSeq` (see snapshot-window.ts), or
 * a key the target holds that the source does not, as its delete: the same shape as the binlog's,
 * routed by the same key, marked `snapshot`.
 */
export function snapshotMutation(op: 'upsert' | 'delete', keys: TableKeys, row: Row, id: RowIdentity, txSeq: number, at: BinlogPosition, index: number, timestampMs: number, bytes: number): Mutation {
  return {
    op,
    table: keys.table,
    keys,
    key: keyValues(keys, row),
    rowId: id.key,
    oldKey: null,
    row,
    uniqueTokens: uniqueTokens(id),
    txSeq,
    timestampMs,
    bytes,
    txStart: at,
    index,
    snapshot: true,
  };
}
