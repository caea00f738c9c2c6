/**
 * Reads foreign keys from `information_schema` (KEY_COLUMN_USAGE for the column pairs,
 * REFERENTIAL_CONSTRAINTS for the ON UPDATE / ON DELETE rules) as typed data, on any server: preflight
 * compares the source's with the target's, and the apply side orders foreign-key tables by them.
 *
 * Why they matter: MariaDB (and MySQL before 9.x) does not write the rows that ON DELETE/UPDATE CASCADE
 * or SET NULL change to the binlog; a replica gets those changes only from its own foreign keys.
 *
 * Privileges: MariaDB shows a constraint's REFERENTIAL_CONSTRAINTS row only to a user with a privilege
 * other than SELECT on the child table, while KEY_COLUMN_USAGE and SHOW CREATE TABLE need only SELECT;
 * a source user with SELECT alone therefore sees the columns but not the rules, which are then read
 * from the child's SHOW CREATE TABLE.
 */
import { qualifiedName, quoteIdent, rows, type Queryable, type TableName } from './sql.js';

export type ForeignKeyRule = 'CASCADE' | 'SET NULL' | 'SET DEFAULT' | 'RESTRICT' | 'NO ACTION';

const RULES: readonly ForeignKeyRule[] = ['CASCADE', 'SET NULL', 'SET DEFAULT', 'RESTRICT', 'NO ACTION'];

export interface ForeignKey {
  /** The constraint's name (unique per database). */
  readonly name: string;
  /** The referencing table: the one whose rows a cascade changes. */
  readonly child: TableName;
  /** Referencing columns, in constraint order. */
  readonly childColumns: readonly string[];
  /** The referenced table (the same as `child` for a self-reference). */
  readonly parent: TableName;
  /** Referenced columns, pairwise with `childColumns`. */
  readonly parentColumns: readonly string[];
  readonly onUpdate: ForeignKeyRule;
  readonly onDelete: ForeignKeyRule;
}

/** RESTRICT and NO ACTION are the same in InnoDB (checked at once); servers differ in which they print. */
export function sameRule(a: ForeignKeyRule, b: ForeignKeyRule): boolean {
  const norm = (r: ForeignKeyRule) => (r === 'NO ACTION' ? 'RESTRICT' : r);
  return norm(a) === norm(b);
}

/** Does the rule change child rows (which the binlog then does not carry)? */
export function changesChildRows(rule: ForeignKeyRule): boolean {
  return rule === 'CASCADE' || rule === 'SET NULL' || rule === 'SET DEFAULT';
}

function toRule(text: unknown, what: string): ForeignKeyRule {
  const rule = String(text).toUpperCase().replace(/\s+/g, ' ');
  if ((RULES as readonly string[]).includes(rule)) return rule as ForeignKeyRule;
  throw new Error(`unknown foreign key rule ${JSON.stringify(text)} for ${what}`);
}

/** `CONSTRAINT … FOREIGN KEY (…) REFERENCES db.parent (…) ON DELETE … ON UPDATE …`, as ADD CONSTRAINT takes it. */
export function foreignKeyDefinition(fk: ForeignKey, name: string = fk.name): string {
  const cols = (c: readonly string[]) => `(${c.map(quoteIdent).join(', ')})`;
  return `CONSTRAINT ${quoteIdent(name)} FOREIGN KEY ${cols(fk.childColumns)} REFERENCES ${quoteIdent(fk.parent.db)}.${quoteIdent(fk.parent.table)} ${cols(fk.parentColumns)} ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`;
}

/** `shop.items (order_id) → shop.orders (id)`: how messages name a foreign key. */
export function describeForeignKey(fk: ForeignKey): string {
  return `${qualifiedName(fk.child)} (${fk.childColumns.join(', ')}) → ${qualifiedName(fk.parent)} (${fk.parentColumns.join(', ')})`;
}

/** The ON DELETE / ON UPDATE rules of constraint `name` in a SHOW CREATE TABLE text (absent = RESTRICT). */
export function rulesFromCreateTable(create: string, name: string): { onUpdate: ForeignKeyRule; onDelete: ForeignKeyRule } | undefined {
  const head = `CONSTRAINT ${quoteIdent(name)} FOREIGN KEY `;
  const line = create.split('\n').find((l) => l.trim().startsWith(head));
  if (!line) return undefined;
  // After the referenced column list: identifiers cannot fake the rules there.
  const tail = line.slice(line.lastIndexOf(')') + 1);
  const rule = (action: 'DELETE' | 'UPDATE') => {
    const m = new RegExp(`ON ${action} (CASCADE|SET NULL|SET DEFAULT|RESTRICT|NO ACTION)`, 'i').exec(tail);
    return m ? toRule(m[1], name) : 'RESTRICT';
  };
  return { onDelete: rule('DELETE'), onUpdate: rule('UPDATE') };
}

/**
 * The foreign keys whose child or parent table is in one of `schemas` (so also those that cross into
 * other databases), ordered by child table, then by name. Only tables the user has a privilege on are
 * visible.
 */
export async function readForeignKeys(conn: Queryable, schemas: readonly string[]): Promise<ForeignKey[]> {
  if (schemas.length === 0) return [];
  const columnRows = await rows(
    conn,
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, COLUMN_NAME AS col,
            REFERENCED_TABLE_SCHEMA AS refDb, REFERENCED_TABLE_NAME AS refTbl, REFERENCED_COLUMN_NAME AS refCol
       FROM information_schema.KEY_COLUMN_USAGE
      WHERE REFERENCED_TABLE_NAME IS NOT NULL AND (TABLE_SCHEMA IN (?) OR REFERENCED_TABLE_SCHEMA IN (?))
      ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
    [schemas, schemas],
  );
  interface Collecting {
    name: string;
    child: TableName;
    parent: TableName;
    childColumns: string[];
    parentColumns: string[];
  }
  const byKey = new Map<string, Collecting>();
  for (const r of columnRows) {
    const child = { db: String(r.db), table: String(r.tbl) };
    const key = `${qualifiedName(child)}\u0000${String(r.name)}`;
    const fk = byKey.get(key) ?? { name: String(r.name), child, parent: { db: String(r.refDb), table: String(r.refTbl) }, childColumns: [], parentColumns: [] };
    byKey.set(key, fk);
    fk.childColumns.push(String(r.col));
    fk.parentColumns.push(String(r.refCol));
  }
  if (byKey.size === 0) return [];

  const rules = new Map<string, { onUpdate: ForeignKeyRule; onDelete: ForeignKeyRule }>();
  for (const r of await rows(
    conn,
    `SELECT CONSTRAINT_SCHEMA AS db, TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, UPDATE_RULE AS onUpdate, DELETE_RULE AS onDelete
       FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN (?)`,
    [[...new Set([...byKey.values()].map((f) => f.child.db))]],
  )) {
    const what = `${String(r.db)}.${String(r.tbl)} ${String(r.name)}`;
    rules.set(`${String(r.db)}.${String(r.tbl)}\u0000${String(r.name)}`, { onUpdate: toRule(r.onUpdate, what), onDelete: toRule(r.onDelete, what) });
  }

  const creates = new Map<string, string>();
  const out: ForeignKey[] = [];
  for (const [key, fk] of byKey) {
    let found = rules.get(key);
    if (!found) {
      const table = qualifiedName(fk.child);
      if (!creates.has(table)) {
        const [r] = await rows(conn, `SHOW CREATE TABLE ${quoteIdent(fk.child.db)}.${quoteIdent(fk.child.table)}`);
        creates.set(table, String(r?.['Create Table'] ?? ''));
      }
      found = rulesFromCreateTable(creates.get(table)!, fk.name);
      if (!found) throw new Error(`cannot read the ON DELETE / ON UPDATE rules of foreign key ${fk.name} on ${table}`);
    }
    out.push({ ...fk, ...found });
  }
  return out;
}
