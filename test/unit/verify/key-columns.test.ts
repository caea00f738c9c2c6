import { describe, expect, it } from 'vitest';
import { keyColumn, keyLiteral, keyMatchExpr, keyValueExpr, padSpaceSql } from '../../../src/verify/key-columns.js';

const col = (dataType: string, extra: Partial<{ charset: string; collation: string; maxChars: number; padSpace: boolean }> = {}) =>
  keyColumn({ name: 'k', dataType, charset: extra.charset ?? null, collation: extra.collation ?? null, maxChars: extra.maxChars ?? null, padSpace: extra.padSpace ?? false });

describe('key columns', () => {
  it('sorts types into kinds', () => {
    expect(['int', 'BIGINT', 'decimal', 'float', 'double', 'year', 'bit', 'enum', 'set'].map((t) => col(t).kind)).toEqual(Array(9).fill('number'));
    expect(['date', 'time', 'datetime', 'timestamp'].map((t) => col(t).kind)).toEqual(Array(4).fill('temporal'));
    expect(['binary', 'varbinary', 'blob'].map((t) => col(t).kind)).toEqual(Array(3).fill('binary'));
    expect(col('varchar', { charset: 'latin1', collation: 'latin1_swedish_ci' }).kind).toBe('string');
    expect(col('uuid').kind).toBe('other');
    expect(col('inet6').kind).toBe('other');
  });

  it('keeps charset, collation, padding only for strings', () => {
    expect(col('int', { charset: 'x', collation: 'y', padSpace: true, maxChars: 3 })).toMatchObject({ charset: null, collation: null, padSpace: false, maxChars: null });
    expect(() => col('varchar', { charset: 'utf8mb4', collation: "x' OR 1" })).toThrow(/unexpected character set/);
  });

  it('reads exact values: numbers as text (FLOAT widened, BIT/ENUM/SET as numbers), strings and bytes as hex', () => {
    expect(keyValueExpr(col('int'))).toBe('CAST(`k` AS CHAR)');
    expect(keyValueExpr(col('float'))).toBe('CAST(CAST(`k` AS DOUBLE) AS CHAR)');
    expect(keyValueExpr(col('enum'))).toBe('CAST(`k` + 0 AS CHAR)');
    expect(keyValueExpr(col('datetime'))).toBe('CAST(`k` AS CHAR)');
    expect(keyValueExpr(col('varchar', { charset: 'utf8mb4', collation: 'utf8mb4_bin' }))).toBe('HEX(`k`)');
    expect(keyValueExpr(col('varbinary'))).toBe('HEX(`k`)');
    expect(keyValueExpr(col('uuid'))).toBe('HEX(CAST(`k` AS CHAR))');
  });

  it('matches strings by their weight string, padded to the column under PAD SPACE', () => {
    expect(keyMatchExpr(col('varchar', { charset: 'utf8mb4', collation: 'utf8mb4_general_ci', maxChars: 40, padSpace: true }))).toBe('MD5(WEIGHT_STRING(`k` AS CHAR(40)))');
    expect(keyMatchExpr(col('varchar', { charset: 'utf8mb4', collation: 'utf8mb4_general_nopad_ci', maxChars: 40, padSpace: false }))).toBe('MD5(WEIGHT_STRING(`k`))');
    expect(keyMatchExpr(col('int'))).toBe(keyValueExpr(col('int')));
    expect(keyMatchExpr(col('binary'))).toBe('HEX(`k`)');
  });

  it('writes exact literals: strings with their charset and collation, bytes as hex, numbers bare, temporals quoted', () => {
    expect(keyLiteral(col('varchar', { charset: 'latin1', collation: 'latin1_german2_ci' }), 'FC31')).toBe("_latin1 X'FC31' COLLATE latin1_german2_ci");
    expect(keyLiteral(col('varbinary'), '00FF')).toBe("X'00FF'");
    expect(keyLiteral(col('bigint'), '-9223372036854775808')).toBe('-9223372036854775808');
    expect(keyLiteral(col('double'), '1.7976931348623157e308')).toBe('1.7976931348623157e308');
    expect(keyLiteral(col('datetime'), '2024-01-01 00:00:00.000001')).toBe("'2024-01-01 00:00:00.000001'");
    expect(keyLiteral(col('time'), '-838:59:59')).toBe("'-838:59:59'");
    expect(keyLiteral(col('uuid'), '3132')).toBe("_utf8mb4 X'3132'");
    expect(keyLiteral(col('int'), null)).toBe('NULL');
  });

  it('refuses a value that is not what its kind reads, instead of writing it into SQL', () => {
    expect(() => keyLiteral(col('int'), '1; DROP TABLE t')).toThrow(/is not a number/);
    expect(() => keyLiteral(col('date'), "2024-01-01' OR '1")).toThrow(/is not a date or time/);
    expect(() => keyLiteral(col('varbinary'), 'XYZ')).toThrow(/is not hex/);
    expect(() => keyLiteral(col('varchar', { charset: 'utf8mb4', collation: 'utf8mb4_bin' }), 'ABC')).toThrow(/is not hex/);
  });

  it('asks the server whether a collation pads', () => {
    expect(padSpaceSql('utf8mb4', 'utf8mb4_general_ci')).toBe("SELECT CONVERT('a' USING utf8mb4) COLLATE utf8mb4_general_ci = CONVERT('a ' USING utf8mb4) COLLATE utf8mb4_general_ci");
    expect(() => padSpaceSql('utf8mb4', 'x y')).toThrow();
  });
});
