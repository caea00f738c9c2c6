import { describe, expect, it } from 'vitest';
import type { Mutation, SqlValue, TableKeys } from '../../../src/core/event.js';
import { TargetError } from '../../../src/core/errors.js';
import { del, upsert } from '../../support/mutations.js';
import {
  buildStatements,
  buildTableStatements,
  formatKey,
  LARGE_VALUE_BYTES,
  quoteIdentifier,
  quoteTable,
  sqlLiteral,
} from '../../../connectors/mysql-sink/statement-builder.js';

const USERS: TableKeys = { table: { schema: 'app', name: 'users' }, primaryKey: ['id'], uniqueKeys: [] };
const EMAILS: TableKeys = { table: { schema: 'app', name: 'emails' }, primaryKey: ['id'], uniqueKeys: [['email']] };
const PAIRS: TableKeys = { table: { schema: 'app', name: 'pairs' }, primaryKey: ['a', 'b'], uniqueKeys: [] };


describe('identifiers', () => {
  it('backtick-quotes and doubles backticks, never splitting on dots', () => {
    expect(quoteIdentifier('plain')).toBe('`plain`');
    expect(quoteIdentifier('we`ird')).toBe('`we``ird`');
    expect(quoteIdentifier('a.b')).toBe('`a.b`');
    expect(quoteTable({ schema: 'd`b', name: 't.x' })).toBe('`d``b`.`t.x`');
  });
});

describe('sqlLiteral', () => {
  it('writes NULL and numbers as they are', () => {
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral(0)).toBe('0');
    expect(sqlLiteral(-42)).toBe('-42');
    expect(sqlLiteral(9007199254740991)).toBe('9007199254740991');
    expect(sqlLiteral(1.5e-7)).toBe('1.5e-7');
    expect(sqlLiteral(3.141592653589793)).toBe('3.141592653589793');
  });

  it('rejects non-finite numbers with a TargetError', () => {
    expect(() => sqlLiteral(Number.NaN)).toThrow(TargetError);
    expect(() => sqlLiteral(Number.POSITIVE_INFINITY)).toThrow(/non-finite/);
  });

  it('quotes big-integer and decimal digit strings (the server converts them exactly)', () => {
    expect(sqlLiteral('18446744073709551615')).toBe("'18446744073709551615'");
    expect(sqlLiteral('-9223372036854775808')).toBe("'-9223372036854775808'");
    expect(sqlLiteral('12345678901234567890.123456789012345678901234567890')).toBe("'12345678901234567890.123456789012345678901234567890'");
  });

  it('escapes quotes, backslashes, NUL and control characters', () => {
    expect(sqlLiteral("O'Brien")).toBe("'O\\'Brien'");
    expect(sqlLiteral('say "hi"')).toBe(`'say \\"hi\\"'`);
    expect(sqlLiteral('C:\\path\\')).toBe("'C:\\\\path\\\\'");
    expect(sqlLiteral('a\u0000b')).toBe("'a\\0b'");
    expect(sqlLiteral('l1\nl2\r\tx\u001a\b')).toBe("'l1\\nl2\\r\\tx\\Z\\b'");
    // A backslash before a quote must not escape the closing quote.
    expect(sqlLiteral("\\'")).toBe("'\\\\\\''");
  });

  it('keeps unicode as is, including astral-plane characters', () => {
    expect(sqlLiteral('héllo wörld')).toBe("'héllo wörld'");
    expect(sqlLiteral('emoji 😀🎉 and 中文')).toBe("'emoji 😀🎉 and 中文'");
  });

  it('writes Buffers as hex literals covering every byte value', () => {
    expect(sqlLiteral(Buffer.alloc(0))).toBe("X''");
    expect(sqlLiteral(Buffer.from([0x00, 0x27, 0x5c, 0xff]))).toBe("X'00275cff'");
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const lit = sqlLiteral(all);
    expect(lit.length).toBe(3 + 512);
    expect(Buffer.from(lit.slice(2, -1), 'hex').equals(all)).toBe(true);
  });

  it('temporal, JSON and negative TIME strings are plain escaped strings', () => {
    expect(sqlLiteral('2024-02-29 23:59:59.123456')).toBe("'2024-02-29 23:59:59.123456'");
    expect(sqlLiteral('-838:59:59.000000')).toBe("'-838:59:59.000000'");
    expect(sqlLiteral('0000-00-00')).toBe("'0000-00-00'");
    expect(sqlLiteral('{"a":"x\\"y","n":12345678901234567890}')).toBe(`'{\\"a\\":\\"x\\\\\\"y\\",\\"n\\":12345678901234567890}'`);
  });
});

describe('formatKey', () => {
  it('formats single and composite keys as SQL, shortened when long', () => {
    expect(formatKey([42])).toBe('42');
    expect(formatKey([1, "it's"])).toBe("(1, 'it\\'s')");
    expect(formatKey(['x'.repeat(500)], 20)).toBe(`'${'x'.repeat(19)}…`);
  });
});

describe('buildTableStatements', () => {
  it('builds a multi-row IODKU updating every non-key column for tables without unique keys', () => {
    const [s, ...rest] = buildTableStatements([
      upsert(USERS, { id: 1, name: 'a', score: null }),
      upsert(USERS, { id: 2, name: 'b', score: 7 }),
    ]);
    expect(rest).toEqual([]);
    expect(s!.kind).toBe('upsert');
    expect(s!.rowCount).toBe(2);
    expect(s!.firstKey).toEqual([1]);
    expect(s!.sql).toBe(
      "INSERT INTO `app`.`users` (`id`,`name`,`score`) VALUES (1,'a',NULL),(2,'b',7) ON DUPLICATE KEY UPDATE `name`=VALUES(`name`),`score`=VALUES(`score`)",
    );
    expect(s!.bytes).toBe(Buffer.byteLength(s!.sql));
  });

  it('uses REPLACE for tables with secondary unique keys', () => {
    const [s] = buildTableStatements([upsert(EMAILS, { id: 1, email: 'y' }), upsert(EMAILS, { id: 2, email: 'x' })]);
    expect(s!.kind).toBe('replace');
    expect(s!.sql).toBe("REPLACE INTO `app`.`emails` (`id`,`email`) VALUES (1,'y'),(2,'x')");
  });

  it('keeps a valid IODKU for a table made only of key columns', () => {
    const [s] = buildTableStatements([upsert(PAIRS, { a: 1, b: 'x' })]);
    expect(s!.sql).toBe("INSERT INTO `app`.`pairs` (`a`,`b`) VALUES (1,'x') ON DUPLICATE KEY UPDATE `a`=`a`");
  });

  it('deletes by a single-column key with IN', () => {
    const [s] = buildTableStatements([del(USERS, [1]), del(USERS, ['18446744073709551615'])]);
    expect(s!.kind).toBe('delete');
    expect(s!.sql).toBe("DELETE FROM `app`.`users` WHERE `id` IN (1,'18446744073709551615')");
  });

  it('deletes by a composite key with OR of ANDs (no row IN: MariaDB compares it without charset conversion), a single one with AND', () => {
    const [many] = buildTableStatements([del(PAIRS, [1, 'x']), del(PAIRS, [2, "y'"])]);
    expect(many!.sql).toBe("DELETE FROM `app`.`pairs` WHERE (`a`=1 AND `b`='x') OR (`a`=2 AND `b`='y\\'')");
    expect(many!.bytes).toBe(Buffer.byteLength(many!.sql));
    const [one] = buildTableStatements([del(PAIRS, [3, Buffer.from([1, 2])])]);
    expect(one!.sql).toBe("DELETE FROM `app`.`pairs` WHERE `a`=3 AND `b`=X'0102'");
    expect(one!.bytes).toBe(Buffer.byteLength(one!.sql));
    expect(one!.rowCount).toBe(1);
  });

  it('puts deletes before upserts whatever the input order', () => {
    const out = buildTableStatements([upsert(USERS, { id: 1, name: 'a' }), del(USERS, [2]), upsert(USERS, { id: 3, name: 'c' })]);
    expect(out.map((s) => s.kind)).toEqual(['delete', 'upsert']);
    expect(out[1]!.rowCount).toBe(2);
  });

  it('starts a new statement when the column list changes within a batch', () => {
    const out = buildTableStatements([
      upsert(USERS, { id: 1, name: 'a' }),
      upsert(USERS, { id: 2, name: 'b' }),
      upsert(USERS, { id: 3, name: 'c', age: 5 }),
      upsert(USERS, { id: 4, name: 'd', age: 6 }),
    ]);
    expect(out).toHaveLength(2);
    expect(out[0]!.sql).toContain('(`id`,`name`) VALUES (1,');
    expect(out[1]!.sql).toContain('(`id`,`name`,`age`) VALUES (3,');
    expect(out[1]!.firstKey).toEqual([3]);
  });

  it('rejects mutations of two tables', () => {
    expect(() => buildTableStatements([upsert(USERS, { id: 1 }), upsert(EMAILS, { id: 1, email: 'x' })])).toThrow(/mixed tables/);
  });

  it('returns nothing for no mutations', () => {
    expect(buildTableStatements([])).toEqual([]);
  });
});

describe('chunking', () => {
  const rows = Array.from({ length: 10 }, (_, i) => upsert(USERS, { id: i, name: 'n'.repeat(100) }));

  it('cuts by row count', () => {
    const out = buildTableStatements(rows, { maxStatementBytes: 1 << 20, maxRowsPerStatement: 3 });
    expect(out.map((s) => s.rowCount)).toEqual([3, 3, 3, 1]);
    expect(out.map((s) => s.firstKey[0])).toEqual([0, 3, 6, 9]);
  });

  it('cuts by bytes, never exceeding the budget, and reports exact sizes', () => {
    const max = 600;
    const out = buildTableStatements(rows, { maxStatementBytes: max, maxRowsPerStatement: 1000 });
    expect(out.length).toBeGreaterThan(2);
    expect(out.reduce((n, s) => n + s.rowCount, 0)).toBe(10);
    for (const s of out) {
      expect(s.bytes).toBe(Buffer.byteLength(s.sql));
      expect(s.bytes).toBeLessThanOrEqual(max);
    }
  });

  it('counts bytes, not UTF-16 code units, for multi-byte text', () => {
    const wide = Array.from({ length: 6 }, (_, i) => upsert(USERS, { id: i, name: '😀'.repeat(50) })); // 200 bytes, 100 units each
    const max = 700;
    const out = buildTableStatements(wide, { maxStatementBytes: max, maxRowsPerStatement: 1000 });
    for (const s of out) expect(Buffer.byteLength(s.sql)).toBeLessThanOrEqual(max);
    expect(out.reduce((n, s) => n + s.rowCount, 0)).toBe(6);
  });

  it('gives a row larger than the budget a statement of its own', () => {
    const big = [upsert(USERS, { id: 1, name: 'x' }), upsert(USERS, { id: 2, name: 'y'.repeat(5000) }), upsert(USERS, { id: 3, name: 'z' })];
    const out = buildTableStatements(big, { maxStatementBytes: 1000, maxRowsPerStatement: 1000 });
    expect(out.map((s) => s.rowCount)).toEqual([1, 1, 1]);
    expect(out[1]!.firstKey).toEqual([2]);
  });

  it('sends values larger than LARGE_VALUE_BYTES as parameters, in placeholder order, counted in bytes', () => {
    const blob = Buffer.alloc(LARGE_VALUE_BYTES + 1, 7);
    const text = 'é'.repeat(LARGE_VALUE_BYTES + 1); // length counts, not bytes: a cheap test per value
    const small = Buffer.alloc(LARGE_VALUE_BYTES, 1);
    const out = buildTableStatements(
      [upsert(USERS, { id: 1, name: 'a', body: small }), upsert(USERS, { id: 2, name: text, body: blob }), upsert(USERS, { id: 3, name: 'c', body: null })],
      { maxStatementBytes: 1 << 30, maxRowsPerStatement: 1000 },
    );
    expect(out).toHaveLength(1);
    const [s] = out;
    expect(s!.sql).toBe(
      `INSERT INTO \`app\`.\`users\` (\`id\`,\`name\`,\`body\`) VALUES (1,'a',X'${small.toString('hex')}'),(2,?,?),(3,'c',NULL) ` +
        'ON DUPLICATE KEY UPDATE `name`=VALUES(`name`),`body`=VALUES(`body`)',
    );
    expect(s!.params).toEqual([text, blob]);
    expect(s!.params![1]).toBe(blob); // the value itself, not a copy
    expect(s!.bytes).toBe(Buffer.byteLength(s!.sql) + Buffer.byteLength(text) + blob.length);
  });

  it('cuts statements with parameters by their bytes too, and leaves usual statements without params', () => {
    const blob = Buffer.alloc(LARGE_VALUE_BYTES * 2, 7);
    const out = buildTableStatements([1, 2, 3].map((id) => upsert(USERS, { id, body: blob })), { maxStatementBytes: LARGE_VALUE_BYTES * 3, maxRowsPerStatement: 1000 });
    expect(out.map((s) => s.params?.length)).toEqual([1, 1, 1]);
    expect(buildTableStatements([upsert(USERS, { id: 1, name: 'x' })])[0]).not.toHaveProperty('params');
  });

  it('caps delete statements at 500 keys', () => {
    const dels = Array.from({ length: 1200 }, (_, i) => del(USERS, [i]));
    const out = buildTableStatements(dels, { maxStatementBytes: 1 << 22, maxRowsPerStatement: 5000 });
    expect(out.map((s) => s.rowCount)).toEqual([500, 500, 200]);
  });

  it('rejects non-positive limits', () => {
    expect(() => buildTableStatements(rows, { maxStatementBytes: 0, maxRowsPerStatement: 10 })).toThrow(/positive/);
  });
});

describe('buildStatements', () => {
  it('groups by table in order of first appearance, deletes first within each table', () => {
    const out = buildStatements([
      upsert(USERS, { id: 1, name: 'a' }),
      upsert(EMAILS, { id: 1, email: 'x' }),
      del(USERS, [9]),
      del(EMAILS, [5]),
      upsert(USERS, { id: 2, name: 'b' }),
    ]);
    expect(out.map((s) => `${s.table.name}:${s.kind}:${s.rowCount}`)).toEqual([
      'users:delete:1',
      'users:upsert:2',
      'emails:delete:1',
      'emails:replace:1',
    ]);
  });

  it('keeps tables with equal names in different schemas apart', () => {
    const other: TableKeys = { ...USERS, table: { schema: 'other', name: 'users' } };
    const out = buildStatements([upsert(USERS, { id: 1 }), upsert(other, { id: 1 })]);
    expect(out.map((s) => quoteTable(s.table))).toEqual(['`app`.`users`', '`other`.`users`']);
  });
});

describe('buildStatements for an order group', () => {
  const parent: TableKeys = { table: { schema: 's', name: 'p' }, primaryKey: ['id'], uniqueKeys: [['code']], orderGroup: 's.c' };
  const child: TableKeys = { table: { schema: 's', name: 'c' }, primaryKey: ['id'], uniqueKeys: [], orderGroup: 's.c' };
  const m = (op: Mutation['op'], keys: TableKeys, row: Record<string, SqlValue>, oldKey: SqlValue[] | null = null): Mutation => ({
    ...upsert(keys, row),
    op,
    oldKey,
  });

  it('keeps source order across tables, merges runs, never uses REPLACE, and updates a changed key in place', () => {
    const sql = buildStatements([
      m('upsert', parent, { id: 1, code: 'a' }),
      m('upsert', parent, { id: 2, code: 'b' }),
      m('upsert', child, { id: 10, p: 1 }),
      m('delete', parent, { id: 2 }),
      m('update', parent, { id: 3, code: 'a' }, [1]),
      m('delete', child, { id: 10 }),
    ]).map((s) => s.sql);
    expect(sql).toEqual([
      "INSERT INTO `s`.`p` (`id`,`code`) VALUES (1,'a'),(2,'b') ON DUPLICATE KEY UPDATE `code`=VALUES(`code`)",
      'INSERT INTO `s`.`c` (`id`,`p`) VALUES (10,1) ON DUPLICATE KEY UPDATE `p`=VALUES(`p`)',
      'DELETE FROM `s`.`p` WHERE `id` IN (2)',
      "UPDATE `s`.`p` SET `id`=3,`code`='a' WHERE `id`=1",
      'DELETE FROM `s`.`c` WHERE `id` IN (10)',
    ]);
  });

  it('deletes row by row in source order (a multi-row DELETE runs in index order: a self-referencing parent went before its child; found by the fuzzer)', () => {
    const sql = buildStatements([m('delete', parent, { id: 961 }), m('delete', parent, { id: -797 }), m('delete', parent, { id: 0 })]).map((s) => s.sql);
    expect(sql).toEqual(['DELETE FROM `s`.`p` WHERE `id` IN (961)', 'DELETE FROM `s`.`p` WHERE `id` IN (-797)', 'DELETE FROM `s`.`p` WHERE `id` IN (0)']);
  });
});
