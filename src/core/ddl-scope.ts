/**
 * What `schemaChanges` acts on: the synced tables and included databases a DDL statement changes.
 * Built on the statement's tokens (ddl.ts, sql-lexer.ts), never on its raw text.
 *
 * - Table DDL (CREATE/ALTER/DROP/RENAME/TRUNCATE TABLE, CREATE/DROP INDEX, sequences): the tables it
 *   changes that the table filter captures. A statement naming one synced table is run as written, also
 *   when it names others (RENAME TABLE synced TO elsewhere: the target then mirrors the source).
 * - CREATE/DROP DATABASE: the database when an include pattern can match a table of it (`shop` for
 *   `shop.*` or `shop.orders`): a database must exist on the target before its tables can, and a
 *   dropped one takes its tables with it.
 * - Temporary tables (session-scoped, never replicated as rows) and ALTER DATABASE: nothing.
 */
import type { TableRef } from './event.js';
import { ALL_TABLES, tablesInDdl } from './ddl.js';
import { SqlCursor, SqlLexError } from './sql-lexer.js';
import { DDL_MODIFIERS, skipStatementWrappers } from './sql-statement.js';

export interface DdlScope {
  /**
   * What the statement does, e.g. `CREATE TABLE`, `ALTER TABLE`, `DROP DATABASE`, `RENAME TABLE`,
   * `TRUNCATE TABLE`, `CREATE INDEX` (TABLES and SCHEMA read as TABLE and DATABASE).
   */
  readonly action: string;
  /** Synced tables the statement creates, changes, renames, empties or drops (in the order written). */
  readonly tables: readonly TableRef[];
  /** Included databases it creates or drops. */
  readonly databases: readonly string[];
  /** `CREATE OR REPLACE`: it changes what exists, so an existing object does not mean it is done. */
  readonly orReplace?: true;
}

export interface DdlFilter {
  matches(schema: string, table: string): boolean;
  includesDatabase(schema: string): boolean;
}

/** The synced part of a DDL statement, or null when it changes nothing synced (or is no DDL). */
export function ddlScope(sql: string, defaultSchema: string, filter: DdlFilter): DdlScope | null {
  const head = readHead(sql);
  if (head === null || head.temporary) return null;
  if (head.database !== undefined) {
    return head.verb !== 'ALTER' && filter.includesDatabase(head.database) ? { action: head.action, tables: [], databases: [head.database], ...(head.orReplace ? { orReplace: true as const } : {}) } : null;
  }
  const tables = tablesInDdl(sql, defaultSchema).filter((t) => t.name !== ALL_TABLES && filter.matches(t.schema, t.name));
  return tables.length > 0 ? { action: head.action, tables, databases: [], ...(head.orReplace ? { orReplace: true as const } : {}) } : null;
}

/** A short description for logs and messages: `shop.orders, shop.items` or `database shop`. */
export function describeDdlScope(scope: DdlScope): string {
  return [...scope.tables.map((t) => `${t.schema}.${t.name}`), ...scope.databases.map((d) => `database ${d}`)].join(', ');
}

interface DdlHead {
  readonly verb: string;
  readonly action: string;
  readonly temporary: boolean;
  readonly orReplace: boolean;
  /** CREATE/ALTER/DROP DATABASE|SCHEMA: its name. */
  readonly database?: string;
}

const OBJECT_NAMES: ReadonlyMap<string, string> = new Map([
  ['TABLES', 'TABLE'],
  ['SCHEMA', 'DATABASE'],
]);

function readHead(sql: string): DdlHead | null {
  try {
    const c = new SqlCursor(sql);
    skipStatementWrappers(c);
    const verb = c.take();
    if (!verb || verb.kind !== 'word') return null;
    if (verb.upper !== 'CREATE' && verb.upper !== 'ALTER' && verb.upper !== 'DROP') return { verb: verb.upper, action: `${verb.upper} TABLE`, temporary: false, orReplace: false };
    let temporary = false;
    let orReplace = false;
    while (c.isAnyWord(DDL_MODIFIERS)) {
      const word = c.take()?.upper;
      if (word === 'TEMPORARY') temporary = true;
      if (word === 'REPLACE') orReplace = true;
    }
    const object = c.peek()?.upper ?? '';
    const action = `${verb.upper} ${OBJECT_NAMES.get(object) ?? object}`;
    if (object !== 'DATABASE' && object !== 'SCHEMA') return { verb: verb.upper, action, temporary, orReplace };
    c.take();
    if (!c.takeWords('IF', 'NOT', 'EXISTS')) c.takeWords('IF', 'EXISTS');
    const name = c.take();
    // ALTER DATABASE without a name changes the default database.
    if (!name || (name.kind !== 'word' && name.kind !== 'ident')) return null;
    return { verb: verb.upper, action, temporary, orReplace, database: name.value };
  } catch (err) {
    if (err instanceof SqlLexError) return null;
    throw err;
  }
}
