import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../../src/core/bounded-queue.js';

describe('BoundedQueue', () => {
  it('refuses pushes beyond capacity and wakes the producer when space frees', async () => {
    const q = new BoundedQueue<number>(2);
    expect(q.tryPush(1)).toBe(true);
    expect(q.tryPush(2)).toBe(true);
    expect(q.tryPush(3)).toBe(false);
    let woke = false;
    const wait = q.waitForSpace().then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    expect(await q.takeBatch(1)).toEqual([1]);
    await wait;
    expect(woke).toBe(true);
  });

  it('waits for items and drains after close', async () => {
    const q = new BoundedQueue<number>(10);
    const taken = q.takeBatch(5);
    q.tryPush(7);
    expect(await taken).toEqual([7]);
    q.tryPush(8);
    q.close();
    expect(await q.takeBatch(5)).toEqual([8]);
    expect(await q.takeBatch(5)).toEqual([]);
  });
});

describe('BoundedQueue by weight', () => {
  it('is full at its weight bound even with room by count, but always takes one item', async () => {
    const q = new BoundedQueue<number>(100, 10, (n) => n);
    expect(q.tryPush(50)).toBe(true); // heavier than the bound: accepted into an empty queue
    expect(q.tryPush(1)).toBe(false);
    expect(await q.takeBatch(10)).toEqual([50]);
    expect(q.weight).toBe(0);
    expect(q.tryPush(6)).toBe(true);
    expect(q.tryPush(3)).toBe(true);
    expect(q.tryPush(2)).toBe(true); // 9 < 10 before this push
    expect(q.tryPush(1)).toBe(false); // 11 ≥ 10
    expect(q.weight).toBe(11);
  });
});
