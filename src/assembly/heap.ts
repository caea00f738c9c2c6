/**
 * The process's heap governor (src/core/heap-governor.ts): samples V8's used heap every 100 ms and
 * forces a full collection when it is over the threshold. One per process: a second pipeline in the
 * same process (tests, `run` with several roles) adds its budget's queues to the limit.
 * `BINLOG_SYNC_HEAP_LIMIT_MB` overrides the soft limit; 0 turns the governor off.
 */
import { getHeapStatistics } from 'node:v8';
import { fullGc } from '../core/full-gc.js';
import { HEAP_BASE_BYTES, HeapGovernor, heapSoftLimitBytes, type HeapLimits } from '../core/heap-governor.js';
import type { Logger } from '../core/log.js';

export const HEAP_LIMIT_ENV = 'BINLOG_SYNC_HEAP_LIMIT_MB';
const SAMPLE_MS = 100;
const MB = 1024 * 1024;

interface Governed {
  governor: HeapGovernor;
  timer: NodeJS.Timeout;
  collections: number;
  collectMs: number;
}

let current: Governed | null = null;

/** What the governor of this process has done (null when none runs). */
export function heapGovernorStats(): { softLimitBytes: number; thresholdBytes: number; collections: number; collectMs: number } | null {
  return current && { softLimitBytes: current.governor.softLimitBytes, thresholdBytes: current.governor.thresholdBytes, collections: current.collections, collectMs: current.collectMs };
}

function softLimitFromEnv(): number | null | 'off' {
  const raw = process.env[HEAP_LIMIT_ENV];
  if (raw === undefined || raw === '') return null;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) throw new RangeError(`${HEAP_LIMIT_ENV}=${raw} is not a size in MB (a number ≥ 0; 0 turns the heap governor off)`);
  return mb === 0 ? 'off' : mb * MB;
}

/** Start (or widen) the process's heap governor for a pipeline with these limits. Its timer never keeps the process alive. */
export function governHeap(config: HeapLimits, logger: Logger): void {
  const fromEnv = softLimitFromEnv();
  if (fromEnv === 'off') return;
  const fromConfig = heapSoftLimitBytes(config);
  let limit = fromEnv ?? fromConfig;
  if (current !== null) {
    if (fromEnv !== null) return;
    // Another pipeline in this process: its queues come on top of the first one's (one base only).
    limit = current.governor.softLimitBytes + fromConfig - HEAP_BASE_BYTES;
    clearInterval(current.timer);
  }
  const g: Governed = { governor: new HeapGovernor(limit), timer: setInterval(() => sample(g), SAMPLE_MS), collections: current?.collections ?? 0, collectMs: current?.collectMs ?? 0 };
  g.timer.unref();
  current = g;
  logger.info(
    { heapSoftLimitMb: Math.round(limit / MB), source: fromEnv !== null ? HEAP_LIMIT_ENV : 'pipeline file' },
    `heap: full collections above ${Math.round(limit / MB)} MB of used heap (${fromEnv !== null ? HEAP_LIMIT_ENV : 'from transport.partitions, queueCapacity, queueBytes, sink.batchSize and target.poolSize'})`,
  );
}

function sample(g: Governed): void {
  if (!g.governor.due(getHeapStatistics().used_heap_size)) return;
  const t0 = performance.now();
  fullGc();
  g.collectMs += performance.now() - t0;
  g.collections++;
  g.governor.collected(getHeapStatistics().used_heap_size);
}
