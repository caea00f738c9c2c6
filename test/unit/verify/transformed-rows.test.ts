import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RowFilter } from '../../../src/core/row-filter.js';
import { readKeyedRow } from '../../../src/verify/checksum-sql.js';
import { keyColumn } from '../../../src/verify/key-columns.js';
import type { TransformedSource } from '../../../src/verify/transformed-plan.js';
import { checksumOf, expectedRow, mergeExpected, MergedKeyCollision, sourceRowsSql, unionBoundarySql } from '../../../src/verify/transformed-rows.js';

const int = (name: string) => keyColumn({ name, dataType: 'int', charset: null, collation: null, maxChars: null, padSpace: false });
const text = (name: string) => keyColumn({ name, dataType: 'varchar', charset: 'utf8mb4', collation: 'utf8mb4_general_ci', maxChars: 20, padSpace: true });
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex').toUpperCase();

const customers: TransformedSource = {
  table: { db: 'crm', table: 'customers' },
  name: 'crm.customers',
  parts: [
    { kind: 'copy', column: { name: 'id', dataType: 'int' } },
    { kind: 'hash', column: 'email', target: { name: 'email', dataType: 'char' } },
    { kind: 'null' },
    { kind: 'copy', column: { name: 'status', dataType: 'varchar' } },
  ],
  reads: [
    { name: 'status', dataType: 'varchar' },
    { name: 'n', dataType: 'bigint' },
    { name: 'email', dataType: 'varchar' },
  ],
  filter: new RowFilter("status <> 'deleted' AND n > 5"),
};
const key = [int('id')];

describe('expected rows of a transformed table', () => {
  it('reads the key, the copied parts by the server and the filter and hash columns as the pipeline reads them', () => {
    expect(sourceRowsSql(customers, key, ' WHERE `id` > 3')).toBe(
      "SELECT CAST(`id` AS CHAR), IF(`id` IS NULL, 'n', CONCAT('v', CAST(`id` AS CHAR))), " +
        "IF(`status` IS NULL, 'n', IF(LENGTH(`status`) > 4096, CONCAT('m', MD5(`status`)), CONCAT('v', HEX(`status`)))), " +
        '`status`, `n`, `email` FROM `crm`.`customers` WHERE `id` > 3 ORDER BY `id`',
    );
    // A string key brings its match form (as the server compares keys).
    expect(sourceRowsSql({ ...customers, parts: [], reads: [] }, [text('code')], '')).toBe('SELECT HEX(`code`), MD5(WEIGHT_STRING(`code` AS CHAR(20))) FROM `crm`.`customers` ORDER BY `code`');
  });

  it("hashes the row text the target's server would build: copied parts as read, the mask's SHA-256 as its bytes' hex, NULL as n", () => {
    const row = ['7', 'v7', `v${hex('active')}`, 'active', '9007199254740993', 'a@example.com'];
    const got = expectedRow(customers, key, row);
    const textOfRow = ['v7', `v${hex(sha256('a@example.com'))}`, 'n', `v${hex('active')}`].join('#');
    expect(got).toEqual(readKeyedRow(key, ['7', md5(textOfRow)]));
    expect(got?.hash).toBe(md5(textOfRow));
    // A NULL stays NULL under `mask: hash`.
    expect(expectedRow(customers, key, ['7', 'v7', `v${hex('active')}`, 'active', '10', null])?.hash).toBe(md5(['v7', 'n', 'n', `v${hex('active')}`].join('#')));
    // Into a column compared as text (not hex), the digest is its own text.
    const intoText: TransformedSource = { ...customers, parts: [{ kind: 'hash', column: 'email', target: { name: 'email', dataType: 'int' } }] };
    expect(expectedRow(intoText, key, ['7', 'active', '10', 'x'])?.hash).toBe(md5(`v${sha256('x')}`));
  });

  it('leaves out rows the filter rejects, judged on the decoder-form values (a big BIGINT as exact digits)', () => {
    expect(expectedRow(customers, key, ['7', 'v7', 'v00', 'deleted', '10', 'a@b'])).toBeNull();
    expect(expectedRow(customers, key, ['7', 'v7', 'v00', 'active', '5', 'a@b'])).toBeNull();
    expect(expectedRow(customers, key, ['7', 'v7', 'v00', 'active', '9007199254740993', 'a@b'])).not.toBeNull();
    expect(expectedRow(customers, key, ['7', 'v7', 'n', null, '10', 'a@b'])).toBeNull();
  });

  it("computes a chunk's checksum as the server's COUNT and BIT_XOR of the hashes' first 64 bits", () => {
    expect(checksumOf([])).toEqual({ rows: 0, xor: '0' });
    const a = readKeyedRow(key, ['1', 'ffffffffffffffff0000000000000000']);
    const b = readKeyedRow(key, ['2', '00000000000000010000000000000000']);
    expect(checksumOf([a])).toEqual({ rows: 1, xor: '18446744073709551615' });
    expect(checksumOf([a, b])).toEqual({ rows: 2, xor: '18446744073709551614' });
  });

  it('pages the keys of merged tables over their union, ordered by the server', () => {
    const tables = [
      { db: 'shop_1', table: 'orders' },
      { db: 'shop_2', table: 'orders' },
    ];
    expect(unionBoundarySql(tables.slice(0, 1), key, null, 10)).toBe('SELECT CAST(`id` AS CHAR) FROM `shop_1`.`orders` ORDER BY `id` LIMIT 1 OFFSET 9');
    expect(unionBoundarySql(tables, key, ['5'], 10)).toBe(
      'SELECT CAST(`id` AS CHAR) FROM ((SELECT `id` FROM `shop_1`.`orders` WHERE `id` > 5 ORDER BY `id` LIMIT 10) UNION ALL ' +
        '(SELECT `id` FROM `shop_2`.`orders` WHERE `id` > 5 ORDER BY `id` LIMIT 10)) u ORDER BY `id` LIMIT 1 OFFSET 9',
    );
  });

  it('merges the rows of merged tables, and reports keys two of them share rather than guess which row the target should hold', () => {
    const row = (id: string, hash: string) => readKeyedRow(key, [id, hash]);
    expect(mergeExpected('all.orders', key, [{ source: 's1.orders', rows: [row('1', 'aa'), row('3', 'bb')] }, { source: 's2.orders', rows: [row('2', 'cc')] }]).map((r) => r.key)).toEqual([['1'], ['3'], ['2']]);
    expect(() => mergeExpected('all.orders', key, [{ source: 's1.orders', rows: [row('1', 'aa'), row('3', 'bb')] }, { source: 's2.orders', rows: [row('3', 'cc'), row('4', 'dd')] }])).toThrow(MergedKeyCollision);
    expect(() => mergeExpected('all.orders', key, [{ source: 's1.orders', rows: [row('1', 'aa'), row('3', 'bb')] }, { source: 's2.orders', rows: [row('3', 'cc'), row('4', 'dd')] }])).toThrow(
      'not compared: the source tables merged into all.orders have rows with the same key that pass the table settings (id=3 in s1.orders and s2.orders)',
    );
  });
});
