/**
 * Key columns as `verify` reads, compares and writes them back into SQL. A key value travels as exact
 * text chosen by the server (`KeyValue`): HEX of the bytes for strings and binary strings, the server's
 * own text for numbers and temporals. It goes back into SQL only as an exact literal
 * (`_utf8mb4 X'…' COLLATE …`, `X'…'`, digits, a quoted temporal), never as text re-encoded by Node.
 * Rows are matched across servers by a key's comparison form (`keyMatchExpr`): what the server's
 * collation compares for strings, the exact value for everything else.
 */
import { BinlogSyncError } from '../core/errors.js';
import { quoteIdent } from '../preflight/sql.js';

/**
 * - `number`: integers, DECIMAL, FLOAT/DOUBLE, YEAR, BIT, and ENUM/SET by their index (as they sort);
 * - `temporal`: DATE, TIME, DATETIME, TIMESTAMP (text in the '+00:00' session);
 * - `string`: character strings, compared by their collation;
 * - `binary`: binary strings, compared byte for byte;
 * - `other`: types without a character set that compare by their own rules (UUID, INET4/6): their text.
 */
export type KeyKind = 'number' | 'temporal' | 'string' | 'binary' | 'other';

export interface KeyColumn {
  readonly name: string;
  readonly dataType: string;
  readonly kind: KeyKind;
  /** `string` only. */
  readonly charset: string | null;
  readonly collation: string | null;
  /** `string` only: trailing spaces do not count (PAD SPACE collations). */
  readonly padSpace: boolean;
  /** `string` only: the column's length in characters (PAD SPACE values are compared padded to it). */
  readonly maxChars: number | null;
}

/** One key column's value, exact (see the module comment); null for SQL NULL. */
export type KeyValue = string | null;
export type KeyTuple = readonly KeyValue[];

export class KeyValueError extends BinlogSyncError {
  override readonly name = 'KeyValueError';
  constructor(message: string) {
    super('VERIFY', message);
  }
}

const NAME = /^[A-Za-z0-9_]+$/;
const HEX = /^(?:[0-9A-Fa-f]{2})*$/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/;
const TEMPORAL = /^-?[0-9:. -]+$/;

const NUMBER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real', 'year', 'bit', 'enum', 'set']);
const TEMPORAL_TYPES = new Set(['date', 'time', 'datetime', 'timestamp']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

/** A key column from information_schema.COLUMNS, `padSpace` from the server (see `padSpaceSql`). */
export function keyColumn(c: { name: string; dataType: string; charset: string | null; collation: string | null; maxChars: number | null; padSpace: boolean }): KeyColumn {
  const dataType = c.dataType.toLowerCase();
  const kind: KeyKind = NUMBER_TYPES.has(dataType)
    ? 'number'
    : TEMPORAL_TYPES.has(dataType)
      ? 'temporal'
      : BINARY_TYPES.has(dataType)
        ? 'binary'
        : c.charset !== null && c.collation !== null
          ? 'string'
          : 'other';
  if (kind === 'string' && (!NAME.test(c.charset ?? '') || !NAME.test(c.collation ?? ''))) {
    throw new KeyValueError(`key column ${c.name}: unexpected character set ${JSON.stringify(c.charset)} / collation ${JSON.stringify(c.collation)}`);
  }
  return {
    name: c.name,
    dataType,
    kind,
    charset: kind === 'string' ? c.charset : null,
    collation: kind === 'string' ? c.collation : null,
    padSpace: kind === 'string' && c.padSpace,
    maxChars: kind === 'string' ? c.maxChars : null,
  };
}

/** The SQL that asks whether a collation is PAD SPACE (one row, 1 or 0). */
export function padSpaceSql(charset: string, collation: string): string {
  if (!NAME.test(charset) || !NAME.test(collation)) throw new KeyValueError(`unexpected collation ${JSON.stringify(collation)} of ${JSON.stringify(charset)}`);
  const lit = (s: string): string => `CONVERT(${s} USING ${charset}) COLLATE ${collation}`;
  return `SELECT ${lit("'a'")} = ${lit("'a '")}`;
}

/** The exact value of a key column, as `KeyValue` text. */
export function keyValueExpr(col: KeyColumn): string {
  const c = quoteIdent(col.name);
  switch (col.kind) {
    case 'number':
      if (col.dataType === 'float') return `CAST(CAST(${c} AS DOUBLE) AS CHAR)`;
      // ENUM and SET sort (and compare with numbers) by their index; BIT as its number.
      if (col.dataType === 'bit' || col.dataType === 'enum' || col.dataType === 'set') return `CAST(${c} + 0 AS CHAR)`;
      return `CAST(${c} AS CHAR)`;
    case 'temporal':
      return `CAST(${c} AS CHAR)`;
    case 'string':
    case 'binary':
      return `HEX(${c})`;
    case 'other':
      return `HEX(CAST(${c} AS CHAR))`;
  }
}

/**
 * What the server compares when it compares two values of the column: for strings, the collation's
 * weight string (padded to the column's length under PAD SPACE, where 'a' = 'a '), as an MD5 so that
 * long padded weights stay short; otherwise the exact value. Equal forms ⇔ the server's `=` says equal.
 */
export function keyMatchExpr(col: KeyColumn): string {
  if (col.kind !== 'string') return keyValueExpr(col);
  const c = quoteIdent(col.name);
  const pad = col.padSpace && col.maxChars !== null && col.maxChars > 0 ? ` AS CHAR(${col.maxChars})` : '';
  return `MD5(WEIGHT_STRING(${c}${pad}))`;
}

/** An exact SQL literal for a value of the column (compared by the column's collation when a string). */
export function keyLiteral(col: KeyColumn, value: KeyValue): string {
  if (value === null) return 'NULL';
  const bad = (what: string): never => {
    throw new KeyValueError(`key column ${col.name} (${col.dataType}): ${JSON.stringify(value.slice(0, 80))} is not ${what}`);
  };
  switch (col.kind) {
    case 'number':
      return NUMBER.test(value) ? value : bad('a number');
    case 'temporal':
      return TEMPORAL.test(value) ? `'${value}'` : bad('a date or time');
    case 'string':
      return HEX.test(value) ? `_${col.charset} X'${value}' COLLATE ${col.collation}` : bad('hex');
    case 'binary':
      return HEX.test(value) ? `X'${value}'` : bad('hex');
    case 'other':
      // The type's text in utf8mb4: the server converts it to the type (a UUID, an address) to compare.
      return HEX.test(value) ? `_utf8mb4 X'${value}'` : bad('hex');
  }
}
