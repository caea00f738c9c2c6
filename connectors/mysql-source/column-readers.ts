/**
 * Column readers: each reads one non-NULL value of a row image straight off the packet buffer, at
 * `at.pos`, and advances `at.pos` past it. Two kinds (see zongji-row-reader.ts for how they are used):
 *
 * - Exact readers, used whatever the mode, for what zongji 0.9 decodes wrongly:
 *   - TIME2 (all fsp): zongji's negative values are wrong (temporal.ts);
 *   - GEOMETRY: the stored bytes (4-byte SRID + WKB), which the target takes back as they are;
 *     zongji parses them into objects and loses them.
 * - Fast readers (the fast path, off with BINLOG_SYNC_ZONGJI_FASTPATH=0): byte-for-byte the values
 *   zongji's `readMysqlValue` gives, without its Buffer view per field and iconv for utf8; DECIMAL,
 *   DATE and DATETIME(0) formatted without temporaries. A fast reader returns `SLOW` (consuming
 *   nothing) for any value it does not cover exactly (big BIGINTs, latin1 bytes 0x80–0x9F, other
 *   mysql2 options), and zongji reads it at the same offset.
 */
import { decodeTime2, time2Size } from './temporal.js';

// ---------------------------------------------------------------------------------------------
// zongji's shapes (only what we touch)

export interface ZjColumn {
  name: string;
  charset: string | null | undefined;
  type: number;
  metadata: Record<string, number> | undefined;
}
export interface ZjColumnSchema {
  COLUMN_TYPE: string;
  UNSIGNED?: boolean;
  [key: string]: unknown;
}
/** The mysql2 options zongji decodes with (`zongji.connection.config`). */
export interface ZjConfig {
  dateStrings?: unknown;
  decimalNumbers?: unknown;
}

/** Where the next value starts; the reader moves it past what it read. */
export interface ReadCursor {
  pos: number;
}
/** Returned by a column reader that leaves the value to zongji (nothing consumed). */
export const SLOW: unique symbol = Symbol('slow');
export type ColumnReader = (buf: Buffer, at: ReadCursor, cfg: ZjConfig) => unknown;

const T = {
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  YEAR: 13,
  VARCHAR: 15,
  DATETIME2: 18,
  TIME2: 19,
  NEWDECIMAL: 246,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  STRING: 254,
  GEOMETRY: 255,
} as const;

// ---------------------------------------------------------------------------------------------
// Pure pieces

const ZEROS = '00000000000000000000000000000000';

/** zongji's `zeroPad` (last `size` characters of 32 zeros + the value), without the 32-char temporary. */
export function zeroPad(num: number | string, size: number): string {
  const s = String(num);
  return s.length >= size ? s.slice(s.length - size) : ZEROS.slice(0, size - s.length) + s;
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => zeroPad(i, 2));
function pad2(n: number): string {
  return n >= 0 && n < 100 ? (PAD2[n] as string) : zeroPad(n, 2);
}

/** Whether zongji would decode this column charset as plain UTF-8 (its `decodeTextColumn`). */
export function textKind(charset: string | null | undefined): 'utf8' | 'latin1' | 'other' {
  if (!charset || charset === 'utf8' || charset === 'utf8mb3' || charset === 'utf8mb4') return 'utf8';
  if (charset === 'latin1') return 'latin1';
  return 'other';
}

/**
 * Text of bytes [start, end) for a text kind, or undefined when only iconv gives the exact answer
 * (MySQL latin1 is cp1252: bytes 0x80–0x9F are not ISO-8859-1 there).
 */
export function decodeText(buf: Buffer, start: number, end: number, kind: 'utf8' | 'latin1'): string | undefined {
  if (kind === 'utf8') return buf.toString('utf8', start, end);
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b >= 0x80 && b <= 0x9f) return undefined;
  }
  return buf.toString('latin1', start, end);
}

const COMPRESSED_BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const DIG_PER_INT = 9;
const scratch = Buffer.alloc(64);

/** Byte size of a DECIMAL(precision, scale) in a row image. */
export function decimalSize(precision: number, scale: number): number {
  const integral = precision - scale;
  const uncompIntegral = Math.floor(integral / DIG_PER_INT);
  const uncompFractional = Math.floor(scale / DIG_PER_INT);
  const compIntegral = integral - uncompIntegral * DIG_PER_INT;
  const compFractional = scale - uncompFractional * DIG_PER_INT;
  return (
    uncompIntegral * 4 +
    (COMPRESSED_BYTES[compIntegral] as number) +
    uncompFractional * 4 +
    (COMPRESSED_BYTES[compFractional] as number)
  );
}

function readIntBE(b: Buffer, offset: number, length: number): number {
  switch (length) {
    case 1:
      return b.readInt8(offset);
    case 2:
      return b.readInt16BE(offset);
    case 3:
      return (b.readInt8(offset) << 16) + b.readUInt16BE(offset + 1);
    default:
      return b.readInt32BE(offset);
  }
}

function stripLeadingZeros(s: string): string {
  // Same as s.replace(/^0+(?=\d)/, '')
  let k = 0;
  while (k < s.length && s.charCodeAt(k) === 48) k++;
  if (k === 0) return s;
  const c = s.charCodeAt(k);
  const keep = c >= 48 && c <= 57 ? 0 : 1;
  return s.slice(k - keep);
}

/**
 * The text of a binary DECIMAL(precision, scale) at `offset`, exactly as zongji's `parseNewDecimal`
 * (without its Buffer copy). Undefined when the bytes are not all there (zongji then decides).
 */
export function decodeDecimal(buf: Buffer, offset: number, precision: number, scale: number): string | undefined {
  const integral = precision - scale;
  const uncompIntegral = Math.floor(integral / DIG_PER_INT);
  const uncompFractional = Math.floor(scale / DIG_PER_INT);
  const compIntegral = integral - uncompIntegral * DIG_PER_INT;
  const compFractional = scale - uncompFractional * DIG_PER_INT;
  const size = decimalSize(precision, scale);
  if (size <= 0 || size > scratch.length || offset + size > buf.length) return undefined;
  const b = scratch;
  for (let i = 0; i < size; i++) b[i] = buf[offset + i] as number;
  const isPositive = ((b[0] as number) & 0x80) === 128;
  b[0] = (b[0] as number) ^ 0x80;
  const mask = isPositive ? 0 : -1;
  let pos = 0;
  let intDigits = '';
  const compIntegralSize = COMPRESSED_BYTES[compIntegral] as number;
  if (compIntegralSize > 0) {
    intDigits += (readIntBE(b, 0, compIntegralSize) ^ mask).toString(10);
    pos += compIntegralSize;
  }
  for (let i = 0; i < uncompIntegral; i++) {
    intDigits += zeroPad((b.readInt32BE(pos) ^ mask).toString(10), 9);
    pos += 4;
  }
  intDigits = stripLeadingZeros(intDigits);
  if (intDigits === '') intDigits = '0';
  let fractionDigits = '';
  for (let k = 0; k < uncompFractional; k++) {
    fractionDigits += zeroPad((b.readInt32BE(pos) ^ mask).toString(10), 9);
    pos += 4;
  }
  const compFractionalSize = COMPRESSED_BYTES[compFractional] as number;
  if (compFractionalSize > 0) {
    fractionDigits += zeroPad((readIntBE(b, pos, compFractionalSize) ^ mask).toString(10), compFractional);
  }
  let str = (isPositive ? '' : '-') + intDigits;
  if (scale > 0) str += '.' + fractionDigits;
  return str;
}

function sliceBits(input: number, start: number, end: number): number {
  const match = ((1 << end) - 1) ^ ((1 << start) - 1);
  return (input & match) >> start;
}

/** DATETIME(0) (DATETIME2 layout, 5 bytes) as zongji formats it with `dateStrings: true`. */
export function decodeDatetime2(buf: Buffer, offset: number): string {
  const rawHigh = buf.readInt32BE(offset);
  const rawLow = buf.readInt32BE(offset + 1);
  const yearMonth = sliceBits(rawHigh, 14, 31);
  return (
    zeroPad(Math.floor(yearMonth / 13), 4) +
    '-' +
    pad2(yearMonth % 13) +
    '-' +
    pad2(sliceBits(rawLow, 17, 22)) +
    ' ' +
    pad2(sliceBits(rawLow, 12, 17)) +
    ':' +
    pad2(sliceBits(rawLow, 6, 12)) +
    ':' +
    pad2(sliceBits(rawLow, 0, 6))
  );
}

/** DATE (3 bytes) as zongji formats it with `dateStrings: true`. */
export function decodeDate(buf: Buffer, offset: number): string {
  const raw = buf.readUIntLE(offset, 3);
  return zeroPad(sliceBits(raw, 9, 24), 4) + '-' + pad2(sliceBits(raw, 5, 9)) + '-' + pad2(sliceBits(raw, 0, 5));
}

// ---------------------------------------------------------------------------------------------
// Reader builders

function intReader(type: number, unsigned: boolean): ColumnReader | null {
  switch (type) {
    case T.TINY:
      return unsigned
        ? (buf, at) => (at.pos + 1 > buf.length ? SLOW : buf[at.pos++])
        : (buf, at) => (at.pos + 1 > buf.length ? SLOW : buf.readInt8(at.pos++));
    case T.SHORT:
      return (buf, at) => {
        const p = at.pos;
        if (p + 2 > buf.length) return SLOW;
        at.pos = p + 2;
        return unsigned ? buf.readUInt16LE(p) : buf.readInt16LE(p);
      };
    case T.INT24:
      return (buf, at) => {
        const p = at.pos;
        if (p + 3 > buf.length) return SLOW;
        at.pos = p + 3;
        return unsigned ? buf.readUIntLE(p, 3) : buf.readIntLE(p, 3);
      };
    case T.LONG:
      return (buf, at) => {
        const p = at.pos;
        if (p + 4 > buf.length) return SLOW;
        at.pos = p + 4;
        return unsigned ? buf.readUInt32LE(p) : buf.readInt32LE(p);
      };
    case T.LONGLONG:
      // Below 2^53 zongji returns the plain Number whatever the signedness; the rest is its own.
      return (buf, at) => {
        const p = at.pos;
        if (p + 8 > buf.length) return SLOW;
        const high = buf.readUInt32LE(p + 4);
        if (high >>> 21) return SLOW;
        at.pos = p + 8;
        return high * 0x100000000 + buf.readUInt32LE(p);
      };
  }
  return null;
}

function textReader(prefixSize: number, kind: 'utf8' | 'latin1'): ColumnReader {
  return (buf, at) => {
    const p = at.pos;
    if (p + prefixSize > buf.length) return SLOW;
    const size = prefixSize === 1 ? (buf[p] as number) : buf.readUIntLE(p, prefixSize);
    const start = p + prefixSize;
    const end = start + size;
    if (end > buf.length) return SLOW;
    const s = decodeText(buf, start, end, kind);
    if (s === undefined) return SLOW;
    at.pos = end;
    return s;
  };
}

/** A length-prefixed value: bytes (a view into the packet, as zongji's) or text of a kind. */
function blobReader(lengthSize: number, kind: 'utf8' | 'latin1' | null): ColumnReader {
  return (buf, at) => {
    const p = at.pos;
    if (p + lengthSize > buf.length) return SLOW;
    const size = buf.readUIntLE(p, lengthSize);
    const start = p + lengthSize;
    const end = start + size;
    if (end > buf.length) return SLOW;
    let v: unknown;
    if (kind === null) v = buf.slice(start, end);
    else {
      v = decodeText(buf, start, end, kind);
      if (v === undefined) return SLOW;
    }
    at.pos = end;
    return v;
  };
}

function lengthSizeOf(md: Record<string, number> | undefined): number | null {
  const n = md ? md['length_size'] : undefined;
  return typeof n === 'number' && n >= 1 && n <= 6 ? n : null;
}

/**
 * The exact reader for a column whose value zongji gets wrong, or null (zongji's value is right).
 * Independent of the mysql2 options: these types have one text.
 */
export function exactReader(column: ZjColumn, _schema: ZjColumnSchema | undefined): ColumnReader | null {
  const md = column.metadata;
  switch (column.type) {
    case T.TIME2: {
      const fsp = md ? md.decimals : undefined;
      if (typeof fsp !== 'number' || fsp < 0 || fsp > 6) return null;
      const size = time2Size(fsp);
      return (buf, at) => {
        const p = at.pos;
        if (p + size > buf.length) return SLOW;
        at.pos = p + size;
        return decodeTime2(buf, p, fsp);
      };
    }
    case T.GEOMETRY: {
      const lengthSize = lengthSizeOf(md);
      return lengthSize === null ? null : blobReader(lengthSize, null);
    }
  }
  return null;
}

/** The fast reader for a column, or null (zongji's readMysqlValue reads it). */
export function fastReader(column: ZjColumn, schema: ZjColumnSchema | undefined): ColumnReader | null {
  if (!schema || typeof schema.COLUMN_TYPE !== 'string') return null;
  const md = column.metadata;
  switch (column.type) {
    case T.TINY:
    case T.SHORT:
    case T.INT24:
    case T.LONG:
    case T.LONGLONG: {
      const unsigned = schema.UNSIGNED !== undefined ? schema.UNSIGNED : schema.COLUMN_TYPE.indexOf('unsigned') !== -1;
      return intReader(column.type, Boolean(unsigned));
    }
    case T.FLOAT:
      return (buf, at) => {
        const p = at.pos;
        if (p + 4 > buf.length) return SLOW;
        at.pos = p + 4;
        return buf.readFloatLE(p);
      };
    case T.DOUBLE:
      return (buf, at) => {
        const p = at.pos;
        if (p + 8 > buf.length) return SLOW;
        at.pos = p + 8;
        return buf.readDoubleLE(p);
      };
    case T.YEAR:
      return (buf, at) => (at.pos + 1 > buf.length ? SLOW : (buf[at.pos++] as number) + 1900);
    case T.NEWDECIMAL: {
      if (!md || typeof md.precision !== 'number' || typeof md.decimals !== 'number') return null;
      const precision = md.precision;
      const scale = md.decimals;
      const size = decimalSize(precision, scale);
      return (buf, at, cfg) => {
        if (cfg.decimalNumbers) return SLOW;
        const s = decodeDecimal(buf, at.pos, precision, scale);
        if (s === undefined) return SLOW;
        at.pos += size;
        return s;
      };
    }
    case T.DATETIME2:
      if (!md || md.decimals !== 0) return null;
      return (buf, at, cfg) => {
        const p = at.pos;
        if (cfg.dateStrings !== true || p + 5 > buf.length) return SLOW;
        at.pos = p + 5;
        return decodeDatetime2(buf, p);
      };
    case T.DATE:
      return (buf, at, cfg) => {
        const p = at.pos;
        if (cfg.dateStrings !== true || p + 3 > buf.length) return SLOW;
        at.pos = p + 3;
        return decodeDate(buf, p);
      };
    case T.VARCHAR:
    case T.STRING: {
      if (!md) return null;
      const def = schema.COLUMN_TYPE;
      const prefix = def.substr(0, 6);
      if (def === 'uuid' || def === 'inet4' || def === 'inet6') return null;
      if (prefix === 'vector' || prefix === 'binary' || prefix === 'varbin') return null;
      const kind = textKind(column.charset);
      if (kind === 'other') return null;
      return textReader((md['max_length'] as number) > 255 ? 2 : 1, kind);
    }
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB: {
      const lengthSize = lengthSizeOf(md);
      if (lengthSize === null) return null;
      if (column.charset === null) return blobReader(lengthSize, null);
      const kind = textKind(column.charset);
      return kind === 'other' ? null : blobReader(lengthSize, kind);
    }
  }
  return null;
}

/** For the tests: runs a column reader at `offset`; `slow` when it leaves the value to zongji. */
export function runColumnReader(
  reader: ColumnReader,
  buf: Buffer,
  offset: number,
  cfg: ZjConfig,
): { slow: true } | { slow: false; value: unknown; next: number } {
  const at = { pos: offset };
  const value = reader(buf, at, cfg);
  if (value === SLOW) return { slow: true };
  return { slow: false, value, next: at.pos };
}
