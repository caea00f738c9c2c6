/** applyRounds: the per-partition apply loop both transports drive. */
import { describe, expect, it } from 'vitest';
import pLimit from 'p-limit';
import { LaneScheduler } from '../../../src/core/lanes.js';
import { Partitioner } from '../../../src/core/partitioner.js';
import { applyRounds } from '../../../src/core/partition-applier.js';
import type { Mutation } from '../../../src/core/event.js';
import { ordersKeys, upsert } from './fixtures.js';

const partitioner = new Partitioner(1);
const items = (n: number, keys = n): ReturnType<Partitioner['route']>[] =>
  Array.from({ length: n }, (_, i) => partitioner.route(upsert(ordersKeys, { id: i % keys, v: i }, i + 1)));

describe('applyRounds', () => {
  it('applies every key, rounds in order, so each key ends at its last change', async () => {
    const scheduler = new LaneScheduler(2, 3);
    const applied: Mutation[][] = [];
    const outcome = await applyRounds(items(20, 7), scheduler, pLimit(4), { applyBatch: async (b) => void applied.push(b.mutations) });
    expect(outcome).toBe('done');
    const last = new Map<unknown, unknown>();
    for (const batch of applied) for (const m of batch) last.set(m.key[0], m.row.v);
    // Rounds run in order, so each key ends at its last value.
    expect([...last.entries()].sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([0, 1, 2, 3, 4, 5, 6].map((k) => [k, k + 14 <= 19 ? k + 14 : k + 7]));
  });

  it('rejects with the first failure only after every batch of its round has settled', async () => {
    const scheduler = new LaneScheduler(4, 1);
    let started = 0;
    let settled = 0;
    const err = new Error('target refused');
    const p = applyRounds(items(4), scheduler, pLimit(4), {
      applyBatch: async (b) => {
        started++;
        await new Promise((r) => setTimeout(r, b.mutations[0]!.key[0] === 0 ? 0 : 20));
        settled++;
        if (b.mutations[0]!.key[0] === 0) throw err;
      },
    });
    await expect(p).rejects.toBe(err);
    expect(started).toBeGreaterThan(1);
    expect(settled).toBe(started);
  });

  it('stops between rounds when told to, leaving the rest unapplied', async () => {
    const scheduler = new LaneScheduler(1, 2);
    let batches = 0;
    const outcome = await applyRounds(items(10), scheduler, pLimit(1), { applyBatch: async () => void batches++, continueAfterRound: () => batches < 2 });
    expect(outcome).toBe('stopped');
    expect(batches).toBe(2);
  });
});
