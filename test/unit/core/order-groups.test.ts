import { describe, expect, it } from 'vitest';
import { orderGroups } from '../../../src/core/order-groups.js';

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
