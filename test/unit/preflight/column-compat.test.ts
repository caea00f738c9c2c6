import { describe, expect, it } from 'vitest';
import { columnIncompatibility, type ColumnDefinition } from '../../../src/preflight/column-compat.js';

const col = (columnType: string, charset: string | null = null, maxLength: number | null = null): ColumnDefinition => ({
  name: 'c',
  dataType: columnType.replace(/\(.*$/, '').replace(/ .*$/, '').toLowerCase(),
  columnType,
  maxLength,
  charset,
});

describe('columnIncompatibility', () => {
  it('accepts equal definitions and ones that hold every value exactly', () => {
    for (const [s, t] of [
      [col('int(11)'), col('int(11)')],
      [col('int(11)'), col('int')], // display width only (MySQL 8 omits it)
      [col('tinyint(1)'), col('bigint(20)')],
      [col('int(10) unsigned'), col('bigint(20)')],
      [col('smallint(5) unsigned'), col('mediumint(8) unsigned')],
      [col('float'), col('double')],
      [col('varchar(20)', 'utf8mb4', 20), col('varchar(40)', 'utf8mb4', 40)],
      [col('char(5)', 'latin1', 5), col('text', 'latin1', 65_535)],
      [col('varbinary(16)', null, 16), col('blob', null, 65_535)],
      [col("enum('a','b')", 'utf8mb4'), col("enum('a','b')", 'utf8mb4')],
    ] as const) {
      expect(columnIncompatibility(s, t), `${s.columnType} → ${t.columnType}`).toBeNull();
    }
  });

  it('names what would not fit or would change', () => {
    expect(columnIncompatibility(col('int(10) unsigned'), col('int(11)'))).toMatch(/cannot hold every int unsigned value/);
    expect(columnIncompatibility(col('bigint(20)'), col('int(11)'))).toMatch(/cannot hold every bigint value/);
    expect(columnIncompatibility(col('int(11)'), col('int(10) unsigned'))).toMatch(/cannot hold/);
    expect(columnIncompatibility(col('varchar(40)', 'utf8mb4', 40), col('varchar(20)', 'utf8mb4', 20))).toMatch(/shorter/);
    expect(columnIncompatibility(col('varchar(20)', 'utf8mb4', 20), col('varchar(20)', 'latin1', 20))).toMatch(/another character set/);
    expect(columnIncompatibility(col('decimal(10,2)'), col('decimal(10,3)'))).toMatch(/another definition/);
    expect(columnIncompatibility(col('datetime(6)'), col('datetime'))).toMatch(/another definition/);
    expect(columnIncompatibility(col("enum('a','b')", 'utf8mb4'), col("enum('a')", 'utf8mb4'))).toMatch(/another definition/);
    expect(columnIncompatibility(col('int(11)'), col('varchar(20)', 'utf8mb4', 20))).toMatch(/another type/);
    expect(columnIncompatibility(col('binary(4)', null, 4), col('varbinary(4)', null, 4))).toMatch(/BINARY pads/);
    expect(columnIncompatibility(col('double'), col('float'))).toMatch(/another type/);
  });
});
