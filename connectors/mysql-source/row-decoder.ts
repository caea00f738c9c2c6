/**
 * Turns the values zongji decodes into `SqlValue`s (see src/core/event.ts), independent of the
 * process time zone. zongji is run with `dateStrings: true, timezone: 'Z', jsonStrings: true` (see
 * `zongjiConnectionOptions`), so most values already have their final form and are passed through
 * untouched: a per-table decoder only visits the columns that need a fix-up, and rewrites them in
 * place in the row object zongji allocated (no per-row allocation here).
 *
 * What zongji 0.9.0 returns on MariaDB 10.11 with binlog_row_metadata=FULL (measured, see
 * test/integration/mysql-source-types.test.ts), and what we do with it:
 * - TINYINT…INT signed/unsigned: number. BIGINT: number within ±(2^53−1), else an exact decimal
 *   string (also −2^53 itself). Passed through; a string inside the safe range becomes a number.
 * - DECIMAL: exact string with the column's scale ('-99999999.99', '0.000…001'). Passed through.
 * - FLOAT: the float32 widened to a double (FLOAT 0.1 → 0.10000000149011612); exact, passed
 *   through. (A SELECT prints FLOAT with 6 significant digits, so it is the lossy one.) DOUBLE: number.
 * - DATE/DATETIME(n)/TIMESTAMP(n): 'YYYY-MM-DD[ HH:MM:SS[.f…]]' with exactly n fraction digits, zero
 *   dates kept ('0000-00-00', '2020-00-00 …'); TIMESTAMP formatted in UTC because of timezone 'Z'
 *   (without it: in the process zone; without dateStrings: Date objects cut to ms and shifted).
 *   A zero TIMESTAMP is '0000-00-00 00:00:00[.000…]'. Checked to be strings with n digits.
 * - TIME(n): '[-]HH[H]:MM:SS[.f…]' with exactly n fraction digits, up to ±838:59:59.999999, as the
 *   server's text. SURPRISE: zongji's own TIME2 reader gets negative values wrong ('-00:15:00' comes
 *   out as '-00:14:64'), so our row reader decodes TIME2 itself in every mode (temporal.ts,
 *   zongji-row-reader.ts). Checked to have n digits.
 * - YEAR: SURPRISE: the zero year 0000 comes back as 1900 (zongji adds 1900 to the stored byte 0).
 *   1900 is not a valid YEAR value (1901–2155 and 0), so 1900 → 0.
 * - ENUM/SET: the member text; SET '' for the empty set. SURPRISE: the invalid-enum value (index 0,
 *   '' in a SELECT, written in non-strict mode) comes back as undefined; → ''.
 * - BIT(n): big-endian Buffer of ceil(n/8) bytes. BLOB/BINARY/VARBINARY: Buffer (BINARY re-padded to
 *   its width). Note these are views into the packet buffer zongji read, not copies.
 * - JSON: MariaDB's JSON is LONGTEXT, so the text as written; on MySQL `jsonStrings` gives text.
 * - UUID (MariaDB ≥ 10.7): SURPRISE: with FULL metadata zongji sees it as binary(16) and returns a
 *   16-byte Buffer (it formats only when it read COLUMN_TYPE 'uuid' from INFORMATION_SCHEMA). The
 *   binlog carries the bytes in text order, so the canonical string is the hex in 8-4-4-4-12 groups.
 *   We learn which columns are UUIDs from INFORMATION_SCHEMA (the schema cache).
 * - CHAR/VARCHAR/TEXT: string decoded in the column's charset (latin1 as cp1252, like the server).
 * - GEOMETRY: the stored bytes (4-byte SRID + WKB). zongji itself parses them into objects and loses
 *   the bytes; our row reader reads them raw in every mode (fixGeometry only checks).
 */
import { SourceError, normalizeInteger } from '../../src/index.js';
import type { Row, SqlValue, TableRef } from '../../src/index.js';

/** MySQL column type codes as they appear in table map events (after zongji resolved ENUM/SET). */
export const TypeCode = Object.freeze({
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  GEOMETRY: 255,
});

/** What the decoder needs to know about one column. */
export interface ColumnSpec {
  readonly name: string;
  /** zongji's `columns[i].type` (the binlog type code). */
  readonly typeCode: number;
  /** zongji's `columnSchemas[i].COLUMN_TYPE` (approximate when synthesised from FULL metadata). */
  readonly columnType: string;
  /** INFORMATION_SCHEMA.COLUMNS.DATA_TYPE when known (tells a UUID from a BINARY(16)). */
  readonly dataType?: string | undefined;
  /** Fractional second digits of temporal columns (zongji's metadata.decimals). */
  readonly fsp?: number | undefined;
  /** A generated column: left out of the row image (the target computes it; it refuses a value). */
  readonly generated?: boolean | undefined;
}

export class DecodeError extends SourceError {
  constructor(table: TableRef, column: string, message: string) {
    super('SOURCE_DECODE', `${table.schema}.${table.name}.${column}: ${message}`, {
      details: { table: `${table.schema}.${table.name}`, column },
    });
  }
}

/** Integer in the number-or-exact-string convention (shared with the snapshot's SELECTs). */
export { normalizeInteger };

/** zongji adds 1900 to YEAR's stored byte, so the zero year (byte 0) arrives as 1900. */
export function normalizeYear(value: number): number {
  return value === 1900 ? 0 : value;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Canonical lower-case 8-4-4-4-12 text of a 16-byte UUID. */
export function formatUuid(bytes: Buffer): string {
  if (bytes.length !== 16) throw new RangeError(`a UUID has 16 bytes, got ${bytes.length}`);
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[bytes[i]!]!;
  }
  return s;
}

/**
 * Makes the fraction of a temporal string exactly `fsp` digits (padding with zeros or cutting),
 * e.g. for a zongji build that drops trailing zeros. Returns the input when it is already right.
 */
export function withFraction(text: string, fsp: number): string {
  const dot = text.indexOf('.');
  const digits = dot < 0 ? 0 : text.length - dot - 1;
  if (digits === fsp) return text;
  const whole = dot < 0 ? text : text.slice(0, dot);
  if (fsp === 0) return whole;
  const frac = dot < 0 ? '' : text.slice(dot + 1);
  return `${whole}.${(frac + '000000').slice(0, fsp)}`;
}

type FixUp = (value: unknown, spec: ColumnSpec) => SqlValue;

function isTemporal(code: number): boolean {
  return (
    code === TypeCode.DATE ||
    code === TypeCode.NEWDATE ||
    code === TypeCode.TIME ||
    code === TypeCode.TIME2 ||
    code === TypeCode.DATETIME ||
    code === TypeCode.DATETIME2 ||
    code === TypeCode.TIMESTAMP ||
    code === TypeCode.TIMESTAMP2
  );
}

class FixUpFailed extends Error {}

const fixInteger: FixUp = (v) => {
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint') return normalizeInteger(v);
  throw new FixUpFailed(`expected an integer, zongji returned ${describe(v)}`);
};

const fixYear: FixUp = (v) => {
  if (typeof v === 'number') return normalizeYear(v);
  throw new FixUpFailed(`expected a YEAR number, zongji returned ${describe(v)}`);
};

const fixEnum: FixUp = (v) => {
  if (typeof v === 'string') return v;
  if (v === undefined) return ''; // the invalid-member value (index 0), shown as '' by the server
  throw new FixUpFailed(`expected ENUM/SET text, zongji returned ${describe(v)}`);
};

const fixUuid: FixUp = (v) => {
  if (Buffer.isBuffer(v)) return formatUuid(v);
  if (typeof v === 'string') return v; // zongji formats it when it read COLUMN_TYPE 'uuid'
  throw new FixUpFailed(`expected UUID bytes, zongji returned ${describe(v)}`);
};

/**
 * GEOMETRY: the column's stored bytes (4-byte SRID + WKB), which the target takes back as they are.
 * zongji itself parses geometries into objects and loses those bytes; our row reader
 * (zongji-row-reader.ts, column-readers.ts) reads them raw whether the fast path is on or off, so an
 * object here means a row was read without it.
 */
const fixGeometry: FixUp = (v) => {
  if (Buffer.isBuffer(v)) return v;
  throw new FixUpFailed(
    `expected the geometry's bytes, zongji returned ${describe(v)}: the row was not read by our row reader (zongji-row-reader.ts), which reads GEOMETRY as stored`,
  );
};

const fixTemporal: FixUp = (v, spec) => {
  if (typeof v !== 'string') {
    // A Date means zongji ran without dateStrings: microseconds and the zone are already lost.
    throw new FixUpFailed(`expected a temporal string (dateStrings), zongji returned ${describe(v)}`);
  }
  const code = spec.typeCode;
  const fsp = spec.fsp ?? 0;
  if (code === TypeCode.DATE || code === TypeCode.NEWDATE) return v;
  if (code === TypeCode.TIME || code === TypeCode.TIME2) return withFraction(v, fsp);
  return v.length === (fsp > 0 ? 20 + fsp : 19) ? v : withFraction(v, fsp);
};

const fixJson: FixUp = (v) => {
  if (typeof v === 'string') return v;
  throw new FixUpFailed(`expected JSON text (jsonStrings), zongji returned ${describe(v)}`);
};

function describe(v: unknown): string {
  if (v === undefined) return 'undefined (a type zongji cannot decode)';
  if (v instanceof Date) return `a Date (${v.toISOString()})`;
  return `a ${typeof v}${typeof v === 'object' && v ? ` (${Object.prototype.toString.call(v)})` : ''}`;
}

function fixUpFor(spec: ColumnSpec): FixUp | null {
  const code = spec.typeCode;
  const dataType = spec.dataType?.toLowerCase();
  if (dataType === 'uuid') return fixUuid;
  if (code === TypeCode.GEOMETRY) return fixGeometry;
  if (code === TypeCode.LONGLONG) return fixInteger;
  if (code === TypeCode.YEAR) return fixYear;
  if (code === TypeCode.ENUM || code === TypeCode.SET || /^(enum|set)\(/.test(spec.columnType)) return fixEnum;
  if (isTemporal(code)) return fixTemporal;
  if (code === TypeCode.JSON) return fixJson;
  return null;
}

/** Decodes one zongji row image in place. Built once per table (map), used for every row. */
export type RowDecoder = (row: Record<string, unknown>) => Row;

export function compileRowDecoder(table: TableRef, columns: readonly ColumnSpec[]): RowDecoder {
  const names: string[] = [];
  const specs: ColumnSpec[] = [];
  const fixes: FixUp[] = [];
  for (const spec of columns) {
    // Generated columns are removed below, before any check: the target computes them.
    const fix = spec.generated ? undefined : fixUpFor(spec);
    if (fix) {
      names.push(spec.name);
      specs.push(spec);
      fixes.push(fix);
    }
  }
  const n = names.length;
  const generated = columns.filter((c) => c.generated).map((c) => c.name);
  return (row) => {
    for (const name of generated) delete row[name];
    for (let i = 0; i < n; i++) {
      const name = names[i]!;
      const v = row[name];
      if (v === null) continue;
      try {
        row[name] = fixes[i]!(v, specs[i]!);
      } catch (err) {
        if (err instanceof FixUpFailed) throw new DecodeError(table, name, err.message);
        throw err;
      }
    }
    return row as Row;
  };
}

/** Fractional digits from a column type such as 'datetime(6)' (0 when none). */
export function fspOf(columnType: string): number {
  const m = /^(?:time|datetime|timestamp)\((\d)\)/.exec(columnType);
  return m ? Number(m[1]) : 0;
}
