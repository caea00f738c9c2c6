import { afterEach, describe, expect, it } from 'vitest';
import { getHeapStatistics } from 'node:v8';
import { governHeap, heapGovernorStats, HEAP_LIMIT_ENV } from '../../../src/assembly/heap.js';
import { createLogger } from '../../../src/core/log.js';

const limits = { transport: { partitions: 8, queueCapacity: 2000, queueBytes: 8 << 20 }, sink: { batchSize: 500 }, target: { poolSize: 8 } };
const logger = createLogger({ level: 'silent' });

describe('governHeap', () => {
  afterEach(() => {
    delete process.env[HEAP_LIMIT_ENV];
  });

  it('refuses an override that is not a size', () => {
    process.env[HEAP_LIMIT_ENV] = 'lots';
    expect(() => governHeap(limits, logger)).toThrow(/BINLOG_SYNC_HEAP_LIMIT_MB=lots is not a size in MB/);
  });

  it('forces full collections while the heap is over the limit, and brings the used heap under it', async () => {
    process.env[HEAP_LIMIT_ENV] = '0';
    governHeap(limits, logger);
    expect(heapGovernorStats()).toBeNull(); // 0: off
    const before = getHeapStatistics().used_heap_size;
    const limitMb = Math.ceil(before / 1048576) + 16;
    process.env[HEAP_LIMIT_ENV] = String(limitMb);
    governHeap(limits, logger);
    expect(heapGovernorStats()?.softLimitBytes).toBe(limitMb * 1048576);
    // Garbage that lives just long enough to be promoted, as queued changes do.
    let keep: object[] = [];
    const deadline = Date.now() + 5000;
    while (heapGovernorStats()!.collections === 0 && Date.now() < deadline) {
      for (let i = 0; i < 20000; i++) keep.push({ i, s: `row ${i}` });
      if (keep.length > 200000) keep = [];
      await new Promise((r) => setTimeout(r, 5));
    }
    keep = [];
    await new Promise((r) => setTimeout(r, 50)); // gc performance entries are delivered asynchronously
    expect(heapGovernorStats()!.collections).toBeGreaterThan(0);
    // Each major collection steers V8's growing factor toward the limit.
    expect(heapGovernorStats()!.majors).toBeGreaterThan(0);
    expect(heapGovernorStats()!.growingPercent).toBeGreaterThanOrEqual(10);
    expect(heapGovernorStats()!.growingPercent).toBeLessThanOrEqual(300);

    delete process.env[HEAP_LIMIT_ENV];
    const second = { ...limits };
    governHeap(second, logger); // a second pipeline in the process: its queues come on top
    const widened = heapGovernorStats()!.softLimitBytes;
    expect(widened).toBeGreaterThan(limitMb * 1048576);
    governHeap(second, logger); // the same pipeline built again (a restart): no change
    expect(heapGovernorStats()!.softLimitBytes).toBe(widened);
    expect(heapGovernorStats()!.thresholdBytes).toBeGreaterThanOrEqual(limitMb * 1048576);
  });
});
