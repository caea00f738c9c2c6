import { afterEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/core/errors.js';
import type { ZjColumn, ZjColumnSchema } from '../../../connectors/mysql-source/column-readers.js';
import {
  attachZongjiDecoder,
  describeZongjiDecoder,
  fastPathFromEnv,
  installRowReaderOn,
  installZongjiDecoder,
  planReaders,
  setZongjiDecoderMode,
  zongjiOriginals,
  type ZongjiInternals,
} from '../../../connectors/mysql-source/zongji-row-reader.js';

const orig = zongjiOriginals()!;
type Parser = InstanceType<ZongjiInternals['ParserClass']> & { parseUnsignedNumber(n: number): number };

afterEach(() => setZongjiDecoderMode(null));

describe('installing the row reader', () => {
  it('installs on zongji 0.9 with every fast-path patch, and says so', () => {
    expect(orig).not.toBeNull();
    const env = fastPathFromEnv();
    const d = installZongjiDecoder();
    expect(d.zongjiVersion).toBe('0.9.0');
    expect(d.patches).toEqual(env.on ? ['rows', 'geometry-charsets', 'parseUnsignedNumber', 'tablemap'] : ['rows', 'geometry-charsets']);
    expect(d.skipped).toEqual([]);
    expect(d.mode).toBe(env.on ? 'fast' : 'plain');
    expect(describeZongjiDecoder(d)).toContain(env.on ? 'fast path on (default, BINLOG_SYNC_ZONGJI_FASTPATH unset)' : 'fast path off (BINLOG_SYNC_ZONGJI_FASTPATH=');
    // idempotent
    expect(installZongjiDecoder().patches).toEqual(d.patches);
  });

  it('the patched parser reads numbers as before', () => {
    const buf = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
    const widths = [1, 2, 3, 4, 6, 8, 1, 4, 2, 3];
    const read = (): number[] => {
      const parser = new orig.ParserClass() as Parser;
      parser.append(buf);
      const out = widths.map((w) => parser.parseUnsignedNumber(w));
      return [...out, parser._offset];
    };
    // Against plain Buffer reads (what zongji's own parser does)
    const want: number[] = [];
    let o = 0;
    for (const w of widths) {
      want.push(w === 8 ? buf.readUInt32LE(o + 4) * 2 ** 32 + buf.readUInt32LE(o) : buf.readUIntLE(o, w));
      o += w;
    }
    want.push(o);
    installZongjiDecoder();
    expect(read()).toEqual(want);
    const p = new orig.ParserClass() as Parser;
    p.append(Buffer.from([1]));
    expect(() => p.parseUnsignedNumber(4)).toThrow(RangeError);
  });

  it('reads the environment: BINLOG_SYNC_ZONGJI_FASTPATH=0 (or false/off) turns the fast path off', () => {
    expect(fastPathFromEnv({})).toEqual({ on: true, reason: 'default, BINLOG_SYNC_ZONGJI_FASTPATH unset' });
    expect(fastPathFromEnv({ BINLOG_SYNC_ZONGJI_FASTPATH: '0' })).toEqual({ on: false, reason: 'BINLOG_SYNC_ZONGJI_FASTPATH=0' });
    expect(fastPathFromEnv({ BINLOG_SYNC_ZONGJI_FASTPATH: 'off' }).on).toBe(false);
    expect(fastPathFromEnv({ BINLOG_SYNC_ZONGJI_FASTPATH: 'false' }).on).toBe(false);
    expect(fastPathFromEnv({ BINLOG_SYNC_ZONGJI_FASTPATH: '1' }).on).toBe(true);
  });

  it('fails with SOURCE_DECODE naming the zongji version and what was unexpected', () => {
    const fake = { ...orig, version: '0.9.7', RowsEvent: {}, UpdateRows: {}, TableMap: {}, Parser: {} };
    const attempt = (): unknown => installRowReaderOn(fake, {});
    expect(attempt).toThrow(SourceError);
    try {
      attempt();
    } catch (err) {
      expect((err as SourceError).code).toBe('SOURCE_DECODE');
      expect((err as Error).message).toMatch(/@vlasky\/zongji 0\.9\.7: RowsEvent#_fetchOneRow or UpdateRows#_fetchOneRow is not/);
      expect((err as SourceError).details).toMatchObject({ zongjiVersion: '0.9.7' });
    }
    const other = (): unknown => installRowReaderOn({ version: '0.10.0', problem: 'not the 0.9 line our row reader mirrors (rows_event.js readRow)' }, {});
    expect(other).toThrow(/@vlasky\/zongji 0\.10\.0: not the 0\.9 line/);
    // A prototype whose method takes other arguments is not the zongji we mirror either
    const changed = { ...fake, RowsEvent: { _fetchOneRow: (_a: unknown, _b: unknown) => null }, UpdateRows: { _fetchOneRow: (_a: unknown) => null } };
    expect(() => installRowReaderOn(changed, {})).toThrow(/_fetchOneRow/);
  });
});

// ---------------------------------------------------------------------------------------------
// Reading a row image through the patched _fetchOneRow, in both modes

const col = (name: string, type: number, metadata?: Record<string, number>, charset: string | null = null): ZjColumn => ({ name, type, charset, metadata });
const columns: ZjColumn[] = [
  col('id', 3),
  col('t0', 19, { decimals: 0 }),
  col('t6', 19, { decimals: 6 }),
  col('g', 255, { length_size: 4 }),
  col('d', 246, { precision: 10, decimals: 2 }),
  col('v', 15, { max_length: 80 }, 'utf8mb4'),
  col('n', 3),
];
const schemas: ZjColumnSchema[] = [
  { COLUMN_TYPE: 'int' },
  { COLUMN_TYPE: 'time' },
  { COLUMN_TYPE: 'time(6)' },
  { COLUMN_TYPE: 'geometry' },
  { COLUMN_TYPE: 'decimal(10,2)' },
  { COLUMN_TYPE: 'varchar(20)' },
  { COLUMN_TYPE: 'int' },
];
const point = Buffer.from('000000000101000000000000000000f03f0000000000000040', 'hex');

function rowImage(id: number): Buffer {
  const idb = Buffer.alloc(4);
  idb.writeInt32LE(id);
  const hms = (838 << 12) | (59 << 6) | 59;
  const t6 = Buffer.alloc(6);
  t6.writeUIntBE(0x800000000000 - (hms * 2 ** 24 + 999999), 0, 6);
  const glen = Buffer.alloc(4);
  glen.writeUInt32LE(point.length);
  const v = Buffer.from('héllo');
  return Buffer.concat([
    Buffer.from([0x40]), // null bitmap: n
    idb,
    Buffer.from('7ffc40', 'hex'), // -00:15:00
    t6, // -838:59:59.999999
    glen,
    point,
    Buffer.from('800004d238', 'hex'), // 1234.56
    Buffer.from([v.length]),
    v,
  ]);
}
const expectedRow = (id: number): Record<string, unknown> => ({ id, t0: '-00:15:00', t6: '-838:59:59.999999', g: point, d: '1234.56', v: 'héllo', n: null });

function readRows(mode: 'fast' | 'plain', update: boolean): { rows: unknown[]; parserCalls: number } {
  installZongjiDecoder();
  setZongjiDecoderMode(mode);
  const zongji = { connection: { config: { dateStrings: true, timezone: 'Z' } } };
  expect(attachZongjiDecoder(zongji)).toBe(mode);
  const bitmap = Buffer.from([0x7f]);
  const ev = { tableMap: { 7: { columns: columns.map((c) => ({ ...c })), columnSchemas: schemas.map((s) => ({ ...s })) } }, tableId: 7, columns_present_bitmap: bitmap, columns_present_bitmap2: bitmap, _zongji: zongji };
  const parser = new orig.ParserClass() as Parser;
  const images = update ? [rowImage(1), rowImage(2)] : [rowImage(1), rowImage(3)];
  parser.append(Buffer.concat(images));
  let parserCalls = 0;
  const own = parser.parseUnsignedNumber.bind(parser);
  parser.parseUnsignedNumber = (n: number) => {
    parserCalls++;
    return own(n);
  };
  const fetch = (update ? orig.UpdateRows._fetchOneRow : orig.RowsEvent._fetchOneRow) as (this: unknown, p: unknown) => unknown;
  const rows: unknown[] = [];
  while (parser._offset < parser._packetEnd) rows.push(fetch.call(ev, parser));
  return { rows, parserCalls };
}

describe('the row reader in both modes', () => {
  it('reads write/delete rows: exact TIME and GEOMETRY in both modes, zongji for the rest in plain mode', () => {
    const fast = readRows('fast', false);
    const plain = readRows('plain', false);
    expect(fast.rows).toEqual([expectedRow(1), expectedRow(3)]);
    expect(plain.rows).toEqual(fast.rows);
    // The fast readers read INT and VARCHAR off the buffer; zongji asks its parser
    expect(fast.parserCalls).toBe(0);
    expect(plain.parserCalls).toBeGreaterThan(0);
  });

  it('reads update rows (before and after images)', () => {
    for (const mode of ['fast', 'plain'] as const) {
      expect(readRows(mode, true).rows).toEqual([{ before: expectedRow(1), after: expectedRow(2) }]);
    }
  });

  it('plans exact readers in both modes and fast readers only in fast mode', () => {
    const fast = planReaders(columns, schemas, 'fast').map((r) => r !== null);
    const plain = planReaders(columns, schemas, 'plain').map((r) => r !== null);
    expect(fast).toEqual([true, true, true, true, true, true, true]);
    expect(plain).toEqual([false, true, true, true, false, false, false]);
  });

  it('stamps each instance with the mode of its creation; later mode changes leave it alone', () => {
    setZongjiDecoderMode('plain');
    const a = {};
    expect(attachZongjiDecoder(a)).toBe('plain');
    setZongjiDecoderMode('fast');
    expect(attachZongjiDecoder({})).toBe('fast');
    expect(installZongjiDecoder()).toMatchObject({ mode: 'fast', reason: 'chosen by setZongjiDecoderMode' });
    setZongjiDecoderMode(null);
    expect(installZongjiDecoder().mode).toBe(fastPathFromEnv().on ? 'fast' : 'plain');
  });

  it('describes the decoder for the start-up log', () => {
    const base = { zongjiVersion: '0.9.0', patches: ['rows'], skipped: [] };
    expect(describeZongjiDecoder({ ...base, mode: 'plain', reason: 'BINLOG_SYNC_ZONGJI_FASTPATH=0' })).toBe(
      'binlog decoder: zongji 0.9.0, fast path off (BINLOG_SYNC_ZONGJI_FASTPATH=0); our row reader decodes TIME and GEOMETRY, zongji the other types',
    );
    expect(describeZongjiDecoder({ ...base, mode: 'fast', reason: 'default, BINLOG_SYNC_ZONGJI_FASTPATH unset', skipped: ['tablemap: TableMap internals not as expected'] })).toBe(
      'binlog decoder: zongji 0.9.0, fast path on (default, BINLOG_SYNC_ZONGJI_FASTPATH unset), without tablemap: TableMap internals not as expected; our row reader decodes TIME and GEOMETRY, fast readers the common types',
    );
  });
});
