/**
 * The statements `verify` runs, built as text (pure): chunk boundaries by keyset pagination, a chunk's
 * checksum computed by the server (`COUNT(*)` and the `BIT_XOR` of a 64-bit slice of each row's MD5, as
 * pt-table-checksum does), a chunk's or a list of keys' rows as (key, match form, row hash), for
 * narrowing a chunk that differs down to its keys.
 *
 * A row's text joins every compared column's lossless text (`column-text.ts`), each marked `v` (a
 * value) or written `n` (NULL), with `#` between them: no column text contains `#`, so equal texts mean
 * equal rows, and NULL differs from ''. Values longer than LONG_VALUE_BYTES go in as the MD5 of their
 * bytes instead of their hex: a row's text must stay below `max_allowed_packet`, past which the server
 * returns NULL for it.
 */
import { quoteIdent } from '../preflight/sql.js';
import { columnText } from './column-text.js';
import { keyLiteral, keyMatchExpr, keyValueExpr, type KeyColumn, type KeyTuple } from './key-columns.js';

export interface ComparedColumn {
  readonly name: string;
  readonly dataType: string;
}

export interface ChecksumTable {
  readonly db: string;
  readonly table: string;
  /** The key, in key order (the primary key, or `source.keys`). */
  readonly key: readonly KeyColumn[];
}

/** A key range: keys after `lo` (null: from the first) up to and including `hi` (null: to the last). */
export interface KeyRange {
  readonly lo: KeyTuple | null;
  readonly hi: KeyTuple | null;
}

/** Longer values are hashed into the row text rather than written out (see the module comment). */
export const LONG_VALUE_BYTES = 4096;

export function tableRef(t: { db: string; table: string }): string {
  return `${quoteIdent(t.db)}.${quoteIdent(t.table)}`;
}

/** One column's part of a row's text: `n` (NULL), `v` and its lossless text, or `m` and the MD5 of a long value. */
export function columnPartExpr(col: ComparedColumn): string {
  const c = quoteIdent(col.name);
  const text = columnText(col.name, col.dataType);
  const value = text.kind === 'hex' ? `IF(LENGTH(${c}) > ${LONG_VALUE_BYTES}, CONCAT('m', MD5(${c})), CONCAT('v', ${text.expr}))` : `CONCAT('v', ${text.expr})`;
  return `IF(${c} IS NULL, 'n', ${value})`;
}

/** The text of a row: lossless, NULL-safe, the same on every server for equal data. */
export function rowTextExpr(columns: readonly ComparedColumn[]): string {
  if (columns.length === 0) throw new TypeError('rowTextExpr: no columns');
  return `CONCAT(${columns.map(columnPartExpr).join(", '#', ")})`;
}

/**
 * A row's MD5 (32 hex digits). Should the text still exceed `max_allowed_packet` (hundreds of long
 * columns), the MD5 of every column's MD5 stands in, so that no row ever hashes to NULL (which
 * `BIT_XOR` would skip without a word).
 */
export function rowHashExpr(columns: readonly ComparedColumn[]): string {
  const digests = columns.map((col) => {
    const c = quoteIdent(col.name);
    const text = columnText(col.name, col.dataType);
    return `IF(${c} IS NULL, 'n', MD5(${text.kind === 'hex' ? c : text.expr}))`;
  });
  return `COALESCE(MD5(${rowTextExpr(columns)}), MD5(CONCAT_WS('#', ${digests.join(', ')})))`;
}

/**
 * Keys after `values` in key order (`after`) or up to and including them (`upTo`). Written out
 * column by column rather than as a row comparison `(a, b) > (x, y)`, which means the same but which
 * MariaDB 10.11 evaluates by scanning the whole index; the leading `a >= x` lets MySQL use a range too.
 */
function keyBound(key: readonly KeyColumn[], values: KeyTuple, direction: 'after' | 'upTo'): string {
  if (values.length !== key.length) throw new TypeError(`keyBound: ${values.length} values for a ${key.length}-column key`);
  const strict = direction === 'after' ? '>' : '<';
  const last = direction === 'after' ? '>' : '<=';
  const col = (i: number): string => quoteIdent(key[i]!.name);
  const lit = (i: number): string => keyLiteral(key[i]!, values[i] ?? null);
  if (key.length === 1) return `${col(0)} ${last} ${lit(0)}`;
  const terms = key.map((_, i) => {
    const equal = key.slice(0, i).map((__, j) => `${col(j)} = ${lit(j)}`);
    return `(${[...equal, `${col(i)} ${i === key.length - 1 ? last : strict} ${lit(i)}`].join(' AND ')})`;
  });
  const lead = `${col(0)} ${direction === 'after' ? '>=' : '<='} ${lit(0)}`;
  return `(${lead} AND (${terms.join(' OR ')}))`;
}

export const keyOrder = (t: ChecksumTable): string => t.key.map((c) => quoteIdent(c.name)).join(', ');

/** The WHERE condition of a range ('' for the whole table). */
export function rangeCondition(key: readonly KeyColumn[], range: KeyRange): string {
  const parts = [...(range.lo ? [keyBound(key, range.lo, 'after')] : []), ...(range.hi ? [keyBound(key, range.hi, 'upTo')] : [])];
  return parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`;
}

/** The key that ends a chunk of `chunkSize` rows after `lo`; no row: the rest fits in one chunk. */
export function boundarySql(t: ChecksumTable, lo: KeyTuple | null, chunkSize: number): string {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new TypeError(`boundarySql: chunk size ${chunkSize}`);
  const values = t.key.map(keyValueExpr).join(', ');
  return `SELECT ${values} FROM ${tableRef(t)}${rangeCondition(t.key, { lo, hi: null })} ORDER BY ${keyOrder(t)} LIMIT 1 OFFSET ${chunkSize - 1}`;
}

/** One row: the row count and the XOR of the rows' 64-bit hash slices (decimal text). */
export function chunkChecksumSql(t: ChecksumTable, columns: readonly ComparedColumn[], range: KeyRange): string {
  const slice = `CAST(CONV(LEFT(${rowHashExpr(columns)}, 16), 16, 10) AS UNSIGNED)`;
  return `SELECT COUNT(*), CAST(BIT_XOR(${slice}) AS CHAR) FROM ${tableRef(t)}${rangeCondition(t.key, range)}`;
}

/** The select list of keyed rows: each key column's value (and match form, for strings), then the row hash. */
function keyedRowsSelect(t: ChecksumTable, columns: readonly ComparedColumn[]): string {
  const keyParts = t.key.flatMap((c) => (c.kind === 'string' ? [keyValueExpr(c), keyMatchExpr(c)] : [keyValueExpr(c)]));
  return `${keyParts.join(', ')}, ${rowHashExpr(columns)}`;
}

/** Every row of a range as (key, match form, hash), in key order: see `readKeyedRow`. */
export function rangeRowsSql(t: ChecksumTable, columns: readonly ComparedColumn[], range: KeyRange): string {
  return `SELECT ${keyedRowsSelect(t, columns)} FROM ${tableRef(t)}${rangeCondition(t.key, range)} ORDER BY ${keyOrder(t)}`;
}

/** The rows of the given keys, compared as the server compares keys (a `_ci` key finds its other case). */
export function keyRowsSql(t: ChecksumTable, columns: readonly ComparedColumn[], keys: readonly KeyTuple[]): string {
  return `SELECT ${keyedRowsSelect(t, columns)} FROM ${tableRef(t)} WHERE ${keysCondition(t.key, keys)}`;
}

/** The condition that selects exactly the given keys, as the server compares keys (also for repairs). */
export function keysCondition(key: readonly KeyColumn[], keys: readonly KeyTuple[]): string {
  if (keys.length === 0) throw new TypeError('keysCondition: no keys');
  if (key.length === 1) {
    const col = key[0]!;
    return `${quoteIdent(col.name)} IN (${keys.map((k) => keyLiteral(col, k[0] ?? null)).join(', ')})`;
  }
  // Not a row IN: MariaDB compares row-IN values without converting their character sets.
  return keys.map((k) => `(${key.map((c, i) => `${quoteIdent(c.name)} = ${keyLiteral(c, k[i] ?? null)}`).join(' AND ')})`).join(' OR ');
}

export interface KeyedRow {
  readonly key: KeyTuple;
  /** The key as the server compares it: equal for rows the server takes for one row. */
  readonly match: string;
  /** The row's MD5. */
  readonly hash: string;
}

const matchPart = (v: unknown): string => (v === null || v === undefined ? 'n' : `v${String(v)}`);

/** Reads a row of `rangeRowsSql`/`keyRowsSql` (selected as an array). */
export function readKeyedRow(key: readonly KeyColumn[], row: readonly unknown[]): KeyedRow {
  const values: (string | null)[] = [];
  const match: string[] = [];
  let i = 0;
  for (const c of key) {
    const v = row[i++];
    values.push(v === null || v === undefined ? null : String(v));
    match.push(matchPart(c.kind === 'string' ? row[i++] : v));
  }
  return { key: values, match: match.join('#'), hash: String(row[i]) };
}
