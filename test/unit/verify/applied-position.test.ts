import { describe, expect, it } from 'vitest';
import { AppliedPositionWaiter } from '../../../src/verify/applied-position.js';
import type { BinlogPosition } from '../../../src/core/position.js';

const at = (pos: number, file = 'mysql-bin.000002'): BinlogPosition => ({ file, pos });

describe('AppliedPositionWaiter', () => {
  it('waits until the checkpoint reaches the position, then answers from memory', async () => {
    const seen = [at(100), at(150), at(300)];
    let reads = 0;
    const w = new AppliedPositionWaiter(async () => seen[Math.min(reads++, seen.length - 1)]!, { timeoutMs: 5_000, pollMs: 1 });
    expect(await w.reach(at(200))).toBe(true);
    expect(reads).toBe(3);
    expect(await w.reach(at(250))).toBe(true);
    expect(await w.reach(at(4, 'mysql-bin.000001'))).toBe(true);
    expect(reads).toBe(3);
    expect(w.shortfall).toBeNull();
  });

  it('gives up after the timeout, records why, and waits no more', async () => {
    let reads = 0;
    const w = new AppliedPositionWaiter(async () => (reads++, at(100)), { timeoutMs: 30, pollMs: 5 });
    expect(await w.reach(at(200))).toBe(false);
    expect(w.shortfall).toMatchObject({ wanted: at(200), applied: at(100) });
    expect(w.shortfall!.waitedMs).toBeGreaterThanOrEqual(30);
    const before = reads;
    expect(await w.reach(at(300))).toBe(false);
    expect(reads).toBe(before + 1); // one look, no waiting
    expect(w.shortfall!.wanted).toEqual(at(200)); // the first shortfall is kept
    expect(await w.reach(at(50))).toBe(true);
  });

  it('does not wait for a pipeline without a checkpoint', async () => {
    const w = new AppliedPositionWaiter(async () => null, { timeoutMs: 60_000 });
    expect(await w.reach(at(4))).toBe(false);
    expect(w.shortfall).toMatchObject({ wanted: at(4), applied: null });
  });

  it('shares one read among concurrent waiters', async () => {
    let reads = 0;
    const w = new AppliedPositionWaiter(async () => {
      reads++;
      await new Promise((r) => setTimeout(r, 5));
      return at(500);
    }, { timeoutMs: 1_000 });
    expect(await Promise.all([w.reach(at(1)), w.reach(at(2)), w.reach(at(3))])).toEqual([true, true, true]);
    expect(reads).toBe(1);
  });

  it('passes a read error to the waiter', async () => {
    const w = new AppliedPositionWaiter(async () => Promise.reject(new Error('target gone')), { timeoutMs: 1_000 });
    await expect(w.reach(at(1))).rejects.toThrow('target gone');
  });
});
