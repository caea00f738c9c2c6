import { describe, expect, it } from 'vitest';
import { planTable, type ColumnInfo, type TableFacts } from '../../../src/verify/table-plan.js';

const c = (name: string, dataType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({ name, dataType, charset: null, collation: null, maxChars: null, nullable: false, ...extra });
const str = (name: string, collation = 'utf8mb4_general_ci', extra: Partial<ColumnInfo> = {}): ColumnInfo => c(name, 'varchar', { charset: 'utf8mb4', collation, maxChars: 30, ...extra });

const facts = (f: Partial<TableFacts>): TableFacts => ({
  table: { db: 'shop', table: 't' },
  sourceColumns: [c('id', 'int'), str('name'), c('price', 'float')],
  targetColumns: [c('id', 'int'), str('name'), c('price', 'double'), c('extra', 'int')],
  primaryKey: [{ column: 'id', prefix: null }],
  configuredKey: undefined,
  padSpace: new Map([['utf8mb4_general_ci', true]]),
  ...f,
});

describe('planTable', () => {
  it("compares the source's columns, each side with its own types, keyed by the primary key", () => {
    const out = planTable(facts({}));
    expect(out).toEqual({
      plan: {
        db: 'shop',
        table: 't',
        name: 'shop.t',
        key: [{ name: 'id', dataType: 'int', kind: 'number', charset: null, collation: null, padSpace: false, maxChars: null }],
        sourceColumns: [{ name: 'id', dataType: 'int' }, { name: 'name', dataType: 'varchar' }, { name: 'price', dataType: 'float' }],
        targetColumns: [{ name: 'id', dataType: 'int' }, { name: 'name', dataType: 'varchar' }, { name: 'price', dataType: 'double' }],
      },
    });
  });

  it('takes the collation and its padding for a string key', () => {
    const out = planTable(facts({ primaryKey: [{ column: 'NAME', prefix: null }] }));
    expect('plan' in out && out.plan.key).toEqual([{ name: 'name', dataType: 'varchar', kind: 'string', charset: 'utf8mb4', collation: 'utf8mb4_general_ci', padSpace: true, maxChars: 30 }]);
  });

  it('uses source.keys only without a primary key, as the pipeline does', () => {
    expect(planTable(facts({ configuredKey: ['name'] }))).toMatchObject({ plan: { key: [{ name: 'id' }] } });
    expect(planTable(facts({ primaryKey: null, configuredKey: ['name', 'id'] }))).toMatchObject({ plan: { key: [{ name: 'name' }, { name: 'id' }] } });
  });

  it('names why a table cannot be compared', () => {
    const problem = (f: Partial<TableFacts>) => {
      const out = planTable(facts(f));
      return 'problem' in out ? out.problem : null;
    };
    expect(problem({ targetColumns: null })).toBe('the table does not exist on the target');
    expect(problem({ targetColumns: [c('id', 'int')] })).toBe('the target table lacks columns name, price');
    expect(problem({ primaryKey: [{ column: 'name', prefix: 10 }] })).toMatch(/primary key indexes a prefix of name\(10\)/);
    expect(problem({ primaryKey: null })).toBe('it has no primary key and no source.keys entry');
    expect(problem({ primaryKey: null, configuredKey: ['nope'] })).toBe('source.keys names column nope, which the table does not have');
    expect(problem({ primaryKey: null, configuredKey: ['name'], sourceColumns: [c('id', 'int'), str('name', 'utf8mb4_general_ci', { nullable: true })] })).toMatch(
      /source.keys column name can be NULL/,
    );
  });
});
