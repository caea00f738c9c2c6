import { describe, expect, it } from 'vitest';
import { SqlCursor, SqlLexError, lexSql, tokenizeSql, type SqlToken } from '../../../src/core/sql-lexer.js';

/** kind:value of every token, compact for assertions. */
const kinds = (sql: string): string[] => tokenizeSql(sql).map((t: SqlToken) => `${t.kind}:${t.value}`);

describe('tokenizeSql', () => {
  it('splits words, punctuation and numbers, with upper-case keywords and offsets', () => {
    const tokens = tokenizeSql('select a, 1.5 FROM t;');
    expect(tokens.map((t) => `${t.kind}:${t.value}`)).toEqual(['word:select', 'word:a', 'punct:,', 'number:1.5', 'word:FROM', 'word:t', 'punct:;']);
    expect(tokens[0]).toMatchObject({ upper: 'SELECT', start: 0, end: 6 });
    expect(tokens[3]).toMatchObject({ upper: '', start: 10, end: 13 });
  });

  it('skips block comments, but tokenizes executable comments as code without their version', () => {
    expect(kinds('/* ALTER TABLE hidden */ SELECT 1')).toEqual(['word:SELECT', 'number:1']);
    expect(kinds('/*!40000 ALTER TABLE `t` DISABLE KEYS */')).toEqual(['word:ALTER', 'word:TABLE', 'ident:t', 'word:DISABLE', 'word:KEYS']);
    expect(kinds('/*!40101SET NAMES utf8 */')).toEqual(['word:SET', 'word:NAMES', 'word:utf8']);
    expect(kinds('CREATE /*M!100100 OR REPLACE */ TABLE t')).toEqual(['word:CREATE', 'word:OR', 'word:REPLACE', 'word:TABLE', 'word:t']);
    expect(kinds('/*! STRAIGHT_JOIN */ x')).toEqual(['word:STRAIGHT_JOIN', 'word:x']);
    expect(kinds('SELECT /*+ NO_INDEX(t) */ 1')).toEqual(['word:SELECT', 'number:1']);
    // A version of 6 digits (MariaDB, MySQL ≥ 8.0 numbering), and a plain comment inside an executable one.
    expect(kinds('/*!100301 DROP /* x */ TABLE t */')).toEqual(['word:DROP', 'word:TABLE', 'word:t']);
  });

  it('skips -- (with a space) and # line comments; --x is two minus signs', () => {
    expect(kinds('SELECT 1 -- TRUNCATE t\n, 2 # DROP TABLE t\n')).toEqual(['word:SELECT', 'number:1', 'punct:,', 'number:2']);
    expect(kinds('SELECT 1--2')).toEqual(['word:SELECT', 'number:1', 'punct:-', 'punct:-', 'number:2']);
    expect(kinds('SELECT 1 --')).toEqual(['word:SELECT', 'number:1']);
  });

  it('decodes strings with backslash escapes and doubled quotes', () => {
    expect(kinds(`'it''s' "say ""hi""" 'a\\'b' 'tab\\there' 'nl\\n' 'back\\\\slash' '\\%_' 'q\\x'`)).toEqual([
      "string:it's",
      'string:say "hi"',
      "string:a'b",
      'string:tab\there',
      'string:nl\n',
      'string:back\\slash',
      'string:\\%_',
      'string:qx',
    ]);
    expect(tokenizeSql('"x"')[0]).toMatchObject({ quote: '"' });
    expect(tokenizeSql("N'x'")[0]).toMatchObject({ kind: 'string', value: 'x', quote: "'" });
    expect(kinds("_utf8mb4'x'")).toEqual(['word:_utf8mb4', 'string:x']);
    // Comment markers inside strings are text.
    expect(kinds("'/* no */ -- no # no'")).toEqual(['string:/* no */ -- no # no']);
  });

  it('reads backtick identifiers with doubled backticks, and qualified names', () => {
    expect(kinds('`my db`.`t``1`')).toEqual(['ident:my db', 'punct:.', 'ident:t`1']);
    expect(kinds('db.t')).toEqual(['word:db', 'punct:.', 'word:t']);
    expect(kinds('db . t')).toEqual(['word:db', 'punct:.', 'word:t']);
    expect(kinds('t.1col db.123')).toEqual(['word:t', 'punct:.', 'word:1col', 'word:db', 'punct:.', 'word:123']);
    expect(kinds('`a`.b')).toEqual(['ident:a', 'punct:.', 'word:b']);
  });

  it('reads numbers, hex and bit literals, and names that start with digits', () => {
    expect(kinds('12 1.5 .5 1e10 2.5E-3 123abc')).toEqual(['number:12', 'number:1.5', 'number:.5', 'number:1e10', 'number:2.5E-3', 'word:123abc']);
    expect(kinds("X'0A1b' x'' 0xABC 0x0a b'101' 0b11")).toEqual(['hex:0a1b', 'hex:', 'hex:0abc', 'hex:0a', 'bits:101', 'bits:11']);
    expect(kinds('0xyz')).toEqual(['word:0xyz']);
  });

  it('reads variables and multi-character operators', () => {
    expect(kinds("SET @a := @@global.x, @'q r' <=> 1")).toEqual([
      'word:SET',
      'variable:@a',
      'punct::=',
      'variable:@@global',
      'punct:.',
      'word:x',
      'punct:,',
      "variable:@'q r'",
      'punct:<=>',
      'number:1',
    ]);
    expect(kinds('a->>b <> c != d <= e >= f')).toEqual(['word:a', 'punct:->>', 'word:b', 'punct:<>', 'word:c', 'punct:!=', 'word:d', 'punct:<=', 'word:e', 'punct:>=', 'word:f']);
  });

  it('keeps non-ASCII names whole', () => {
    expect(kinds('CREATE TABLE café.tëst')).toEqual(['word:CREATE', 'word:TABLE', 'word:café', 'punct:.', 'word:tëst']);
  });

  it('throws SqlLexError, with the offset, on what is never closed', () => {
    for (const sql of ["SELECT 'abc", 'SELECT `abc', 'SELECT /* x', "SELECT 'a\\", "X'0'", "X'zz'"]) {
      expect(() => tokenizeSql(sql), sql).toThrow(SqlLexError);
    }
    expect(() => tokenizeSql("SELECT 'abc")).toThrow(/unterminated string at offset 7/);
  });

  it('lexes lazily: the first tokens of a statement come before an error further on', () => {
    const it = lexSql("INSERT INTO t VALUES ('never closed");
    expect([it.next().value, it.next().value, it.next().value].map((t) => (t as SqlToken).value)).toEqual(['INSERT', 'INTO', 't']);
  });
});

describe('SqlCursor', () => {
  it('peeks, takes keyword sequences all or nothing, and skips parenthesized groups', () => {
    const c = new SqlCursor('WITH x AS (SELECT (1), ")" FROM t) UPDATE t SET a = 1');
    expect(c.takeWords('WITH', 'RECURSIVE')).toBe(false);
    expect(c.isWord('WITH')).toBe(true);
    expect(c.takeWords('WITH')).toBe(true);
    c.take();
    expect(c.takeWords('AS')).toBe(true);
    expect(c.skipParenthesized()).toBe(true);
    expect(c.peek()?.upper).toBe('UPDATE');
    const mark = c.mark;
    c.skipUntil((k) => k.isWord('SET'));
    expect(c.peek()?.upper).toBe('SET');
    c.reset(mark);
    expect(c.peek()?.upper).toBe('UPDATE');
    expect(new SqlCursor('(a').skipParenthesized()).toBe(false);
  });
});
