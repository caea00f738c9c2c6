/**
 * The process's heap governor (src/core/heap-governor.ts), at work:
 * - after every major collection (a `gc` performance entry), V8's `--heap-growing-percent` is set so
 *   that its next limit is the soft limit;
 * - every 100 ms the used heap is sampled, and a full collection forced when it is over the threshold.
 * One per process: a second pipeline in the same process (tests, `run` with several roles) adds its
 * queues to the limit. `BINLOG_SYNC_HEAP_LIMIT_MB` overrides the soft limit; 0 turns the governor off.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { fullGc } from '../core/full-gc.js';
import { HEAP_BASE_BYTES, HeapGovernor, growingPercentFor, heapSoftLimitBytes, type HeapLimits } from '../core/heap-governor.js';
import type { Logger } from '../core/log.js';

export const HEAP_LIMIT_ENV = 'BINLOG_SYNC_HEAP_LIMIT_MB';
const SAMPLE_MS = 100;
const MB = 1024 * 1024;

interface Governed {
  governor: HeapGovernor;
  timer: NodeJS.Timeout;
  /** Full collections forced, and their time. */
  collections: number;
  collectMs: number;
  /** Major collections seen (V8's and forced), and the growing percent set after the last. */
  majors: number;
  growingPercent: number;
}

let current: Governed | null = null;
/** Limits already counted: a pipeline built again from the same config (a restart) does not widen the limit. */
const counted = new WeakSet<HeapLimits>();
let observer: PerformanceObserver | null = null;

export interface HeapGovernorStats {
  readonly softLimitBytes: number;
  readonly thresholdBytes: number;
  readonly collections: number;
  readonly collectMs: number;
  readonly majors: number;
  readonly growingPercent: number;
}

/** What the governor of this process has done (null when none runs). */
export function heapGovernorStats(): HeapGovernorStats | null {
  if (current === null) return null;
  const { governor, collections, collectMs, majors, growingPercent } = current;
  return { softLimitBytes: governor.softLimitBytes, thresholdBytes: governor.thresholdBytes, collections, collectMs, majors, growingPercent };
}

function softLimitFromEnv(): number | null | 'off' {
  const raw = process.env[HEAP_LIMIT_ENV];
  if (raw === undefined || raw === '') return null;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) throw new RangeError(`${HEAP_LIMIT_ENV}=${raw} is not a size in MB (a number ≥ 0; 0 turns the heap governor off)`);
  return mb === 0 ? 'off' : mb * MB;
}

/** Start (or widen) the process's heap governor for a pipeline with these limits. It never keeps the process alive. */
export function governHeap(config: HeapLimits, logger: Logger): void {
  const fromEnv = softLimitFromEnv();
  if (fromEnv === 'off' || counted.has(config)) return;
  counted.add(config);
  const fromConfig = heapSoftLimitBytes(config);
  let limit = fromEnv ?? fromConfig;
  if (current !== null) {
    if (fromEnv !== null) return;
    // Another pipeline in this process: its queues come on top of the first one's (one base only).
    limit = current.governor.softLimitBytes + fromConfig - HEAP_BASE_BYTES;
    current.governor = new HeapGovernor(limit);
  } else {
    const g: Governed = { governor: new HeapGovernor(limit), timer: setInterval(() => sample(g), SAMPLE_MS), collections: 0, collectMs: 0, majors: 0, growingPercent: 0 };
    g.timer.unref();
    current = g;
  }
  const g = current;
  steer(g, getHeapStatistics().used_heap_size);
  if (observer === null) {
    observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR || current === null) continue;
        current.majors++;
        steer(current, getHeapStatistics().used_heap_size);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  logger.info(
    { heapSoftLimitMb: Math.round(limit / MB), source: fromEnv !== null ? HEAP_LIMIT_ENV : 'pipeline file' },
    `heap: kept near ${Math.round(limit / MB)} MB of used heap (${fromEnv !== null ? HEAP_LIMIT_ENV : 'from transport.partitions, queueCapacity, queueBytes, sink.batchSize and target.poolSize'})`,
  );
}

/** Sets V8's growing factor so that its next limit, from `liveBytes`, is the soft limit. */
function steer(g: Governed, liveBytes: number): void {
  const percent = growingPercentFor(g.governor.softLimitBytes, liveBytes);
  if (percent === g.growingPercent) return;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  g.growingPercent = percent;
}

function sample(g: Governed): void {
  if (!g.governor.due(getHeapStatistics().used_heap_size)) return;
  const t0 = performance.now();
  fullGc();
  g.collectMs += performance.now() - t0;
  g.collections++;
  g.governor.collected(getHeapStatistics().used_heap_size);
}
