/**
 * The rows a routed or transformed table should have on the target, computed from the source's rows
 * (pure): the statements that read them, and each row's key, match form and hash, made the way the
 * target's server makes them for its own rows (`checksum-sql.ts`), so that a chunk's checksum computed
 * here equals the target's `chunkChecksumSql` when the rows are equal.
 *
 * A source row is read as its key (value and match form, by the source's server), the part text of each
 * column that reaches the target unchanged (`columnPartExpr`, by the source's server), and the columns
 * the row filter reads and `mask: hash` hashes in the binlog decoder's forms (`decoder-form.ts`), which
 * is what the pipeline's filter and mask see. A row the filter rejects is not expected on the target; a
 * hashed column's part is the text of the SHA-256 the pipeline writes, as the target column stores it.
 */
import { createHash } from 'node:crypto';
import { columnRead, toRow, type ColumnRead } from '../core/decoder-form.js';
import { BinlogSyncError } from '../core/errors.js';
import { hashValue } from '../core/row-transforms.js';
import { quoteIdent, type TableName } from '../preflight/sql.js';
import { boundarySql, columnPartExpr, rangeCondition, readKeyedRow, tableRef, type KeyedRow } from './checksum-sql.js';
import { columnText } from './column-text.js';
import { keyMatchExpr, keyValueExpr, type KeyColumn, type KeyTuple } from './key-columns.js';
import { displayKey } from './report.js';
import type { ColumnPart, TransformedSource } from './transformed-plan.js';
import type { Checksum } from './verify-side.js';

/** The rows of a source table that `where` (' WHERE …' or '') selects, in key order, as `expectedRow` reads them. */
export function sourceRowsSql(source: TransformedSource, key: readonly KeyColumn[], where: string): string {
  const keyParts = key.flatMap((c) => (c.kind === 'string' ? [keyValueExpr(c), keyMatchExpr(c)] : [keyValueExpr(c)]));
  const copied = source.parts.flatMap((p) => (p.kind === 'copy' ? [columnPartExpr(p.column)] : []));
  const reads = source.reads.map((c) => columnRead(c.name, c.dataType).expr);
  return `SELECT ${[...keyParts, ...copied, ...reads].join(', ')} FROM ${tableRef(source.table)}${where} ORDER BY ${key.map((c) => quoteIdent(c.name)).join(', ')}`;
}

/**
 * The key that ends a chunk of `chunkSize` keys after `lo` over the union of the tables (merged shards),
 * ordered by the source server; one table: `boundarySql`.
 */
export function unionBoundarySql(tables: readonly TableName[], key: readonly KeyColumn[], lo: KeyTuple | null, chunkSize: number): string {
  if (tables.length === 1) return boundarySql({ ...tables[0]!, key }, lo, chunkSize);
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new TypeError(`unionBoundarySql: chunk size ${chunkSize}`);
  const cols = key.map((c) => quoteIdent(c.name)).join(', ');
  const where = rangeCondition(key, { lo, hi: null });
  const each = tables.map((t) => `(SELECT ${cols} FROM ${tableRef(t)}${where} ORDER BY ${cols} LIMIT ${chunkSize})`);
  return `SELECT ${key.map(keyValueExpr).join(', ')} FROM (${each.join(' UNION ALL ')}) u ORDER BY ${cols} LIMIT 1 OFFSET ${chunkSize - 1}`;
}

const cellText = (v: unknown): string | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('latin1') : String(v));

/** The part text of a masked column: what the target's `columnPartExpr` gives for the value the pipeline wrote. */
function maskedPart(part: Exclude<ColumnPart, { kind: 'copy' }>, value: unknown): string {
  if (part.kind === 'null' || value === null || value === undefined) return 'n';
  const digest = hashValue(value as Parameters<typeof hashValue>[0]);
  // 64 ASCII hex digits: never a long value; a string column's text is the HEX of its bytes.
  return columnText(part.target.name, part.target.dataType).kind === 'hex' ? `v${Buffer.from(digest, 'utf8').toString('hex').toUpperCase()}` : `v${digest}`;
}

/** Per source table: its decoder-form reads and how many copied parts precede them (rows are many). */
const layouts = new WeakMap<TransformedSource, { readonly reads: readonly ColumnRead[]; readonly copied: number }>();

function layoutOf(source: TransformedSource): { readonly reads: readonly ColumnRead[]; readonly copied: number } {
  let l = layouts.get(source);
  if (!l) layouts.set(source, (l = { reads: source.reads.map((c) => columnRead(c.name, c.dataType)), copied: source.parts.filter((p) => p.kind === 'copy').length }));
  return l;
}

/** A row of `sourceRowsSql` as the target should hold it, or null when the row filter keeps it off the target. */
export function expectedRow(source: TransformedSource, key: readonly KeyColumn[], row: readonly unknown[]): KeyedRow | null {
  const keyCells = key.reduce((n, c) => n + (c.kind === 'string' ? 2 : 1), 0);
  const { reads, copied } = layoutOf(source);
  const values = toRow(reads, row.slice(keyCells + copied));
  if (source.filter && !source.filter.passes(values)) return null;
  let c = keyCells;
  const parts = source.parts.map((p) => (p.kind === 'copy' ? (cellText(row[c++]) ?? 'n') : maskedPart(p, p.kind === 'hash' ? values[p.column] : null)));
  const hash = createHash('md5').update(parts.join('#'), 'utf8').digest('hex');
  return readKeyedRow(key, [...row.slice(0, keyCells).map(cellText), hash]);
}

/** A chunk's checksum from its rows' hashes, as `chunkChecksumSql` computes it on a server. */
export function checksumOf(rows: readonly KeyedRow[]): Checksum {
  let xor = 0n;
  for (const r of rows) xor ^= BigInt(`0x${r.hash.slice(0, 16)}`);
  return { rows: rows.length, xor: xor.toString() };
}

/** Rows of two tables merged into one target table share a key: there is no expected row to compare with. */
export class MergedKeyCollision extends BinlogSyncError {
  override readonly name = 'MergedKeyCollision';
  constructor(message: string) {
    super('VERIFY', message);
  }
}

/** How many colliding keys a collision report lists. */
const LISTED_COLLISIONS = 5;

/**
 * The expected rows of several source tables merged into one target table. Two of them with one key
 * (as the target compares keys) are one target row, holding whichever change the pipeline applied last:
 * there is no expected content to compare with, so that is reported, naming the tables and keys.
 */
export function mergeExpected(target: string, key: readonly KeyColumn[], bySource: readonly { readonly source: string; readonly rows: readonly KeyedRow[] }[]): KeyedRow[] {
  if (bySource.length === 1) return [...bySource[0]!.rows];
  const owner = new Map<string, string>();
  const collisions: string[] = [];
  const out: KeyedRow[] = [];
  for (const { source, rows } of bySource) {
    for (const r of rows) {
      const first = owner.get(r.match);
      if (first !== undefined && first !== source) {
        collisions.push(`${displayKey(key, r.key)} in ${first} and ${source}`);
        continue;
      }
      owner.set(r.match, source);
      out.push(r);
    }
  }
  if (collisions.length > 0) {
    const shown = collisions.slice(0, LISTED_COLLISIONS).join('; ');
    const more = collisions.length > LISTED_COLLISIONS ? `; … ${collisions.length - LISTED_COLLISIONS} more in this chunk` : '';
    throw new MergedKeyCollision(
      `not compared: the source tables merged into ${target} have rows with the same key that pass the table settings (${shown}${more}). ` +
        'The target holds one row per key, whichever change came last, so verify cannot tell which is expected. Give the merged tables distinct keys (e.g. a shard column in the primary key).',
    );
  }
  return out;
}
