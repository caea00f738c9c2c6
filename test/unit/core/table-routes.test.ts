import { describe, expect, it } from 'vitest';
import { RouteError, TableRoutes } from '../../../src/core/table-routes.js';

describe('TableRoutes', () => {
  it('renames a database, keeping the table name the * matched', () => {
    const r = new TableRoutes([{ from: 'src_db.*', to: 'dst_db.*' }]);
    expect(r.target({ schema: 'src_db', name: 'orders' })).toEqual({ schema: 'dst_db', name: 'orders' });
    expect(r.target({ schema: 'other', name: 'orders' })).toEqual({ schema: 'other', name: 'orders' });
  });

  it('merges shards into one table and says which merge', () => {
    const r = new TableRoutes([{ from: 'shop_*.orders', to: 'all_shops.orders' }]);
    const a = { schema: 'shop_1', name: 'orders' };
    const b = { schema: 'shop_2', name: 'orders' };
    const c = { schema: 'shop_2', name: 'items' };
    expect(r.target(a)).toEqual({ schema: 'all_shops', name: 'orders' });
    expect(r.target(b)).toEqual({ schema: 'all_shops', name: 'orders' });
    expect([...r.merges([a, b, c]).entries()]).toEqual([['all_shops.orders', [a, b]]]);
  });

  it('uses the first matching rule and fills several wildcards in order', () => {
    const r = new TableRoutes([
      { from: 'a.special', to: 'x.special_one' },
      { from: '*_db.t_*', to: '*.*' },
    ]);
    expect(r.target({ schema: 'a', name: 'special' })).toEqual({ schema: 'x', name: 'special_one' });
    expect(r.target({ schema: 'eu_db', name: 't_users' })).toEqual({ schema: 'eu', name: 'users' });
  });

  it('refuses a target with more wildcards than the source pattern', () => {
    expect(() => new TableRoutes([{ from: 'a.t', to: 'b.*' }])).toThrow(RouteError);
    expect(() => new TableRoutes([{ from: 'a.t', to: 'b.*' }])).toThrow(/routes\[0\]\.to: "b\.\*" has 1 wildcards but from "a\.t" has 0/);
  });
});
