import { describe, expect, it } from 'vitest';
import {
  decodeText,
  exactReader,
  fastReader,
  runColumnReader,
  textKind,
  zeroPad,
  type ZjColumn,
  type ZjColumnSchema,
} from '../../../connectors/mysql-source/column-readers.js';
import { zongjiOriginals } from '../../../connectors/mysql-source/zongji-row-reader.js';

const orig = zongjiOriginals();
const cfg = { dateStrings: true, timezone: 'Z' };
const zongji = { connection: { config: cfg } };

// Deterministic pseudo-random bytes
let seed = 12345;
const rnd = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed;
};
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rnd() & 0xff));

/** zongji's own value and end offset for `buf` at offset 3 (a prefix, as in a real packet). */
function original(column: ZjColumn, schema: ZjColumnSchema, payload: Buffer): { value: unknown; next: number } {
  if (!orig) throw new Error('zongji internals not loadable');
  const buf = Buffer.concat([Buffer.from([9, 9, 9]), payload]);
  const parser = new orig.ParserClass();
  parser.append(buf);
  parser._offset = 3;
  const value = orig.readMysqlValue(parser, column, schema, { columns: [column], columnSchemas: [schema] }, zongji);
  return { value, next: parser._offset };
}

/** Ours must either give the value up to zongji or produce exactly its value and end offset. */
function check(column: ZjColumn, schema: ZjColumnSchema, payload: Buffer): boolean {
  const reader = fastReader(column, schema);
  expect(reader).not.toBeNull();
  const buf = Buffer.concat([Buffer.from([9, 9, 9]), payload]);
  const ours = runColumnReader(reader!, buf, 3, cfg);
  if (ours.slow) return false;
  const theirs = original(column, schema, payload);
  if (Buffer.isBuffer(theirs.value)) expect(Buffer.compare(ours.value as Buffer, theirs.value)).toBe(0);
  else expect(Object.is(ours.value, theirs.value) || ours.value === theirs.value).toBe(true);
  expect(ours.next).toBe(theirs.next);
  return true;
}

const col = (type: number, metadata?: Record<string, number>, charset: string | null = null): ZjColumn => ({
  name: 'c',
  type,
  charset,
  metadata,
});

describe('fast column readers: exactly zongji\'s values', () => {
  it('loads zongji internals', () => {
    expect(orig).not.toBeNull();
  });

  it('zeroPad equals zongji', () => {
    for (const v of [0, 1, 9, 10, 99, 100, 999, 2024, 10082, 123456789, -5, '7', '000', '-12', '1234567890']) {
      for (const size of [0, 1, 2, 3, 4, 6, 9, 12]) expect(zeroPad(v, size)).toBe(orig!.zeroPad(v, size));
    }
  });

  it('integers (signed/unsigned, all widths) equal zongji', () => {
    for (const [type, width] of [[1, 1], [2, 2], [9, 3], [3, 4], [8, 8]] as const) {
      for (const unsigned of [false, true]) {
        const schemas: ZjColumnSchema[] = [
          { COLUMN_TYPE: unsigned ? 'int unsigned' : 'int' },
          { COLUMN_TYPE: 'int', UNSIGNED: unsigned },
        ];
        for (const schema of schemas) {
          const edge = [Buffer.alloc(width, 0), Buffer.alloc(width, 0xff), Buffer.from([...Array(width - 1).fill(0xff), 0x7f]), Buffer.from([...Array(width - 1).fill(0), 0x80])];
          for (const b of edge) check(col(type), schema, b);
          let fast = 0;
          for (let i = 0; i < 3000; i++) {
            const b = bytes(width);
            if (type === 8 && i % 2 === 0) b[7] = (b[7] as number) & 0x1f; // below 2^53
            if (check(col(type), schema, b)) fast++;
          }
          expect(fast).toBeGreaterThan(1000);
        }
      }
    }
  });

  it('FLOAT, DOUBLE and YEAR equal zongji', () => {
    for (let i = 0; i < 3000; i++) {
      check(col(4, { size: 4 }), { COLUMN_TYPE: 'float' }, bytes(4));
      check(col(5, { size: 8 }), { COLUMN_TYPE: 'double' }, bytes(8));
      check(col(13), { COLUMN_TYPE: 'year' }, bytes(1));
    }
  });

  it('DECIMAL equals zongji for every precision/scale, real and arbitrary bytes', () => {
    for (let precision = 1; precision <= 65; precision++) {
      for (let scale = 0; scale <= Math.min(precision, 30); scale += scale < 4 ? 1 : 5) {
        const c = col(246, { precision, decimals: scale });
        const schema = { COLUMN_TYPE: `decimal(${precision},${scale})` };
        const size = Math.floor((precision - scale) / 9) * 4 + [0, 1, 1, 2, 2, 3, 3, 4, 4, 4][(precision - scale) % 9]! +
          Math.floor(scale / 9) * 4 + [0, 1, 1, 2, 2, 3, 3, 4, 4, 4][scale % 9]!;
        // zero (positive and negative encodings) and arbitrary bytes
        const zero = Buffer.alloc(size, 0);
        zero[0] = 0x80;
        expect(check(c, schema, zero)).toBe(true);
        expect(check(c, schema, Buffer.alloc(size, 0x7f))).toBe(true);
        for (let i = 0; i < 40; i++) expect(check(c, schema, bytes(size))).toBe(true);
      }
    }
  });

  it('DATETIME(0) and DATE with dateStrings equal zongji', () => {
    for (let i = 0; i < 5000; i++) {
      expect(check(col(18, { decimals: 0 }), { COLUMN_TYPE: 'datetime' }, bytes(5))).toBe(true);
      expect(check(col(10), { COLUMN_TYPE: 'date' }, bytes(3))).toBe(true);
    }
    // a real value: 2024-01-01 00:00:06
    const real = Buffer.alloc(5);
    real.writeUIntBE((2024 * 13 + 1) * 2 ** 22 + (1 << 17) + 6 + 2 ** 39, 0, 5);
    expect(runColumnReader(fastReader(col(18, { decimals: 0 }), { COLUMN_TYPE: 'datetime' })!, real, 0, cfg)).toEqual({
      slow: false,
      value: '2024-01-01 00:00:06',
      next: 5,
    });
    // not dateStrings: zongji decides
    expect(runColumnReader(fastReader(col(10), { COLUMN_TYPE: 'date' })!, bytes(3), 0, {}).slow).toBe(true);
  });

  it('text columns: utf8 (also invalid bytes) and latin1 (cp1252 bytes go to iconv) equal zongji', () => {
    const lengths = [0, 1, 2, 5, 60, 200, 255];
    for (const charset of ['utf8mb4', 'utf8mb3', 'utf8', 'latin1']) {
      for (const maxLength of [60, 255, 256, 1000]) {
        const prefix = maxLength > 255 ? 2 : 1;
        for (const type of [15, 254]) {
          for (const len of lengths) {
            for (let i = 0; i < 10; i++) {
              const body = i === 0 ? Buffer.from('héllo wörld ✓ 😀'.repeat(20)).subarray(0, len) : bytes(len);
              const head = Buffer.alloc(prefix);
              head.writeUIntLE(len, 0, prefix);
              check(col(type, { max_length: maxLength }, charset), { COLUMN_TYPE: 'varchar(250)' }, Buffer.concat([head, body]));
            }
          }
        }
      }
    }
    // every latin1 byte outside 0x80–0x9F takes the fast path and matches iconv's cp1252
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b < 0x80 || b > 0x9f));
    expect(decodeText(all, 0, all.length, 'latin1')).toBe(all.toString('latin1'));
    expect(check(col(15, { max_length: 1000 }, 'latin1'), { COLUMN_TYPE: 'varchar(1000)' }, Buffer.concat([Buffer.from([all.length, 0]), all]))).toBe(true);
    expect(decodeText(Buffer.from([0x41, 0x80]), 0, 2, 'latin1')).toBeUndefined();
  });

  it('TEXT/BLOB equal zongji', () => {
    for (const lengthSize of [1, 2, 3, 4]) {
      for (const charset of [null, 'utf8mb4', 'latin1']) {
        for (let i = 0; i < 30; i++) {
          const len = rnd() % (lengthSize === 1 ? 256 : 300);
          const head = Buffer.alloc(lengthSize);
          head.writeUIntLE(len, 0, lengthSize);
          check(col(252, { length_size: lengthSize }, charset), { COLUMN_TYPE: charset ? 'text' : 'blob' }, Buffer.concat([head, bytes(len)]));
        }
      }
    }
  });

  it('leaves special and unknown types to zongji', () => {
    for (const def of ['uuid', 'inet4', 'inet6', 'binary(16)', 'varbinary(10)', 'vector(4)']) {
      expect(fastReader(col(254, { max_length: 16 }, 'utf8mb4'), { COLUMN_TYPE: def })).toBeNull();
    }
    expect(fastReader(col(15, { max_length: 16 }, 'sjis'), { COLUMN_TYPE: 'varchar(4)' })).toBeNull();
    expect(fastReader(col(18, { decimals: 3 }), { COLUMN_TYPE: 'datetime(3)' })).toBeNull();
    expect(fastReader(col(245, { length_size: 4 }), { COLUMN_TYPE: 'json' })).toBeNull();
    expect(fastReader(col(17, { decimals: 0 }), { COLUMN_TYPE: 'timestamp' })).toBeNull();
    expect(textKind(null)).toBe('utf8');
    expect(textKind('cp1250')).toBe('other');
  });
});

describe('exact column readers: what zongji gets wrong', () => {
  it('TIME2: the server text at every fsp, consuming what zongji consumes; zongji is wrong for negative whole seconds', () => {
    // -00:15:00 in TIME(0..6): integer part 0x800000 - (15 << 6), no fraction (all zero bytes)
    for (let fsp = 0; fsp <= 6; fsp++) {
      const payload = Buffer.alloc(3 + Math.ceil(fsp / 2));
      if (fsp >= 5) payload.writeUIntBE(0x800000000000 - (15 << 6) * 2 ** 24, 0, 6);
      else payload.writeUIntBE(0x800000 - (15 << 6), 0, 3);
      const column = col(19, { decimals: fsp });
      const schema = { COLUMN_TYPE: fsp ? `time(${fsp})` : 'time' };
      const buf = Buffer.concat([Buffer.from([9, 9, 9]), payload]);
      const ours = runColumnReader(exactReader(column, schema)!, buf, 3, cfg);
      const theirs = original(column, schema, payload);
      const want = '-00:15:00' + (fsp ? '.' + '0'.repeat(fsp) : '');
      expect(ours).toEqual({ slow: false, value: want, next: theirs.next });
      expect(theirs.value).toBe('-00:14:64' + (fsp ? '.' + '0'.repeat(fsp) : ''));
      // cut short: left to zongji (which throws its RangeError)
      expect(runColumnReader(exactReader(column, schema)!, buf.subarray(0, buf.length - 1), 3, cfg).slow).toBe(true);
    }
    expect(exactReader(col(19), { COLUMN_TYPE: 'time' })).toBeNull(); // no metadata: zongji decides
    expect(fastReader(col(19, { decimals: 0 }), { COLUMN_TYPE: 'time' })).toBeNull();
  });

  it('GEOMETRY: the stored bytes (SRID + WKB), where zongji parses an object', () => {
    const value = Buffer.from('e6100000' + '0101000000' + '000000000000f03f' + '0000000000000040', 'hex'); // SRID 4326, POINT(1 2)
    for (const lengthSize of [1, 2, 3, 4]) {
      const head = Buffer.alloc(lengthSize);
      head.writeUIntLE(value.length, 0, lengthSize);
      const payload = Buffer.concat([head, value]);
      const column = col(255, { length_size: lengthSize });
      const schema = { COLUMN_TYPE: 'geometry' };
      const ours = runColumnReader(exactReader(column, schema)!, Buffer.concat([Buffer.from([9, 9, 9]), payload]), 3, cfg);
      const theirs = original(column, schema, payload);
      expect(ours.slow).toBe(false);
      if (!ours.slow) {
        expect(Buffer.compare(ours.value as Buffer, value)).toBe(0);
        expect(ours.next).toBe(theirs.next);
      }
      expect(theirs.value).toEqual({ x: 1, y: 2 });
    }
    expect(fastReader(col(255, { length_size: 4 }), { COLUMN_TYPE: 'geometry' })).toBeNull();
  });

  it('has no exact reader for types zongji decodes right', () => {
    for (const [type, md] of [[3, undefined], [246, { precision: 10, decimals: 2 }], [18, { decimals: 6 }], [17, { decimals: 6 }], [16, { bits: 10 }], [252, { length_size: 2 }]] as const) {
      expect(exactReader(col(type, md), { COLUMN_TYPE: 'x' })).toBeNull();
    }
  });
});
