/**
 * Identity of a row for routing and folding: a string that is equal exactly when the target would
 * see the same row, and a 32-bit hash of it. The partitioner and the lane scheduler derive independent
 * indexes from one hash (see `laneHash`), so all lanes of a partition get work.
 *
 * Values of columns compared byte for byte (numbers, temporals, binary strings, `_nopad_bin` text)
 * are used as they are. Columns compared by a collation are folded first by a `ColumnFold` the source
 * supplies (it knows the collations and can ask the server); a folded token is marked so it can never
 * equal a raw value.
 */
import type { Mutation, Row, RowIdentity, SqlValue, TableKeys, TableRef } from './event.js';
import { tableKey } from './event.js';

/**
 * The token of one non-NULL value of a column the target does not compare byte for byte (a
 * collation, a prefix index): equal exactly when the target calls the values equal. Tokens of folded
 * values should start with `FOLDED_MARK` so they never equal a raw value's token.
 */
export type ColumnFold = (value: Exclude<SqlValue, null>) => string;

export const FOLDED_MARK = '\u0004';

/** The byte-for-byte token of a value (Buffers as hex, NULL as \u0002). */
export function exactToken(v: SqlValue | undefined): string {
  if (v === null || v === undefined) return '\u0002';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return `\u0003${v.toString('hex')}`;
}

function foldedToken(v: SqlValue | undefined, fold: ColumnFold | null): string {
  if (fold === null || v === null || v === undefined) return exactToken(v);
  return fold(v);
}

/** `db.table` + NUL + key values separated by \u0001 (Buffers as hex, NULL as \u0002), byte for byte. */
export function rowId(table: TableRef, values: readonly (SqlValue | undefined)[]): string {
  let s = tableKey(table) + '\u0000';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) s += '\u0001';
    s += exactToken(values[i]);
  }
  return s;
}

/** Row identity of a mutation built without a source identity (tests, tools): byte for byte. */
export function mutationRowId(m: Pick<Mutation, 'table' | 'key'>): string {
  return rowId(m.table, m.key);
}

/** Token of one unique-index value tuple, or null when a column is NULL (NULLs never conflict). */
export function uniqueToken(table: TableRef, index: number, values: readonly (SqlValue | undefined)[]): string | null {
  for (const v of values) if (v === null || v === undefined) return null;
  return `${rowId(table, values)}\u0000u${index}`;
}

const NO_UNIQUE: readonly (string | null)[] = Object.freeze([]);

/** Where a column is compared: in the primary key or in unique index `i` (prefix lengths may differ). */
export type KeyPlace = 'primary' | number;

/**
 * Computes `RowIdentity`s of one table's row images. Built once per table (and collation set); `fold`
 * says how the target compares a key column in a key (a collation, a prefix), null for byte for byte.
 */
export class RowIdentifier {
  private readonly pkFolds: (ColumnFold | null)[];
  private readonly uniqueFolds: (ColumnFold | null)[][];
  private readonly prefix: string;

  constructor(
    private readonly keys: TableKeys,
    fold: (column: string, place: KeyPlace) => ColumnFold | null = () => null,
  ) {
    this.prefix = tableKey(keys.table) + '\u0000';
    this.pkFolds = keys.primaryKey.map((c) => fold(c, 'primary'));
    this.uniqueFolds = keys.uniqueKeys.map((cols, i) => cols.map((c) => fold(c, i)));
  }

  identify(row: Row): RowIdentity {
    return { key: this.key(row), unique: this.unique(row) };
  }

  /**
   * The identity of `after` in an update from `before` (identity `beforeId`): reuses the key when the
   * raw key values did not change (no fold needed; the common case of an update).
   */
  identifyAfter(after: Row, before: Row, beforeId: RowIdentity): RowIdentity {
    const pk = this.keys.primaryKey;
    let same = true;
    for (let i = 0; i < pk.length && same; i++) same = sameValue(after[pk[i]!] ?? null, before[pk[i]!] ?? null);
    return { key: same ? beforeId.key : this.key(after), unique: this.unique(after) };
  }

  private key(row: Row): string {
    const pk = this.keys.primaryKey;
    let s = this.prefix;
    for (let i = 0; i < pk.length; i++) {
      if (i > 0) s += '\u0001';
      s += foldedToken(row[pk[i]!], this.pkFolds[i]!);
    }
    return s;
  }

  private unique(row: Row): readonly (string | null)[] {
    const uks = this.keys.uniqueKeys;
    if (uks.length === 0) return NO_UNIQUE;
    const out: (string | null)[] = new Array<string | null>(uks.length);
    for (let u = 0; u < uks.length; u++) {
      const cols = uks[u]!;
      const folds = this.uniqueFolds[u]!;
      let s: string | null = this.prefix;
      for (let i = 0; i < cols.length; i++) {
        const v = row[cols[i]!];
        if (v === null || v === undefined) {
          s = null;
          break;
        }
        if (i > 0) s += '\u0001';
        s += foldedToken(v, folds[i]!);
      }
      out[u] = s === null ? null : `${s}\u0000u${u}`;
    }
    return out;
  }
}

const exactIdentifiers = new WeakMap<TableKeys, RowIdentifier>();

/** Byte-for-byte identity of a row image (no collations known): for tests and tools. */
export function exactIdentity(keys: TableKeys, row: Row): RowIdentity {
  let id = exactIdentifiers.get(keys);
  if (!id) exactIdentifiers.set(keys, (id = new RowIdentifier(keys)));
  return id.identify(row);
}

export function sameValue(a: SqlValue, b: SqlValue): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return false;
}

/** FNV-1a over UTF-16 code units: stable across processes and versions (partitions must not move). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A second, independent-looking hash from the first (murmur3's finalizer). With `hash % partitions`
 * and `hash % lanes` alone, a partition would only ever see lanes congruent to its own index.
 */
export function laneHash(h: number): number {
  let x = (h ^ 0x9e3779b9) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
