/**
 * SQL for the fuzz workload, built from a table's spec and row keys read back from the source. Pure:
 * keys travel as the text the server printed for them (`keySelect`) and come back as literals
 * (`keyLiteral`) that compare exactly, under the column's own collation for strings.
 */
import { bytesLiteral, type ColumnType } from './column-types.js';
import type { FuzzRandom } from './random.js';
import { REV, writableColumns, type ColumnSpec, type TableSpec } from './schema.js';

export const q = (id: string): string => '`' + id.replace(/`/g, '``') + '`';

/** A key value as read by `keySelect`: hex bytes for strings and binary strings, else text. */
export type KeyValue = string | null;
export type RowKey = readonly KeyValue[];

/** How a column's value is read back so that `keyLiteral` can name it again. */
export function readExpr(c: ColumnSpec): string {
  const col = q(c.name);
  switch (c.type.kind) {
    case 'text':
    case 'bytes':
      return `HEX(${col})`;
    case 'bit':
      return `CAST(${col} + 0 AS CHAR)`;
    default:
      return `CAST(${col} AS CHAR)`;
  }
}

export function valueLiteral(type: ColumnType, v: KeyValue): string {
  if (v === null) return 'NULL';
  switch (type.kind) {
    case 'text': {
      const cs = type.charset!;
      return v === '' ? `_${cs.charset}'' COLLATE ${cs.collation}` : `_${cs.charset} X'${v}' COLLATE ${cs.collation}`;
    }
    case 'bytes':
      return bytesLiteral(Buffer.from(v, 'hex'));
    case 'bit':
    case 'int':
      return v;
    default:
      return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  }
}

export function columnsOf(t: TableSpec, names: readonly string[]): ColumnSpec[] {
  return names.map((n) => {
    const c = t.columns.find((x) => x.name === n);
    if (!c) throw new Error(`fuzz schema: ${t.name} has no column ${n}`);
    return c;
  });
}

export function keySelect(t: TableSpec, names: readonly string[] = t.primaryKey): string {
  return columnsOf(t, names).map(readExpr).join(', ');
}

/** `a = … AND b = …` for one row key (NULL-safe, for UNIQUE columns read with the key). */
export function keyWhere(t: TableSpec, key: RowKey, names: readonly string[] = t.primaryKey): string {
  return columnsOf(t, names)
    .map((c, i) => `${q(c.name)} <=> ${valueLiteral(c.type, key[i] ?? null)}`)
    .join(' AND ');
}

export function keysWhere(t: TableSpec, keys: readonly RowKey[]): string {
  return keys.length === 1 ? keyWhere(t, keys[0]!) : keys.map((k) => `(${keyWhere(t, k)})`).join(' OR ');
}

/** Parent key values by referenced column, for foreign-key columns. */
export type ParentValues = (fkColumn: string) => KeyValue | undefined;

/** A random value for one column (NULL sometimes when nullable). */
export function randomValue(r: FuzzRandom, c: ColumnSpec, parentValue?: KeyValue): string {
  if (parentValue !== undefined) return valueLiteral(c.type, parentValue);
  if (c.nullable && r.chance(0.15)) return 'NULL';
  if (c.name === REV) return String(r.int(0, 1000));
  // Far from the type's end: an explicit maximum would make every later automatic value fail.
  if (c.autoIncrement) return String(r.int(1, 1_000_000));
  return c.type.random(r);
}

export interface InsertOptions {
  readonly rows: number;
  readonly verb: 'INSERT' | 'INSERT IGNORE' | 'REPLACE' | 'UPSERT';
  readonly parentValue: ParentValues;
}

export function insertSql(r: FuzzRandom, db: string, t: TableSpec, o: InsertOptions): string {
  const cols = writableColumns(t).filter((c) => !(c.autoIncrement && r.chance(0.8)));
  const tuples: string[] = [];
  for (let i = 0; i < o.rows; i++) tuples.push(`(${cols.map((c) => randomValue(r, c, o.parentValue(c.name))).join(', ')})`);
  const verb = o.verb === 'UPSERT' ? 'INSERT' : o.verb;
  let sql = `${verb} INTO ${q(db)}.${q(t.name)} (${cols.map((c) => q(c.name)).join(', ')}) VALUES ${tuples.join(', ')}`;
  if (o.verb === 'UPSERT') {
    const set = r.sample(
      cols.filter((c) => !t.primaryKey.includes(c.name)),
      r.int(1, 3),
    );
    sql += ` ON DUPLICATE KEY UPDATE ${(set.length > 0 ? set : cols.slice(0, 1)).map((c) => `${q(c.name)} = VALUES(${q(c.name)})`).join(', ')}`;
  }
  return sql;
}

/** Non-key columns an UPDATE may set (no generated, key or auto-increment columns). */
export function updatableColumns(t: TableSpec): ColumnSpec[] {
  const fkCols = new Set(t.foreignKeys.flatMap((f) => f.columns));
  return writableColumns(t).filter((c) => !t.primaryKey.includes(c.name) && !c.autoIncrement && !fkCols.has(c.name));
}

export function setClause(r: FuzzRandom, t: TableSpec, n: number): string {
  const cols = r.sample(updatableColumns(t), n);
  const parts = cols.map((c) => (c.name === REV ? `${q(REV)} = ${q(REV)} + 1` : `${q(c.name)} = ${randomValue(r, c)}`));
  return parts.length > 0 ? parts.join(', ') : `${q(REV)} = ${q(REV)} + 1`;
}

/** A new value for one key column: collation-equal to the old one (case, pad, accent) or new. */
export function changedKeyValue(r: FuzzRandom, c: ColumnSpec, old: KeyValue): string {
  if (old !== null && c.type.kind === 'text' && c.type.variant && r.chance(0.6)) {
    const cs = c.type.charset!;
    const enc = cs.charset === 'utf8mb4' || cs.charset === 'utf8mb3' ? 'utf8' : 'latin1';
    const text = Buffer.from(old, 'hex').toString(enc);
    const v = c.type.variant(r, text);
    return valueLiteral(c.type, Buffer.from(v, enc).toString('hex'));
  }
  return c.autoIncrement ? String(r.int(1, 1_000_000)) : c.type.random(r);
}
