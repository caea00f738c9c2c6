import { describe, expect, it } from 'vitest';
import { HEAP_BASE_BYTES, HeapGovernor, growingPercentFor, heapSoftLimitBytes } from '../../../src/core/heap-governor.js';
import { parsePipelineConfig } from '../../../src/config/load.js';

const MB = 1024 * 1024;

describe('HeapGovernor', () => {
  it('asks for a collection only above the soft limit', () => {
    const g = new HeapGovernor(100 * MB);
    expect(g.due(99 * MB)).toBe(false);
    expect(g.due(100 * MB)).toBe(false);
    expect(g.due(101 * MB)).toBe(true);
  });

  it('raises the threshold when the live data is above the limit, and lowers it again as the data shrinks', () => {
    const g = new HeapGovernor(100 * MB, 1.5);
    g.collected(90 * MB);
    expect(g.thresholdBytes).toBe(135 * MB);
    expect(g.due(120 * MB)).toBe(false); // no collection after collection while a big row is live
    g.collected(200 * MB);
    expect(g.thresholdBytes).toBe(300 * MB);
    g.collected(10 * MB);
    expect(g.thresholdBytes).toBe(100 * MB);
  });

  it('refuses a limit or growth that would collect forever', () => {
    expect(() => new HeapGovernor(0)).toThrow(RangeError);
    expect(() => new HeapGovernor(100, 1)).toThrow(RangeError);
  });
});

describe('growingPercentFor', () => {
  it('puts V8\'s next limit on the soft limit, within 10–300 %', () => {
    expect(growingPercentFor(90 * MB, 60 * MB)).toBe(50);
    expect(growingPercentFor(90 * MB, 30 * MB)).toBe(200);
    expect(growingPercentFor(90 * MB, 10 * MB)).toBe(300);
    expect(growingPercentFor(90 * MB, 85 * MB)).toBe(10); // at or over the limit: collect often, never stop growing
    expect(growingPercentFor(90 * MB, 200 * MB)).toBe(10);
    expect(growingPercentFor(90 * MB, 0)).toBe(300);
  });
});

describe('heapSoftLimitBytes', () => {
  const config = (transport: object, rest: object = {}) =>
    parsePipelineConfig(JSON.stringify({ name: 'p', source: { host: 'h', user: 'u', password: 'x', serverId: 9, include: ['app.*'] }, target: { host: 't', port: 3307, user: 'u', password: 'x' }, transport, ...rest }), 'test');

  it('is the base plus the queues and the batches in flight of the defaults', () => {
    const c = config({});
    const queues = c.transport.partitions * Math.min(c.transport.queueCapacity * 2048, c.transport.queueBytes * 2);
    expect(heapSoftLimitBytes(c)).toBe(HEAP_BASE_BYTES + queues + c.target.poolSize * c.sink.batchSize * 2048);
    expect(heapSoftLimitBytes(c) / MB).toBeLessThan(100);
  });

  it('grows with the limits a user raises, and takes the tighter of the count and byte bounds', () => {
    const base = heapSoftLimitBytes(config({}));
    expect(heapSoftLimitBytes(config({ partitions: 16 }))).toBeGreaterThan(base);
    expect(heapSoftLimitBytes(config({ queueCapacity: 20000 }))).toBeGreaterThan(base);
    // 20,000 changes per partition, but only 64 KiB of row data: the byte bound is the tighter one.
    expect(heapSoftLimitBytes(config({ queueCapacity: 20000, queueBytes: 65536 }))).toBeLessThan(base);
  });
});
