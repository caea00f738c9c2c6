/**
 * Checks on the target: every included source table must exist there (same db.table) with at least the
 * source's columns, since each change is applied as a full row image. Extra target columns are fine
 * (they need defaults); type differences are left to the apply step's errors.
 */
import type { Connection } from 'mysql2/promise';
import type { PreflightCheck } from './report.js';
import { qualifiedName, type SourceTable } from './source-checks.js';
import { quoteIdent, rows } from './sql.js';

async function targetColumns(conn: Connection, schemas: readonly string[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (schemas.length === 0) return out;
  for (const r of await rows(
    conn,
    'SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, COLUMN_NAME AS col FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?)',
    [schemas],
  )) {
    const key = `${String(r.db)}.${String(r.tbl)}`;
    const cols = out.get(key) ?? new Set<string>();
    out.set(key, cols);
    cols.add(String(r.col));
  }
  return out;
}

/** `SHOW CREATE TABLE` on the source, qualified with its database so it can be run anywhere. */
export async function createStatement(source: Connection, db: string, table: string): Promise<string> {
  const [r] = await rows(source, `SHOW CREATE TABLE ${quoteIdent(db)}.${quoteIdent(table)}`);
  const text = String(r?.['Create Table'] ?? '');
  return text.replace(/^CREATE TABLE `(?:[^`]|``)+`/, `CREATE TABLE IF NOT EXISTS ${quoteIdent(db)}.${quoteIdent(table)}`);
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

export async function targetTablesCheck(target: Connection, source: Connection, tables: readonly SourceTable[]): Promise<PreflightCheck> {
  const id = 'target.tables';
  const title = 'Target tables and columns';
  const existing = await targetColumns(target, [...new Set(tables.map((t) => t.db))]);
  const problems: string[] = [];
  const fixes: string[] = [];
  const createdDbs = new Set<string>();
  for (const t of tables) {
    const name = qualifiedName(t);
    const have = existing.get(name);
    if (!have) {
      problems.push(`${name} does not exist on the target`);
      const create = await createStatement(source, t.db, t.table);
      if (![...existing.keys()].some((k) => k.startsWith(`${t.db}.`)) && !createdDbs.has(t.db)) {
        createdDbs.add(t.db);
        fixes.push(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(t.db)};`);
      }
      fixes.push(`${create};`);
      continue;
    }
    const missing = t.columns.filter((c) => !have.has(c));
    if (missing.length === 0) continue;
    problems.push(`${name} on the target lacks column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`);
    const defs = columnDefinitions(await createStatement(source, t.db, t.table));
    fixes.push(
      `ALTER TABLE ${quoteIdent(t.db)}.${quoteIdent(t.table)} ${missing.map((c) => `ADD COLUMN ${defs.get(c) ?? `${quoteIdent(c)} <type as on the source>`}`).join(', ')};`,
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
    status: 'fail',
    detail: problems.join('\n'),
    fix: `On the target (definitions taken from the source's SHOW CREATE TABLE):\n${fixes.join('\n')}`,
  };
}
