/**
 * Keeping the daemon's heap near a soft limit, so that it follows the live data rather than V8's
 * appetite. Catching up a backlog, the pipeline allocates fast and most of it dies young, but queued
 * changes live long enough to be promoted; V8 then lets the old generation grow to several times what
 * is live before it marks (measured: ~250 MB of heap for < 70 MB live, 354 MB RSS), because its limit
 * on a machine with this much memory is gigabytes. A hard `--max-old-space-size` would hold the heap
 * down but crash on a large row; a soft limit cannot crash anything. Two means, both steered by it:
 * - after each major collection, V8's growing factor is set so that its next limit lands on the soft
 *   limit (`growingPercentFor`): V8's own collections are concurrent and cheap for the main thread;
 * - a full collection is forced when the used heap passes the threshold anyway (`HeapGovernor`): V8
 *   does not always start marking in time. A collection that finds more live data than the limit
 *   raises the threshold to `growth` × that, and it falls back as the live data shrinks.
 *
 * Pure: the caller samples the heap, sets the flag and runs the collection (src/assembly/heap.ts).
 */

export class HeapGovernor {
  private threshold: number;

  constructor(
    readonly softLimitBytes: number,
    private readonly growth = 1.5,
  ) {
    if (!(softLimitBytes > 0) || !(growth > 1)) throw new RangeError(`heap governor: soft limit ${softLimitBytes} and growth ${growth} must be positive, growth > 1`);
    this.threshold = softLimitBytes;
  }

  /** The heap use above which the next sample asks for a collection. */
  get thresholdBytes(): number {
    return this.threshold;
  }

  /** Whether a full collection is due at this heap use (V8's used heap size). */
  due(usedBytes: number): boolean {
    return usedBytes > this.threshold;
  }

  /** A full collection left `liveBytes` in use. */
  collected(liveBytes: number): void {
    this.threshold = Math.max(this.softLimitBytes, liveBytes * this.growth);
  }
}

/** V8's `--heap-growing-percent` that puts its next old-generation limit at `softLimitBytes`, given what is live now (10–300 %). */
export function growingPercentFor(softLimitBytes: number, liveBytes: number): number {
  if (!(liveBytes > 0)) return MAX_GROWING_PERCENT;
  return Math.round(Math.min(MAX_GROWING_PERCENT, Math.max(MIN_GROWING_PERCENT, (softLimitBytes / liveBytes - 1) * 100)));
}
const MIN_GROWING_PERCENT = 10;
const MAX_GROWING_PERCENT = 300;

/** What the daemon holds whatever the backlog: code, compiled statements, table metadata, connections. */
export const HEAP_BASE_BYTES = 48 * 1024 * 1024;
/** A queued row change's cost on the heap, for the count bound (decoded values, key, routing). */
export const HEAP_BYTES_PER_QUEUED_CHANGE = 2048;
/** Row data held as decoded JavaScript values takes about this many times its binlog size. */
export const HEAP_PER_QUEUED_BINLOG_BYTE = 2;

/**
 * The soft limit from the pipeline file's limits: the base, plus what the queues may hold
 * (`partitions` × the smaller of `queueCapacity` changes and `queueBytes` of row data), plus the sink's
 * batches in flight (`target.poolSize` × `sink.batchSize` changes).
 */
export interface HeapLimits {
  readonly transport: { readonly partitions: number; readonly queueCapacity: number; readonly queueBytes: number };
  readonly sink: { readonly batchSize: number };
  readonly target: { readonly poolSize: number };
}

export function heapSoftLimitBytes(config: HeapLimits): number {
  const t = config.transport;
  const perPartition = Math.min(t.queueCapacity * HEAP_BYTES_PER_QUEUED_CHANGE, t.queueBytes * HEAP_PER_QUEUED_BINLOG_BYTE);
  const inFlight = config.target.poolSize * config.sink.batchSize * HEAP_BYTES_PER_QUEUED_CHANGE;
  return HEAP_BASE_BYTES + t.partitions * perPartition + inFlight;
}
