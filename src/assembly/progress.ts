/** Periodic progress lines for a running pipeline: rates since the last line, lag, checkpoint. */
import type { Pipeline, PipelineStats } from '../core/pipeline.js';
import type { Logger } from '../core/log.js';
import { formatPosition } from '../core/position.js';

export function summarize(stats: PipelineStats): Record<string, unknown> {
  return {
    changes: stats.changes,
    applied: stats.mutationsApplied,
    transactions: stats.transactions,
    queued: stats.queued,
    lagSeconds: Math.round(stats.lagMs / 100) / 10,
    checkpoint: stats.savedCheckpoint ? formatPosition(stats.savedCheckpoint.position) : null,
    read: stats.lastReadPosition ? formatPosition(stats.lastReadPosition) : null,
  };
}

export function reportProgress(pipeline: Pipeline, logger: Logger, everyMs: number): () => void {
  let last = pipeline.stats();
  let lastAt = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const s = pipeline.stats();
    const secs = (now - lastAt) / 1000;
    logger.info(
      {
        ...summarize(s),
        changesPerSec: Math.round((s.changes - last.changes) / secs),
        appliedPerSec: Math.round((s.mutationsApplied - last.mutationsApplied) / secs),
      },
      'progress',
    );
    last = s;
    lastAt = now;
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
