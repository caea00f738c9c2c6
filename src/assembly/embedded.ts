/**
 * The embedded pipeline as the pipeline file describes it: `run` and `demo` run it as the daemon
 * (preflight, pipeline lock, start resolution, run until the signal, final checkpoint); `replay`, the
 * bench and the tests build it with `createPipeline`.
 */
import type { PipelineConfig } from '../config/load.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { Pipeline, type PipelineOptions, type PipelineResult } from '../core/pipeline.js';
import { formatPosition, type BinlogPosition } from '../core/position.js';
import { resolveStart } from '../core/start-position.js';
import { EmbeddedTransport } from '../transport/embedded.js';
import { TableFilter } from '../core/table-filter.js';
import { assertPreflightPassed, runPreflight } from '../preflight/index.js';
import { openConnectors, type OpenConnectors } from './connectors.js';
import { reportProgress, summarize } from './progress.js';

export interface RunOptions {
  readonly config: PipelineConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly resetTo?: BinlogPosition | null;
  readonly progressEveryMs?: number;
  /** Called once the pipeline is running (the demo starts its workload here). */
  readonly onStarted?: (pipeline: Pipeline) => void;
}

/** A pipeline as the pipeline file describes it, over opened connectors; `run` specifics in `extra`. */
export function createPipeline(
  config: PipelineConfig,
  c: Pick<OpenConnectors, 'source' | 'sink'>,
  logger: Logger,
  extra: Pick<PipelineOptions, 'from' | 'initialCheckpoint' | 'checkpoints'> & Partial<PipelineOptions>,
): Pipeline {
  const filter = new TableFilter(config.source.include, config.source.exclude);
  return new Pipeline({
    name: config.name,
    source: c.source,
    sink: c.sink,
    transport: new EmbeddedTransport(config.transport.partitions, config.transport.queueCapacity, config.transport.queueBytes),
    lanes: config.sink.lanes,
    batchSize: config.sink.batchSize,
    concurrency: config.target.poolSize,
    checkpointIntervalMs: config.checkpoint.intervalMs,
    isSynced: (t) => filter.matches(t.schema, t.name),
    logger,
    ...extra,
  });
}

/** The daemon's body, shared by `run` and `demo`. Throws on fatal errors; resolves after a clean stop. */
export async function runPipeline(o: RunOptions): Promise<PipelineResult> {
  const { config, logger } = o;
  const c = await openConnectors(config, logger);
  try {
    let pipeline: Pipeline | null = null;
    await c.lock.acquire((err) => {
      logger.error({ err: describeError(err) }, 'the pipeline lock could not be taken again after its connection was lost: stopping');
      pipeline?.abort(err);
    });
    const stored = await c.checkpoints.load(config.name);
    const report = await runPreflight(config, {
      ...(o.resetTo ? { checkpoint: o.resetTo } : stored ? { checkpoint: stored.position } : {}),
    });
    for (const check of report.checks) if (check.status === 'warn') logger.warn({ check: check.id }, `${check.title}: ${check.detail}`);
    assertPreflightPassed(report);
    if (o.resetTo) {
      await c.checkpoints.reset(config.name, { position: o.resetTo, sourceTimestampMs: Date.now() });
      logger.warn({ position: formatPosition(o.resetTo), previous: stored ? formatPosition(stored.position) : null }, 'checkpoint rewound (--reset-to)');
    }
    const start = await resolveStart(config.name, config.source.start, c.source, c.checkpoints);
    logger.info(
      { pipeline: config.name, from: start.from.kind === 'gtid' ? start.from.gtid : formatPosition(start.from.position), origin: start.origin },
      'starting',
    );
    pipeline = createPipeline(config, c, logger, { from: start.from, initialCheckpoint: start.checkpoint, checkpoints: c.checkpoints });
    const stopProgress = reportProgress(pipeline, logger, o.progressEveryMs ?? 5000);
    o.onStarted?.(pipeline);
    try {
      const result = await pipeline.run(o.signal);
      logger.info(summarize(result.stats), 'stopped cleanly; final checkpoint stored');
      return result;
    } finally {
      stopProgress();
    }
  } finally {
    await c.close();
  }
}
