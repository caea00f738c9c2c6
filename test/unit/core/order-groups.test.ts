import { describe, expect, it } from 'vitest';
import { OrderGroupProgress, orderGroups } from '../../../src/core/order-groups.js';
import { ordersKeys, upsert } from './fixtures.js';

const t = (name: string, schema = 'shop') => ({ schema, name });

describe('orderGroups', () => {
  it('puts tables linked directly or through others in one group named by its smallest table', () => {
    const groups = orderGroups(
      [
        { child: t('items'), parent: t('orders') },
        { child: t('orders'), parent: t('customers') },
        { child: t('tags'), parent: t('tags') },
        { child: t('b'), parent: t('z') },
        { child: t('y'), parent: t('b') },
      ],
      () => true,
    );
    expect(groups.get('shop.items')).toBe('shop.customers');
    expect(groups.get('shop.orders')).toBe('shop.customers');
    expect(groups.get('shop.customers')).toBe('shop.customers');
    expect(groups.get('shop.tags')).toBe('shop.tags');
    expect(groups.get('shop.z')).toBe('shop.b');
    expect(groups.get('shop.y')).toBe('shop.b');
    expect(groups.has('shop.other')).toBe(false);
  });

  it('ignores links to tables that are not synced', () => {
    const groups = orderGroups([{ child: t('items'), parent: t('orders', 'archive') }], (x) => x.schema === 'shop');
    expect(groups.size).toBe(0);
  });
});

describe('OrderGroupProgress', () => {
  it('covers what was applied or handed on before, and records the rest as the last', () => {
    const keys = { ...ordersKeys, orderGroup: 'shop.orders' };
    const at = (pos: number, index: number) => ({ ...upsert(keys, { id: 1 }), txStart: { file: 'mysql-bin.000001', pos }, index });
    const p = new OrderGroupProgress(new Map([['shop.orders', { txStart: { file: 'mysql-bin.000001', pos: 100 }, index: 2 }]]));
    expect(p.covers(at(100, 2))).toBe(true); // applied on the target
    expect(p.covers(at(50, 9))).toBe(true);
    expect(p.covers(at(100, 3))).toBe(false); // new: becomes the last
    expect(p.covers(at(100, 3))).toBe(true); // read again
    expect(p.covers(upsert(ordersKeys, { id: 1 }))).toBe(false); // not in an order group
  });
});
