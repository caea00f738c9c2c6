import { describe, expect, it } from 'vitest';
import { LaneScheduler } from '../../../src/core/lanes.js';
import { Partitioner } from '../../../src/core/partitioner.js';
import { toMutations } from '../../../src/core/router.js';
import type { Mutation } from '../../../src/core/event.js';
import { change, ordersKeys, upsert, usersKeys } from './fixtures.js';

const partitioner = new Partitioner(1);
const routed = (ms: Mutation[]) => ms.map((m) => partitioner.route(m));

describe('LaneScheduler', () => {
  it('folds several changes of one row into the last one and acknowledges all of them', () => {
    const s = new LaneScheduler(4, 1);
    const ms = [upsert(ordersKeys, { id: 1, v: 1 }, 1), upsert(ordersKeys, { id: 1, v: 2 }, 2), upsert(ordersKeys, { id: 1, v: 3 }, 2)];
    const rounds = s.plan(routed(ms));
    expect(rounds).toHaveLength(1);
    const [batch] = rounds[0]!.batches;
    expect(batch!.mutations).toEqual([ms[2]]);
    const acks: [number, number][] = [];
    batch!.acks.forEach((t, n) => acks.push([t, n]));
    expect(acks).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('keeps delete then re-insert of a key as the re-insert', () => {
    const s = new LaneScheduler(4, 1);
    const del = toMutations(change('delete', ordersKeys, { id: 5, v: 1 }, null));
    const ins = toMutations(change('insert', ordersKeys, null, { id: 5, v: 2 }));
    const [round] = s.plan(routed([...del, ...ins]));
    expect(round!.batches.flatMap((b) => b.mutations)).toEqual(ins);
  });

  it('uses several lanes for independent keys', () => {
    const s = new LaneScheduler(8, 1);
    const ms = Array.from({ length: 200 }, (_, i) => upsert(ordersKeys, { id: i }));
    const [round] = s.plan(routed(ms));
    expect(round!.batches.length).toBe(8);
    expect(round!.consumed).toBe(200);
  });

  it('uses only as many lanes as the round has work for', () => {
    const s = new LaneScheduler(16, 64);
    const few = Array.from({ length: 40 }, (_, i) => upsert(ordersKeys, { id: i }));
    expect(s.plan(routed(few))[0]!.batches).toHaveLength(1);
    const many = Array.from({ length: 2000 }, (_, i) => upsert(ordersKeys, { id: i }));
    expect(s.plan(routed(many))[0]!.batches).toHaveLength(16);
  });

  it('puts rows that share a unique value in one lane (a swap through a temporary value)', () => {
    const s = new LaneScheduler(16, 1);
    const ev = [
      change('update', usersKeys, { id: 1, email: 'x' }, { id: 1, email: 'tmp' }),
      change('update', usersKeys, { id: 2, email: 'y' }, { id: 2, email: 'x' }),
      change('update', usersKeys, { id: 1, email: 'tmp' }, { id: 1, email: 'y' }),
    ].flatMap(toMutations);
    const rounds = s.plan(routed(ev));
    expect(rounds).toHaveLength(1);
    expect(rounds[0]!.batches).toHaveLength(1);
    expect(rounds[0]!.batches[0]!.mutations.map((m) => m.row)).toEqual([
      { id: 1, email: 'y' },
      { id: 2, email: 'x' },
    ]);
  });

  it('ends the round when a change links two lanes', () => {
    const s = new LaneScheduler(64, 1);
    // Find two ids whose rows hash to different lanes when independent.
    const a = toMutations(change('insert', usersKeys, null, { id: 1, email: 'a' }));
    let b: Mutation[] = [];
    for (let id = 2; id < 100; id++) {
      b = toMutations(change('insert', usersKeys, null, { id, email: 'b' }));
      const [r] = s.plan(routed([...a, ...b]));
      if (r!.batches.length === 2) break;
    }
    const link = toMutations(change('update', usersKeys, { id: 1, email: 'a' }, { id: 1, email: 'b' }));
    const rounds = s.plan(routed([...a, ...b, ...link]));
    expect(rounds.map((r) => r.consumed)).toEqual([2, 1]);
  });
});

describe('LaneScheduler with an order group (foreign keys)', () => {
  const parent = { table: { schema: 'shop', name: 'parent' }, primaryKey: ['id'], uniqueKeys: [], orderGroup: 'shop.child' };
  const child = { table: { schema: 'shop', name: 'child' }, primaryKey: ['id'], uniqueKeys: [['code']], orderGroup: 'shop.child' };

  it('keeps every change of the group in one lane, in source order, unfolded', () => {
    const s = new LaneScheduler(16, 1);
    const ms = [
      ...toMutations(change('insert', parent, null, { id: 1 })),
      ...toMutations(change('insert', child, null, { id: 10, parent_id: 1, code: 'a' })),
      ...toMutations(change('delete', parent, { id: 1 }, null)),
      ...toMutations(change('insert', parent, null, { id: 1 })),
      ...toMutations(change('update', child, { id: 11, parent_id: 2, code: 'b' }, { id: 12, parent_id: 2, code: 'b' })),
    ];
    const rounds = s.plan(routed(ms));
    expect(rounds).toHaveLength(1);
    expect(rounds[0]!.batches).toHaveLength(1);
    expect(rounds[0]!.batches[0]!.mutations).toEqual(ms);
    // A key change in a group is one update carrying the old key, not a delete and an upsert.
    expect(ms.at(-1)).toMatchObject({ op: 'update', key: [12], oldKey: [11] });
  });
});
