/**
 * The decoder fast path's zongji patches besides the fast column readers (column-readers.ts), both
 * pure performance, giving zongji's own results:
 * - Table maps (`TableMap#_readOptionalMetadata`, `#buildColumnSchemas`): the same table map arrives
 *   before every transaction; when its bytes equal the previous one for that table id, the parsed
 *   optional metadata and the column schemas are reused (fresh copies: zongji and we may mutate them).
 *   Consulted per zongji instance: an instance whose mode is not 'fast' parses as zongji does.
 * - `Parser#parseUnsignedNumber`: one offset read/write instead of two accessor round trips. A parser
 *   does not know its zongji instance, so this one is per process (identical results either way).
 *
 * Installed by zongji-row-reader.ts, only when the fast path is on at install time
 * (`BINLOG_SYNC_ZONGJI_FASTPATH` not 0). Each patch checks that the internals it replaces look as
 * expected and is skipped otherwise (the start-up log line names it).
 */
import type { ZjColumnSchema } from './column-readers.js';

/** The parts of zongji's Parser these patches touch (a mysql2 packet, or a bare buffer). */
export interface ZjParser {
  packet: { offset: number; buffer: Buffer } | null;
  _buffer: Buffer;
  _offset: number;
  _offsetValue: number;
  _packetEnd: number;
}
/** The ZongJi instance as zongji's internals see it. */
export interface ZjInstance {
  connection: { config?: Record<string, unknown> } | null;
  useChecksum?: boolean;
}

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
export type Proto = Record<string, unknown>;

/** Whether a prototype has its own method `name` of the expected arity (else: not the zongji we know). */
export function ownMethod(proto: Proto, name: string, arity: number): ((...args: unknown[]) => unknown) | null {
  if (!Object.prototype.hasOwnProperty.call(proto, name)) return null;
  const f = proto[name];
  return typeof f === 'function' && f.length === arity ? (f as (...args: unknown[]) => unknown) : null;
}

// ---------------------------------------------------------------------------------------------
// Table map cache

/** Space the row reader may use on a cache entry (it keeps its row plan there). */
export interface CacheEntrySlot {
  plan?: unknown;
}
interface CachedTableMap extends CacheEntrySlot {
  readonly bytes: Buffer;
  readonly schemaName: string;
  readonly tableName: string;
  readonly after: number;
  readonly fields: Partial<TableMapLike>;
  schemas?: ZjColumnSchema[];
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
/** On column schemas served from the cache: their cache entry. */
const CACHE_ENTRY = Symbol('zongjiFastPathTableMap');
type Tagged<T> = T & { [CACHE_ENTRY]?: CachedTableMap };

const tableMapCache = new Map<number, CachedTableMap>();
const stats = { tableMapHits: 0, tableMapMisses: 0 };
/** Counters: table maps served from the cache or parsed. */
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

/**
 * The cache entry column schemas were served from (the same table map bytes), or undefined. Row
 * plans kept there serve every rebuilt copy of the same table map.
 */
export function tableMapCacheSlot(schemas: ZjColumnSchema[]): CacheEntrySlot | undefined {
  return (schemas as Tagged<ZjColumnSchema[]>)[CACHE_ENTRY];
}

// ---------------------------------------------------------------------------------------------
// Installation

export interface FastPathProtos {
  readonly TableMap: Proto;
  readonly Parser: Proto;
}

/**
 * Installs the patches on zongji's prototypes; returns the names installed and the skipped ones
 * with their reason. `fastFor(zongji)` tells whether an instance uses the fast path.
 */
export function installFastPathPatches(
  protos: FastPathProtos,
  fastFor: (zongji: ZjInstance) => boolean,
): { installed: string[]; skipped: string[] } {
  const installed: string[] = [];
  const skipped: string[] = [];
  const { TableMap, Parser } = protos;

  // Parser#parseUnsignedNumber
  const origUnsigned = ownMethod(Parser, 'parseUnsignedNumber', 1);
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
  } else skipped.push('parseUnsignedNumber: Parser#parseUnsignedNumber not as expected');

  // Table maps
  const baseReadTableId = (Object.getPrototypeOf(TableMap) as Proto | null)?._readTableId;
  const origOptional = ownMethod(TableMap, '_readOptionalMetadata', 2);
  const origSchemas = ownMethod(TableMap, 'buildColumnSchemas', 0);
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
      if (!fastFor(zongji)) return origOptional.call(this, parser, zongji);
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
  } else skipped.push('tablemap: TableMap internals not as expected');

  return { installed, skipped };
}
