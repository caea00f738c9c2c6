/**
 * What `verify` compares of a table: its key (the primary key, or `source.keys` for a table without
 * one, as the pipeline picks it) and the source's columns, with each side's own types. A table that
 * cannot be compared gets a reason instead (no key, a key on a column prefix, a nullable configured key,
 * the table or a column missing on the target).
 */
import { qualifiedName, type Queryable, type TableName } from '../preflight/sql.js';
import { readTableKeys } from '../preflight/table-keys.js';
import { keyColumn, padSpaceSql, type KeyColumn } from './key-columns.js';
import type { ChecksumTable, ComparedColumn } from './checksum-sql.js';

export interface TablePlan extends ChecksumTable {
  /** `db.table`. */
  readonly name: string;
  /** The source's columns in table order. */
  readonly sourceColumns: readonly ComparedColumn[];
  /** The same columns (by name, in the source's order) with the target's types. */
  readonly targetColumns: readonly ComparedColumn[];
}

export type PlanOutcome = { readonly plan: TablePlan } | { readonly name: string; readonly problem: string };

export interface ColumnInfo {
  readonly name: string;
  readonly dataType: string;
  readonly charset: string | null;
  readonly collation: string | null;
  readonly maxChars: number | null;
  readonly nullable: boolean;
}

export interface KeyPartInfo {
  readonly column: string;
  /** Indexed prefix length, or null. */
  readonly prefix: number | null;
}

export interface TableFacts {
  readonly table: TableName;
  readonly sourceColumns: readonly ColumnInfo[];
  /** Null: the table is not on the target. */
  readonly targetColumns: readonly ColumnInfo[] | null;
  readonly primaryKey: readonly KeyPartInfo[] | null;
  /** `source.keys` for this table, if any. */
  readonly configuredKey: readonly string[] | undefined;
  /** PAD SPACE by collation name (for the key's string columns). */
  readonly padSpace: ReadonlyMap<string, boolean>;
}

const fold = (name: string): string => name.toLowerCase();

/** The plan of one table from what the servers said about it (pure). */
export function planTable(f: TableFacts): PlanOutcome {
  const name = qualifiedName(f.table);
  const refuse = (problem: string): PlanOutcome => ({ name, problem });
  if (!f.targetColumns) return refuse('the table does not exist on the target');
  const targetByName = new Map(f.targetColumns.map((c) => [fold(c.name), c]));
  const lacking = f.sourceColumns.filter((c) => !targetByName.has(fold(c.name))).map((c) => c.name);
  if (lacking.length > 0) return refuse(`the target table lacks column${lacking.length === 1 ? '' : 's'} ${lacking.join(', ')}`);
  const sourceByName = new Map(f.sourceColumns.map((c) => [fold(c.name), c]));
  let parts: readonly KeyPartInfo[];
  if (f.primaryKey && f.primaryKey.length > 0) {
    const prefixed = f.primaryKey.filter((p) => p.prefix !== null);
    if (prefixed.length > 0) {
      return refuse(`its primary key indexes a prefix of ${prefixed.map((p) => `${p.column}(${p.prefix})`).join(', ')}: verify compares whole key values and cannot chunk such a key`);
    }
    parts = f.primaryKey;
  } else if (f.configuredKey && f.configuredKey.length > 0) {
    const unknown = f.configuredKey.filter((c) => !sourceByName.has(fold(c)));
    if (unknown.length > 0) return refuse(`source.keys names column${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}, which the table does not have`);
    const nullable = f.configuredKey.filter((c) => sourceByName.get(fold(c))?.nullable);
    if (nullable.length > 0) return refuse(`its source.keys column${nullable.length === 1 ? '' : 's'} ${nullable.join(', ')} can be NULL: rows with a NULL key fall in no key range`);
    parts = f.configuredKey.map((column) => ({ column, prefix: null }));
  } else {
    return refuse('it has no primary key and no source.keys entry');
  }
  const key: KeyColumn[] = parts.map((p) => {
    const c = sourceByName.get(fold(p.column))!;
    return keyColumn({ ...c, padSpace: c.collation !== null && f.padSpace.get(c.collation) === true });
  });
  return {
    plan: {
      db: f.table.db,
      table: f.table.table,
      name,
      key,
      sourceColumns: f.sourceColumns.map((c) => ({ name: c.name, dataType: c.dataType })),
      targetColumns: f.sourceColumns.map((c) => ({ name: c.name, dataType: targetByName.get(fold(c.name))!.dataType })),
    },
  };
}

export async function readColumns(conn: Queryable, tables: readonly TableName[]): Promise<Map<string, ColumnInfo[]>> {
  const out = new Map<string, ColumnInfo[]>();
  if (tables.length === 0) return out;
  const wanted = new Set(tables.map(qualifiedName));
  const [rows] = await conn.query({
    sql: `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE
            FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    values: [[...new Set(tables.map((t) => t.db))]],
    rowsAsArray: true,
  });
  for (const r of rows as unknown[][]) {
    const key = `${String(r[0])}.${String(r[1])}`;
    if (!wanted.has(key)) continue;
    const list = out.get(key) ?? [];
    out.set(key, list);
    list.push({
      name: String(r[2]),
      dataType: String(r[3]).toLowerCase(),
      charset: r[4] === null ? null : String(r[4]),
      collation: r[5] === null ? null : String(r[5]),
      maxChars: r[6] === null ? null : Number(r[6]),
      nullable: String(r[7]) === 'YES',
    });
  }
  return out;
}

/** Reads both sides' metadata of `tables` and plans each (in the order given). */
export async function planTables(
  source: Queryable,
  target: Queryable,
  tables: readonly TableName[],
  configuredKeys: Readonly<Record<string, readonly string[]>>,
): Promise<PlanOutcome[]> {
  const facts = await readTableFacts(source, target, tables, configuredKeys);
  return tables.map((t, i) => {
    const f = facts[i];
    return f ? planTable(f) : { name: qualifiedName(t), problem: 'the table no longer exists on the source' };
  });
}

/**
 * What both servers say about each of `tables` (null: no longer on the source). `targetOf` names the
 * table whose columns the target has for it (a routed table's target; default: the same name).
 */
export async function readTableFacts(
  source: Queryable,
  target: Queryable,
  tables: readonly TableName[],
  configuredKeys: Readonly<Record<string, readonly string[]>>,
  targetOf: (t: TableName) => TableName = (t) => t,
): Promise<(TableFacts | null)[]> {
  const [sourceColumns, targetColumns, keys] = await Promise.all([readColumns(source, tables), readColumns(target, tables.map(targetOf)), readTableKeys(source, tables)]);
  // PAD SPACE or not, as the source's server says, for every collation of a key column.
  const padSpace = new Map<string, boolean>();
  for (const t of tables) {
    const name = qualifiedName(t);
    const keyNames = new Set((keys.get(name)?.primaryKey?.parts.map((p) => p.column) ?? configuredKeys[name] ?? []).map(fold));
    for (const c of sourceColumns.get(name) ?? []) {
      if (!keyNames.has(fold(c.name)) || c.charset === null || c.collation === null || padSpace.has(c.collation)) continue;
      const [rows] = await source.query({ sql: padSpaceSql(c.charset, c.collation), rowsAsArray: true });
      padSpace.set(c.collation, Number((rows as unknown[][])[0]?.[0]) === 1);
    }
  }
  return tables.map((t) => {
    const name = qualifiedName(t);
    const cols = sourceColumns.get(name);
    if (!cols) return null;
    return {
      table: t,
      sourceColumns: cols,
      targetColumns: targetColumns.get(qualifiedName(targetOf(t))) ?? null,
      primaryKey: keys.get(name)?.primaryKey?.parts ?? null,
      configuredKey: configuredKeys[name],
      padSpace,
    };
  });
}
