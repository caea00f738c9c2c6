/**
 * Which tables a DDL statement changes, so that DDL on synced tables is reported loudly and the rest
 * (CREATE USER, GRANT, ANALYZE TABLE, DDL on other databases) quietly. Read from the statement's tokens
 * (sql-lexer.ts), so names in comments or strings are never taken for tables, and executable comments
 * (`/*!40000 ALTER TABLE t DISABLE KEYS *\/`) count as the SQL they are.
 *
 * Covered, names optionally qualified and quoted:
 * - CREATE [OR REPLACE] [TEMPORARY] TABLE [IF NOT EXISTS] t …: t (also … LIKE other and … AS SELECT:
 *   `other` and the tables read are not changed);
 * - ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] t …: t, plus the new name of a `RENAME [TO|AS] n` and the
 *   table of an `EXCHANGE PARTITION p WITH TABLE n` (its rows change);
 * - DROP [TEMPORARY] TABLE[S] [IF EXISTS] a, b …;
 * - RENAME TABLE[S] [IF EXISTS] a TO b, c TO d: a, b, c, d;
 * - TRUNCATE [TABLE] t;
 * - CREATE [OR REPLACE] [UNIQUE|FULLTEXT|SPATIAL] INDEX … ON t, DROP INDEX … ON t: t;
 * - CREATE/ALTER/DROP SEQUENCE s (MariaDB: a sequence is a table);
 * - DROP DATABASE|SCHEMA d: one reference `{ schema: d, name: '*' }` (ALL_TABLES) standing for every
 *   table of d, which the statement does not list; it matches a `d.*` table filter. CREATE and ALTER
 *   DATABASE change no existing table: none.
 * Each table once, in the order written; unqualified names get `defaultSchema`.
 */
import type { TableRef } from './event.js';
import type { SqlCursor } from './sql-lexer.js';
import { DDL_MODIFIERS, addTable, collectFromTokens, readTableName, skipStatementWrappers } from './sql-statement.js';

/** The name standing for every table of a database (DROP DATABASE). */
export const ALL_TABLES = '*';

/** Tables a DDL statement changes (see above); [] for any other statement. */
export function tablesInDdl(sql: string, defaultSchema: string): TableRef[] {
  return collectFromTokens<TableRef>(sql, (c, out) => readDdl(c, defaultSchema, out));
}

function readDdl(c: SqlCursor, db: string, out: TableRef[]): void {
  skipStatementWrappers(c);
  const verb = c.take();
  if (!verb || verb.kind !== 'word') return;
  switch (verb.upper) {
    case 'CREATE':
    case 'ALTER':
    case 'DROP': {
      c.skipWords(DDL_MODIFIERS);
      const object = c.take();
      if (!object || object.kind !== 'word') return;
      switch (object.upper) {
        case 'TABLE':
        case 'TABLES':
          if (verb.upper === 'ALTER') alterTable(c, db, out);
          else nameList(c, db, out, verb.upper === 'DROP');
          return;
        case 'SEQUENCE':
          nameList(c, db, out, verb.upper === 'DROP');
          return;
        case 'INDEX':
          // CREATE INDEX i [USING …] ON t (…), DROP INDEX i ON t: the table follows the first ON.
          c.skipUntil((k) => k.isWord('ON'));
          if (c.takeWords('ON')) add(c, db, out);
          return;
        case 'DATABASE':
        case 'SCHEMA': {
          if (verb.upper !== 'DROP') return;
          c.takeWords('IF', 'EXISTS');
          const name = c.take();
          if (name && (name.kind === 'word' || name.kind === 'ident')) addTable(out, { schema: name.value, name: ALL_TABLES });
          return;
        }
        default:
          return;
      }
    }
    case 'RENAME':
      if (!c.takeWords('TABLE') && !c.takeWords('TABLES')) return;
      c.takeWords('IF', 'EXISTS');
      // a [WAIT n | NOWAIT] TO b [, c TO d …]
      for (;;) {
        if (!add(c, db, out)) return;
        skipWait(c);
        if (!c.takeWords('TO') || !add(c, db, out)) return;
        if (!c.takePunct(',')) return;
      }
    case 'TRUNCATE':
      c.takeWords('TABLE');
      add(c, db, out);
      return;
    default:
      return;
  }
}

/** Reads a table name into `out`; false when none is next. */
function add(c: SqlCursor, db: string, out: TableRef[]): boolean {
  const t = readTableName(c, db);
  if (t) addTable(out, t);
  return t !== null;
}

function skipWait(c: SqlCursor): void {
  if (c.takeWords('WAIT')) c.take();
  else c.takeWords('NOWAIT');
}

/** `[IF [NOT] EXISTS] a [, b …]` (DROP lists several names; CREATE one, then its definition). */
function nameList(c: SqlCursor, db: string, out: TableRef[], several: boolean): void {
  if (!c.takeWords('IF', 'NOT', 'EXISTS')) c.takeWords('IF', 'EXISTS');
  do {
    if (!add(c, db, out)) return;
  } while (several && c.takePunct(','));
}

/** `[IF EXISTS] t spec [, spec …]`: t, and the tables a RENAME or EXCHANGE PARTITION spec names. */
function alterTable(c: SqlCursor, db: string, out: TableRef[]): void {
  c.takeWords('IF', 'EXISTS');
  if (!add(c, db, out)) return;
  for (;;) {
    if (c.takeWords('RENAME')) {
      // RENAME COLUMN/INDEX/KEY a TO b renames no table.
      if (!c.isWord('COLUMN') && !c.isWord('INDEX') && !c.isWord('KEY')) {
        if (!c.takeWords('TO')) c.takeWords('AS');
        add(c, db, out);
      }
    } else if (c.takeWords('EXCHANGE', 'PARTITION')) {
      c.take();
      if (c.takeWords('WITH', 'TABLE')) add(c, db, out);
    }
    c.skipUntil((k) => k.isPunct(','));
    if (!c.takePunct(',')) return;
  }
}
