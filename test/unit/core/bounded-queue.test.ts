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
