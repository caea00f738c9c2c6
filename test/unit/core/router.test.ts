import { describe, expect, it } from 'vitest';
import { toMutations } from '../../../src/core/router.js';
import { change, ordersKeys, usersKeys } from './fixtures.js';

describe('toMutations', () => {
  it('turns inserts and same-key updates into upserts of the after image', () => {
    const [m] = toMutations(change('update', ordersKeys, { id: 1, qty: 1 }, { id: 1, qty: 2 }));
    expect(m).toMatchObject({ op: 'upsert', key: [1], row: { id: 1, qty: 2 } });
    expect(toMutations(change('insert', ordersKeys, null, { id: 7, qty: 1 }))[0]).toMatchObject({ op: 'upsert', key: [7] });
  });

  it('turns deletes into deletes by the before image key', () => {
    expect(toMutations(change('delete', ordersKeys, { id: 3, qty: 1 }, null))).toMatchObject([{ op: 'delete', key: [3] }]);
  });

  it('splits a primary-key change into delete(old) + upsert(new)', () => {
    const ms = toMutations(change('update', ordersKeys, { id: 1, qty: 1 }, { id: 2, qty: 1 }));
    expect(ms.map((m) => [m.op, m.key])).toEqual([
      ['delete', [1]],
      ['upsert', [2]],
    ]);
  });

  it('treats equal Buffers as the same key', () => {
    const k = { ...ordersKeys, primaryKey: ['id'] };
    const ms = toMutations(change('update', k, { id: Buffer.from('ab') }, { id: Buffer.from('ab'), x: 1 }));
    expect(ms).toHaveLength(1);
  });

  it('collects unique-key tokens of both images, skipping NULLs', () => {
    const [m] = toMutations(change('update', usersKeys, { id: 1, email: 'a@x' }, { id: 1, email: 'b@x' }));
    expect(m!.uniqueTokens).toHaveLength(2);
    const [n] = toMutations(change('insert', usersKeys, null, { id: 2, email: null }));
    expect(n!.uniqueTokens).toHaveLength(0);
  });
});
