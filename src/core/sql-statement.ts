/**
 * What a statement from a binlog query event is, on top of the SQL lexer: its class (transaction
 * control, XA, DML, table DDL, other), the XA transaction id it names, and the tables a DML statement
 * may write. Pure; each function looks at the first statement of the text only.
 */
import type { TableRef } from './event.js';
import { SqlCursor, SqlLexError, type SqlToken } from './sql-lexer.js';

export type StatementClass =
  | 'begin'
  | 'commit'
  | 'rollback'
  /** SAVEPOINT x, ROLLBACK [WORK] TO [SAVEPOINT] x, RELEASE SAVEPOINT x */
  | 'savepoint'
  | 'xa-start'
  | 'xa-end'
  | 'xa-prepare'
  | 'xa-commit'
  | 'xa-commit-one-phase'
  | 'xa-rollback'
  /** Writes table rows: INSERT, REPLACE, UPDATE, DELETE, LOAD DATA/XML, WITH … INSERT/UPDATE/DELETE. */
  | 'dml'
  /** Changes the definition, existence or (wholesale) the rows of tables: see `classifyStatement`. */
  | 'ddl'
  | 'other';

/**
 * Where each statement goes, and why:
 * - 'ddl' is table DDL: what changes which tables exist, their columns and keys, or empties them without
 *   row events. CREATE/ALTER/DROP TABLE (also TEMPORARY, OR REPLACE), RENAME TABLE, TRUNCATE, CREATE/DROP
 *   INDEX, CREATE/ALTER/DROP DATABASE|SCHEMA (a database holds tables: dropping it drops them), and
 *   CREATE/ALTER/DROP SEQUENCE (a MariaDB sequence is a table). These are what a CDC pipeline must
 *   notice: rows after them have another shape, or rows vanished that no row event will delete.
 * - 'other', though servers call some of them DDL too and all of them commit implicitly:
 *   - accounts and privileges (CREATE/ALTER/DROP/RENAME USER, CREATE/DROP ROLE, GRANT, REVOKE, SET
 *     PASSWORD): no table changes;
 *   - table maintenance (ANALYZE, OPTIMIZE, CHECK, REPAIR, CHECKSUM TABLE): same columns, same rows;
 *   - views, triggers, routines, events, servers, tablespaces, plugins: a view holds no rows (writes
 *     through it are logged as rows of its base tables), and triggers and routines run on the source,
 *     whose row changes the binlog already carries;
 *   - session and server statements: SET (including SET autocommit, which may commit), DO, FLUSH,
 *     LOCK/UNLOCK TABLES, KILL, PURGE, RESET, CHANGE MASTER, START/STOP SLAVE|REPLICA, INSTALL, USE;
 *   - reads: SELECT (also … INTO OUTFILE: a file, not a table), TABLE, VALUES, SHOW, EXPLAIN, DESCRIBE,
 *     HANDLER;
 *   - CALL and BINLOG '…': they may write rows, but which is not in the text, and in a ROW binlog their
 *     rows arrive as row events anyway;
 *   - MariaDB's compound statement BEGIN NOT ATOMIC … END.
 * MariaDB's `SET STATEMENT var=value[, …] FOR <statement>` and `ANALYZE <statement>` (which runs it)
 * are classified by the statement they carry.
 */
export function classifyStatement(sql: string): StatementClass {
  try {
    return classify(new SqlCursor(sql));
  } catch (err) {
    if (err instanceof SqlLexError) return 'other';
    throw err;
  }
}

/**
 * The table DDL statements (see `classifyStatement`): the object keyword after CREATE/ALTER/DROP (or
 * RENAME TABLE, TRUNCATE). `tablesInDdl` (ddl.ts) reads the tables of exactly these.
 */
const TABLE_DDL_OBJECTS: ReadonlySet<string> = new Set(['TABLE', 'TABLES', 'INDEX', 'DATABASE', 'SCHEMA', 'SEQUENCE']);

/** Words between CREATE/ALTER/DROP and the object keyword (`CREATE OR REPLACE TEMPORARY TABLE`). */
export const DDL_MODIFIERS: ReadonlySet<string> = new Set(['OR', 'REPLACE', 'TEMPORARY', 'UNIQUE', 'FULLTEXT', 'SPATIAL', 'ONLINE', 'OFFLINE', 'IGNORE']);

const DML_VERBS: ReadonlySet<string> = new Set(['INSERT', 'REPLACE', 'UPDATE', 'DELETE']);
/** After ANALYZE, these make it table maintenance (ANALYZE TABLE t), not MariaDB's ANALYZE <statement>. */
const ANALYZE_TABLE: ReadonlySet<string> = new Set(['TABLE', 'TABLES', 'NO_WRITE_TO_BINLOG', 'LOCAL']);
const XA_VERBS_WITH_XID: ReadonlySet<string> = new Set(['START', 'BEGIN', 'END', 'PREPARE', 'COMMIT', 'ROLLBACK']);

/**
 * Moves the cursor past wrappers that carry another statement: MariaDB's `SET STATEMENT … FOR`, and
 * `ANALYZE [FORMAT=…]` before a DML statement (MariaDB runs it). Leaves table maintenance
 * (`ANALYZE TABLE`) alone.
 */
/**
 * What `read` collects from a statement's tokens. What was read before an unterminated string or
 * comment stands (a statement cut short still names what it named before the cut).
 */
export function collectFromTokens<T>(sql: string, read: (c: SqlCursor, out: T[]) => void): T[] {
  const out: T[] = [];
  try {
    read(new SqlCursor(sql), out);
  } catch (err) {
    if (!(err instanceof SqlLexError)) throw err;
  }
  return out;
}

export function skipStatementWrappers(c: SqlCursor): void {
  for (;;) {
    if (c.isWord('SET') && c.isWord('STATEMENT', 1)) {
      c.take();
      c.take();
      c.skipUntil((k) => k.isWord('FOR'));
      if (!c.takeWords('FOR')) return;
      continue;
    }
    if (c.isWord('ANALYZE') && !c.isAnyWord(ANALYZE_TABLE, 1)) {
      const mark = c.mark;
      c.take();
      if (c.takeWords('FORMAT')) {
        c.takePunct('=');
        c.take();
      }
      if (c.isAnyWord(DML_VERBS) || c.isWord('WITH')) continue;
      c.reset(mark);
    }
    return;
  }
}

/**
 * At WITH: takes the common table expressions and returns their names (they shadow tables of the same
 * name in the statement that follows). Null when the WITH clause is not well formed.
 */
function skipWith(c: SqlCursor): string[] | null {
  if (!c.takeWords('WITH')) return [];
  c.takeWords('RECURSIVE');
  const names: string[] = [];
  for (;;) {
    const name = c.take();
    if (!name || (name.kind !== 'word' && name.kind !== 'ident')) return null;
    names.push(name.value);
    if (c.isPunct('(') && !c.skipParenthesized()) return null;
    if (!c.takeWords('AS')) return null;
    if (!c.skipParenthesized()) return null;
    if (!c.takePunct(',')) return names;
  }
}

function classify(c: SqlCursor): StatementClass {
  skipStatementWrappers(c);
  const first = c.peek();
  if (!first || first.kind !== 'word') return 'other';
  switch (first.upper) {
    case 'BEGIN':
      return c.isWord('NOT', 1) ? 'other' : 'begin';
    case 'START':
      return c.isWord('TRANSACTION', 1) ? 'begin' : 'other';
    case 'COMMIT':
      return 'commit';
    case 'ROLLBACK': {
      c.take();
      c.takeWords('WORK');
      return c.isWord('TO') ? 'savepoint' : 'rollback';
    }
    case 'SAVEPOINT':
      return 'savepoint';
    case 'RELEASE':
      return c.isWord('SAVEPOINT', 1) ? 'savepoint' : 'other';
    case 'XA':
      return classifyXa(c);
    case 'INSERT':
    case 'REPLACE':
    case 'UPDATE':
    case 'DELETE':
      return 'dml';
    case 'LOAD':
      return c.isWord('DATA', 1) || c.isWord('XML', 1) ? 'dml' : 'other';
    case 'WITH':
      return skipWith(c) !== null && c.isAnyWord(DML_VERBS) ? 'dml' : 'other';
    case 'CREATE':
    case 'ALTER':
    case 'DROP': {
      c.take();
      c.skipWords(DDL_MODIFIERS);
      return c.isAnyWord(TABLE_DDL_OBJECTS) ? 'ddl' : 'other';
    }
    case 'RENAME':
      return c.isWord('TABLE', 1) || c.isWord('TABLES', 1) ? 'ddl' : 'other';
    case 'TRUNCATE':
      return 'ddl';
    default:
      return 'other';
  }
}

function classifyXa(c: SqlCursor): StatementClass {
  c.take();
  const verb = c.take();
  switch (verb?.kind === 'word' ? verb.upper : '') {
    case 'START':
    case 'BEGIN':
      return 'xa-start';
    case 'END':
      return 'xa-end';
    case 'PREPARE':
      return 'xa-prepare';
    case 'ROLLBACK':
      return 'xa-rollback';
    case 'COMMIT': {
      if (!readXid(c)) return 'xa-commit';
      return c.takeWords('ONE', 'PHASE') ? 'xa-commit-one-phase' : 'xa-commit';
    }
    default:
      return 'other'; // XA RECOVER
  }
}

/** One part of an xid (gtrid or bqual) as hex: a quoted string's UTF-8 bytes, X'…'/0x…, or b'…'/0b…. */
function xidPartHex(c: SqlCursor): string | null {
  // A character set introducer (_binary'…', _utf8mb4'…') changes nothing about the bytes written.
  if (c.peek()?.kind === 'word' && c.peek()!.value.startsWith('_') && c.peek(1)?.kind === 'string') c.take();
  const t = c.take();
  if (!t) return null;
  switch (t.kind) {
    case 'string':
      return Buffer.from(t.value, 'utf8').toString('hex');
    case 'hex':
      return t.value;
    case 'bits': {
      if (t.value === '') return '';
      const bytes = Math.ceil(t.value.length / 8);
      return BigInt(`0b${t.value}`).toString(16).padStart(bytes * 2, '0');
    }
    default:
      return null;
  }
}

function formatIdOf(t: SqlToken | null): string | null {
  if (!t) return null;
  if (t.kind === 'number' && /^\d+$/.test(t.value)) return BigInt(t.value).toString();
  if (t.kind === 'hex') return BigInt(`0x${t.value || '0'}`).toString();
  return null;
}

interface Xid {
  readonly formatId: string;
  readonly gtrid: string;
  readonly bqual: string;
}

function readXid(c: SqlCursor): Xid | null {
  const gtrid = xidPartHex(c);
  if (gtrid === null) return null;
  let bqual = '';
  let formatId = '1';
  if (c.takePunct(',')) {
    const b = xidPartHex(c);
    if (b === null) return null;
    bqual = b;
    if (c.takePunct(',')) {
      const f = formatIdOf(c.take());
      if (f === null) return null;
      formatId = f;
    }
  }
  return { formatId, gtrid, bqual };
}

/**
 * The xid of `XA START|BEGIN|END|PREPARE|COMMIT|ROLLBACK xid …` as one normalized key,
 * `${formatId}:${gtridHex}:${bqualHex}` (hex in lower case; formatId 1 and an empty bqual when not
 * given), so that `XA START 'abc'` and MariaDB's binlog form `XA COMMIT X'616263',X'',1` give the same
 * key. Null for any other statement or a malformed xid.
 */
export function parseXid(sql: string): string | null {
  try {
    const c = new SqlCursor(sql);
    if (!c.takeWords('XA')) return null;
    if (!c.isAnyWord(XA_VERBS_WITH_XID)) return null;
    c.take();
    const xid = readXid(c);
    return xid ? `${xid.formatId}:${xid.gtrid}:${xid.bqual}` : null;
  } catch (err) {
    if (err instanceof SqlLexError) return null;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Table names

/**
 * Reads `name` or `schema.name` (each part a word, a `backticked` name, or a "double-quoted" one as
 * under ANSI_QUOTES). Null (cursor unmoved) when no name is next.
 */
export function readTableName(c: SqlCursor, defaultSchema: string): TableRef | null {
  return readName(c, defaultSchema)?.table ?? null;
}

/** A table name as written: whether it was qualified decides whether a CTE of that name shadows it. */
interface NamedTable {
  readonly table: TableRef;
  readonly qualified: boolean;
}

function readName(c: SqlCursor, defaultSchema: string): NamedTable | null {
  const mark = c.mark;
  const part = (): string | null => {
    const t = c.peek();
    if (!t || !(t.kind === 'word' || t.kind === 'ident' || (t.kind === 'string' && t.quote === '"'))) return null;
    c.take();
    return t.value;
  };
  const first = part();
  if (first === null) return null;
  if (!c.isPunct('.') || c.isPunct('*', 1)) return { table: { schema: defaultSchema, name: first }, qualified: false };
  c.take();
  const second = part();
  if (second === null) {
    c.reset(mark);
    return null;
  }
  return { table: { schema: first, name: second }, qualified: true };
}

/** Adds `t` to `out` unless a table of that schema and name is there already. */
export function addTable(out: TableRef[], t: TableRef): void {
  if (!out.some((o) => o.schema === t.schema && o.name === t.name)) out.push(t);
}

// ---------------------------------------------------------------------------------------------
// Tables a DML statement writes

const INSERT_MODIFIERS: ReadonlySet<string> = new Set(['LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY', 'IGNORE']);
const UPDATE_MODIFIERS: ReadonlySet<string> = new Set(['LOW_PRIORITY', 'IGNORE']);
const DELETE_MODIFIERS: ReadonlySet<string> = new Set(['LOW_PRIORITY', 'QUICK', 'IGNORE']);
const LOAD_MODIFIERS: ReadonlySet<string> = new Set(['LOW_PRIORITY', 'CONCURRENT', 'LOCAL']);

/** Words that end a table factor or its alias (they start a join, a clause or the next part). */
const AFTER_TABLE: ReadonlySet<string> = new Set([
  'SET', 'WHERE', 'ORDER', 'LIMIT', 'RETURNING', 'USING', 'ON', 'FROM', 'PARTITION', 'USE', 'IGNORE', 'FORCE',
  'JOIN', 'INNER', 'CROSS', 'LEFT', 'RIGHT', 'NATURAL', 'STRAIGHT_JOIN', 'OUTER', 'WINDOW', 'GROUP', 'HAVING',
]);
const SUBQUERY_START: ReadonlySet<string> = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE']);
const INDEX_HINT: ReadonlySet<string> = new Set(['USE', 'IGNORE', 'FORCE']);
const INDEX_OR_KEY: ReadonlySet<string> = new Set(['INDEX', 'KEY']);
/** What ends the ON condition of a join. */
const AFTER_JOIN_CONDITION: ReadonlySet<string> = new Set(['SET', 'WHERE', 'ORDER', 'LIMIT', 'RETURNING', 'USING']);

/** At a join keyword: takes it (`LEFT OUTER JOIN`, `STRAIGHT_JOIN`, `NATURAL RIGHT JOIN` …). */
function takeJoin(c: SqlCursor): boolean {
  const mark = c.mark;
  if (c.takeWords('STRAIGHT_JOIN')) return true;
  c.takeWords('NATURAL');
  if (c.takeWords('LEFT') || c.takeWords('RIGHT')) c.takeWords('OUTER');
  else if (!c.takeWords('INNER')) c.takeWords('CROSS');
  if (c.takeWords('JOIN')) return true;
  c.reset(mark);
  return false;
}

/** Whether a join keyword is next (LEFT and RIGHT also name functions: LEFT(x, 2)). */
function atJoin(c: SqlCursor): boolean {
  if (c.isWord('JOIN') || c.isWord('STRAIGHT_JOIN') || c.isWord('NATURAL')) return true;
  if (c.isWord('LEFT') || c.isWord('RIGHT')) return c.isWord('OUTER', 1) || c.isWord('JOIN', 1);
  if (c.isWord('INNER') || c.isWord('CROSS')) return c.isWord('JOIN', 1);
  return false;
}

/** `PARTITION (p0, p1)` after a table name. */
function skipPartition(c: SqlCursor): boolean {
  if (!c.takeWords('PARTITION')) return true;
  return c.skipParenthesized();
}

/** `USE|IGNORE|FORCE INDEX|KEY [FOR JOIN|ORDER BY|GROUP BY] (…)`, repeated, optionally comma-separated. */
function skipIndexHints(c: SqlCursor): boolean {
  for (;;) {
    const comma = c.isPunct(',') ? 1 : 0;
    if (!(c.isAnyWord(INDEX_HINT, comma) && c.isAnyWord(INDEX_OR_KEY, comma + 1))) return true;
    if (comma) c.take();
    c.take();
    c.take();
    if (c.takeWords('FOR')) {
      if (!c.takeWords('JOIN') && !c.takeWords('ORDER', 'BY') && !c.takeWords('GROUP', 'BY')) return false;
    }
    if (!c.skipParenthesized()) return false;
  }
}

/** `[AS] alias` after a table factor. */
function skipAlias(c: SqlCursor): void {
  if (c.takeWords('AS')) {
    c.take();
    return;
  }
  const t = c.peek();
  if (t && (t.kind === 'ident' || (t.kind === 'word' && !AFTER_TABLE.has(t.upper)))) c.take();
}

/** A table factor: a table (added to `out`), a derived table, JSON_TABLE(…), or ( table references ). */
function tableFactor(c: SqlCursor, defaultSchema: string, out: NamedTable[]): boolean {
  if (c.isPunct('(')) {
    if (c.isAnyWord(SUBQUERY_START, 1) || c.isPunct('(', 1)) {
      // A derived table (subquery): read, never written.
      if (!c.skipParenthesized()) return false;
      skipAlias(c);
      if (c.isPunct('(')) c.skipParenthesized();
      return true;
    }
    c.take();
    if (!tableReferences(c, defaultSchema, out)) return false;
    return c.takePunct(')');
  }
  if (c.isWord('LATERAL') || (c.isWord('JSON_TABLE') && c.isPunct('(', 1))) {
    c.take();
    if (!c.skipParenthesized()) return false;
    skipAlias(c);
    return true;
  }
  const name = readName(c, defaultSchema);
  if (!name) return false;
  out.push(name);
  if (!skipPartition(c)) return false;
  skipAlias(c);
  return skipIndexHints(c);
}

/** `table_reference [, table_reference]…` with joins; every table met is added to `out`. */
function tableReferences(c: SqlCursor, defaultSchema: string, out: NamedTable[]): boolean {
  for (;;) {
    if (!tableFactor(c, defaultSchema, out)) return false;
    while (atJoin(c)) {
      if (!takeJoin(c) || !tableFactor(c, defaultSchema, out)) return false;
      if (c.takeWords('USING')) {
        if (!c.skipParenthesized()) return false;
      } else if (c.takeWords('ON')) {
        c.skipUntil((k) => atJoin(k) || k.isPunct(',') || k.isAnyWord(AFTER_JOIN_CONDITION));
      }
    }
    if (!c.takePunct(',')) return true;
  }
}

/** `tbl[.*] [, tbl[.*]]…`: the target list of a multi-table DELETE. */
function skipDeleteTargets(c: SqlCursor): boolean {
  for (;;) {
    if (!readTableName(c, '')) return false;
    if (c.isPunct('.') && c.isPunct('*', 1)) {
      c.take();
      c.take();
    }
    if (!c.takePunct(',')) return true;
  }
}

/**
 * The tables an INSERT, REPLACE, UPDATE, DELETE or LOAD DATA/XML statement may write (also behind WITH,
 * SET STATEMENT … FOR, ANALYZE), each once, in the order written; unqualified names get
 * `defaultSchema` (the query event's default database). Multi-table UPDATE and DELETE: every table of
 * their table references (which of them a statement really writes depends on its SET list or target
 * list, whose names may be aliases: the references are the safe superset); derived tables and CTEs are
 * not tables. Null for other statements and when the statement cannot be read.
 */
export function dmlWriteTargets(sql: string, defaultSchema: string): TableRef[] | null {
  try {
    return writeTargets(new SqlCursor(sql), defaultSchema);
  } catch (err) {
    if (err instanceof SqlLexError) return null;
    throw err;
  }
}

function writeTargets(c: SqlCursor, defaultSchema: string): TableRef[] | null {
  skipStatementWrappers(c);
  const ctes = skipWith(c);
  if (ctes === null) return null;
  const verb = c.take();
  if (!verb || verb.kind !== 'word') return null;
  const refs: NamedTable[] = [];
  switch (verb.upper) {
    case 'INSERT':
    case 'REPLACE': {
      c.skipWords(INSERT_MODIFIERS);
      c.takeWords('INTO');
      const name = readName(c, defaultSchema);
      return name ? [name.table] : null;
    }
    case 'LOAD': {
      if (!c.takeWords('DATA') && !c.takeWords('XML')) return null;
      c.skipWords(LOAD_MODIFIERS);
      if (!c.takeWords('INFILE') || c.take()?.kind !== 'string') return null;
      if (!c.takeWords('REPLACE')) c.takeWords('IGNORE');
      if (!c.takeWords('INTO', 'TABLE')) return null;
      const name = readName(c, defaultSchema);
      return name ? [name.table] : null;
    }
    case 'UPDATE':
      c.skipWords(UPDATE_MODIFIERS);
      return tableReferences(c, defaultSchema, refs) && c.isWord('SET') ? tables(refs, ctes) : null;
    case 'DELETE': {
      c.skipWords(DELETE_MODIFIERS);
      if (c.takeWords('FROM')) {
        const mark = c.mark;
        // DELETE FROM t1, t2 USING <table references>: the targets are among the references.
        if (skipDeleteTargets(c) && c.takeWords('USING')) return tableReferences(c, defaultSchema, refs) ? tables(refs, ctes) : null;
        c.reset(mark);
        const name = readName(c, defaultSchema);
        return name ? tables([name], ctes) : null;
      }
      // DELETE t1, t2 FROM <table references>
      if (!skipDeleteTargets(c) || !c.takeWords('FROM')) return null;
      return tableReferences(c, defaultSchema, refs) ? tables(refs, ctes) : null;
    }
    default:
      return null;
  }
}

/** The tables met, each once, without the names a WITH clause defined (unqualified, they are the CTE). */
function tables(refs: readonly NamedTable[], ctes: readonly string[]): TableRef[] | null {
  const out: TableRef[] = [];
  for (const r of refs) if (r.qualified || !ctes.includes(r.table.name)) addTable(out, r.table);
  return out.length > 0 ? out : null;
}
