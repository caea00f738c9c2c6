/**
 * Watches a running pipeline for `/readyz` and the sampled gauges: a one-second tick keeps the
 * apply-progress watch current (no I/O), and a slower probe asks the source for its binlog head and
 * files (for lag in bytes), with a timeout, so that neither a scrape nor /readyz ever waits for a
 * frozen server.
 */
import type { PipelineStats } from '../core/pipeline.js';
import type { BinlogPosition } from '../core/position.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { binlogBytesBetween, type BinlogFile } from './binlog-files.js';
import type { RuntimeSample } from './metrics.js';
import { ApplyProgressWatch, judgeReadiness, type Readiness } from './readiness.js';

/** What the monitor reads of the pipeline (`Pipeline`). */
export interface MonitoredPipeline {
  stats(): PipelineStats;
  partitionDepths(): number[];
  laneDepths(): number[];
  readonly stopping: boolean;
}

/** What the binlog reader says about its connection (`MySqlSource.stats()`). */
export interface SourceConnectionStats {
  readonly connected: boolean;
  readonly lastDataAt: number | null;
  readonly paused: boolean;
  readonly reconnects: number;
}

/** The source's binlog as one query round tells it (`MySqlSource.binlogInventory()`). */
export interface BinlogInventory {
  readonly head: BinlogPosition;
  readonly files: readonly BinlogFile[];
  /** binlog_expire_logs_seconds, or expire_logs_days in seconds; null when binlogs never expire. */
  readonly expireSeconds: number | null;
}

export interface MonitoredSource {
  stats(): SourceConnectionStats | null;
  binlogInventory(): Promise<BinlogInventory>;
}

export interface HealthMonitorOptions {
  readonly pipeline: MonitoredPipeline;
  readonly source: MonitoredSource;
  readonly silentAfterMs: number;
  readonly logger: Logger;
  /** How often the source is asked for its binlog head and files (default 5 s). */
  readonly probeEveryMs?: number;
  /** Called with every inventory the probe gets, with the pipeline's checkpoint then (the retention guard). */
  readonly onInventory?: (inventory: BinlogInventory, stats: PipelineStats) => void;
}

export class HealthMonitor {
  private readonly progress = new ApplyProgressWatch();
  private msWithoutProgress = 0;
  private inventory: BinlogInventory | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private probing = false;
  private stopped = false;

  constructor(private readonly o: HealthMonitorOptions) {}

  start(): this {
    this.tick();
    const tick = setInterval(() => this.tick(), 1000);
    const probe = setInterval(() => void this.probe(), this.o.probeEveryMs ?? 5000);
    tick.unref();
    probe.unref();
    this.timers.push(tick, probe);
    void this.probe();
    return this;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
  }

  private tick(): void {
    const s = this.o.pipeline.stats();
    this.msWithoutProgress = this.progress.observe(Date.now(), s.mutationsApplied, this.pending(s));
  }

  private pending(s: PipelineStats): number {
    let inLanes = 0;
    for (const n of this.o.pipeline.laneDepths()) inLanes += n;
    return s.queued + inLanes;
  }

  private async probe(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    try {
      this.inventory = await this.o.source.binlogInventory();
      this.o.onInventory?.(this.inventory, this.o.pipeline.stats());
    } catch (err) {
      // Lag in bytes stays at its last value; readiness and the reconnect logic judge the connection.
      this.o.logger.debug({ err: describeError(err) }, 'metrics: the source did not say where its binlog is');
    } finally {
      this.probing = false;
    }
  }

  readiness(): Readiness {
    const src = this.o.source.stats();
    const s = this.o.pipeline.stats();
    return judgeReadiness({
      running: !this.stopped && !this.o.pipeline.stopping,
      sourceConnected: src?.connected ?? false,
      sourcePaused: src?.paused ?? false,
      msSinceSourceData: src?.lastDataAt != null ? Date.now() - src.lastDataAt : null,
      silentAfterMs: this.o.silentAfterMs,
      pendingMutations: this.pending(s),
      msWithoutApplyProgress: this.msWithoutProgress,
    });
  }

  sample(): RuntimeSample {
    const s = this.o.pipeline.stats();
    const src = this.o.source.stats();
    const inv = this.inventory;
    const cp = s.checkpoint;
    return {
      partitionQueueDepth: this.o.pipeline.partitionDepths(),
      laneDepth: this.o.pipeline.laneDepths(),
      lagSeconds: s.lagMs / 1000,
      lagBytes: inv && cp ? binlogBytesBetween(inv.files, cp.position, inv.head) : null,
      checkpointAgeSeconds: s.checkpointCurrentAtMs === null ? null : (Date.now() - s.checkpointCurrentAtMs) / 1000,
      reconnects: src?.reconnects ?? 0,
      sourceConnected: src?.connected ?? false,
      ready: this.readiness().ready,
    };
  }
}
