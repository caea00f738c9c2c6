/**
 * What the daemon reports to Prometheus. The pipeline and the other features call the `Metrics`
 * interface; `noMetrics` does nothing (metrics.port unset), `PrometheusMetrics` keeps a prom-client
 * registry that the HTTP endpoint (`metrics-server.ts`) serves.
 *
 * Hot path: counters are incremented once per source batch and once per lane batch with the batch's
 * totals (`TableOpTally`), never per row, and callers skip the tallying when `enabled` is false.
 * Everything that is a state rather than an event (queue depths, lag, checkpoint age, connection) is
 * sampled when scraped (`setSampler`), so it costs nothing between scrapes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { tableKey } from '../core/event.js';
import type { TableOpTally } from './table-op-tally.js';

/** State read at each scrape (see `RuntimeSampler`). */
export interface RuntimeSample {
  /** Mutations waiting in each partition's queue. */
  readonly partitionQueueDepth: readonly number[];
  /** Mutations each partition has taken into its lanes and not yet committed. */
  readonly laneDepth: readonly number[];
  /** Source commit time of the oldest change not yet applied, as seconds behind now; 0 when caught up. */
  readonly lagSeconds: number;
  /** Binlog bytes between the checkpoint and the source's head; null when unknown (no probe yet, file purged). */
  readonly lagBytes: number | null;
  /** Seconds since the stored checkpoint was last known to be current (stored, or found unchanged). */
  readonly checkpointAgeSeconds: number | null;
  /** Binlog reconnects since the start (lost or silent connections). */
  readonly reconnects: number;
  readonly sourceConnected: boolean;
  readonly ready: boolean;
}

export type RuntimeSampler = () => RuntimeSample;

/** Binlog retention as the guard sees it (`retention-guard.ts`). */
export interface RetentionSample {
  /** Seconds until the checkpoint's binlog file may be purged at the earliest; null when binlogs never expire. */
  readonly headroomSeconds: number | null;
  /** 0 ok, 1 at risk (warn), 2 purged. */
  readonly risk: 0 | 1 | 2;
}

export interface Metrics {
  /** False for the no-op implementation: callers skip tallying then. */
  readonly enabled: boolean;
  /** Changes read from the source in one batch, per table and op (insert, update, delete). */
  changesRead(tally: TableOpTally): void;
  /** One lane batch committed on the target: its mutations per table and op, its size and how long it took. */
  batchApplied(tally: TableOpTally, size: number, seconds: number): void;
  /** A warning or error with a code (retried or fatal), counted by code. */
  problem(code: string): void;
  /** An attempt that failed and will be made again (target statements, checkpoint saves, binlog sessions). */
  retry(component: string): void;
  /** A table parked by the quarantine (true) or back in the stream (false). */
  setQuarantined(table: string, quarantined: boolean): void;
  retention(sample: RetentionSample): void;
}

/** For runs without metrics.port: every call returns at once. */
export const noMetrics: Metrics = Object.freeze({
  enabled: false,
  changesRead: () => undefined,
  batchApplied: () => undefined,
  problem: () => undefined,
  retry: () => undefined,
  setQuarantined: () => undefined,
  retention: () => undefined,
});

const PREFIX = 'binlog_sync_';

export class PrometheusMetrics implements Metrics {
  readonly enabled = true;
  readonly registry = new Registry();
  private sampler: RuntimeSampler | null = null;
  private reconnectsSeen = 0;
  private readonly quarantined = new Set<string>();

  private readonly read = this.counter('changes_read_total', 'Row changes read from the source binlog (synced tables), per table and op.', ['table', 'op']);
  private readonly applied = this.counter('mutations_applied_total', 'Mutations committed on the target, per table and op (upsert, delete, update).', ['table', 'op']);
  private readonly batchSize = new Histogram({
    name: `${PREFIX}lane_batch_size`,
    help: 'Mutations per lane batch (one target transaction).',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
    registers: [this.registry],
  });
  private readonly applySeconds = new Histogram({
    name: `${PREFIX}apply_duration_seconds`,
    help: 'Time to apply and commit one lane batch on the target, retries included.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly problems = this.counter('errors_total', 'Warnings and errors with a code (retried or fatal), per code.', ['code']);
  private readonly retries = this.counter('retries_total', 'Failed attempts that are made again, per component.', ['component']);
  private readonly reconnects = this.counter('source_reconnects_total', 'Binlog connections opened again after a lost or silent one.', []);
  private readonly partitionDepth = this.gauge('partition_queue_depth', 'Mutations queued in each partition.', ['partition']);
  private readonly laneDepth = this.gauge('lane_queue_depth', 'Mutations a partition has taken into its lanes and not yet committed.', ['partition']);
  private readonly lagSeconds = this.gauge('source_lag_seconds', 'Source commit time of the oldest change not yet applied, behind now; 0 when caught up.', []);
  private readonly lagBytes = this.gauge('source_lag_bytes', 'Binlog bytes between the checkpoint and the source head (NaN when unknown).', []);
  private readonly checkpointAge = this.gauge('checkpoint_age_seconds', 'Seconds since the stored checkpoint was last known to be current.', []);
  private readonly connected = this.gauge('source_connected', '1 while a binlog connection is open.', []);
  private readonly ready = this.gauge('ready', '1 when /readyz answers 200: connected and not stalled.', []);
  private readonly tableQuarantined = this.gauge('table_quarantined', '1 for each table parked by the quarantine (onApplyError: quarantine).', ['table']);
  private readonly quarantinedTables = this.gauge('quarantined_tables', 'Tables parked by the quarantine.', []);
  private readonly retentionHeadroom = this.gauge('binlog_retention_headroom_seconds', 'Seconds until the checkpoint\'s binlog file may be purged at the earliest (absent when binlogs never expire).', []);
  private readonly retentionRisk = this.gauge('binlog_retention_risk', '0 ok, 1 the checkpoint may be purged before the pipeline catches up, 2 purged.', []);

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.quarantinedTables.set(0);
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name: `${PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name: `${PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }

  /** Where the sampled state comes from (the daemon sets it once its pipeline exists). */
  setSampler(sampler: RuntimeSampler | null): void {
    this.sampler = sampler;
  }

  changesRead(tally: TableOpTally): void {
    for (const c of tally.counts()) this.read.inc({ table: tableKey(c.table), op: c.op }, c.count);
  }

  batchApplied(tally: TableOpTally, size: number, seconds: number): void {
    for (const c of tally.counts()) this.applied.inc({ table: tableKey(c.table), op: c.op }, c.count);
    this.batchSize.observe(size);
    this.applySeconds.observe(seconds);
  }

  problem(code: string): void {
    this.problems.inc({ code });
  }

  retry(component: string): void {
    this.retries.inc({ component });
  }

  setQuarantined(table: string, quarantined: boolean): void {
    if (quarantined) this.quarantined.add(table);
    else this.quarantined.delete(table);
    this.tableQuarantined.set({ table }, quarantined ? 1 : 0);
    this.quarantinedTables.set(this.quarantined.size);
  }

  retention(sample: RetentionSample): void {
    if (sample.headroomSeconds === null) this.retentionHeadroom.reset();
    else this.retentionHeadroom.set(sample.headroomSeconds);
    this.retentionRisk.set(sample.risk);
  }

  /** Samples the runtime state into the gauges, then renders every metric (the /metrics body). */
  async render(): Promise<string> {
    const s = this.sampler?.();
    if (s) this.applySample(s);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private applySample(s: RuntimeSample): void {
    this.partitionDepth.reset();
    s.partitionQueueDepth.forEach((n, p) => this.partitionDepth.set({ partition: String(p) }, n));
    this.laneDepth.reset();
    s.laneDepth.forEach((n, p) => this.laneDepth.set({ partition: String(p) }, n));
    this.lagSeconds.set(s.lagSeconds);
    this.lagBytes.set(s.lagBytes ?? Number.NaN);
    this.checkpointAge.set(s.checkpointAgeSeconds ?? Number.NaN);
    // The reader counts reconnects itself; the counter follows it (a new pipeline's count starts over).
    if (s.reconnects > this.reconnectsSeen) this.reconnects.inc(s.reconnects - this.reconnectsSeen);
    this.reconnectsSeen = s.reconnects;
    this.connected.set(s.sourceConnected ? 1 : 0);
    this.ready.set(s.ready ? 1 : 0);
  }
}
