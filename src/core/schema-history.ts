/**
 * Replaying across schema changes. The target keeps a history of the DDL it ran (the sink records each
 * one with its binlog position). A row change read again from before such a DDL has the shape its
 * table had then; here it is carried forward through every later recorded DDL, in binlog order, to
 * the shape the target's tables have now:
 * - ALTER TABLE t RENAME COLUMN a TO b, CHANGE [COLUMN] a b …: the value moves to b;
 * - ALTER TABLE t DROP [COLUMN] a: the value is left out;
 * - ALTER TABLE t RENAME [TO|AS] n, RENAME TABLE t TO n: the change goes to n;
 * - DROP TABLE t, TRUNCATE t, CREATE OR REPLACE TABLE t, DROP DATABASE d: a later statement erased
 *   what the change wrote, so it is dropped (the target already holds what followed);
 * - anything else (ADD COLUMN, MODIFY, indexes, …): nothing; an upsert without a column keeps the
 *   target's value, an insert gets the column's default, which is what the ALTER filled in when the
 *   default is a constant.
 * The statements are read from their tokens (sql-lexer.ts), never by matching the raw text. Pure.
 */
import type { Mutation, Row, SqlValue, TableKeys, TableRef } from './event.js';
import { BinlogSyncError } from './errors.js';
import { comparePositions, formatPosition, type BinlogPosition } from './position.js';
import type { SqlCursor, SqlToken } from './sql-lexer.js';
import { DDL_MODIFIERS, collectFromTokens, readTableName, skipStatementWrappers } from './sql-statement.js';

/** What one DDL statement does to row changes written before it (in statement order). */
export type HistoryOp =
  /** Columns renamed or dropped in one ALTER TABLE: old name (lower case) → new name, or null when dropped. */
  | { readonly kind: 'columns'; readonly table: TableRef; readonly columns: ReadonlyMap<string, string | null> }
  | { readonly kind: 'rename-table'; readonly table: TableRef; readonly to: TableRef }
  /** DROP TABLE, TRUNCATE, CREATE OR REPLACE TABLE: what was written to the table before is gone. */
  | { readonly kind: 'erase'; readonly table: TableRef }
  | { readonly kind: 'erase-database'; readonly schema: string };

/** A DDL statement the target ran, as the sink records it. */
export interface RecordedDdl {
  /** End of its query event in the source binlog. */
  readonly position: BinlogPosition;
  readonly sql: string;
  readonly defaultSchema: string;
}

/** The operations of a DDL statement on row changes written before it; [] when it has none. */
export function historyOps(sql: string, defaultSchema: string): HistoryOp[] {
  return collectFromTokens<HistoryOp>(sql, (c, out) => readStatement(c, defaultSchema, out));
}

function readStatement(c: SqlCursor, db: string, out: HistoryOp[]): void {
  skipStatementWrappers(c);
  const verb = c.take();
  if (!verb || verb.kind !== 'word') return;
  switch (verb.upper) {
    case 'CREATE':
    case 'ALTER':
    case 'DROP': {
      let temporary = false;
      let orReplace = false;
      while (c.isAnyWord(DDL_MODIFIERS)) {
        const word = c.take()!.upper;
        if (word === 'TEMPORARY') temporary = true;
        if (word === 'REPLACE') orReplace = true;
      }
      // Temporary tables are the session's own: no row of theirs is replicated.
      if (temporary) return;
      const object = c.take();
      if (!object || object.kind !== 'word') return;
      if (object.upper === 'DATABASE' || object.upper === 'SCHEMA') {
        if (verb.upper !== 'DROP') return;
        c.takeWords('IF', 'EXISTS');
        const name = nameToken(c.take());
        if (name !== null) out.push({ kind: 'erase-database', schema: name });
        return;
      }
      if (object.upper !== 'TABLE' && object.upper !== 'TABLES') return;
      if (verb.upper === 'ALTER') return alterTable(c, db, out);
      if (verb.upper === 'CREATE') {
        if (!orReplace) return;
        const t = readTableName(c, db);
        if (t) out.push({ kind: 'erase', table: t });
        return;
      }
      c.takeWords('IF', 'EXISTS');
      do {
        const t = readTableName(c, db);
        if (!t) return;
        out.push({ kind: 'erase', table: t });
      } while (c.takePunct(','));
      return;
    }
    case 'RENAME': {
      if (!c.takeWords('TABLE') && !c.takeWords('TABLES')) return;
      c.takeWords('IF', 'EXISTS');
      // a [WAIT n | NOWAIT] TO b [, c TO d …], one after the other (a TO tmp, b TO a, tmp TO b swaps)
      for (;;) {
        const from = readTableName(c, db);
        if (!from) return;
        if (c.takeWords('WAIT')) c.take();
        else c.takeWords('NOWAIT');
        if (!c.takeWords('TO')) return;
        const to = readTableName(c, db);
        if (!to) return;
        out.push({ kind: 'rename-table', table: from, to });
        if (!c.takePunct(',')) return;
      }
    }
    case 'TRUNCATE': {
      c.takeWords('TABLE');
      const t = readTableName(c, db);
      if (t) out.push({ kind: 'erase', table: t });
      return;
    }
    default:
      return;
  }
}

/** After DROP in an ALTER TABLE: words that make it something other than a column. */
const NOT_A_COLUMN: ReadonlySet<string> = new Set(['INDEX', 'KEY', 'PRIMARY', 'FOREIGN', 'CONSTRAINT', 'CHECK', 'PARTITION', 'UNIQUE', 'FULLTEXT', 'SPATIAL', 'SYSTEM', 'PERIOD']);

/**
 * `[IF EXISTS] t spec [, spec …]`. The column specs of one ALTER act on the table as it was (a swap
 * `RENAME COLUMN a TO b, RENAME COLUMN b TO a` is one simultaneous rename); a table rename comes last.
 */
function alterTable(c: SqlCursor, db: string, out: HistoryOp[]): void {
  c.takeWords('IF', 'EXISTS');
  const table = readTableName(c, db);
  if (!table) return;
  const columns = new Map<string, string | null>();
  let renamedTo: TableRef | null = null;
  for (;;) {
    if (c.takeWords('RENAME')) {
      if (c.takeWords('COLUMN')) {
        c.takeWords('IF', 'EXISTS');
        const from = nameToken(c.take());
        const to = c.takeWords('TO') ? nameToken(c.take()) : null;
        if (from !== null && to !== null) columns.set(from.toLowerCase(), to);
      } else if (!c.isWord('INDEX') && !c.isWord('KEY')) {
        if (!c.takeWords('TO')) c.takeWords('AS');
        renamedTo = readTableName(c, db) ?? renamedTo;
      }
    } else if (c.takeWords('CHANGE')) {
      c.takeWords('COLUMN');
      c.takeWords('IF', 'EXISTS');
      const from = nameToken(c.take());
      const to = nameToken(c.take());
      if (from !== null && to !== null && from.toLowerCase() !== to.toLowerCase()) columns.set(from.toLowerCase(), to);
    } else if (c.takeWords('DROP')) {
      const explicit = c.takeWords('COLUMN');
      if (explicit || !c.isAnyWord(NOT_A_COLUMN)) {
        c.takeWords('IF', 'EXISTS');
        const name = nameToken(c.take());
        if (name !== null) columns.set(name.toLowerCase(), null);
      }
    }
    c.skipUntil((k) => k.isPunct(','));
    if (!c.takePunct(',')) break;
  }
  if (columns.size > 0) out.push({ kind: 'columns', table, columns });
  if (renamedTo) out.push({ kind: 'rename-table', table, to: renamedTo });
}

function nameToken(t: SqlToken | null): string | null {
  return t && (t.kind === 'word' || t.kind === 'ident' || (t.kind === 'string' && t.quote === '"')) ? t.value : null;
}

function sameTable(a: TableRef, b: TableRef): boolean {
  return a.schema === b.schema && a.name === b.name;
}

/** Where a change written at some position lands after the later DDL (see `SchemaHistory.trace`). */
export type Trace =
  | { readonly kind: 'erased'; readonly by: BinlogPosition }
  | {
      readonly kind: 'moved';
      readonly table: TableRef;
      /** Column name as written in the change → its name now, or null (dropped: `droppedBy`). */
      readonly columns: (name: string) => string | null;
      readonly droppedBy: (name: string) => BinlogPosition | undefined;
    };

interface Entry {
  readonly position: BinlogPosition;
  readonly ops: readonly HistoryOp[];
}

/**
 * The recorded DDL of one pipeline, in binlog order, and the forward mapping of row changes written
 * before some of it. Changes at or after the last recorded DDL (every change in normal streaming)
 * pass untouched at the cost of one comparison.
 */
export class SchemaHistory {
  private entries: Entry[] = [];

  constructor(recorded: readonly RecordedDdl[] = []) {
    for (const r of recorded) this.add(r);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Adds a DDL the target ran (once per position; any order). */
  add(r: RecordedDdl): void {
    let i = this.entries.length;
    while (i > 0 && comparePositions(this.entries[i - 1]!.position, r.position) > 0) i--;
    if (i > 0 && comparePositions(this.entries[i - 1]!.position, r.position) === 0) return;
    this.entries.splice(i, 0, { position: r.position, ops: historyOps(r.sql, r.defaultSchema) });
  }

  /**
   * What the DDL recorded after `at` did to `table`: null when nothing (the change applies as it is),
   * else where its values go now, or that a later statement erased it.
   */
  trace(table: TableRef, at: BinlogPosition): Trace | null {
    const last = this.entries[this.entries.length - 1];
    if (!last || comparePositions(last.position, at) <= 0) return null;
    let current = table;
    let changed = false;
    // Lower-case name as written → current name (null: dropped), for columns a DDL touched.
    const names = new Map<string, string | null>();
    const dropped = new Map<string, BinlogPosition>();
    for (const e of this.entries) {
      // A DDL at or before the change's transaction start ran before the change was written.
      if (comparePositions(e.position, at) <= 0) continue;
      for (const op of e.ops) {
        switch (op.kind) {
          case 'erase':
            if (sameTable(op.table, current)) return { kind: 'erased', by: e.position };
            break;
          case 'erase-database':
            if (op.schema === current.schema) return { kind: 'erased', by: e.position };
            break;
          case 'rename-table':
            if (sameTable(op.table, current)) {
              current = op.to;
              changed = true;
            }
            break;
          case 'columns': {
            if (!sameTable(op.table, current)) break;
            changed = true;
            // Simultaneous within one statement: look every name up before writing any.
            const updates: [string, string | null][] = [];
            for (const [original, now] of names) {
              if (now === null) continue;
              const to = op.columns.get(now.toLowerCase());
              if (to !== undefined) updates.push([original, to]);
            }
            for (const [from, to] of op.columns) {
              // A column not renamed earlier in the history still has the name it was written with.
              if (!names.has(from) && ![...names.values()].some((n) => n !== null && n.toLowerCase() === from)) updates.push([from, to]);
            }
            for (const [original, to] of updates) {
              names.set(original, to);
              if (to === null && !dropped.has(original)) dropped.set(original, e.position);
            }
            break;
          }
        }
      }
    }
    if (!changed) return null;
    return {
      kind: 'moved',
      table: current,
      columns: (name) => {
        const now = names.get(name.toLowerCase());
        return now === undefined ? name : now;
      },
      droppedBy: (name) => dropped.get(name.toLowerCase()),
    };
  }

  /**
   * The mutation as it applies to the target's tables now: renamed columns and table, dropped columns
   * left out; null when a later DDL erased its effect. Throws TARGET_APPLY when a later DDL dropped a
   * column of the key the change is matched by: which row it was cannot be said any more.
   */
  forward(m: Mutation): Mutation | null {
    const trace = this.trace(m.table, m.txStart);
    if (trace === null) return m;
    if (trace.kind === 'erased') return null;
    const { columns } = trace;
    const table = trace.table;
    const kept: number[] = [];
    m.keys.primaryKey.forEach((c, i) => {
      if (columns(c) !== null) kept.push(i);
      else if (!m.keys.fullRow) throw keyDroppedError(m, c, trace.droppedBy(c)!);
    });
    const pick = (values: readonly SqlValue[]): SqlValue[] => kept.map((i) => values[i]!);
    const keys: TableKeys = {
      ...m.keys,
      table,
      primaryKey: kept.map((i) => columns(m.keys.primaryKey[i]!)!),
      // A unique key that lost a column no longer exists on the target (it only routed the change).
      uniqueKeys: m.keys.uniqueKeys.filter((k) => k.every((c) => columns(c) !== null)).map((k) => k.map((c) => columns(c)!)),
    };
    const row: Record<string, SqlValue> = {};
    for (const [name, value] of Object.entries(m.row)) {
      const now = columns(name);
      if (now !== null) row[now] = value;
    }
    return {
      ...m,
      table,
      keys,
      key: kept.length === m.key.length ? m.key : pick(m.key),
      oldKey: m.oldKey === null || kept.length === m.oldKey.length ? m.oldKey : pick(m.oldKey),
      row: row as Row,
    };
  }
}

function keyDroppedError(m: Mutation, column: string, by: BinlogPosition): BinlogSyncError {
  const table = `${m.table.schema}.${m.table.name}`;
  return new BinlogSyncError(
    'TARGET_APPLY',
    `target: a change of ${table} written at ${formatPosition(m.txStart)} is matched by its key column ${column}, which the DDL at ${formatPosition(by)} dropped or replaced on the target: ` +
      'the row it changed cannot be found any more, so it is not applied. What to do: re-copy the table with `binlog-sync snapshot --tables ' +
      `${table}\` (under its name now), or start after that DDL (\`binlog-sync run --reset-to ${formatPosition(by)} --yes\`).`,
    { retriable: false, details: { table, column, position: formatPosition(m.txStart), ddl: formatPosition(by) } },
  );
}
