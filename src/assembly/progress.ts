/** Periodic progress lines for a running pipeline: rates since the last line, lag, checkpoint. */
import type { Pipeline, PipelineStats } from '../core/pipeline.js';
import type { Logger } from '../core/log.js';
import { formatPosition } from '../core/position.js';
import type { SnapshotProgress } from '../core/ports.js';

export function summarize(stats: PipelineStats): Record<string, unknown> {
  return {
    changes: stats.changes,
    applied: stats.mutationsApplied,
    transactions: stats.transactions,
    queued: stats.queued,
    lagSeconds: Math.round(stats.lagMs / 100) / 10,
    checkpoint: stats.savedCheckpoint ? formatPosition(stats.savedCheckpoint.position) : null,
    read: stats.lastReadPosition ? formatPosition(stats.lastReadPosition) : null,
    ...(stats.checkpoint?.snapshot ? { snapshot: snapshotSummary(stats.checkpoint.snapshot) } : {}),
    ...(stats.parkedTables.length > 0 ? { quarantined: stats.parkedTables, parkedChanges: stats.parkedChanges } : {}),
  };
}

/** A snapshot in progress in one line: tables copied, rows copied of the estimate (as the checkpoint covers it). */
function snapshotSummary(p: SnapshotProgress): string {
  const done = p.tables.filter((t) => t.done).length;
  const rows = p.tables.reduce((n, t) => n + t.rows, 0);
  const estimate = p.tables.reduce((n, t) => n + Math.max(t.estimatedRows, t.rows), 0);
  return `${p.reason}: ${done}/${p.tables.length} tables, ${rows}/~${estimate} rows`;
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
