import { describe, expect, it } from 'vitest';
import { Partitioner } from '../../../src/core/partitioner.js';
import { fnv1a32, laneHash, rowId } from '../../../src/core/key.js';
import { ordersKeys, upsert, usersKeys } from './fixtures.js';

describe('Partitioner', () => {
  it('is stable: the same row always maps to the same partition (also across processes: fixed hash)', () => {
    const p = new Partitioner(8);
    const a = p.route(upsert(ordersKeys, { id: 42, qty: 1 })).partition;
    const b = p.route(upsert(ordersKeys, { id: 42, qty: 9 })).partition;
    expect(a).toBe(b);
    // Pinned value: changing the hash would move rows between Kafka partitions of a running pipeline.
    expect(fnv1a32(rowId(ordersKeys.table, [42]))).toBe(fnv1a32('shop.orders\u000042'));
    expect(fnv1a32('a')).toBe(0xe40c292c);
  });

  it('spreads keys over all partitions', () => {
    const p = new Partitioner(8);
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[p.route(upsert(ordersKeys, { id: i })).partition]++;
    for (const c of counts) expect(c).toBeGreaterThan(700);
  });

  it('keeps a unique-key table in one partition', () => {
    const p = new Partitioner(8);
    const parts = new Set<number>();
    for (let i = 0; i < 100; i++) parts.add(p.route(upsert(usersKeys, { id: i, email: `${i}@x` })).partition);
    expect(parts.size).toBe(1);
  });

  it('lane hash is independent of the partition hash (every lane of a partition gets rows)', () => {
    const p = new Partitioner(8);
    const lanes = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const r = p.route(upsert(ordersKeys, { id: i }));
      if (r.partition === 3) lanes.add(laneHash(r.hash) % 16);
    }
    expect(lanes.size).toBe(16);
  });
});
