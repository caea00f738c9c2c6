/**
 * Faster row decoding for zongji 0.9, without forking it: a thin layer that replaces a few of its
 * prototype methods with equivalents that give byte-for-byte identical results for the common cases
 * and hand every other case back to zongji's own code.
 *
 * - Rows (`RowsEvent#_fetchOneRow`, `UpdateRows#_fetchOneRow`): a per-table plan of column readers
 *   working on the packet buffer directly (no Buffer view per field, no iconv for utf8, DECIMAL,
 *   DATE and DATETIME formatted without temporaries). Any column type, charset or value the plan does
 *   not cover exactly (big BIGINTs, latin1 text with bytes 0x80–0x9F, fractional temporals, UUID,
 *   INET, JSON, …) is read by zongji's own `readMysqlValue` at the same offset.
 * - Table maps (`TableMap#_readOptionalMetadata`, `#buildColumnSchemas`): the same table map arrives
 *   before every transaction; when its bytes equal the previous one for that table id, the parsed
 *   optional metadata and the column schemas are reused (fresh copies: zongji and we may mutate them).
 * - `Parser#parseUnsignedNumber`: one offset read/write instead of two accessor round trips.
 *
 * Each patch checks that the internals it replaces look as expected and is skipped otherwise (debug
 * log). `BINLOG_SYNC_ZONGJI_FASTPATH=0` disables all of it (zongji decodes as shipped).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ZONGJI_FASTPATH_ENV = 'BINLOG_SYNC_ZONGJI_FASTPATH';

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
export interface ZjTableMapEntry {
  columns: ZjColumn[];
  columnSchemas: ZjColumnSchema[];
}
interface ZjPacket {
  offset: number;
  buffer: Buffer;
}
export interface ZjParser {
  packet: ZjPacket | null;
  _buffer: Buffer;
  _offset: number;
  _offsetValue: number;
  _packetEnd: number;
}
interface ZjConfig {
  dateStrings?: unknown;
  decimalNumbers?: unknown;
}
export interface ZjInstance {
  connection: { config?: ZjConfig } | null;
  useChecksum?: boolean;
}
export type ReadMysqlValue = (
  parser: ZjParser,
  column: ZjColumn,
  schema: ZjColumnSchema,
  tableMap: ZjTableMapEntry,
  zongji: ZjInstance,
) => unknown;

interface RowsEventLike {
  tableMap: Record<number, ZjTableMapEntry | undefined>;
  tableId: number;
  columns_present_bitmap: Buffer;
  columns_present_bitmap2?: Buffer;
  _zongji: ZjInstance;
}
type FetchOneRow = (this: RowsEventLike, parser: ZjParser) => unknown;

interface TableMapLike {
  tableId: number;
  schemaName: string;
  tableName: string;
  columnNames?: unknown;
  signedness?: unknown;
  primaryKey?: unknown;
  columnVisibility?: unknown;
  geometryTypes?: unknown;
  _columnCharsetIds?: unknown;
  _enumSetValues?: unknown;
}
type Proto = Record<string, unknown>;
type Logger = { debug(obj: object, msg: string): void };

// ---------------------------------------------------------------------------------------------
// Pure pieces (exported for the unit tests)

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
  NEWDECIMAL: 246,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  STRING: 254,
  GEOMETRY: 255,
} as const;

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
// Row plans

/** Returned by a column reader that leaves the value to zongji (nothing consumed). */
const SLOW: unique symbol = Symbol('slow');
/** Reads the value at `cur` (module state, reading is synchronous), advancing `cur`. */
type ColumnReader = (buf: Buffer, cfg: ZjConfig) => unknown;
let cur = 0;

function intReader(type: number, unsigned: boolean): ColumnReader | null {
  switch (type) {
    case T.TINY:
      return unsigned
        ? (buf) => (cur + 1 > buf.length ? SLOW : buf[cur++])
        : (buf) => (cur + 1 > buf.length ? SLOW : buf.readInt8(cur++));
    case T.SHORT:
      return (buf) => {
        if (cur + 2 > buf.length) return SLOW;
        const v = unsigned ? buf.readUInt16LE(cur) : buf.readInt16LE(cur);
        cur += 2;
        return v;
      };
    case T.INT24:
      return (buf) => {
        if (cur + 3 > buf.length) return SLOW;
        const v = unsigned ? buf.readUIntLE(cur, 3) : buf.readIntLE(cur, 3);
        cur += 3;
        return v;
      };
    case T.LONG:
      return (buf) => {
        if (cur + 4 > buf.length) return SLOW;
        const v = unsigned ? buf.readUInt32LE(cur) : buf.readInt32LE(cur);
        cur += 4;
        return v;
      };
    case T.LONGLONG:
      // Below 2^53 zongji returns the plain Number whatever the signedness; the rest is its own.
      return (buf) => {
        if (cur + 8 > buf.length) return SLOW;
        const high = buf.readUInt32LE(cur + 4);
        if (high >>> 21) return SLOW;
        const v = high * 0x100000000 + buf.readUInt32LE(cur);
        cur += 8;
        return v;
      };
  }
  return null;
}

function textReader(prefixSize: number, kind: 'utf8' | 'latin1'): ColumnReader {
  return (buf) => {
    if (cur + prefixSize > buf.length) return SLOW;
    const size = prefixSize === 1 ? (buf[cur] as number) : buf.readUIntLE(cur, prefixSize);
    const start = cur + prefixSize;
    const end = start + size;
    if (end > buf.length) return SLOW;
    const s = decodeText(buf, start, end, kind);
    if (s === undefined) return SLOW;
    cur = end;
    return s;
  };
}

function blobReader(lengthSize: number, kind: 'utf8' | 'latin1' | null): ColumnReader {
  return (buf) => {
    if (cur + lengthSize > buf.length) return SLOW;
    const size = buf.readUIntLE(cur, lengthSize);
    const start = cur + lengthSize;
    const end = start + size;
    if (end > buf.length) return SLOW;
    let v: unknown;
    if (kind === null) v = buf.slice(start, end);
    else {
      v = decodeText(buf, start, end, kind);
      if (v === undefined) return SLOW;
    }
    cur = end;
    return v;
  };
}

/** The fast reader for a column, or null (zongji's readMysqlValue reads it). */
export function columnReader(column: ZjColumn, schema: ZjColumnSchema | undefined): ColumnReader | null {
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
      return (buf) => {
        if (cur + 4 > buf.length) return SLOW;
        const v = buf.readFloatLE(cur);
        cur += 4;
        return v;
      };
    case T.DOUBLE:
      return (buf) => {
        if (cur + 8 > buf.length) return SLOW;
        const v = buf.readDoubleLE(cur);
        cur += 8;
        return v;
      };
    case T.YEAR:
      return (buf) => (cur + 1 > buf.length ? SLOW : (buf[cur++] as number) + 1900);
    case T.NEWDECIMAL: {
      if (!md || typeof md.precision !== 'number' || typeof md.decimals !== 'number') return null;
      const precision = md.precision;
      const scale = md.decimals;
      const size = decimalSize(precision, scale);
      return (buf, cfg) => {
        if (cfg.decimalNumbers) return SLOW;
        const s = decodeDecimal(buf, cur, precision, scale);
        if (s === undefined) return SLOW;
        cur += size;
        return s;
      };
    }
    case T.DATETIME2:
      if (!md || md.decimals !== 0) return null;
      return (buf, cfg) => {
        if (cfg.dateStrings !== true || cur + 5 > buf.length) return SLOW;
        const v = decodeDatetime2(buf, cur);
        cur += 5;
        return v;
      };
    case T.DATE:
      return (buf, cfg) => {
        if (cfg.dateStrings !== true || cur + 3 > buf.length) return SLOW;
        const v = decodeDate(buf, cur);
        cur += 3;
        return v;
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
      return textReader(md['max_length'] as number > 255 ? 2 : 1, kind);
    }
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB: {
      const lengthSize = md ? md['length_size'] : undefined;
      if (typeof lengthSize !== 'number' || lengthSize < 1 || lengthSize > 6) return null;
      if (column.charset === null) return blobReader(lengthSize, null);
      const kind = textKind(column.charset);
      return kind === 'other' ? null : blobReader(lengthSize, kind);
    }
    case T.GEOMETRY: {
      // The stored bytes (SRID + WKB), not zongji's parsed object: the target takes the bytes back.
      const lengthSize = md ? md['length_size'] : undefined;
      if (typeof lengthSize !== 'number' || lengthSize < 1 || lengthSize > 6) return null;
      return blobReader(lengthSize, null);
    }
  }
  return null;
}

interface RowPlan {
  readonly schemas: ZjColumnSchema[];
  readonly readers: (ColumnReader | null)[];
}
/** A table map entry's plan, kept on its `columns` array (a symbol: invisible to keys and JSON). */
const PLAN = Symbol('zongjiFastPathPlan');
/** On column schemas served from the table map cache: the cache entry (holds the plan for them). */
const CACHE_ENTRY = Symbol('zongjiFastPathTableMap');
type Tagged<T> = T & { [PLAN]?: RowPlan; [CACHE_ENTRY]?: CachedTableMap };

function planFor(tm: ZjTableMapEntry): RowPlan {
  const columns = tm.columns as Tagged<ZjColumn[]>;
  let plan = columns[PLAN];
  if (plan && plan.schemas === tm.columnSchemas) return plan;
  // Columns rebuilt from a table map whose bytes equal the cached one's: same readers
  const entry = (tm.columnSchemas as Tagged<ZjColumnSchema[]>)[CACHE_ENTRY];
  if (entry?.plan && entry.plan.readers.length === columns.length) {
    plan = { schemas: tm.columnSchemas, readers: entry.plan.readers };
  } else {
    stats.planBuilds++;
    plan = { schemas: tm.columnSchemas, readers: columns.map((c, i) => columnReader(c, tm.columnSchemas[i])) };
    if (entry) entry.plan = plan;
  }
  columns[PLAN] = plan;
  return plan;
}

const NO_CONFIG: ZjConfig = {};

function getOffset(p: ZjParser): number {
  return p.packet !== null ? p.packet.offset : p._offsetValue;
}
function setOffset(p: ZjParser, v: number): void {
  if (p.packet !== null) p.packet.offset = v;
  else p._offsetValue = v;
}

function bitCount(b: number): number {
  b = b - ((b >> 1) & 0x55);
  b = (b & 0x33) + ((b >> 2) & 0x33);
  return (b + (b >> 4)) & 0x0f;
}

/** zongji's `readRow` (rows_event.js), with the plan's readers where they apply. */
function readRow(
  parser: ZjParser,
  tm: ZjTableMapEntry,
  bitmap: Buffer,
  zongji: ZjInstance,
  readValue: ReadMysqlValue,
): Record<string, unknown> {
  const plan = planFor(tm);
  const readers = plan.readers;
  const cfg = (zongji.connection && zongji.connection.config) || NO_CONFIG;
  const buf = parser._buffer;
  let bits = 0;
  for (let i = 0; i < bitmap.length; i++) bits += bitCount(bitmap[i] as number);
  const nullStart = getOffset(parser);
  const nullSize = Math.floor((bits + 7) / 8);
  const nullEnd = Math.min(nullStart + nullSize, buf.length);
  cur = nullStart + nullSize;
  const row: Record<string, unknown> = {};
  const columns = tm.columns;
  for (let i = 0, nullBitIndex = 0; i < columns.length; i++) {
    const column = columns[i] as ZjColumn;
    if (((bitmap[i >> 3] as number) & (1 << (i & 7))) === 0) {
      row[column.name] = null;
      continue;
    }
    const nb = nullStart + (nullBitIndex >> 3);
    if (nb < nullEnd && ((buf[nb] as number) & (1 << (nullBitIndex & 7))) !== 0) {
      row[column.name] = null;
    } else {
      const reader = readers[i];
      let v: unknown = reader ? reader(buf, cfg) : SLOW;
      if (v === SLOW) {
        setOffset(parser, cur);
        v = readValue(parser, column, tm.columnSchemas[i] as ZjColumnSchema, tm, zongji);
        cur = getOffset(parser);
      }
      row[column.name] = v;
    }
    nullBitIndex += 1;
  }
  setOffset(parser, cur);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Table map cache

interface CachedTableMap {
  readonly bytes: Buffer;
  readonly schemaName: string;
  readonly tableName: string;
  readonly after: number;
  readonly fields: Partial<TableMapLike>;
  schemas?: ZjColumnSchema[];
  plan?: RowPlan;
}
const OPTIONAL_FIELDS = [
  'columnNames',
  'signedness',
  'primaryKey',
  'columnVisibility',
  'geometryTypes',
  '_columnCharsetIds',
  '_enumSetValues',
] as const;
const tableMapCache = new Map<number, CachedTableMap>();
const stats = { tableMapHits: 0, tableMapMisses: 0, planBuilds: 0 };
/** Counters: table maps served from the cache or parsed, row plans built. */
export function zongjiFastPathStats(): Readonly<typeof stats> {
  return { ...stats };
}
const TABLE_MAP_CACHE_MAX = 4096;
/** The table map event just parsed and its cache entry (zongji builds its schemas right after). */
let lastEvent: object | null = null;
let lastEntry: CachedTableMap | null = null;
function remember(event: object, entry: CachedTableMap): void {
  lastEvent = event;
  lastEntry = entry;
}
/** Where the body of the TableMap being parsed starts (set by our `_readTableId`; parsing is synchronous). */
let tableMapStart = -1;

function copySchemas(schemas: ZjColumnSchema[], entry?: CachedTableMap): ZjColumnSchema[] {
  const copy: Tagged<ZjColumnSchema[]> = schemas.map((s) => ({ ...s }));
  if (entry) copy[CACHE_ENTRY] = entry;
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Installation

interface Internals {
  readMysqlValue: ReadMysqlValue;
  RowsEvent: Proto;
  UpdateRows: Proto;
  TableMap: Proto;
  Parser: Proto;
  ParserClass: new () => ZjParser & { append(buf: Buffer): void };
  zeroPad: (num: number | string, size: number) => string;
}

async function loadInternals(): Promise<Internals | string> {
  try {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@vlasky/zongji'));
    // The row reader mirrors zongji 0.9's readRow: another release may decode differently
    const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
    if (!version || !/^0\.9\./.test(version)) return `zongji ${String(version)} is not the 0.9 line this was written for`;
    const url = (f: string): string => pathToFileURL(join(dir, 'lib', f)).href;
    const [common, rows, events, reader] = (await Promise.all([
      import(url('common.js')),
      import(url('rows_event.js')),
      import(url('binlog_event.js')),
      import(url('reader.js')),
    ])) as Record<string, unknown>[];
    const readMysqlValue = common?.readMysqlValue;
    const WriteRows = rows?.WriteRows as { prototype?: object } | undefined;
    const UpdateRows = rows?.UpdateRows as { prototype?: Proto } | undefined;
    const TableMap = events?.TableMap as { prototype?: Proto } | undefined;
    const Parser = reader?.Parser as { prototype?: Proto } | undefined;
    if (typeof readMysqlValue !== 'function' || readMysqlValue.length !== 5) return 'readMysqlValue missing or changed';
    if (!WriteRows?.prototype || !UpdateRows?.prototype || !TableMap?.prototype || !Parser?.prototype) {
      return 'zongji classes missing';
    }
    return {
      readMysqlValue: readMysqlValue as ReadMysqlValue,
      RowsEvent: Object.getPrototypeOf(WriteRows.prototype) as Proto,
      UpdateRows: UpdateRows.prototype,
      TableMap: TableMap.prototype,
      Parser: Parser.prototype,
      ParserClass: Parser as unknown as Internals['ParserClass'],
      zeroPad: common?.zeroPad as Internals['zeroPad'],
    };
  } catch (err) {
    return `zongji internals not loadable: ${String(err)}`;
  }
}

const loaded = await loadInternals();

function own(proto: Proto, name: string, arity: number): ((...args: unknown[]) => unknown) | null {
  if (!Object.prototype.hasOwnProperty.call(proto, name)) return null;
  const f = proto[name];
  return typeof f === 'function' && f.length === arity ? (f as (...args: unknown[]) => unknown) : null;
}

let installed: string[] | null = null;
const skipped: string[] = [];

/** What `installZongjiFastPath` did: the patches in place and the ones skipped (with the reason). */
export function zongjiFastPathReport(): { installed: readonly string[]; skipped: readonly string[] } {
  return { installed: installed ?? [], skipped: [...skipped] };
}

export function zongjiFastPathEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[ZONGJI_FASTPATH_ENV];
  return !(v === '0' || v === 'false' || v === 'off');
}

/**
 * Patches zongji once per process (idempotent). Returns the names of the patches in place. Skipped
 * patches are logged at debug level; decoding then stays zongji's own.
 */
export function installZongjiFastPath(logger?: Logger): readonly string[] {
  if (installed) return installed;
  installed = [];
  const skip = (what: string, why: string): void => {
    skipped.push(`${what}: ${why}`);
    logger?.debug({ patch: what, reason: why }, 'zongji fast path: patch skipped');
  };
  if (!zongjiFastPathEnabled()) {
    skip('all', `${ZONGJI_FASTPATH_ENV}=0`);
    return installed;
  }
  if (typeof loaded === 'string') {
    skip('all', loaded);
    return installed;
  }
  const { readMysqlValue, RowsEvent, UpdateRows, TableMap, Parser } = loaded;

  // Rows
  if (own(RowsEvent, '_fetchOneRow', 1) && own(UpdateRows, '_fetchOneRow', 1)) {
    const origRow = RowsEvent._fetchOneRow as FetchOneRow;
    const origUpdate = UpdateRows._fetchOneRow as FetchOneRow;
    RowsEvent._fetchOneRow = function (this: RowsEventLike, parser: ZjParser): unknown {
      const tm = this.tableMap[this.tableId];
      if (!tm || !Array.isArray(tm.columns) || !Array.isArray(tm.columnSchemas)) return origRow.call(this, parser);
      return readRow(parser, tm, this.columns_present_bitmap, this._zongji, readMysqlValue);
    } satisfies FetchOneRow;
    UpdateRows._fetchOneRow = function (this: RowsEventLike, parser: ZjParser): unknown {
      const tm = this.tableMap[this.tableId];
      const bitmap2 = this.columns_present_bitmap2;
      if (!tm || !Array.isArray(tm.columns) || !Array.isArray(tm.columnSchemas) || !bitmap2) {
        return origUpdate.call(this, parser);
      }
      return {
        before: readRow(parser, tm, this.columns_present_bitmap, this._zongji, readMysqlValue),
        after: readRow(parser, tm, bitmap2, this._zongji, readMysqlValue),
      };
    } satisfies FetchOneRow;
    installed.push('rows');
  } else skip('rows', '_fetchOneRow not as expected');

  // Parser#parseUnsignedNumber
  const origUnsigned = own(Parser, 'parseUnsignedNumber', 1);
  if (origUnsigned) {
    Parser.parseUnsignedNumber = function (this: ZjParser, bytes: number): unknown {
      const p = this.packet;
      const o = p !== null ? p.offset : this._offsetValue;
      const buf = this._buffer;
      if (bytes < 1 || bytes > 4 || o + bytes > buf.length) return origUnsigned.call(this, bytes);
      if (p !== null) p.offset = o + bytes;
      else this._offsetValue = o + bytes;
      return bytes === 1 ? buf[o] : bytes === 2 ? buf.readUInt16LE(o) : bytes === 4 ? buf.readUInt32LE(o) : buf.readUIntLE(o, 3);
    };
    installed.push('parseUnsignedNumber');
  } else skip('parseUnsignedNumber', 'Parser#parseUnsignedNumber not as expected');

  // Table maps
  const baseReadTableId = (Object.getPrototypeOf(TableMap) as Proto | null)?._readTableId;
  const origOptional = own(TableMap, '_readOptionalMetadata', 2);
  const origSchemas = own(TableMap, 'buildColumnSchemas', 0);
  if (
    typeof baseReadTableId === 'function' &&
    baseReadTableId.length === 1 &&
    !Object.prototype.hasOwnProperty.call(TableMap, '_readTableId') &&
    origOptional &&
    origSchemas
  ) {
    TableMap._readTableId = function (this: TableMapLike, parser: ZjParser): unknown {
      tableMapStart = parser._offset;
      return (baseReadTableId as (p: ZjParser) => unknown).call(this, parser);
    };
    TableMap._readOptionalMetadata = function (this: TableMapLike, parser: ZjParser, zongji: ZjInstance): unknown {
      const start = tableMapStart;
      tableMapStart = -1;
      const buf = parser._buffer;
      const end = parser._packetEnd - (zongji && zongji.useChecksum ? 4 : 0);
      const offset = parser._offset;
      if (start < 0 || start >= offset || end > buf.length || end < offset) return origOptional.call(this, parser, zongji);
      const hit = tableMapCache.get(this.tableId);
      if (
        hit &&
        hit.bytes.length === end - start &&
        hit.schemaName === this.schemaName &&
        hit.tableName === this.tableName &&
        buf.compare(hit.bytes, 0, hit.bytes.length, start, end) === 0
      ) {
        for (const f of OPTIONAL_FIELDS) if (f in hit.fields) this[f] = hit.fields[f];
        parser._offset = start + hit.after;
        remember(this, hit);
        stats.tableMapHits++;
        return undefined;
      }
      stats.tableMapMisses++;
      const result = origOptional.call(this, parser, zongji); // throws like zongji's (its caller handles it)
      const fields: Partial<TableMapLike> = {};
      for (const f of OPTIONAL_FIELDS) if (this[f] !== undefined) fields[f] = this[f];
      if (tableMapCache.size >= TABLE_MAP_CACHE_MAX) tableMapCache.clear();
      const entry: CachedTableMap = {
        bytes: Buffer.from(buf.subarray(start, end)),
        schemaName: this.schemaName,
        tableName: this.tableName,
        after: parser._offset - start,
        fields,
      };
      tableMapCache.set(this.tableId, entry);
      remember(this, entry);
      return result;
    };
    TableMap.buildColumnSchemas = function (this: TableMapLike): unknown {
      const entry = lastEvent === this ? lastEntry : null;
      lastEvent = null;
      lastEntry = null;
      if (entry?.schemas) return copySchemas(entry.schemas, entry);
      const schemas = origSchemas.call(this) as ZjColumnSchema[];
      if (entry && Array.isArray(schemas)) entry.schemas = copySchemas(schemas);
      return schemas;
    };
    installed.push('tablemap');
  } else skip('tablemap', 'TableMap internals not as expected');

  logger?.debug({ patches: installed }, 'zongji fast path installed');
  return installed;
}

/** For the tests: zongji's own pieces (null when its internals could not be loaded). */
export function zongjiOriginals(): Pick<Internals, 'readMysqlValue' | 'ParserClass' | 'zeroPad'> | null {
  return typeof loaded === 'string' ? null : loaded;
}

/** For the tests: runs a column reader at `offset`; `slow` when it leaves the value to zongji. */
export function runColumnReader(
  reader: ColumnReader,
  buf: Buffer,
  offset: number,
  cfg: ZjConfig,
): { slow: true } | { slow: false; value: unknown; next: number } {
  cur = offset;
  const value = reader(buf, cfg);
  if (value === SLOW) return { slow: true };
  return { slow: false, value, next: cur };
}
