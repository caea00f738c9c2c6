/** What the parent tells a benchmark child process (`pipeline-child.js`) and what it answers. */
import type { ServerEndpoint } from '../src/local/mariadb-server.js';
import type { BinlogPosition } from '../src/core/position.js';

export const SPEC_ENV = 'BINLOG_SYNC_BENCH_SPEC';
/** The child's result is the one stdout line starting with this. */
export const RESULT_PREFIX = 'BENCH_RESULT ';

/** Pipeline settings the bench may override (unset: the pipeline file defaults). */
export interface Tuning {
  readonly partitions?: number;
  readonly queueCapacity?: number;
  readonly lanes?: number;
  readonly batchSize?: number;
  readonly poolSize?: number;
  readonly checkpointIntervalMs?: number;
}

export interface ChildSpec {
  /**
   * pipeline: the whole pipeline (embedded transport); source: the source connector drained, nothing
   * applied; decoder: zongji alone; kafka-source / kafka-sink: the two processes of Kafka mode, started
   * together (the sink's time, until everything published up to the end is applied, is the catch-up).
   */
  readonly mode: 'pipeline' | 'source' | 'decoder' | 'kafka-source' | 'kafka-sink';
  readonly name: string;
  readonly source: ServerEndpoint;
  readonly target: ServerEndpoint;
  readonly serverId: number;
  readonly schema: string;
  readonly from: BinlogPosition;
  /** End of the range; when absent the child waits for an IPC `{ type: 'until', position }` message. */
  readonly to?: BinlogPosition;
  readonly tuning: Tuning;
  /** Steady-load lag: upserts of this table carry the writer's commit time (µs) in this column. */
  readonly lag?: { readonly table: string; readonly column: string };
  /** Kafka modes: the cluster and the topic (fresh per run). */
  readonly kafka?: { readonly brokers: readonly string[]; readonly topic: string };
  /** Pipeline mode: count into Prometheus metrics as the daemon does with metrics.port, scraped every 5 s. */
  readonly metrics?: boolean;
}

export interface LagFigures {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface ChildResult {
  readonly mode: ChildSpec['mode'];
  /** Start of reading until the watermark (pipeline) or the reader (source, decoder) reached the range's end. */
  readonly ms: number;
  /** CPU time (user + system) of the process over `ms` (pipeline and Kafka modes). */
  readonly cpuMs?: number;
  /** Kafka modes: wall-clock ms since the epoch when `ms` began (the publisher: its start of reading) and ended. */
  readonly startedAtMs?: number;
  readonly doneAtMs?: number;
  /** Row events read in the range. */
  readonly rowEvents: number;
  readonly transactions: number;
  readonly mutationsApplied?: number;
  readonly batches?: number;
  /** The checkpoint stored on the target after the run (pipeline mode). */
  readonly storedCheckpoint?: string | null;
  /** VmHWM of the child process. */
  readonly peakRssBytes: number;
  /** Peak V8 heap in use and peak Buffer/ArrayBuffer memory, sampled every 200 ms. */
  readonly peakHeapUsedBytes: number;
  readonly peakArrayBuffersBytes: number;
  readonly lag?: LagFigures;
  /** Full collections the heap governor forced and their time, and all major collections (pipeline mode). */
  readonly forcedGc?: { readonly collections: number; readonly ms: number; readonly majors: number };
}

/** IPC messages from the child to the parent. */
export type ChildMessage = { readonly type: 'running' };
/** IPC messages from the parent to the child. */
export type ParentMessage = { readonly type: 'until'; readonly position: BinlogPosition };
