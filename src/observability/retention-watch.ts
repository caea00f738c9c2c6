/**
 * Runs the retention guard on every binlog inventory the health monitor gets: measures how fast the
 * checkpoint moves through the binlog, sets the retention metrics, and logs a warning when the
 * checkpoint becomes at risk (again every 10 minutes while it stays so) and when it is safe again.
 */
import type { Logger } from '../core/log.js';
import type { PipelineStats } from '../core/pipeline.js';
import type { BinlogPosition } from '../core/position.js';
import { binlogBytesBetween } from './binlog-files.js';
import type { BinlogInventory } from './health-monitor.js';
import type { Metrics } from './metrics.js';
import { judgeRetention, riskLevel, type RetentionVerdict } from './retention-guard.js';

const REPEAT_WARNING_MS = 10 * 60_000;

export class RetentionWatch {
  private last: { position: BinlogPosition; atMs: number } | null = null;
  private warnedAt: number | null = null;
  private verdict: RetentionVerdict | null = null;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** The latest verdict (null before the first inventory). */
  get current(): RetentionVerdict | null {
    return this.verdict;
  }

  observe(inv: BinlogInventory, stats: PipelineStats, nowMs = Date.now()): RetentionVerdict {
    const cp = stats.checkpoint;
    let bytesPerSecond: number | null = null;
    if (cp && this.last && nowMs > this.last.atMs) {
      const moved = binlogBytesBetween(inv.files, this.last.position, cp.position);
      if (moved !== null) bytesPerSecond = moved / ((nowMs - this.last.atMs) / 1000);
    }
    if (cp) this.last = { position: cp.position, atMs: nowMs };
    const v = judgeRetention({ nowMs, expireSeconds: inv.expireSeconds, files: inv.files, head: inv.head, checkpoint: cp, bytesPerSecond });
    this.verdict = v;
    this.metrics.retention({ headroomSeconds: v.headroomSeconds, risk: riskLevel(v.risk) });
    if (v.risk === 'at-risk' || v.risk === 'purged') {
      if (this.warnedAt === null || nowMs - this.warnedAt >= REPEAT_WARNING_MS) {
        this.logger.warn({ code: 'BINLOG_RETENTION', risk: v.risk, headroomSeconds: v.headroomSeconds, catchUpSeconds: v.catchUpSeconds }, `binlog retention: ${v.message}`);
        this.warnedAt = nowMs;
      }
    } else if (this.warnedAt !== null) {
      this.logger.info({ headroomSeconds: v.headroomSeconds }, `binlog retention: no longer at risk: ${v.message}`);
      this.warnedAt = null;
    }
    return v;
  }
}
