/**
 * What preflight needs to know about a target table before changes flow: does it exist, which source
 * columns does it lack, and does its primary key match the source's (idempotent upserts need the same
 * key on both sides). Returns data; the caller decides what is fatal and how to print it.
 */
import type mysql from 'mysql2/promise';
import type { TableRef } from '../../src/index.js';
import { openTargetConnection, type TargetEndpoint } from './target-connection.js';

export interface TargetTableCheck {
  readonly table: TableRef;
  /** Source column names in source order. */
  readonly columns: readonly string[];
  /** The source's primary key (or configured key), when known. */
  readonly primaryKey?: readonly string[];
}

export interface TargetTableReport {
  readonly table: TableRef;
  readonly exists: boolean;
  /** Source columns the target table lacks (source spelling, source order); empty when it is absent. */
  readonly missingColumns: readonly string[];
  /** Target columns the source does not have (they keep their defaults on insert). */
  readonly extraColumns: readonly string[];
  /** The target's primary key columns in index order; empty when it has none. */
  readonly targetPrimaryKey: readonly string[];
  /** Whether the target primary key equals the source's; null when no source key was given or the table is absent. */
  readonly primaryKeyMatches: boolean | null;
}

/** Anything that runs a query: a connection, a pool connection or a pool. */
export type Queryable = Pick<mysql.Connection, 'query'>;

/** Column names compare case-insensitively in MySQL. */
const fold = (name: string): string => name.toLowerCase();

export async function inspectTargetTable(db: Queryable, check: TargetTableCheck): Promise<TargetTableReport> {
  const { table } = check;
  const [tableRows] = await db.query(
    'SELECT TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [table.schema, table.name],
  );
  if ((tableRows as unknown[]).length === 0) {
    return { table, exists: false, missingColumns: [], extraColumns: [], targetPrimaryKey: [], primaryKeyMatches: null };
  }
  const [columnRows] = await db.query(
    'SELECT COLUMN_NAME AS name, COLUMN_KEY AS colKey FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [table.schema, table.name],
  );
  const targetColumns = (columnRows as { name: string }[]).map((r) => r.name);
  const [keyRows] = await db.query(
    "SELECT COLUMN_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
    [table.schema, table.name],
  );
  const targetPrimaryKey = (keyRows as { name: string }[]).map((r) => r.name);

  const targetSet = new Set(targetColumns.map(fold));
  const sourceSet = new Set(check.columns.map(fold));
  const missingColumns = check.columns.filter((c) => !targetSet.has(fold(c)));
  const extraColumns = targetColumns.filter((c) => !sourceSet.has(fold(c)));
  const primaryKeyMatches =
    check.primaryKey === undefined
      ? null
      : check.primaryKey.length === targetPrimaryKey.length && check.primaryKey.every((c, i) => fold(c) === fold(targetPrimaryKey[i]!));
  return { table, exists: true, missingColumns, extraColumns, targetPrimaryKey, primaryKeyMatches };
}

/** Inspects several tables over one short-lived connection. */
export async function inspectTargetTables(endpoint: TargetEndpoint, checks: readonly TargetTableCheck[]): Promise<TargetTableReport[]> {
  const conn = await openTargetConnection(endpoint);
  try {
    const reports: TargetTableReport[] = [];
    for (const check of checks) reports.push(await inspectTargetTable(conn, check));
    return reports;
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}
