import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/core/errors.js';
import {
  TypeCode,
  compileRowDecoder,
  formatUuid,
  fspOf,
  normalizeInteger,
  normalizeYear,
  withFraction,
  type ColumnSpec,
} from '../../../connectors/mysql-source/row-decoder.js';

const table = { schema: 'shop', name: 'all_types' };
const col = (name: string, typeCode: number, columnType: string, extra: Partial<ColumnSpec> = {}): ColumnSpec => ({ name, typeCode, columnType, ...extra });

describe('value normalisation', () => {
  it('keeps integers as numbers when safe, exact strings beyond', () => {
    expect(normalizeInteger(9007199254740991)).toBe(9007199254740991);
    expect(normalizeInteger('9007199254740991')).toBe(9007199254740991);
    expect(normalizeInteger('-9007199254740991')).toBe(-9007199254740991);
    expect(normalizeInteger('9007199254740992')).toBe('9007199254740992');
    expect(normalizeInteger('-9007199254740992')).toBe('-9007199254740992');
    expect(normalizeInteger('18446744073709551615')).toBe('18446744073709551615');
    expect(normalizeInteger('-9223372036854775808')).toBe('-9223372036854775808');
    expect(normalizeInteger(2n ** 64n - 1n)).toBe('18446744073709551615');
    expect(normalizeInteger(0n)).toBe(0);
  });

  it('maps zongji YEAR 1900 (the stored zero year) back to 0', () => {
    expect(normalizeYear(1900)).toBe(0);
    expect(normalizeYear(1901)).toBe(1901);
    expect(normalizeYear(2155)).toBe(2155);
  });

  it('formats UUID bytes canonically', () => {
    expect(formatUuid(Buffer.from('123e4567e89b12d3a456426614174000', 'hex'))).toBe('123e4567-e89b-12d3-a456-426614174000');
    expect(formatUuid(Buffer.alloc(16, 0xff))).toBe('ffffffff-ffff-ffff-ffff-ffffffffffff');
    expect(formatUuid(Buffer.alloc(16))).toBe('00000000-0000-0000-0000-000000000000');
    expect(() => formatUuid(Buffer.alloc(15))).toThrow(RangeError);
  });

  it('makes temporal fractions exactly fsp digits', () => {
    expect(withFraction('2020-01-01 00:00:00.5', 6)).toBe('2020-01-01 00:00:00.500000');
    expect(withFraction('2020-01-01 00:00:00', 3)).toBe('2020-01-01 00:00:00.000');
    expect(withFraction('2020-01-01 00:00:00.123456', 2)).toBe('2020-01-01 00:00:00.12');
    expect(withFraction('2020-01-01 00:00:00.123', 0)).toBe('2020-01-01 00:00:00');
    expect(withFraction('-838:59:59.5', 1)).toBe('-838:59:59.5');
    expect(withFraction('-838:59:59', 6)).toBe('-838:59:59.000000');
  });

  it('reads fsp from a column type', () => {
    expect(fspOf('datetime(6)')).toBe(6);
    expect(fspOf('timestamp(2)')).toBe(2);
    expect(fspOf('time')).toBe(0);
    expect(fspOf('varchar(6)')).toBe(0);
  });
});

describe('compileRowDecoder', () => {
  const columns: ColumnSpec[] = [
    col('id', TypeCode.LONG, 'int'),
    col('bi', TypeCode.LONGLONG, 'bigint'),
    col('biu', TypeCode.LONGLONG, 'bigint unsigned'),
    col('d', TypeCode.NEWDECIMAL, 'decimal(65,30)'),
    col('f', TypeCode.FLOAT, 'float'),
    col('dbl', TypeCode.DOUBLE, 'double'),
    col('dt', TypeCode.DATE, 'date'),
    col('dtm', TypeCode.DATETIME2, 'datetime', { fsp: 0 }),
    col('dtm6', TypeCode.DATETIME2, 'datetime(6)', { fsp: 6 }),
    col('ts3', TypeCode.TIMESTAMP2, 'timestamp(3)', { fsp: 3 }),
    col('tm', TypeCode.TIME2, 'time(1)', { fsp: 1 }),
    col('y', TypeCode.YEAR, 'year'),
    col('e', TypeCode.ENUM, "enum('a','b')"),
    col('s', TypeCode.SET, "set('x','y')"),
    col('b', TypeCode.BIT, 'bit(10)'),
    col('bl', 252, 'blob'),
    col('j', 252, 'longtext', { dataType: 'longtext' }),
    col('u', 254, 'binary(16)', { dataType: 'uuid' }),
    col('v', TypeCode.VARCHAR, 'varchar(20)'),
  ];
  const decode = compileRowDecoder(table, columns);
  /** A full row image (zongji always sets every column): NULLs plus the given values. */
  const full = (values: Record<string, unknown>): Record<string, unknown> => ({ ...Object.fromEntries(columns.map((c) => [c.name, null])), ...values });

  it('passes final values through and fixes the ones zongji gets wrong, in place', () => {
    const bits = Buffer.from([0x02, 0x00]);
    const raw: Record<string, unknown> = {
      id: -2147483648,
      bi: '-9223372036854775808',
      biu: '18446744073709551615',
      d: '-12345678901234567890123456789012345.123456789012345678901234567890',
      f: 3.4028234663852886e38,
      dbl: -1.7976931348623157e308,
      dt: '0000-00-00',
      dtm: '9999-12-31 23:59:59',
      dtm6: '2020-00-00 00:00:00.000001',
      ts3: '0000-00-00 00:00:00.000',
      tm: '-838:59:59.0',
      y: 1900,
      e: undefined,
      s: '',
      b: bits,
      bl: Buffer.alloc(0),
      j: '{"a": 18446744073709551615}',
      u: Buffer.from('f47ac10b58cc4372a5670e02b2c3d479', 'hex'),
      v: '😀 héllo',
    };
    const row = decode(raw);
    expect(row).toBe(raw);
    expect(row).toEqual({
      id: -2147483648,
      bi: '-9223372036854775808',
      biu: '18446744073709551615',
      d: '-12345678901234567890123456789012345.123456789012345678901234567890',
      f: 3.4028234663852886e38,
      dbl: -1.7976931348623157e308,
      dt: '0000-00-00',
      dtm: '9999-12-31 23:59:59',
      dtm6: '2020-00-00 00:00:00.000001',
      ts3: '0000-00-00 00:00:00.000',
      tm: '-838:59:59.0',
      y: 0,
      e: '',
      s: '',
      b: bits,
      bl: Buffer.alloc(0),
      j: '{"a": 18446744073709551615}',
      u: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
      v: '😀 héllo',
    });
    expect(row.b).toBe(bits);
  });

  it('keeps NULL in every column', () => {
    const raw = Object.fromEntries(columns.map((c) => [c.name, null]));
    expect(decode({ ...raw })).toEqual(raw);
  });

  it('pads a temporal fraction that came back short and accepts a pre-formatted UUID', () => {
    const row = decode(full({ dtm6: '2020-01-01 00:00:00.5', ts3: '2038-01-19 03:14:07', u: '00000000-0000-0000-0000-000000000000', y: 2155 }));
    expect(row.dtm6).toBe('2020-01-01 00:00:00.500000');
    expect(row.ts3).toBe('2038-01-19 03:14:07.000');
    expect(row.u).toBe('00000000-0000-0000-0000-000000000000');
    expect(row.y).toBe(2155);
  });

  it('refuses Date objects (zongji without dateStrings loses microseconds and shifts by the process TZ)', () => {
    expect(() => decode(full({ dtm: new Date(0) }))).toThrow(SourceError);
    try {
      decode(full({ dtm: new Date(0) }));
    } catch (err) {
      expect((err as SourceError).code).toBe('SOURCE_DECODE');
      expect((err as Error).message).toContain('shop.all_types.dtm');
    }
  });

  it('refuses parsed JSON objects (jsonStrings off)', () => {
    const d = compileRowDecoder(table, [col('j', TypeCode.JSON, 'json')]);
    expect(() => d({ j: { a: 1 } })).toThrow(/JSON text/);
    expect(d({ j: '{"a": 1}' }).j).toBe('{"a": 1}');
  });

  it('passes GEOMETRY bytes through and refuses parsed objects (a row not read by our row reader)', () => {
    const d = compileRowDecoder(table, [col('g', TypeCode.GEOMETRY, 'geometry')]);
    const wkb = Buffer.from('000000000101000000000000000000f03f0000000000000040', 'hex');
    expect(d({ g: wkb }).g).toEqual(wkb);
    expect(() => d({ g: { x: 1, y: 2 } })).toThrow(/not read by our row reader/);
  });

  it('leaves generated columns out without checking them (found by the fuzzer: an integer VIRTUAL column stopped the pipeline)', () => {
    const d = compileRowDecoder(table, [col('id', TypeCode.LONG, 'int'), col('gen', TypeCode.LONGLONG, 'bigint', { generated: true }), col('label', TypeCode.VARCHAR, 'varchar(20)', { generated: true })]);
    expect(d({ id: 1, gen: undefined, label: 'x' })).toEqual({ id: 1 });
    expect(d({ id: 2 })).toEqual({ id: 2 });
  });

  it('reports a value zongji could not decode (undefined) instead of passing it on', () => {
    expect(() => decode(full({ bi: undefined }))).toThrow(/shop\.all_types\.bi: expected an integer/);
  });

  it('normalises a BIGINT string inside the safe range to a number', () => {
    expect(decode(full({ bi: '42' })).bi).toBe(42);
  });
});
