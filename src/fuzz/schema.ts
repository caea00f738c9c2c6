/**
 * A random schema for one fuzz run: independent tables with single, composite and string primary
 * keys and UNIQUE keys in random collations, a foreign-key family (parent, child, grandchild, a child
 * through a UNIQUE column, a self-reference) with random referential actions, generated columns, and
 * triggers (an audit table fed by AFTER triggers, a BEFORE UPDATE trigger that bumps a column) as a
 * schema copied with mysqldump has them on both sides. Pure: the same seed gives the same schema.
 */
import { COLLATIONS, keyBigintType, keyIntType, keyTextType, randomColumnType, randomKeyType, type ColumnType } from './column-types.js';
import type { FuzzRandom } from './random.js';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  /** A generated column's expression and storage; the workload never writes it. */
  readonly generated?: { readonly expr: string; readonly stored: boolean };
  readonly autoIncrement?: boolean;
  /** The value of a new row when the workload does not give one (`rev` counters). */
  readonly defaultSql?: string;
}

export type ReferentialAction = 'CASCADE' | 'SET NULL' | 'RESTRICT' | 'NO ACTION';
export const REFERENTIAL_ACTIONS: readonly ReferentialAction[] = ['CASCADE', 'SET NULL', 'RESTRICT', 'NO ACTION'];

export interface ForeignKeySpec {
  readonly name: string;
  readonly columns: readonly string[];
  readonly parent: string;
  readonly parentColumns: readonly string[];
  readonly onDelete: ReferentialAction;
  readonly onUpdate: ReferentialAction;
}

export interface TableSpec {
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  readonly primaryKey: readonly string[];
  readonly uniques: readonly (readonly string[])[];
  readonly foreignKeys: readonly ForeignKeySpec[];
}

export interface TriggerSpec {
  readonly name: string;
  readonly table: string;
  readonly sql: string;
}

export interface FuzzSchema {
  readonly db: string;
  readonly tables: readonly TableSpec[];
  readonly triggers: readonly TriggerSpec[];
}

export interface SchemaOptions {
  readonly db: string;
  /** Statement-format apply runs source triggers' statements without the triggers: leave them out. */
  readonly triggers: boolean;
}

/** Every table has it: a counter that an UPDATE can always change (`rev = rev + 1`). */
export const REV = 'rev';
const revColumn = (): ColumnSpec => ({ name: REV, type: keyIntType(true), nullable: false, defaultSql: '0' });

function dataColumns(r: FuzzRandom, n: number, taken: Set<string>): ColumnSpec[] {
  const out: ColumnSpec[] = [];
  for (let i = 0; i < n; i++) {
    const type = randomColumnType(r);
    let name = `c${i}_${type.label.split(/[ (]/)[0]}`;
    while (taken.has(name)) name += 'x';
    taken.add(name);
    out.push({ name, type, nullable: r.chance(0.6) });
  }
  return out;
}

function generatedColumns(r: FuzzRandom, taken: Set<string>): ColumnSpec[] {
  if (!r.chance(0.3)) return [];
  taken.add('gen_src').add('gen_v').add('gen_s');
  return [
    { name: 'gen_src', type: keyIntType(), nullable: true },
    { name: 'gen_v', type: keyBigintType(), nullable: true, generated: { expr: '`gen_src` * 3 + 1', stored: false } },
    { name: 'gen_s', type: keyTextType(COLLATIONS[0]!, 30), nullable: true, generated: { expr: "CONCAT('g-', `gen_src`)", stored: true } },
  ];
}

function independentTable(r: FuzzRandom, name: string): TableSpec {
  const taken = new Set<string>();
  const keyCols: ColumnSpec[] = [];
  const shape = r.weighted([
    [2, 'auto'],
    [4, 'single'],
    [3, 'composite'],
  ] as const);
  if (shape === 'auto') keyCols.push({ name: 'id', type: keyBigintType(), nullable: false, autoIncrement: true });
  else {
    const n = shape === 'single' ? 1 : r.int(2, 3);
    for (let i = 0; i < n; i++) keyCols.push({ name: `k${i}`, type: randomKeyType(r), nullable: false });
  }
  for (const c of keyCols) taken.add(c.name);
  const data = dataColumns(r, r.int(2, 9), taken);
  // UNIQUE keys: a string in a random collation (collation-equal conflicts), sometimes composite.
  const uniques: string[][] = [];
  const uniqueCols: ColumnSpec[] = [];
  for (let i = 0; i < r.int(0, 2); i++) {
    const type = r.chance(0.7) ? keyTextType(r.pick(COLLATIONS), r.int(4, 30)) : randomKeyType(r);
    const col = { name: `u${i}`, type, nullable: r.chance(0.5) };
    uniqueCols.push(col);
    taken.add(col.name);
  }
  if (uniqueCols.length > 0) uniques.push([uniqueCols[0]!.name]);
  if (uniqueCols.length > 1) uniques.push(r.chance(0.5) ? [uniqueCols[1]!.name] : [uniqueCols[1]!.name, uniqueCols[0]!.name]);
  const columns = [...keyCols, ...uniqueCols, ...data, ...generatedColumns(r, taken), revColumn()];
  return { name, columns, primaryKey: keyCols.map((c) => c.name), uniques, foreignKeys: [] };
}

/** Parent, child (by the parent's key), grandchild, a child by a UNIQUE column, a self-reference. */
function foreignKeyFamily(r: FuzzRandom): TableSpec[] {
  const action = (nullable: boolean): ReferentialAction => r.pick(nullable ? REFERENTIAL_ACTIONS : REFERENTIAL_ACTIONS.filter((a) => a !== 'SET NULL'));
  const fk = (name: string, col: ColumnSpec, parent: string, parentCol: string): ForeignKeySpec => ({
    name,
    columns: [col.name],
    parent,
    parentColumns: [parentCol],
    onDelete: action(col.nullable),
    onUpdate: action(col.nullable),
  });
  const parentKey = r.chance(0.5) ? keyIntType() : keyTextType(r.pick(COLLATIONS), r.int(6, 20));
  const code = keyTextType(r.pick(COLLATIONS), 16);
  const parent: TableSpec = {
    name: 'fk_parent',
    columns: [
      { name: 'id', type: parentKey, nullable: false },
      { name: 'code', type: code, nullable: true },
      ...dataColumns(r, r.int(1, 3), new Set()),
      revColumn(),
    ],
    primaryKey: ['id'],
    uniques: [['code']],
    foreignKeys: [],
  };
  const childRef: ColumnSpec = { name: 'parent_id', type: parentKey, nullable: r.chance(0.6) };
  const child: TableSpec = {
    name: 'fk_child',
    columns: [{ name: 'id', type: keyIntType(), nullable: false }, childRef, ...dataColumns(r, r.int(1, 3), new Set(['id', 'parent_id'])), revColumn()],
    primaryKey: ['id'],
    uniques: [],
    foreignKeys: [fk('fk_child_parent', childRef, 'fk_parent', 'id')],
  };
  const grandRef: ColumnSpec = { name: 'child_id', type: keyIntType(), nullable: r.chance(0.6) };
  const grandchild: TableSpec = {
    name: 'fk_grandchild',
    columns: [{ name: 'id', type: keyIntType(), nullable: false }, grandRef, ...dataColumns(r, r.int(1, 2), new Set(['id', 'child_id'])), revColumn()],
    primaryKey: ['id'],
    uniques: [],
    foreignKeys: [fk('fk_grandchild_child', grandRef, 'fk_child', 'id')],
  };
  const codeRef: ColumnSpec = { name: 'parent_code', type: code, nullable: true };
  const byCode: TableSpec = {
    name: 'fk_by_code',
    columns: [{ name: 'id', type: keyIntType(), nullable: false }, codeRef, revColumn()],
    primaryKey: ['id'],
    uniques: [],
    foreignKeys: [fk('fk_by_code_parent', codeRef, 'fk_parent', 'code')],
  };
  const selfRef: ColumnSpec = { name: 'up_id', type: keyIntType(), nullable: true };
  const tree: TableSpec = {
    name: 'fk_tree',
    columns: [{ name: 'id', type: keyIntType(), nullable: false }, selfRef, ...dataColumns(r, 1, new Set(['id', 'up_id'])), revColumn()],
    primaryKey: ['id'],
    uniques: [],
    // ON UPDATE CASCADE/SET NULL on a self-reference is refused by InnoDB for the updated row itself: keep RESTRICT there.
    foreignKeys: [{ ...fk('fk_tree_up', selfRef, 'fk_tree', 'id'), onUpdate: r.pick(['RESTRICT', 'NO ACTION'] as const) }],
  };
  const family = [parent, child];
  if (r.chance(0.7)) family.push(grandchild);
  if (r.chance(0.6)) family.push(byCode);
  if (r.chance(0.6)) family.push(tree);
  return family;
}

const AUDIT = 'trg_audit';

function auditTable(): TableSpec {
  return {
    name: AUDIT,
    columns: [
      { name: 'id', type: keyBigintType(), nullable: false, autoIncrement: true },
      { name: 'tbl', type: keyTextType(COLLATIONS[1]!, 64), nullable: false },
      { name: 'op', type: keyTextType(COLLATIONS[1]!, 1), nullable: false },
      { name: 'rev_seen', type: keyBigintType(), nullable: true },
    ],
    primaryKey: ['id'],
    uniques: [],
    foreignKeys: [],
  };
}

const q = (id: string): string => '`' + id.replace(/`/g, '``') + '`';

function triggersFor(r: FuzzRandom, db: string, tables: readonly TableSpec[]): TriggerSpec[] {
  const out: TriggerSpec[] = [];
  for (const t of r.sample(tables, r.int(1, 2))) {
    for (const [timing, event, ref] of r.sample(
      [
        ['AFTER', 'INSERT', 'NEW'],
        ['AFTER', 'UPDATE', 'NEW'],
        ['AFTER', 'DELETE', 'OLD'],
      ] as const,
      r.int(1, 3),
    )) {
      const name = `trg_${t.name}_${event.toLowerCase()}`;
      out.push({
        name,
        table: t.name,
        sql: `CREATE TRIGGER ${q(db)}.${q(name)} ${timing} ${event} ON ${q(db)}.${q(t.name)} FOR EACH ROW INSERT INTO ${q(db)}.${q(AUDIT)} (tbl, op, rev_seen) VALUES ('${t.name}', '${event[0]}', ${ref}.${q(REV)})`,
      });
    }
  }
  const bumped = r.pick(tables);
  const name = `trg_${bumped.name}_bump`;
  out.push({
    name,
    table: bumped.name,
    sql: `CREATE TRIGGER ${q(db)}.${q(name)} BEFORE UPDATE ON ${q(db)}.${q(bumped.name)} FOR EACH ROW SET NEW.${q(REV)} = NEW.${q(REV)} + 1000`,
  });
  return out;
}

export function generateSchema(r: FuzzRandom, options: SchemaOptions): FuzzSchema {
  const tables: TableSpec[] = [];
  const n = r.int(2, 4);
  for (let i = 0; i < n; i++) tables.push(independentTable(r, `t${i}`));
  if (r.chance(0.8)) tables.push(...foreignKeyFamily(r));
  let triggers: TriggerSpec[] = [];
  if (options.triggers && r.chance(0.7)) {
    triggers = triggersFor(r, options.db, tables.filter((t) => !t.name.startsWith('fk_')));
    tables.push(auditTable());
  }
  return { db: options.db, tables, triggers };
}

function columnDdl(c: ColumnSpec): string {
  if (c.generated) return `${q(c.name)} ${c.type.sql} AS (${c.generated.expr}) ${c.generated.stored ? 'STORED' : 'VIRTUAL'}`;
  const parts = [q(c.name), c.type.sql, c.nullable ? 'NULL' : 'NOT NULL'];
  if (c.autoIncrement) parts.push('AUTO_INCREMENT');
  if (c.defaultSql !== undefined) parts.push(`DEFAULT ${c.defaultSql}`);
  return parts.join(' ');
}

/** CREATE TABLE statements in an order foreign keys accept (parents first). */
export function tableDdl(db: string, t: TableSpec): string {
  const lines = t.columns.map(columnDdl);
  lines.push(`PRIMARY KEY (${t.primaryKey.map(q).join(', ')})`);
  t.uniques.forEach((u, i) => lines.push(`UNIQUE KEY ${q(`uk_${i}`)} (${u.map(q).join(', ')})`));
  for (const fk of t.foreignKeys) {
    lines.push(
      `CONSTRAINT ${q(fk.name)} FOREIGN KEY (${fk.columns.map(q).join(', ')}) REFERENCES ${q(db)}.${q(fk.parent)} (${fk.parentColumns.map(q).join(', ')}) ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`,
    );
  }
  return `CREATE TABLE ${q(db)}.${q(t.name)} (\n  ${lines.join(',\n  ')}\n) ENGINE=InnoDB`;
}

/** Every statement that creates the schema (database, tables, triggers), in order. */
export function schemaDdl(s: FuzzSchema): string[] {
  return [`CREATE DATABASE ${q(s.db)}`, ...s.tables.map((t) => tableDdl(s.db, t)), ...s.triggers.map((t) => t.sql)];
}

export function writableColumns(t: TableSpec): ColumnSpec[] {
  return t.columns.filter((c) => !c.generated);
}
