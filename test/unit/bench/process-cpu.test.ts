import { describe, expect, it } from 'vitest';
import { cpuSince, processCpu, threadName, threadTicks } from '../../../bench/process-cpu.js';

describe('process CPU from /proc', () => {
  it('reads utime + stime after a thread name holding spaces and parentheses', () => {
    const stat = '4242 (C2 CompilerThre) S 1 4242 4242 0 -1 4194560 100 0 0 0 37 5 0 0 20 0 30 0 123 0 0';
    expect(threadTicks(stat)).toBe(42);
    expect(threadName(stat)).toBe('C2 CompilerThre');
    const odd = '7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 9 0 0';
    expect(threadName(odd)).toBe('a) b (c)');
    expect(threadTicks(odd)).toBe(7);
  });

  it("measures this process's CPU time, which grows with work", async () => {
    const before = await processCpu([process.pid]);
    const until = Date.now() + 200;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    const spent = cpuSince(before, await processCpu([process.pid]));
    expect(x).toBeGreaterThan(0);
    expect(spent.totalMs).toBeGreaterThanOrEqual(100);
    expect(spent.jitMs).toBe(0); // V8 has no threads of that name
  });

  it('counts a process that is gone as nothing', async () => {
    expect(await processCpu([2 ** 22 + 12345])).toEqual({ totalMs: 0, jitMs: 0 });
  });
});
