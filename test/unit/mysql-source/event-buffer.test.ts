import { describe, expect, it } from 'vitest';
import { EventBuffer } from '../../../connectors/mysql-source/event-buffer.js';

function buffer(): { b: EventBuffer<number>; calls: string[] } {
  const calls: string[] = [];
  const b = new EventBuffer<number>({ highWater: 10, lowWater: 4, weigh: (n) => n, onHigh: () => calls.push('pause'), onLow: () => calls.push('resume') });
  return { b, calls };
}

describe('EventBuffer', () => {
  it('pauses above the high-water mark and resumes at the low-water mark', async () => {
    const { b, calls } = buffer();
    for (let i = 0; i < 4; i++) b.push(3); // 12 > 10 at the 4th
    expect(calls).toEqual(['pause']);
    expect(b.isPaused).toBe(true);
    expect(b.weight).toBe(12);
    await b.next(); // 9
    await b.next(); // 6
    expect(calls).toEqual(['pause']);
    await b.next(); // 3 ≤ 4
    expect(calls).toEqual(['pause', 'resume']);
    expect(b.maxWeight).toBe(12);
  });

  it('hands an item straight to a waiting consumer', async () => {
    const { b } = buffer();
    const p = b.next();
    b.push(5);
    await expect(p).resolves.toEqual({ done: false, value: 5 });
    expect(b.weight).toBe(0);
  });

  it('delivers buffered items before a failure, then the failure', async () => {
    const { b } = buffer();
    b.push(1);
    b.push(2);
    b.fail(new Error('lost'));
    b.push(3); // ignored after the end
    await expect(b.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(b.next()).resolves.toEqual({ done: false, value: 2 });
    await expect(b.next()).rejects.toThrow('lost');
  });

  it('wakes a waiting consumer on end and on failure', async () => {
    const a = buffer().b;
    const p = a.next();
    a.end();
    await expect(p).resolves.toEqual({ done: true });
    const f = buffer().b;
    const q = f.next();
    f.fail(new Error('x'));
    await expect(q).rejects.toThrow('x');
  });

  it('clear() drops what is buffered', async () => {
    const { b } = buffer();
    b.push(1);
    b.clear();
    await expect(b.next()).resolves.toEqual({ done: true });
  });

  it('keeps order across many items', async () => {
    const b = new EventBuffer<number>({ highWater: 1e9, lowWater: 0, weigh: () => 1, onHigh: () => {}, onLow: () => {} });
    for (let i = 0; i < 5000; i++) b.push(i);
    for (let i = 0; i < 5000; i++) expect(await b.next()).toEqual({ done: false, value: i });
    expect(b.length).toBe(0);
  });
});
