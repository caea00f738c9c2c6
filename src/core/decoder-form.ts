/**
 * Reading a table's rows with SELECT so that the values arrive in the forms the binlog decoder gives
 * (connectors/mysql-source/row-decoder.ts): the snapshot copies rows this way, so a copied row and a
 * streamed change of it are the same values, and `verify` reads a transformed table's source rows this
 * way, so its row filter and masks see what the pipeline's saw.
 *
 * With `DECODER_FORM_OPTIONS` on the connection and `time_zone = '+00:00'` in its session: TIMESTAMP as
 * UTC text, temporal types as text with their exact fraction digits, BIGINT as a number when safe,
 * DECIMAL as exact text, DOUBLE and FLOAT (widened to DOUBLE) printed with every digit they need by
 * the server (a plain SELECT prints 16 digits, or 6 for FLOAT), JSON as text, GEOMETRY as its stored bytes, INET4/INET6 as their binary form.
 */
import type { ConnectionOptions } from 'mysql2/promise';
import type { Row, SqlValue } from './event.js';
import { quoteIdent } from '../preflight/sql.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** Integer in the number-or-exact-string convention: a number when a safe integer, else the digits. */
export function normalizeInteger(value: number | string | bigint): number | string {
  if (typeof value === 'number') return value;
  const big = typeof value === 'bigint' ? value : BigInt(value);
  return big >= MIN_SAFE && big <= MAX_SAFE ? Number(big) : big.toString();
}

/** mysql2 connection options under which `columnRead`'s expressions give the decoder's forms. */
export const DECODER_FORM_OPTIONS = {
  charset: 'utf8mb4_general_ci',
  dateStrings: true,
  supportBigNumbers: true,
  bigNumberStrings: true,
  jsonStrings: true,
  // GEOMETRY as its stored bytes (SRID + WKB), as the binlog carries it; mysql2 would parse it.
  typeCast: (field, next) => (field.type === 'GEOMETRY' ? field.buffer() : next()),
} as const satisfies ConnectionOptions;

export interface ColumnRead {
  readonly name: string;
  /** The SELECT expression. */
  readonly expr: string;
  /** Turns what mysql2 returned into the decoder's form. */
  readonly fix: ((v: unknown) => SqlValue) | null;
}

/** How a column of this DATA_TYPE is read so that it arrives in the binlog decoder's form. */
export function columnRead(name: string, dataType: string): ColumnRead {
  const c = quoteIdent(name);
  switch (dataType) {
    case 'bigint':
      return { name, expr: c, fix: (v) => (v === null ? null : normalizeInteger(v as string | number)) };
    case 'double':
      // A column's DOUBLE in a result set is printed with at most 16 significant digits, which MariaDB
      // does not round-trip for ~0.6 % of values (96.74028120934963 arrives as …65); CAST AS CHAR prints
      // every digit the value needs.
      return { name, expr: `CAST(${c} AS CHAR)`, fix: exactDouble };
    case 'float':
      // A plain SELECT prints a FLOAT with 6 significant digits; widened to DOUBLE and printed as above,
      // it is the stored float32 exactly.
      return { name, expr: `CAST(CAST(${c} AS DOUBLE) AS CHAR)`, fix: exactDouble };
    case 'inet4':
      return { name, expr: `CAST(${c} AS BINARY(4))`, fix: null };
    case 'inet6':
      return { name, expr: `CAST(${c} AS BINARY(16))`, fix: null };
    default:
      return { name, expr: c, fix: null };
  }
}

/** A DOUBLE printed by CAST AS CHAR, as the number the binlog carries. */
function exactDouble(v: unknown): SqlValue {
  return v === null ? null : Number(v as string);
}

/** A row of `reads` from what mysql2 returned (rowsAsArray), in the decoder's forms. */
export function toRow(reads: readonly ColumnRead[], values: readonly unknown[]): Row {
  const row: Record<string, SqlValue> = {};
  reads.forEach((r, i) => {
    const v = values[i] ?? null;
    row[r.name] = r.fix ? r.fix(v) : (v as SqlValue);
  });
  return row;
}
