/**
 * Checks on the target: every included source table must exist there (same db.table) with at least the
 * source's columns, each able to hold the source's values exactly (column-compat.ts), since each change
 * is applied as a full row image. Extra target columns are fine (they need defaults).
 */
import type { Connection } from 'mysql2/promise';
import type { PreflightCheck } from './report.js';
import { qualifiedName, type SourceTable } from './source-checks.js';
import { quoteIdent, rows, type TableName } from './sql.js';
import { NO_ROUTING, type TableRouting } from './routing.js';
import { columnIncompatibility, type ColumnDefinition } from './column-compat.js';

/** Every column of the tables in `schemas`, by `db.table` and column name. */
async function columnDefinitionsOf(conn: Connection, schemas: readonly string[]): Promise<Map<string, Map<string, ColumnDefinition>>> {
  const out = new Map<string, Map<string, ColumnDefinition>>();
  if (schemas.length === 0) return out;
  for (const r of await rows(
    conn,
    'SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, COLUMN_NAME AS col, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, CHARACTER_MAXIMUM_LENGTH AS maxLength, CHARACTER_SET_NAME AS charset FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?)',
    [schemas],
  )) {
    const key = `${String(r.db)}.${String(r.tbl)}`;
    const cols = out.get(key) ?? new Map<string, ColumnDefinition>();
    out.set(key, cols);
    cols.set(String(r.col), {
      name: String(r.col),
      dataType: String(r.dataType).toLowerCase(),
      columnType: String(r.columnType),
      maxLength: r.maxLength === null ? null : Number(r.maxLength),
      charset: r.charset === null ? null : String(r.charset),
    });
  }
  return out;
}

/** `SHOW CREATE TABLE` on the source, qualified with its database so it can be run anywhere. */
export async function createStatement(source: Connection, db: string, table: string, as: TableName = { db, table }): Promise<string> {
  const [r] = await rows(source, `SHOW CREATE TABLE ${quoteIdent(db)}.${quoteIdent(table)}`);
  const text = String(r?.['Create Table'] ?? '');
  return text.replace(/^CREATE TABLE `(?:[^`]|``)+`/, `CREATE TABLE IF NOT EXISTS ${quoteIdent(as.db)}.${quoteIdent(as.table)}`);
}

/** The column definition lines of a CREATE TABLE, by column name. */
export function columnDefinitions(create: string): Map<string, string> {
  const defs = new Map<string, string>();
  for (const line of create.split('\n')) {
    const m = /^\s+`((?:[^`]|``)+)`\s+(.*?),?$/.exec(line);
    if (m) defs.set(m[1]!.replace(/``/g, '`'), `${quoteIdent(m[1]!.replace(/``/g, '`'))} ${m[2]!}`);
  }
  return defs;
}

export async function targetTablesCheck(target: Connection, source: Connection, tables: readonly SourceTable[], routing: TableRouting = NO_ROUTING, parked: ReadonlySet<string> = new Set()): Promise<PreflightCheck> {
  const id = 'target.tables';
  const title = 'Target tables and columns';
  const schemas = [...new Set(tables.map((t) => t.db))];
  const targetSchemas = [...new Set(tables.map((t) => routing.target(t).db))];
  const [existing, sourceColumns] = await Promise.all([columnDefinitionsOf(target, targetSchemas), columnDefinitionsOf(source, schemas)]);
  const problems: string[] = [];
  const fixes: string[] = [];
  let parkedProblems = 0;
  const createdDbs = new Set<string>();
  for (const t of tables) {
    const name = qualifiedName(t);
    const to = routing.target(t);
    const toName = qualifiedName(to);
    const routed = toName === name ? name : `${toName} (from ${name})`;
    const have = existing.get(toName);
    const columns = t.columns.filter((c) => routing.keeps(t, c));
    if (!have) {
      problems.push(`${routed} does not exist on the target`);
      const create = await createStatement(source, t.db, t.table, to);
      if (![...existing.keys()].some((k) => k.startsWith(`${to.db}.`)) && !createdDbs.has(to.db)) {
        createdDbs.add(to.db);
        fixes.push(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(to.db)};`);
      }
      fixes.push(`${create};`);
      const dropped = t.columns.filter((c) => !routing.keeps(t, c));
      if (dropped.length > 0) fixes.push(`ALTER TABLE ${quoteIdent(to.db)}.${quoteIdent(to.table)} ${dropped.map((c) => `DROP COLUMN ${quoteIdent(c)}`).join(', ')};`);
      continue;
    }
    const missing = columns.filter((c) => !have.has(c));
    const sourceDefs = sourceColumns.get(name);
    const incompatible = columns.flatMap((c) => {
      const sd = sourceDefs?.get(c);
      const td = have.get(c);
      const why = sd && td ? columnIncompatibility(sd, td) : null;
      return why ? [{ column: c, why }] : [];
    });
    if (missing.length === 0 && incompatible.length === 0) continue;
    const defs = columnDefinitions(await createStatement(source, t.db, t.table));
    const definition = (c: string): string => defs.get(c) ?? `${quoteIdent(c)} <type as on the source>`;
    // A parked table's changes wait in quarantine: the others may run while its definition is fixed.
    const note = parked.has(name) ? ' (parked in quarantine: fix it, then `binlog-sync quarantine retry`)' : '';
    if (missing.length > 0) problems.push(`${routed} on the target lacks column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}${note}`);
    for (const i of incompatible) problems.push(`${toName}.${i.column} on the target cannot hold the source's values${toName === name ? '' : ` (${name}.${i.column})`}: ${i.why}${note}`);
    if (note) parkedProblems += (missing.length > 0 ? 1 : 0) + incompatible.length;
    fixes.push(
      `ALTER TABLE ${quoteIdent(to.db)}.${quoteIdent(to.table)} ${[...missing.map((c) => `ADD COLUMN ${definition(c)}`), ...incompatible.map((i) => `MODIFY COLUMN ${definition(i.column)}`)].join(', ')};`,
    );
  }
  if (problems.length === 0) {
    return {
      id,
      title,
      status: 'ok',
      detail: tables.length > 0 ? `all ${tables.length} table${tables.length === 1 ? '' : 's'} exist with the source's columns` : 'no tables to compare',
    };
  }
  return {
    id,
    title,
    // Only parked tables wrong: a warning, as their changes do not reach them until retried.
    status: parkedProblems === problems.length ? 'warn' : 'fail',
    detail: problems.join('\n'),
    fix: `On the target (definitions taken from the source's SHOW CREATE TABLE):\n${fixes.join('\n')}`,
  };
}
