/**
 * One side of a table comparison, as `TableVerifier` reads it: a key range's checksum, a range's or a
 * list of keys' rows as (key, match form, hash). `sqlSide` is a table read as it is, every figure
 * computed by its server (`checksum-sql.ts`); `transformed-source.ts` is the source rows of a routed or
 * transformed table passed through the pipeline's row transforms, hashed in Node the same way.
 */
import { boundarySql, chunkChecksumSql, keyRowsSql, rangeRowsSql, readKeyedRow, type ChecksumTable, type ComparedColumn, type KeyRange } from './checksum-sql.js';
import type { KeyTuple } from './key-columns.js';
import { groupRows, type KeyedRows } from './key-match.js';

/** Runs a SELECT on one side; rows as arrays. */
export type SideQuery = (sql: string) => Promise<unknown[][]>;

/** A chunk's row count and the XOR of its rows' 64-bit hash slices (decimal text), as `chunkChecksumSql` gives them. */
export interface Checksum {
  readonly rows: number;
  readonly xor: string;
}

export interface VerifySide {
  checksum(range: KeyRange): Promise<Checksum>;
  rangeRows(range: KeyRange): Promise<KeyedRows>;
  keyRows(keys: readonly KeyTuple[]): Promise<KeyedRows>;
}

/** The side whose keys are paged into chunks (the source). */
export interface ScannedSide extends VerifySide {
  /** The key that ends a chunk of `chunkSize` keys after `lo` (null: from the first); null: the rest is one chunk. */
  boundary(lo: KeyTuple | null, chunkSize: number): Promise<KeyTuple | null>;
}

/** Keys per lookup statement. */
export const LOOKUP_BATCH = 500;

/** Key values as `KeyTuple` text (the server selects them as text; NULL stays null). */
export const keyTupleOf = (row: readonly unknown[]): KeyTuple => row.map((v) => (v === null || v === undefined ? null : String(v)));

/** A table read as it is: every figure computed by its server. */
export function sqlSide(query: SideQuery, table: ChecksumTable, columns: readonly ComparedColumn[]): ScannedSide {
  return {
    async boundary(lo, chunkSize) {
      const rows = await query(boundarySql(table, lo, chunkSize));
      return rows[0] ? keyTupleOf(rows[0]) : null;
    },
    async checksum(range) {
      const row = (await query(chunkChecksumSql(table, columns, range)))[0] ?? [];
      return { rows: Number(row[0] ?? 0), xor: String(row[1] ?? '0') };
    },
    async rangeRows(range) {
      const rows = await query(rangeRowsSql(table, columns, range));
      return groupRows(rows.map((r) => readKeyedRow(table.key, r)));
    },
    async keyRows(keys) {
      const rows: unknown[][] = [];
      for (let i = 0; i < keys.length; i += LOOKUP_BATCH) rows.push(...(await query(keyRowsSql(table, columns, keys.slice(i, i + LOOKUP_BATCH)))));
      return groupRows(rows.map((r) => readKeyedRow(table.key, r)));
    },
  };
}
