/**
 * Identity of a row for routing: a string that is equal for equal primary keys of one table, and a
 * 32-bit hash of it. The partitioner and the lane scheduler derive independent indexes from one hash
 * (see `laneHash`), so all lanes of a partition get work.
 */
import type { Mutation, SqlValue, TableRef } from './event.js';
import { tableKey } from './event.js';

function valueToken(v: SqlValue | undefined): string {
  if (v === null || v === undefined) return '\u0002';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return `\u0003${v.toString('hex')}`;
}

/** `db.table` + NUL + key values separated by \u0001 (Buffers as hex, NULL as \u0002). */
export function rowId(table: TableRef, values: readonly (SqlValue | undefined)[]): string {
  let s = tableKey(table) + '\u0000';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) s += '\u0001';
    s += valueToken(values[i]);
  }
  return s;
}

export function mutationRowId(m: Mutation): string {
  return rowId(m.table, m.key);
}

/** Token of one unique-index value tuple, or null when a column is NULL (NULLs never conflict). */
export function uniqueToken(table: TableRef, index: number, values: readonly (SqlValue | undefined)[]): string | null {
  for (const v of values) if (v === null || v === undefined) return null;
  return `${rowId(table, values)}\u0000u${index}`;
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
