/**
 * Reads what decides which rows an upsert or a delete touches: a table's PRIMARY KEY, its UNIQUE
 * indexes (with prefix lengths: a UNIQUE on `name(10)` is a different constraint from one on `name`)
 * and its columns with their nullability, character set and collation (keys compare by their
 * column's collation). Works the same on the source and on the target, so the two can be compared.
 */
import { qualifiedName, rows, type Queryable, type TableName } from './sql.js';

export interface KeyPart {
  readonly column: string;
  /** Indexed prefix length in characters (`name(10)`), or null for the whole column. */
  readonly prefix: number | null;
}

export interface UniqueIndex {
  /** `PRIMARY` for the primary key. */
  readonly name: string;
  /** In index order. */
  readonly parts: readonly KeyPart[];
}

export interface TableColumn {
  readonly name: string;
  readonly nullable: boolean;
  /** Null for columns that are not strings (numbers, dates, binary types). */
  readonly charset: string | null;
  readonly collation: string | null;
}

export interface TableKeySchema {
  readonly table: TableName;
  readonly primaryKey: UniqueIndex | null;
  /** The UNIQUE indexes other than the primary key, by name. */
  readonly uniqueKeys: readonly UniqueIndex[];
  /** Every column in table order, by lower-cased name (column names compare case-insensitively). */
  readonly columns: ReadonlyMap<string, TableColumn>;
}

/** Column names compare case-insensitively in MySQL and MariaDB. */
export const foldColumn = (name: string): string => name.toLowerCase();

/** The keys of `tables` that exist on the server behind `conn`, by `db.table`; absent tables are left out. */
export async function readTableKeys(conn: Queryable, tables: readonly TableName[]): Promise<Map<string, TableKeySchema>> {
  const out = new Map<string, TableKeySchema>();
  if (tables.length === 0) return out;
  const wanted = new Set(tables.map(qualifiedName));
  const schemas = [...new Set(tables.map((t) => t.db))];
  const columns = new Map<string, Map<string, TableColumn>>();
  for (const r of await rows(
    conn,
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, COLUMN_NAME AS col, IS_NULLABLE AS nullable, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    [schemas],
  )) {
    const key = `${String(r.db)}.${String(r.tbl)}`;
    if (!wanted.has(key)) continue;
    const byName = columns.get(key) ?? new Map<string, TableColumn>();
    columns.set(key, byName);
    byName.set(foldColumn(String(r.col)), {
      name: String(r.col),
      nullable: String(r.nullable) === 'YES',
      charset: r.charset === null ? null : String(r.charset),
      collation: r.collation === null ? null : String(r.collation),
    });
  }
  const indexes = new Map<string, Map<string, KeyPart[]>>();
  for (const r of await rows(
    conn,
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, INDEX_NAME AS idx, COLUMN_NAME AS col, SUB_PART AS prefix
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN (?) AND NON_UNIQUE = 0
      ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [schemas],
  )) {
    const key = `${String(r.db)}.${String(r.tbl)}`;
    if (!wanted.has(key)) continue;
    const byName = indexes.get(key) ?? new Map<string, KeyPart[]>();
    indexes.set(key, byName);
    const parts = byName.get(String(r.idx)) ?? [];
    byName.set(String(r.idx), parts);
    parts.push({ column: String(r.col), prefix: r.prefix === null ? null : Number(r.prefix) });
  }
  for (const t of tables) {
    const key = qualifiedName(t);
    const cols = columns.get(key);
    if (!cols) continue;
    const byName = indexes.get(key) ?? new Map<string, KeyPart[]>();
    const primary = byName.get('PRIMARY');
    out.set(key, {
      table: { db: t.db, table: t.table },
      primaryKey: primary ? { name: 'PRIMARY', parts: primary } : null,
      uniqueKeys: [...byName.entries()].filter(([name]) => name !== 'PRIMARY').map(([name, parts]) => ({ name, parts })),
      columns: cols,
    });
  }
  return out;
}
