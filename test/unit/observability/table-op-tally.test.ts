import { describe, expect, it } from 'vitest';
import { TableOpTally } from '../../../src/observability/table-op-tally.js';

const orders = { schema: 'shop', name: 'orders' };
const items = { schema: 'shop', name: 'items' };

function totals(t: TableOpTally): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of t.counts()) out[`${c.table.schema}.${c.table.name}/${c.op}`] = (out[`${c.table.schema}.${c.table.name}/${c.op}`] ?? 0) + c.count;
  return out;
}

describe('TableOpTally', () => {
  it('totals per table and op across interleaved tables', () => {
    const t = new TableOpTally();
    t.add(orders, 'insert');
    t.add(orders, 'insert');
    t.add(items, 'delete');
    t.add(orders, 'update');
    t.add(items, 'delete', 3);
    t.add(orders, 'insert');
    expect(totals(t)).toEqual({ 'shop.orders/insert': 3, 'shop.orders/update': 1, 'shop.items/delete': 4 });
    expect(t.size).toBe(8);
  });

  it('starts over after clear, also for the table it saw last', () => {
    const t = new TableOpTally();
    t.add(orders, 'insert', 5);
    t.clear();
    expect(t.size).toBe(0);
    expect([...t.counts()]).toEqual([]);
    t.add(orders, 'insert');
    expect(totals(t)).toEqual({ 'shop.orders/insert': 1 });
  });

  it('keeps two table objects of one name apart (a new table id after ALTER); their totals add up by name', () => {
    const t = new TableOpTally();
    t.add(orders, 'insert');
    t.add({ ...orders }, 'insert', 2);
    expect([...t.counts()]).toHaveLength(2);
    expect(totals(t)).toEqual({ 'shop.orders/insert': 3 });
  });
});
