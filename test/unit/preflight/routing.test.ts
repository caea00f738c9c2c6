import { describe, expect, it } from 'vitest';
import { mergedRoutesCheck, routingOf, tableSettingsCheck, NO_ROUTING } from '../../../src/preflight/routing.js';

const config = {
  routes: [
    { from: 'shop_*.orders', to: 'all.orders' },
    { from: 'crm.*', to: 'crm_copy.*' },
  ],
  tables: { 'crm.customers': { columns: { exclude: ['internal_*'] }, mask: { email: 'hash' as const }, filter: "status = 'x'" } },
  keyless: 'refuse' as const,
  source: { keys: {} },
};
const orders1 = { db: 'shop_1', table: 'orders', columns: ['shop_id', 'id'], primaryKey: ['shop_id', 'id'] };
const orders2 = { db: 'shop_2', table: 'orders', columns: ['shop_id', 'id'], primaryKey: ['shop_id', 'id'] };
const customers = { db: 'crm', table: 'customers', columns: ['id', 'email', 'internal_note', 'status'], primaryKey: ['id'] };

describe('preflight routing', () => {
  it('maps source tables to their routed targets and kept columns', () => {
    const r = routingOf(config);
    expect(r.target(customers)).toEqual({ db: 'crm_copy', table: 'customers' });
    expect(r.keeps(customers, 'internal_note')).toBe(false);
    expect(r.keeps(customers, 'email')).toBe(true);
    expect(routingOf({ routes: [], tables: {}, keyless: 'refuse' })).toBe(NO_ROUTING);
  });

  it('warns about tables merged into one, naming them and their key', () => {
    const c = mergedRoutesCheck([orders1, orders2, customers], routingOf(config));
    expect(c?.status).toBe('warn');
    expect(c?.detail).toBe('shop_1.orders, shop_2.orders → all.orders, keyed by (shop_id, id): rows with equal keys in two of them are one target row, and the later change wins');
    expect(mergedRoutesCheck([orders1, customers], routingOf(config))).toBeNull();
  });

  it('checks the table settings against the tables', () => {
    expect(tableSettingsCheck([customers], config)?.status).toBe('ok');
    const bad = tableSettingsCheck([{ ...customers, columns: ['id', 'internal_note', 'status'] }], config);
    expect(bad?.status).toBe('fail');
    expect(bad?.detail).toBe('pipeline file, tables."crm.customers".mask."email" (table crm.customers): no column matches (columns: id, internal_note, status)');
    const noStatus = tableSettingsCheck([{ ...customers, columns: ['id', 'email'] }], config);
    expect(noStatus?.detail).toMatch(/tables\."crm\.customers"\.filter \(table crm\.customers\): the filter reads column status/);
  });
});
