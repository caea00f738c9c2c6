import { describe, expect, it } from 'vitest';
import { RowTransforms, type TransformSettings } from '../../../src/core/row-transforms.js';
import type { ColumnInfo, TableFacts } from '../../../src/verify/table-plan.js';
import { planTransformed } from '../../../src/verify/transformed-plan.js';

const c = (name: string, dataType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({ name, dataType, charset: null, collation: null, maxChars: null, nullable: false, ...extra });
const str = (name: string): ColumnInfo => c(name, 'varchar', { charset: 'utf8mb4', collation: 'utf8mb4_general_ci', maxChars: 100 });

const customers = [c('id', 'int'), str('email'), str('phone'), str('internal_note'), str('status'), c('country', 'char', { charset: 'utf8mb4', collation: 'utf8mb4_general_ci' })];
const facts = (db: string, table: string, f: Partial<TableFacts> = {}): TableFacts => ({
  table: { db, table },
  sourceColumns: customers,
  targetColumns: customers.filter((col) => col.name !== 'internal_note').map((col) => (col.name === 'email' ? c('email', 'char', { charset: 'utf8mb4', collation: 'utf8mb4_bin' }) : col)),
  primaryKey: [{ column: 'id', prefix: null }],
  configuredKey: undefined,
  padSpace: new Map(),
  ...f,
});

const settings: TransformSettings = {
  routes: [
    { from: 'shop_*.orders', to: 'all_shops.orders' },
    { from: 'crm.*', to: 'crm_copy.*' },
  ],
  tables: {
    'crm.customers': { columns: { exclude: ['internal_*'] }, mask: { email: 'hash', phone: 'null' }, filter: "status <> 'deleted' AND country IN ('DE', 'FR')" },
  },
  keyless: 'refuse',
};
const transforms = (s: Partial<TransformSettings> = {}) => new RowTransforms({ ...settings, ...s });
const problem = (out: ReturnType<typeof planTransformed>): string | null => ('problem' in out ? out.problem : null);

describe('planTransformed', () => {
  it('compares the kept columns with the target types: copied, hashed or nulled, with the filter and the hashed columns read as the pipeline reads them', () => {
    const out = planTransformed({ db: 'crm_copy', table: 'customers' }, [facts('crm', 'customers')], transforms());
    if (!('plan' in out)) throw new Error(out.problem);
    const { plan } = out;
    expect(plan.name).toBe('crm_copy.customers');
    expect(plan.target).toMatchObject({ db: 'crm_copy', table: 'customers', key: [{ name: 'id', kind: 'number' }] });
    expect(plan.targetColumns.map((col) => `${col.name} ${col.dataType}`)).toEqual(['id int', 'email char', 'phone varchar', 'status varchar', 'country char']);
    const [source] = plan.sources;
    expect(source!.name).toBe('crm.customers');
    expect(source!.parts).toEqual([
      { kind: 'copy', column: { name: 'id', dataType: 'int' } },
      { kind: 'hash', column: 'email', target: { name: 'email', dataType: 'char' } },
      { kind: 'null' },
      { kind: 'copy', column: { name: 'status', dataType: 'varchar' } },
      { kind: 'copy', column: { name: 'country', dataType: 'char' } },
    ]);
    expect(source!.reads).toEqual([
      { name: 'status', dataType: 'varchar' },
      { name: 'country', dataType: 'char' },
      { name: 'email', dataType: 'varchar' },
    ]);
    expect(source!.filter?.text).toBe("status <> 'deleted' AND country IN ('DE', 'FR')");
  });

  it('compares a merged target against all its source tables, keyed by their common key', () => {
    const orders = [c('id', 'int'), c('shop_id', 'int'), c('amount', 'decimal')];
    const shard = (n: number) => facts(`shop_${n}`, 'orders', { sourceColumns: orders, targetColumns: orders, primaryKey: [{ column: 'shop_id', prefix: null }, { column: 'id', prefix: null }] });
    const out = planTransformed({ db: 'all_shops', table: 'orders' }, [shard(1), shard(2)], transforms());
    if (!('plan' in out)) throw new Error(out.problem);
    expect(out.plan.key.map((k) => k.name)).toEqual(['shop_id', 'id']);
    expect(out.plan.sources.map((s) => [s.name, s.filter, s.reads])).toEqual([
      ['shop_1.orders', null, []],
      ['shop_2.orders', null, []],
    ]);
    expect(out.plan.sources[1]!.parts.every((p) => p.kind === 'copy')).toBe(true);

    const other = facts('shop_2', 'orders', { sourceColumns: [...orders, c('note', 'int')], targetColumns: [...orders, c('note', 'int')], primaryKey: [{ column: 'shop_id', prefix: null }, { column: 'id', prefix: null }] });
    expect(problem(planTransformed({ db: 'all_shops', table: 'orders' }, [shard(1), other], transforms()))).toBe(
      'not compared: the source tables merged into it differ: shop_1.orders has key (shop_id, id) and columns (id, shop_id, amount), shop_2.orders key (shop_id, id) and columns (id, shop_id, amount, note); verify compares merged tables with the same key and columns only',
    );
  });

  it('names why a transformed table cannot be compared', () => {
    const target = { db: 'crm_copy', table: 'customers' };
    expect(problem(planTransformed(target, [facts('crm', 'customers', { targetColumns: null })], transforms()))).toBe('not compared: the target table crm_copy.customers does not exist');
    expect(problem(planTransformed(target, [facts('crm', 'customers', { targetColumns: [c('id', 'int'), str('email')] })], transforms()))).toBe(
      'not compared: the target table crm_copy.customers lacks columns phone, status, country of crm.customers',
    );
    expect(problem(planTransformed(target, [facts('crm', 'customers', { primaryKey: null })], transforms()))).toBe('not compared: crm.customers: it has no primary key and no source.keys entry');
    const keyDropped = transforms({ tables: { 'crm.customers': { columns: { exclude: ['id'] } } } });
    expect(problem(planTransformed(target, [facts('crm', 'customers')], keyDropped))).toMatch(/^not compared: pipeline file, tables."crm.customers".columns.exclude \(table crm.customers\): id is a key column/);
    const missingFilterColumn = transforms({ tables: { 'crm.customers': { filter: 'nope = 1' } } });
    expect(problem(planTransformed(target, [facts('crm', 'customers')], missingFilterColumn))).toMatch(/the filter reads column nope, which the table does not have/);
  });
});
