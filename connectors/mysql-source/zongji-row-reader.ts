/**
 * Our row reader for zongji 0.9, installed whenever the source runs: it replaces
 * `RowsEvent#_fetchOneRow` and `UpdateRows#_fetchOneRow` with an equivalent of zongji's `readRow`
 * that reads each column with a per-table plan of column readers (column-readers.ts):
 * - exact readers, always, for what zongji decodes wrongly (TIME2, GEOMETRY);
 * - in 'fast' mode also the fast readers, which give zongji's own values faster;
 * - everything else by zongji's own `readMysqlValue`, at the same offset.
 * Without it zongji's negative TIME values are wrong, so it is not optional: when zongji's internals
 * are not what it mirrors, installation fails with SOURCE_DECODE instead of decoding wrongly.
 *
 * The mode is per ZongJi instance, stamped when the session creates it (`attachZongjiDecoder`):
 * 'fast' unless `BINLOG_SYNC_ZONGJI_FASTPATH=0` (read once, at install time), or what a test chose
 * with `setZongjiDecoderMode`. With the fast path on at install time the fast-path patches
 * (zongji-fastpath.ts: table map cache, parseUnsignedNumber) are installed too.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SourceError } from '../../src/index.js';
import {
  SLOW,
  exactReader,
  fastReader,
  type ColumnReader,
  type ReadCursor,
  type ZjColumn,
  type ZjColumnSchema,
  type ZjConfig,
} from './column-readers.js';
import { installFastPathPatches, ownMethod, tableMapCacheSlot, type Proto, type ZjInstance, type ZjParser } from './zongji-fastpath.js';

export const ZONGJI_FASTPATH_ENV = 'BINLOG_SYNC_ZONGJI_FASTPATH';

const MYSQL_TYPE_BLOB = 252;
const MYSQL_TYPE_GEOMETRY = 255;

/** 'fast': exact + fast readers and the fast-path patches; 'plain': exact readers, the rest zongji's. */
export type ZongjiDecoderMode = 'fast' | 'plain';

export interface ZjTableMapEntry {
  columns: ZjColumn[];
  columnSchemas: ZjColumnSchema[];
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

// ---------------------------------------------------------------------------------------------
// Row plans and the row reader

interface RowPlan {
  readonly mode: ZongjiDecoderMode;
  readonly schemas: ZjColumnSchema[];
  readonly readers: (ColumnReader | null)[];
}
/** A table map entry's plan, kept on its `columns` array (a symbol: invisible to keys and JSON). */
const PLAN = Symbol('zongjiRowPlan');
/** On a ZongJi instance: its decoder mode. */
const MODE = Symbol('zongjiDecoderMode');
type WithPlan = ZjColumn[] & { [PLAN]?: RowPlan };
type WithMode = ZjInstance & { [MODE]?: ZongjiDecoderMode };

const stats = { planBuilds: 0 };
/** Counters: row plans built (once per table map, not per transaction, in fast mode). */
export function zongjiRowReaderStats(): Readonly<typeof stats> {
  return { ...stats };
}

/** The readers for one table's columns in a mode (null: zongji's readMysqlValue). */
export function planReaders(columns: readonly ZjColumn[], schemas: readonly (ZjColumnSchema | undefined)[], mode: ZongjiDecoderMode): (ColumnReader | null)[] {
  return columns.map((c, i) => exactReader(c, schemas[i]) ?? (mode === 'fast' ? fastReader(c, schemas[i]) : null));
}

function planFor(tm: ZjTableMapEntry, mode: ZongjiDecoderMode): RowPlan {
  const columns = tm.columns as WithPlan;
  let plan = columns[PLAN];
  if (plan && plan.schemas === tm.columnSchemas && plan.mode === mode) return plan;
  // Columns rebuilt from a table map whose bytes equal the cached one's: same readers
  const slot = tableMapCacheSlot(tm.columnSchemas);
  const cached = slot?.plan as RowPlan | undefined;
  if (cached && cached.mode === mode && cached.readers.length === columns.length) {
    plan = { mode, schemas: tm.columnSchemas, readers: cached.readers };
  } else {
    stats.planBuilds++;
    plan = { mode, schemas: tm.columnSchemas, readers: planReaders(columns, tm.columnSchemas, mode) };
    if (slot) slot.plan = plan;
  }
  columns[PLAN] = plan;
  return plan;
}

const NO_CONFIG: ZjConfig = {};
/** The read position while a row is read (reading is synchronous: one cursor serves all rows). */
const cursor: ReadCursor = { pos: 0 };

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
  plan: RowPlan,
  readValue: ReadMysqlValue,
): Record<string, unknown> {
  const readers = plan.readers;
  const cfg = (zongji.connection && (zongji.connection.config as ZjConfig | undefined)) || NO_CONFIG;
  const buf = parser._buffer;
  const at = cursor;
  let bits = 0;
  for (let i = 0; i < bitmap.length; i++) bits += bitCount(bitmap[i] as number);
  const nullStart = getOffset(parser);
  const nullSize = Math.floor((bits + 7) / 8);
  const nullEnd = Math.min(nullStart + nullSize, buf.length);
  at.pos = nullStart + nullSize;
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
      let v: unknown = reader ? reader(buf, at, cfg) : SLOW;
      if (v === SLOW) {
        setOffset(parser, at.pos);
        v = readValue(parser, column, tm.columnSchemas[i] as ZjColumnSchema, tm, zongji);
        at.pos = getOffset(parser);
      }
      row[column.name] = v;
    }
    nullBitIndex += 1;
  }
  setOffset(parser, at.pos);
  return row;
}

// ---------------------------------------------------------------------------------------------
// zongji's internals

export interface ZongjiInternals {
  readonly version: string;
  readonly readMysqlValue: ReadMysqlValue;
  /** RowsEvent.prototype (the base of WriteRows and DeleteRows). */
  readonly RowsEvent: Proto;
  readonly UpdateRows: Proto;
  readonly TableMap: Proto;
  readonly Parser: Proto;
  readonly ParserClass: new () => ZjParser & { append(buf: Buffer): void };
  readonly zeroPad: (num: number | string, size: number) => string;
}

/** zongji's internals, or what was unexpected about them (`version` as far as it was read). */
async function loadInternals(): Promise<ZongjiInternals | { version: string; problem: string }> {
  let version = 'of unknown version';
  try {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@vlasky/zongji'));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
    version = String(pkg.version);
    // The row reader mirrors zongji 0.9's readRow: another release may decode differently
    if (!/^0\.9\./.test(version)) return { version, problem: 'not the 0.9 line our row reader mirrors (rows_event.js readRow)' };
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
    if (typeof readMysqlValue !== 'function' || readMysqlValue.length !== 5) return { version, problem: 'lib/common.js readMysqlValue missing or changed' };
    if (!WriteRows?.prototype || !UpdateRows?.prototype || !TableMap?.prototype || !Parser?.prototype) {
      return { version, problem: 'WriteRows, UpdateRows, TableMap or Parser missing from lib/' };
    }
    return {
      version,
      readMysqlValue: readMysqlValue as ReadMysqlValue,
      RowsEvent: Object.getPrototypeOf(WriteRows.prototype) as Proto,
      UpdateRows: UpdateRows.prototype,
      TableMap: TableMap.prototype,
      Parser: Parser.prototype,
      ParserClass: Parser as unknown as ZongjiInternals['ParserClass'],
      zeroPad: common?.zeroPad as ZongjiInternals['zeroPad'],
    };
  } catch (err) {
    return { version, problem: `its lib/ modules could not be loaded: ${String(err)}` };
  }
}

const loaded = await loadInternals();

/** For the tests: zongji's own pieces (null when its internals could not be loaded). */
export function zongjiOriginals(): ZongjiInternals | null {
  return 'problem' in loaded ? null : loaded;
}

// ---------------------------------------------------------------------------------------------
// Installation and modes

/** What is installed and which mode new sessions get. */
export interface ZongjiDecoder {
  readonly zongjiVersion: string;
  /** The mode sessions get now, and what decided it. */
  readonly mode: ZongjiDecoderMode;
  readonly reason: string;
  /** Patches in place: 'rows' (always) and the fast-path patches. */
  readonly patches: readonly string[];
  /** Fast-path patches not installed, each `name: reason`. */
  readonly skipped: readonly string[];
}

/** The fast path as the environment asks for it. */
export function fastPathFromEnv(env: NodeJS.ProcessEnv = process.env): { on: boolean; reason: string } {
  const v = env[ZONGJI_FASTPATH_ENV];
  if (v === undefined || v === '') return { on: true, reason: `default, ${ZONGJI_FASTPATH_ENV} unset` };
  if (v === '0' || v === 'false' || v === 'off') return { on: false, reason: `${ZONGJI_FASTPATH_ENV}=${v}` };
  return { on: true, reason: `${ZONGJI_FASTPATH_ENV}=${v}` };
}

interface Installed {
  readonly version: string;
  readonly envMode: ZongjiDecoderMode;
  readonly envReason: string;
  readonly patches: readonly string[];
  readonly skipped: readonly string[];
}
const INSTALLED = Symbol('binlogSyncRowReader');
type Marked = Proto & { [INSTALLED]?: Installed };

/**
 * Installs the row reader (and, with the fast path on, the fast-path patches) on the given zongji
 * internals; idempotent per internals. Throws SOURCE_DECODE when they are not what we mirror.
 * Exported for the tests (fake internals); the source uses `installZongjiDecoder`.
 */
export function installRowReaderOn(internals: ZongjiInternals | { version: string; problem: string }, env: NodeJS.ProcessEnv): Installed {
  const fail = (version: string, problem: string): never => {
    throw new SourceError(
      'SOURCE_DECODE',
      `cannot install our row reader on @vlasky/zongji ${version}: ${problem}. Without it zongji decodes negative TIME values wrongly, so the source does not start; use @vlasky/zongji 0.9.x (package.json pins 0.9.0).`,
      { details: { zongjiVersion: version, problem } },
    );
  };
  if ('problem' in internals) return fail(internals.version, internals.problem);
  const { RowsEvent, UpdateRows, readMysqlValue, version } = internals;
  const done = (RowsEvent as Marked)[INSTALLED];
  if (done) return done;
  const origRow = ownMethod(RowsEvent, '_fetchOneRow', 1);
  const origUpdate = ownMethod(UpdateRows, '_fetchOneRow', 1);
  if (!origRow || !origUpdate) {
    return fail(version, `RowsEvent#_fetchOneRow or UpdateRows#_fetchOneRow is not the one-argument method of zongji 0.9 (lib/rows_event.js)`);
  }
  const env0 = fastPathFromEnv(env);
  const envMode: ZongjiDecoderMode = env0.on ? 'fast' : 'plain';

  const entryOf = (ev: RowsEventLike): ZjTableMapEntry => {
    const tm = ev.tableMap?.[ev.tableId];
    if (!tm || !Array.isArray(tm.columns) || !Array.isArray(tm.columnSchemas)) {
      throw new SourceError('SOURCE_DECODE', `zongji ${version}: no usable table map for table id ${ev.tableId} (columns or columnSchemas missing)`);
    }
    return tm;
  };
  const modeFor = (zongji: ZjInstance): ZongjiDecoderMode => (zongji as WithMode)[MODE] ?? envMode;
  RowsEvent._fetchOneRow = function (this: RowsEventLike, parser: ZjParser): unknown {
    const tm = entryOf(this);
    const zongji = this._zongji;
    return readRow(parser, tm, this.columns_present_bitmap, zongji, planFor(tm, modeFor(zongji)), readMysqlValue);
  };
  UpdateRows._fetchOneRow = function (this: RowsEventLike, parser: ZjParser): unknown {
    const tm = entryOf(this);
    const zongji = this._zongji;
    const bitmap2 = this.columns_present_bitmap2;
    if (!bitmap2) throw new SourceError('SOURCE_DECODE', `zongji ${version}: update rows event without its after-image column bitmap`);
    const plan = planFor(tm, modeFor(zongji));
    return {
      before: readRow(parser, tm, this.columns_present_bitmap, zongji, plan, readMysqlValue),
      after: readRow(parser, tm, bitmap2, zongji, plan, readMysqlValue),
    };
  };
  // The table map's column-charset list (binlog_row_metadata=FULL) covers GEOMETRY columns too (the
  // server counts them as character columns: their base is BLOB), but zongji leaves them out when it
  // assigns the list to columns, so every string column after a GEOMETRY got its neighbour's charset:
  // a latin1 CHAR decoded as zero-padded bytes, an INET6 as text (found by the fuzzer). While zongji
  // reads that metadata, GEOMETRY counts as BLOB, as on the server.
  const origOptional = ownMethod(internals.TableMap, '_readOptionalMetadata', 2);
  const origEffective = ownMethod(internals.TableMap, '_effectiveColumnType', 1);
  if (!origOptional || !origEffective) return fail(version, 'TableMap#_readOptionalMetadata or #_effectiveColumnType is not the method of zongji 0.9 (lib/binlog_event.js)');
  let readingMetadata = false;
  internals.TableMap._effectiveColumnType = function (this: unknown, index: number): unknown {
    const type = origEffective.call(this, index);
    return readingMetadata && type === MYSQL_TYPE_GEOMETRY ? MYSQL_TYPE_BLOB : type;
  };
  internals.TableMap._readOptionalMetadata = function (this: unknown, parser: unknown, zongji: unknown): unknown {
    readingMetadata = true;
    try {
      return origOptional.call(this, parser, zongji);
    } finally {
      readingMetadata = false;
    }
  };
  const patches = ['rows', 'geometry-charsets'];
  const skipped: string[] = [];
  if (env0.on) {
    const fast = installFastPathPatches(internals, (zongji) => modeFor(zongji) === 'fast');
    patches.push(...fast.installed);
    skipped.push(...fast.skipped);
  }
  const result: Installed = { version, envMode, envReason: env0.reason, patches, skipped };
  (RowsEvent as Marked)[INSTALLED] = result;
  return result;
}

let override: ZongjiDecoderMode | null = null;

/**
 * For the tests: the mode of sessions created from now on (both modes in one process); null goes
 * back to what the environment chose at install time. Sessions already running keep theirs.
 */
export function setZongjiDecoderMode(mode: ZongjiDecoderMode | null): void {
  override = mode;
}

/** Installs the row reader once per process (throws SOURCE_DECODE when it cannot) and says what is in use. */
export function installZongjiDecoder(): ZongjiDecoder {
  const inst = installRowReaderOn(loaded, process.env);
  const mode = override ?? inst.envMode;
  let reason = override ? 'chosen by setZongjiDecoderMode' : inst.envReason;
  if (mode === 'fast' && inst.envMode === 'plain') reason += `; table map cache and parseUnsignedNumber not installed (${inst.envReason} at install)`;
  return { zongjiVersion: inst.version, mode, reason, patches: inst.patches, skipped: inst.skipped };
}

/** One line for the start-up log: which decoder path is in use and why. */
export function describeZongjiDecoder(d: ZongjiDecoder): string {
  const exact = 'our row reader decodes TIME and GEOMETRY';
  if (d.mode === 'plain') return `binlog decoder: zongji ${d.zongjiVersion}, fast path off (${d.reason}); ${exact}, zongji the other types`;
  const partial = d.skipped.length > 0 ? `, without ${d.skipped.join('; ')}` : '';
  return `binlog decoder: zongji ${d.zongjiVersion}, fast path on (${d.reason})${partial}; ${exact}, fast readers the common types`;
}

/** Stamps a new ZongJi instance with the current mode (installing the row reader first). */
export function attachZongjiDecoder(zongji: object): ZongjiDecoderMode {
  const mode = installZongjiDecoder().mode;
  (zongji as WithMode)[MODE] = mode;
  return mode;
}
