import { describe, expect, it } from 'vitest';
import {
  boundarySql,
  chunkChecksumSql,
  keyRowsSql,
  LONG_VALUE_BYTES,
  rangeCondition,
  rangeRowsSql,
  readKeyedRow,
  rowHashExpr,
  rowTextExpr,
  type ChecksumTable,
} from '../../../src/verify/checksum-sql.js';
import { keyColumn } from '../../../src/verify/key-columns.js';

const int = (name: string) => keyColumn({ name, dataType: 'int', charset: null, collation: null, maxChars: null, padSpace: false });
const text = (name: string) => keyColumn({ name, dataType: 'varchar', charset: 'utf8mb4', collation: 'utf8mb4_general_ci', maxChars: 20, padSpace: true });
const single: ChecksumTable = { db: 'shop', table: 'orders', key: [int('id')] };
const composite: ChecksumTable = { db: 'shop', table: 'lines', key: [int('a'), text('b')] };

describe('row text and hash', () => {
  it('marks each value v, writes NULL as n, joins with #, and hashes long values instead of hexing them', () => {
    const sql = rowTextExpr([
      { name: 'id', dataType: 'int' },
      { name: 'f', dataType: 'float' },
      { name: 'note', dataType: 'varchar' },
    ]);
    expect(sql).toBe(
      "CONCAT(IF(`id` IS NULL, 'n', CONCAT('v', CAST(`id` AS CHAR))), '#', " +
        "IF(`f` IS NULL, 'n', CONCAT('v', CAST(CAST(`f` AS DOUBLE) AS CHAR))), '#', " +
        `IF(\`note\` IS NULL, 'n', IF(LENGTH(\`note\`) > ${LONG_VALUE_BYTES}, CONCAT('m', MD5(\`note\`)), CONCAT('v', HEX(\`note\`)))))`,
    );
  });

  it('falls back to a hash of per-column hashes, never NULL', () => {
    const sql = rowHashExpr([
      { name: 'id', dataType: 'bigint' },
      { name: 'b', dataType: 'blob' },
    ]);
    expect(sql).toMatch(/^COALESCE\(MD5\(CONCAT\(.*\)\), MD5\(CONCAT_WS\('#', IF\(`id` IS NULL, 'n', MD5\(CAST\(`id` AS CHAR\)\)\), IF\(`b` IS NULL, 'n', MD5\(`b`\)\)\)\)\)$/);
  });

  it('quotes identifiers with backticks doubled', () => {
    expect(rowTextExpr([{ name: 'we`ird', dataType: 'int' }])).toContain('`we``ird`');
  });
});

describe('key ranges', () => {
  it('is the whole table without bounds', () => {
    expect(rangeCondition(single.key, { lo: null, hi: null })).toBe('');
  });

  it('bounds a one-column key by > lo and <= hi', () => {
    expect(rangeCondition(single.key, { lo: ['10'], hi: ['20'] })).toBe(' WHERE `id` > 10 AND `id` <= 20');
  });

  it('writes a composite bound column by column, with a leading range on the first column', () => {
    expect(rangeCondition(composite.key, { lo: ['1', '6B'], hi: null })).toBe(
      " WHERE (`a` >= 1 AND ((`a` > 1) OR (`a` = 1 AND `b` > _utf8mb4 X'6B' COLLATE utf8mb4_general_ci)))",
    );
    expect(rangeCondition(composite.key, { lo: null, hi: ['2', ''] })).toBe(
      " WHERE (`a` <= 2 AND ((`a` < 2) OR (`a` = 2 AND `b` <= _utf8mb4 X'' COLLATE utf8mb4_general_ci)))",
    );
  });

  it('refuses a bound with the wrong number of values', () => {
    expect(() => rangeCondition(composite.key, { lo: ['1'], hi: null })).toThrow(/1 values for a 2-column key/);
  });
});

describe('statements', () => {
  it('pages the source key: the key of the chunk-size-th row after lo', () => {
    expect(boundarySql(single, null, 10_000)).toBe('SELECT CAST(`id` AS CHAR) FROM `shop`.`orders` ORDER BY `id` LIMIT 1 OFFSET 9999');
    expect(boundarySql(composite, ['1', '61'], 1)).toBe(
      "SELECT CAST(`a` AS CHAR), HEX(`b`) FROM `shop`.`lines` WHERE (`a` >= 1 AND ((`a` > 1) OR (`a` = 1 AND `b` > _utf8mb4 X'61' COLLATE utf8mb4_general_ci))) ORDER BY `a`, `b` LIMIT 1 OFFSET 0",
    );
    expect(() => boundarySql(single, null, 0)).toThrow();
  });

  it('checksums a chunk as COUNT(*) and the BIT_XOR of the first 64 bits of each row hash', () => {
    const sql = chunkChecksumSql(single, [{ name: 'id', dataType: 'int' }], { lo: ['0'], hi: null });
    expect(sql).toMatch(/^SELECT COUNT\(\*\), CAST\(BIT_XOR\(CAST\(CONV\(LEFT\(COALESCE\(.*\), 16\), 16, 10\) AS UNSIGNED\)\) AS CHAR\) FROM `shop`.`orders` WHERE `id` > 0$/);
  });

  it('selects keyed rows as key values, the match form of string columns, then the row hash', () => {
    const sql = rangeRowsSql(composite, [{ name: 'a', dataType: 'int' }], { lo: null, hi: ['3', '7A'] });
    expect(sql).toMatch(/^SELECT CAST\(`a` AS CHAR\), HEX\(`b`\), MD5\(WEIGHT_STRING\(`b` AS CHAR\(20\)\)\), COALESCE\(/);
    expect(sql).toMatch(/ ORDER BY `a`, `b`$/);
  });

  it('looks keys up with IN for one column and OR of ANDs for several (not a row IN)', () => {
    expect(keyRowsSql(single, [{ name: 'id', dataType: 'int' }], [['1'], ['2']])).toMatch(/ WHERE `id` IN \(1, 2\)$/);
    expect(keyRowsSql(composite, [{ name: 'a', dataType: 'int' }], [['1', '61'], ['2', '']])).toMatch(
      / WHERE \(`a` = 1 AND `b` = _utf8mb4 X'61' COLLATE utf8mb4_general_ci\) OR \(`a` = 2 AND `b` = _utf8mb4 X'' COLLATE utf8mb4_general_ci\)$/,
    );
    expect(() => keyRowsSql(single, [], [])).toThrow();
  });

  it('reads a keyed row: string keys match by their weight form, others by value', () => {
    const r = readKeyedRow(composite.key, ['7', '4B4559', 'w1', 'hash']);
    expect(r).toEqual({ key: ['7', '4B4559'], match: 'v7#vw1', hash: 'hash' });
    // Another case of the same key under _ci: other bytes, same weights, same match form.
    expect(readKeyedRow(composite.key, ['7', '6B6579', 'w1', 'other']).match).toBe(r.match);
    expect(readKeyedRow(single.key, [null, 'h']).match).toBe('n');
  });
});
