/**
 * Turns folded mutations into SQL text for the target: multi-row deletes by key and multi-row upserts,
 * chunked so that no statement exceeds a byte budget (kept under the server's `max_allowed_packet`) or a
 * row count. Pure: no I/O, no connection; values are escaped client-side with mysql2's escaping, which
 * assumes the session does not run with NO_BACKSLASH_ESCAPES (the applier sets `sql_mode` itself).
 *
 * Why two upsert forms:
 * - `INSERT … ON DUPLICATE KEY UPDATE` for tables whose only unique index is the primary key: the
 *   full after-image overwrites the row with that key, or creates it.
 * - `REPLACE` for tables with secondary unique keys: when a unique value moved from one row to another,
 *   IODKU would match the *other* row through the secondary index and update it in place (wrong row).
 *   REPLACE deletes every row that conflicts on any unique index, then inserts the image; the rows it
 *   removed get their own later images from the same or a following batch, so replay converges.
 */
import { escape as mysqlEscape } from 'mysql2/promise';
import type { BinlogPosition, Mutation, Row, SqlValue, TableRef } from '../../src/index.js';
import { TargetError } from '../../src/index.js';

export type StatementKind = 'delete' | 'upsert' | 'replace' | 'update' | 'mark' | 'session';

export interface BuiltStatement {
  readonly kind: StatementKind;
  readonly table: TableRef;
  readonly sql: string;
  /**
   * Values too large to inline (see LARGE_VALUE_BYTES), in the order of the `?` placeholders in `sql`:
   * the statement is then sent alone with the binary protocol. Absent for the usual statement.
   */
  readonly params?: readonly SqlValue[];
  /** Number of rows (keys) the statement carries. */
  readonly rowCount: number;
  /** UTF-8 size of `sql`, as sent to the server, plus the size of `params`. */
  readonly bytes: number;
  /** Primary-key values of the first row in the statement, for error messages. */
  readonly firstKey: readonly SqlValue[];
  /**
   * Where in the source's binlog its rows come from (first and last row's transaction start), for
   * error messages; `snapshot` when some of them were read by a snapshot (at that position) instead.
   */
  readonly source?: { readonly first: BinlogPosition; readonly last: BinlogPosition; readonly snapshot?: true };
}

export interface StatementLimits {
  /** Upper bound on one statement's size in bytes; a single row larger than this gets a statement of its own. */
  readonly maxStatementBytes: number;
  /** Upper bound on rows per statement. */
  readonly maxRowsPerStatement: number;
}

/** 1 MiB: well under MySQL/MariaDB's default `max_allowed_packet` (16–64 MiB) and a good batch size. */
export const DEFAULT_MAX_STATEMENT_BYTES = 1024 * 1024;
export const DEFAULT_MAX_ROWS_PER_STATEMENT = 2000;
/**
 * Deletes carry fewer keys: MariaDB converts an IN list of 1000+ values (`in_predicate_conversion_threshold`)
 * into a join against a temporary table, which is slower than a range scan on the primary key.
 */
const MAX_DELETE_KEYS_PER_STATEMENT = 500;

export const DEFAULT_LIMITS: StatementLimits = Object.freeze({
  maxStatementBytes: DEFAULT_MAX_STATEMENT_BYTES,
  maxRowsPerStatement: DEFAULT_MAX_ROWS_PER_STATEMENT,
});

/** Backtick-quotes an identifier, doubling any backtick inside it. Never splits on dots. */
export function quoteIdentifier(name: string): string {
  return name.includes('`') ? '`' + name.replace(/`/g, '``') + '`' : '`' + name + '`';
}

export function quoteTable(table: TableRef): string {
  return quoteIdentifier(table.schema) + '.' + quoteIdentifier(table.name);
}

/**
 * A value as a SQL literal: NULL, a number as is, a string escaped and quoted (BIGINT beyond 2^53,
 * DECIMAL and temporal values travel as strings, and the server converts them exactly on assignment),
 * a Buffer as a hex literal X'…' (exact bytes, independent of any character set).
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      // MySQL cannot store NaN or ±Infinity, so no binlog carries them: this is a bug upstream.
      throw new TargetError('TARGET_APPLY', `cannot write the non-finite number ${value} to MySQL (no column type holds it)`);
    }
    return String(value);
  }
  if (typeof value === 'string') return mysqlEscape(value);
  return "X'" + value.toString('hex') + "'";
}

/**
 * A string or byte value longer than this travels as a parameter of a prepared statement, not as a
 * literal in the SQL text. A literal costs memory several times the value: `X'…'` doubles bytes to hex,
 * the text is joined into a statement, then encoded into a packet; with a few 64 MB BLOBs in flight
 * the daemon grew past 1.2 GB (pipeline-large-transactions.test.ts). A parameter is copied once, raw.
 */
export const LARGE_VALUE_BYTES = 64 * 1024;

function isLarge(value: SqlValue): value is string | Buffer {
  return (typeof value === 'string' || Buffer.isBuffer(value)) && value.length > LARGE_VALUE_BYTES;
}

function valueBytes(value: SqlValue): number {
  return typeof value === 'string' ? Buffer.byteLength(value) : Buffer.isBuffer(value) ? value.length : 0;
}

/**
 * The literal of a value in a row fragment, or `?` with the value appended to `params` when it is
 * large. `params` is created on first use, so the usual row allocates nothing more.
 */
class RowValues {
  params: SqlValue[] | null = null;
  paramBytes = 0;
  literal(value: SqlValue): string {
    if (!isLarge(value)) return sqlLiteral(value);
    (this.params ??= []).push(value);
    this.paramBytes += valueBytes(value);
    return '?';
  }
  reset(): void {
    this.params = null;
    this.paramBytes = 0;
  }
}

/** `(1, 'a')` or `1`: a key for messages, escaped as in SQL, shortened when long. */
export function formatKey(key: readonly SqlValue[], maxChars = 200): string {
  const text = key.length === 1 ? sqlLiteral(key[0] ?? null) : '(' + key.map(sqlLiteral).join(', ') + ')';
  return text.length > maxChars ? text.slice(0, maxChars) + '…' : text;
}

/**
 * Statements for a whole lane batch: mutations are grouped by table (tables in order of first
 * appearance); per table, deletes come before upserts. With at most one mutation per key, that order
 * reaches the batch's final state: deleted keys end absent, upserted keys end with their image.
 * Order-group mutations (foreign keys) come after, in source order (see `buildOrderedInto`).
 */
export function buildStatements(mutations: readonly Mutation[], limits: StatementLimits = DEFAULT_LIMITS): BuiltStatement[] {
  const byTable = new Map<string, Mutation[]>();
  const ordered: Mutation[] = [];
  for (const m of mutations) {
    if (m.keys.orderGroup !== undefined) {
      ordered.push(m);
      continue;
    }
    // Schema and table names cannot contain NUL, so this key is unambiguous.
    const id = m.table.schema + '\u0000' + m.table.name;
    const list = byTable.get(id);
    if (list) list.push(m);
    else byTable.set(id, [m]);
  }
  const out: BuiltStatement[] = [];
  for (const list of byTable.values()) buildTableStatementsInto(out, list, limits);
  if (ordered.length > 0) buildOrderedInto(out, ordered, limits);
  return out;
}

/**
 * Order-group mutations in source order, unfolded: each run of upserts of one table becomes one
 * statement (a multi-row INSERT checks its rows' foreign keys in VALUES order), each delete its own
 * statement (a multi-row DELETE runs in index order, not source order, so a self-referencing parent
 * could go before its child and fail the target's check), a key change one UPDATE of the row found by
 * its old key. No REPLACE: its delete would make the target run ON DELETE rules.
 *
 * Snapshot rows among them (a run of one table) go without foreign-key checks: a copied row has no
 * cascade to run, and the row it refers to may be copied later (a self-reference, a later chunk).
 */
function buildOrderedInto(out: BuiltStatement[], mutations: readonly Mutation[], limits: StatementLimits): void {
  checkLimits(limits);
  for (let i = 0; i < mutations.length; ) {
    const first = mutations[i]!;
    let j = i + 1;
    const sameRun = (m: Mutation): boolean => m.snapshot === first.snapshot && m.table.schema === first.table.schema && m.table.name === first.table.name;
    if (first.snapshot) {
      while (j < mutations.length && sameRun(mutations[j]!)) j++;
      out.push(sessionStatement(first.table, 'SET SESSION foreign_key_checks = 0'));
      buildTableStatementsInto(out, mutations.slice(i, j), limits);
      out.push(sessionStatement(first.table, 'SET SESSION foreign_key_checks = 1'));
      i = j;
      continue;
    }
    if (first.op === 'upsert') {
      while (j < mutations.length) {
        const m = mutations[j]!;
        if (m.op !== first.op || !sameRun(m)) break;
        j++;
      }
    }
    const run = mutations.slice(i, j);
    if (first.op === 'delete' && first.keys.fullRow) out.push(buildFullRowDelete(first));
    else if (first.op === 'delete') buildDeletes(out, first.table, run, limits);
    else if (first.op === 'upsert') buildUpserts(out, first.table, run, limits, false);
    else out.push(buildKeyUpdate(first));
    i = j;
  }
}

function sessionStatement(table: TableRef, sql: string): BuiltStatement {
  return { kind: 'session', table, sql, rowCount: 0, bytes: Buffer.byteLength(sql), firstKey: [] };
}

/**
 * A keyless (`fullRow`) table's row, found by all its columns as a native replica finds it: NULL-safe
 * (`<=>`, so a NULL matches a NULL) and one row only (`LIMIT 1`): of several identical rows, one is
 * changed, and the others stay, as on the source.
 */
function fullRowWhere(m: Mutation, values: readonly SqlValue[]): string {
  return m.keys.primaryKey.map((c, i) => `${quoteIdentifier(c)}<=>${sqlLiteral(values[i] ?? null)}`).join(' AND ') + ' LIMIT 1';
}

/** `DELETE FROM t WHERE <every column> LIMIT 1`: one of the rows equal to the before-image. */
function buildFullRowDelete(m: Mutation): BuiltStatement {
  if (m.key.length !== m.keys.primaryKey.length) throw new TypeError(`delete on ${quoteTable(m.table)} carries ${m.key.length} values for ${m.keys.primaryKey.length} columns`);
  const sql = `DELETE FROM ${quoteTable(m.table)} WHERE ${fullRowWhere(m, m.key)}`;
  return { kind: 'delete', table: m.table, sql, rowCount: 1, bytes: Buffer.byteLength(sql), firstKey: m.key, source: { first: m.txStart, last: m.txStart } };
}

/** `UPDATE t SET <every column of the after image> WHERE <old key>`: a key change as one row update. */
function buildKeyUpdate(m: Mutation): BuiltStatement {
  const pk = m.keys.primaryKey;
  const oldKey = m.oldKey;
  if (!oldKey || oldKey.length !== pk.length) throw new TypeError(`update on ${quoteTable(m.table)} without its old key`);
  const values = new RowValues();
  const sets = Object.keys(m.row).map((c) => `${quoteIdentifier(c)}=${values.literal(m.row[c] ?? null)}`);
  const where = m.keys.fullRow ? fullRowWhere(m, oldKey) : pk.map((c, i) => `${quoteIdentifier(c)}=${values.literal(oldKey[i] ?? null)}`).join(' AND ');
  const sql = `UPDATE ${quoteTable(m.table)} SET ${sets.join(',')} WHERE ${where}`;
  return {
    kind: 'update',
    table: m.table,
    sql,
    ...(values.params ? { params: values.params } : {}),
    rowCount: 1,
    bytes: Buffer.byteLength(sql) + values.paramBytes,
    firstKey: oldKey,
    source: { first: m.txStart, last: m.txStart },
  };
}

/** Statements for the mutations of ONE table (at most one per key): deletes first, then upserts. */
export function buildTableStatements(mutations: readonly Mutation[], limits: StatementLimits = DEFAULT_LIMITS): BuiltStatement[] {
  const out: BuiltStatement[] = [];
  buildTableStatementsInto(out, mutations, limits);
  return out;
}

function buildTableStatementsInto(out: BuiltStatement[], mutations: readonly Mutation[], limits: StatementLimits): void {
  checkLimits(limits);
  const first = mutations[0];
  if (!first) return;
  const deletes: Mutation[] = [];
  const upserts: Mutation[] = [];
  for (const m of mutations) {
    if (m.table.schema !== first.table.schema || m.table.name !== first.table.name) {
      throw new TypeError(`buildTableStatements: mixed tables ${quoteTable(first.table)} and ${quoteTable(m.table)}`);
    }
    if (m.op === 'update') throw new TypeError(`buildTableStatements: an update of ${quoteTable(m.table)} outside an order group`);
    (m.op === 'delete' ? deletes : upserts).push(m);
  }
  if (deletes.length > 0) buildDeletes(out, first.table, deletes, limits);
  if (upserts.length > 0) buildUpserts(out, first.table, upserts, limits);
}

function checkLimits(limits: StatementLimits): void {
  if (!(limits.maxStatementBytes > 0) || !(limits.maxRowsPerStatement >= 1)) {
    throw new TypeError(`statement limits must be positive (got ${limits.maxStatementBytes} bytes, ${limits.maxRowsPerStatement} rows)`);
  }
}

/** Accumulates row fragments for one statement shape and cuts statements at the limits. */
class Chunker {
  private parts: string[] = [];
  private params: SqlValue[] | null = null;
  private bytes = 0;
  private firstKey: readonly SqlValue[] = [];
  private firstSource: BinlogPosition | undefined;
  private lastSource: BinlogPosition | undefined;
  private fromSnapshot = false;
  private readonly fixedBytes: number;

  constructor(
    private readonly out: BuiltStatement[],
    private readonly kind: StatementKind,
    private readonly table: TableRef,
    private readonly head: string,
    private readonly tail: string,
    private readonly maxBytes: number,
    private readonly maxRows: number,
    private readonly separator = ',',
  ) {
    this.fixedBytes = Buffer.byteLength(head) + Buffer.byteLength(tail);
  }

  /** Adds a row's fragment; `values` holds the parameters its `?`s stand for, if any. */
  add(fragment: string, key: readonly SqlValue[], from: Mutation, values?: RowValues): void {
    const size = Buffer.byteLength(fragment) + this.separator.length + (values?.paramBytes ?? 0); // + the separator
    if (this.parts.length > 0 && (this.parts.length >= this.maxRows || this.fixedBytes + this.bytes + size > this.maxBytes)) {
      this.flush();
    }
    if (this.parts.length === 0) {
      this.firstKey = key;
      this.firstSource = from.txStart;
    }
    this.lastSource = from.txStart;
    if (from.snapshot) this.fromSnapshot = true;
    this.parts.push(fragment);
    if (values?.params) (this.params ??= []).push(...values.params);
    this.bytes += size;
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const sql = this.head + this.parts.join(this.separator) + this.tail;
    this.out.push({
      kind: this.kind,
      table: this.table,
      sql,
      ...(this.params ? { params: this.params } : {}),
      rowCount: this.parts.length,
      bytes: this.fixedBytes + this.bytes - this.separator.length,
      firstKey: this.firstKey,
      ...(this.firstSource && this.lastSource ? { source: { first: this.firstSource, last: this.lastSource, ...(this.fromSnapshot ? { snapshot: true as const } : {}) } } : {}),
    });
    this.parts = [];
    this.params = null;
    this.bytes = 0;
    this.fromSnapshot = false;
  }
}

function buildDeletes(out: BuiltStatement[], table: TableRef, deletes: readonly Mutation[], limits: StatementLimits): void {
  const pk = deletes[0]!.keys.primaryKey;
  if (pk.length === 0) throw new TypeError(`no primary key known for ${quoteTable(table)}: cannot delete by key`);
  const maxRows = Math.min(limits.maxRowsPerStatement, MAX_DELETE_KEYS_PER_STATEMENT);
  const target = quoteTable(table);

  if (pk.length === 1) {
    const chunker = new Chunker(out, 'delete', table, `DELETE FROM ${target} WHERE ${quoteIdentifier(pk[0]!)} IN (`, ')', limits.maxStatementBytes, maxRows);
    for (const m of deletes) chunker.add(sqlLiteral(keyValue(m, 0)), m.key, m);
    chunker.flush();
    return;
  }

  // Composite keys: `(a=… AND b=…) OR (a=… AND b=…)`, never a row constructor `(a,b) IN ((…),(…))`:
  // MariaDB 10.11 compares row-IN values without converting their character set, so a utf8mb4
  // literal with non-ASCII characters never matches a latin1 key (found by the fuzzer: deletes that
  // matched nothing), and it plans a one-element row IN as a full scan. OR of ANDs is a range on the key.
  const cols = pk.map(quoteIdentifier);
  const chunker = new Chunker(out, 'delete', table, `DELETE FROM ${target} WHERE `, '', limits.maxStatementBytes, maxRows, ' OR ');
  for (const m of deletes) {
    let t = `${cols[0]}=${sqlLiteral(keyValue(m, 0))}`;
    for (let c = 1; c < pk.length; c++) t += ` AND ${cols[c]}=${sqlLiteral(keyValue(m, c))}`;
    chunker.add(deletes.length === 1 ? t : `(${t})`, m.key, m);
  }
  chunker.flush();
}

function keyValue(m: Mutation, index: number): SqlValue {
  if (index >= m.key.length) {
    throw new TypeError(`delete on ${quoteTable(m.table)} carries ${m.key.length} key values for a ${m.keys.primaryKey.length}-column primary key`);
  }
  return m.key[index] ?? null;
}

/** True when the row's own keys are exactly `cols`, in order (no allocation: this runs per row). */
function hasColumns(row: Row, cols: readonly string[]): boolean {
  let i = 0;
  for (const k in row) {
    if (cols[i] !== k) return false;
    i++;
  }
  return i === cols.length;
}

function buildUpserts(out: BuiltStatement[], table: TableRef, upserts: readonly Mutation[], limits: StatementLimits, replaceForUnique = true): void {
  const replace = replaceForUnique && upserts[0]!.keys.uniqueKeys.length > 0;
  const kind: StatementKind = replace ? 'replace' : 'upsert';
  // A collated key may have changed to a value the target calls equal ('key1' → 'KEY1'): the
  // update then also writes the key columns, so the target row takes the new bytes.
  const unchanged = upserts[0]!.keys.collatedKey ? [] : upserts[0]!.keys.primaryKey;
  let cols: string[] = [];
  let chunker: Chunker | null = null;
  const values = new RowValues();

  for (const m of upserts) {
    const row = m.row;
    // Rows of one table normally share a column list; a DDL in the middle of a batch can change it,
    // and then a new statement starts with the new list.
    if (chunker === null || !hasColumns(row, cols)) {
      chunker?.flush();
      cols = Object.keys(row);
      if (cols.length === 0) throw new TypeError(`upsert on ${quoteTable(table)} with an empty row image`);
      chunker = newUpsertChunker(out, kind, table, cols, unchanged, limits);
    }
    values.reset();
    let t = '(' + values.literal(row[cols[0]!] ?? null);
    for (let c = 1; c < cols.length; c++) t += ',' + values.literal(row[cols[c]!] ?? null);
    chunker.add(t + ')', m.key, m, values);
  }
  chunker?.flush();
}

function newUpsertChunker(
  out: BuiltStatement[],
  kind: StatementKind,
  table: TableRef,
  cols: readonly string[],
  /** Columns the ON DUPLICATE KEY UPDATE leaves as they are (the key, unless it is collated). */
  unchanged: readonly string[],
  limits: StatementLimits,
): Chunker {
  const quoted = cols.map(quoteIdentifier);
  const verb = kind === 'replace' ? 'REPLACE INTO ' : 'INSERT INTO ';
  const head = `${verb}${quoteTable(table)} (${quoted.join(',')}) VALUES `;
  let tail = '';
  if (kind === 'upsert') {
    const keep = new Set(unchanged);
    const updates = quoted.filter((_, i) => !keep.has(cols[i]!)).map((q) => `${q}=VALUES(${q})`);
    // A table made only of key columns has nothing to update; a no-op assignment keeps the syntax valid.
    if (updates.length === 0) updates.push(`${quoted[0]!}=${quoted[0]!}`);
    tail = ' ON DUPLICATE KEY UPDATE ' + updates.join(',');
  }
  return new Chunker(out, kind, table, head, tail, limits.maxStatementBytes, limits.maxRowsPerStatement);
}
