/**
 * The pipeline: source → router → partitioner → transport → lane scheduler → sink, with a watermark
 * fed by the sink's acknowledgements and a checkpoint writer that stores the watermark.
 *
 * Stopping: aborting `signal` stops reading; everything already routed is applied (drained), then a
 * final checkpoint is written. A fatal error (one retrying cannot fix) stops reading and applying at
 * once and leaves the stored checkpoint where it was.
 */
import pLimit from 'p-limit';
import type { Mutation, SchemaChangeEvent, StatementEvent, TableRef } from './event.js';
import { BinlogSyncError } from './errors.js';
import { tableKey } from './event.js';
import { tablesInDdl } from './ddl.js';
import { describeDdlScope, type DdlScope } from './ddl-scope.js';
import type { Checkpoint, CheckpointStore, SinkConnector, SnapshotProgress, SourceConnector, SourceStreamEvent, StartFrom } from './ports.js';
import { ChunkWindows, type ChunkRows, type ChunkWindow } from './snapshot-window.js';
import type { BinlogPosition } from './position.js';
import { comparePositions, formatPosition } from './position.js';
import { Partitioner, type Routed } from './partitioner.js';
import { LaneScheduler } from './lanes.js';
import { OrderGroupProgress } from './order-groups.js';
import { applyRounds } from './partition-applier.js';
import { QuarantineSet, parkableTable, type QuarantineStore } from './quarantine.js';
import { Watermark, commitOptionsOf, sameCheckpoint } from './watermark.js';
import { appendMutations } from './router.js';
import { describeError } from './errors.js';
import type { Logger } from './log.js';
import type { SourceIdentity } from './source-identity.js';
import type { Transport } from '../transport/transport.js';
import { noMetrics, type Metrics } from '../observability/metrics.js';
import { TableOpTally } from '../observability/table-op-tally.js';
import type { RowTransforms } from './row-transforms.js';
import { fullGc } from './full-gc.js';

export interface PipelineOptions {
  readonly name: string;
  readonly source: SourceConnector;
  readonly sink: SinkConnector;
  readonly transport: Transport;
  /** Where checkpoints go; null for runs that must not move the stored checkpoint (replay). */
  readonly checkpoints: CheckpointStore | null;
  readonly from: StartFrom;
  /** The checkpoint the run starts from (the watermark begins there). */
  readonly initialCheckpoint: Checkpoint | null;
  /**
   * The server `from` is a place of: the source checks every binlog session against it, and every
   * checkpoint stored names it.
   */
  readonly sourceIdentity?: SourceIdentity;
  readonly until?: BinlogPosition;
  readonly lanes: number;
  /** Mutations per lane batch (one target transaction); a round takes up to lanes × batchSize. */
  readonly batchSize: number;
  /** Lane batches applied at once across all partitions (≤ the sink's connection pool). */
  readonly concurrency: number;
  readonly checkpointIntervalMs: number;
  readonly logger: Logger;
  /** Called for every lane batch once it is committed on the target (benchmarks measure lag here). */
  readonly onApplied?: (mutations: readonly Mutation[], appliedAtMs: number) => void;
  /** Whether a table is synced: DDL on synced tables is logged as a warning, other DDL at debug level. */
  readonly isSynced?: (table: TableRef) => boolean;
  /**
   * Parked tables (see quarantine.ts): `parked` at start keep going to the dead-letter store whatever
   * `parkRefused` says; `parkRefused` (`sink.onApplyError: quarantine`) parks a table the target
   * refuses, instead of stopping. Absent: nothing is parked (replay, tests).
   */
  readonly quarantine?: { readonly store: QuarantineStore; readonly parked: readonly string[]; readonly parkRefused: boolean };
  /**
   * Routes and transforms (row-transforms.ts), applied to every mutation just before it is partitioned:
   * after the snapshot windows saw it, so that they compare binlog changes and snapshot rows by the
   * same (source) identities.
   */
  readonly transforms?: Pick<RowTransforms, 'relevant' | 'apply'>;
  /** Counted per source batch and per lane batch (never per row); default: none. */
  readonly metrics?: Metrics;
  /** `schemaChanges: apply`: DDL on synced tables (`SchemaChangeEvent.synced`) runs on the target as a barrier. */
  readonly applySchemaChanges?: boolean;
  /**
   * A change heavier than this (a partition queue's byte budget) is handed on only when everything
   * before it is applied. Each partition's queue admits one item of any weight when empty, so without
   * this several rows with big BLOBs in several partitions would be in memory at once (seen: 1.2 GB
   * for three 64 MB rows). Default: no limit.
   */
  readonly oversizeChangeBytes?: number;
}

export interface PipelineStats {
  readonly changes: number;
  /** Statement-format changes run on the target (source.statementEvents: apply). */
  readonly statements: number;
  readonly mutationsApplied: number;
  readonly transactions: number;
  readonly schemaChanges: number;
  readonly batches: number;
  readonly queued: number;
  readonly inFlightTransactions: number;
  readonly lastReadPosition: BinlogPosition | null;
  readonly checkpoint: Checkpoint | null;
  readonly savedCheckpoint: Checkpoint | null;
  /** Source commit time of the newest applied-through transaction minus now, 0 when idle and caught up. */
  readonly lagMs: number;
  /** When the stored checkpoint was last known to be current (stored, or found unchanged), ms since the epoch; null before. */
  readonly checkpointCurrentAtMs: number | null;
  /** Tables parked in quarantine (`db.table`), and the changes this run wrote to the dead-letter table. */
  readonly parkedTables: readonly string[];
  readonly parkedChanges: number;
}

export interface PipelineResult {
  readonly stats: PipelineStats;
  readonly reason: 'stopped' | 'until-reached' | 'source-ended';
}

export class Pipeline {
  private readonly watermark: Watermark;
  private readonly partitioner: Partitioner;
  private readonly scheduler: LaneScheduler;
  private readonly stop = new AbortController();
  private fatal: unknown = null;
  private changes = 0;
  private statements = 0;
  private mutationsApplied = 0;
  /** Mutations handed to the transport and not yet acknowledged (barriers wait for 0). */
  private unapplied = 0;
  private drainWaiters: (() => void)[] = [];
  /** Per order group: the last change handed on (or, at start, applied); a re-read skips up to it. */
  private orderHandedOn = new OrderGroupProgress();
  private orderSkipped = 0;
  private transactions = 0;
  private schemaChanges = 0;
  private batches = 0;
  private lastReadPosition: BinlogPosition | null = null;
  private saved: Checkpoint | null;
  private saving: Promise<void> = Promise.resolve();
  /** Reused by the (single) dispatcher for each change's mutations. */
  private readonly scratch: Mutation[] = [];
  /** The last transaction end the dispatcher passed (snapshot chunks are placed at it). */
  private boundary: { position: BinlogPosition; timestampMs: number } | null;
  /** Dispatcher batches and chunk placements take turns on this chain. */
  private turn: Promise<void> = Promise.resolve();
  private readonly windows = new ChunkWindows();
  private readonly placements = new Map<number, { resolve: () => void; reject: (err: unknown) => void; progressAt: ((handedOn: number, skipped: number) => SnapshotProgress) | undefined }>();
  private snapshotRows = 0;
  private readonly metrics: Metrics;
  /** Per source batch and per lane batch: what the metrics are incremented by (only when they are on). */
  private readonly readTally = new TableOpTally();
  private readonly appliedTally = new TableOpTally();
  /** Per partition: mutations taken into lanes and not yet acknowledged. */
  private readonly laneDepth: number[];
  private checkpointCurrentAt: number | null = null;
  private readonly parked: QuarantineSet;
  private parkedChanges = 0;

  constructor(private readonly o: PipelineOptions) {
    this.watermark = new Watermark(o.initialCheckpoint);
    this.boundary = o.initialCheckpoint ? { position: o.initialCheckpoint.position, timestampMs: o.initialCheckpoint.sourceTimestampMs } : null;
    this.saved = o.initialCheckpoint;
    this.partitioner = new Partitioner(o.transport.partitions);
    this.scheduler = new LaneScheduler(o.lanes, o.batchSize);
    this.parked = new QuarantineSet(o.quarantine?.parked ?? []);
    this.metrics = o.metrics ?? noMetrics;
    for (const table of this.parked.list()) this.metrics.setQuarantined(table, true);
    this.laneDepth = new Array<number>(o.transport.partitions).fill(0);
  }

  /** Mutations queued in each partition (empty when the transport does not count them). */
  partitionDepths(): number[] {
    const t = this.o.transport;
    return t.depth ? Array.from({ length: t.partitions }, (_, p) => t.depth!(p)) : [];
  }

  /** Mutations taken into each partition's lanes and not yet committed (a copy). */
  laneDepths(): number[] {
    return [...this.laneDepth];
  }

  stats(): PipelineStats {
    const checkpoint = this.watermark.checkpoint;
    const busy = this.watermark.inFlight > 0 || this.o.transport.queued > 0;
    return {
      changes: this.changes,
      statements: this.statements,
      mutationsApplied: this.mutationsApplied,
      transactions: this.transactions,
      schemaChanges: this.schemaChanges,
      batches: this.batches,
      queued: this.o.transport.queued,
      inFlightTransactions: this.watermark.inFlight,
      lastReadPosition: this.lastReadPosition,
      checkpoint,
      savedCheckpoint: this.saved,
      lagMs: busy && checkpoint ? Math.max(0, Date.now() - checkpoint.sourceTimestampMs) : 0,
      checkpointCurrentAtMs: this.checkpointCurrentAt,
      parkedTables: this.parked.list(),
      parkedChanges: this.parkedChanges,
    };
  }

  async run(signal: AbortSignal): Promise<PipelineResult> {
    const onAbort = (): void => this.stop.abort();
    if (signal.aborted) this.stop.abort();
    else signal.addEventListener('abort', onAbort, { once: true });

    await this.refuseStartBeforeStatement();
    this.orderHandedOn = new OrderGroupProgress(await this.o.sink.orderApplied());
    this.warmUp();
    const limit = pLimit(this.o.concurrency);
    const consumers = Array.from({ length: this.o.transport.partitions }, (_, p) => this.consume(p, limit));
    const timer = this.o.checkpoints ? setInterval(() => this.saveCheckpoint(), this.o.checkpointIntervalMs) : null;
    let reason: PipelineResult['reason'] = 'source-ended';
    try {
      reason = await this.dispatch();
    } catch (err) {
      this.fail(err);
    } finally {
      this.o.transport.end();
      this.withdrawPlacements(new BinlogSyncError('SNAPSHOT', 'the pipeline stopped before this snapshot chunk had its place in the stream; a restart continues the snapshot from its checkpoint', { retriable: true }));
    }
    await Promise.all(consumers);
    if (timer) clearInterval(timer);
    signal.removeEventListener('abort', onAbort);
    await this.saving;
    if (this.fatal) throw this.fatal;
    await this.storeFinalCheckpoint();
    return { stats: this.stats(), reason: signal.aborted ? 'stopped' : reason };
  }

  /**
   * Table metadata and target connections, loaded while the source connects rather than when the first
   * change waits for them (the first change after start was 275 ms late at 5,000 changes/s, the p99 of
   * the first 0.35 s). In the background and best effort: whatever it did not load loads on first use.
   */
  private warmUp(): void {
    const started = performance.now();
    void Promise.allSettled([this.o.source.warmUp?.(), this.o.sink.warmUp?.()]).then((r) => {
      const failed = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      this.o.logger.debug({ ms: Math.round(performance.now() - started), ...(failed ? { err: describeError(failed.reason) } : {}) }, 'warm-up done');
    });
  }

  /**
   * The last save of a run: unlike the timer's saves (a failure is retried at the next tick), a
   * failure here is the run's error, so nobody is told the checkpoint was stored when it was not.
   */
  private async storeFinalCheckpoint(): Promise<void> {
    const store = this.o.checkpoints;
    const cp = this.watermark.checkpoint;
    if (!store || !cp || (this.saved && sameCheckpoint(cp, this.saved))) return;
    try {
      await store.save(this.o.name, this.stamped(cp));
      this.saved = cp;
    } catch (err) {
      const previous = this.saved ? formatPosition(this.saved.position) : 'none';
      throw new BinlogSyncError(
        'CHECKPOINT',
        `the final checkpoint ${formatPosition(cp.position)} could not be stored: ${describeError(err)}. Everything up to it is applied; the stored checkpoint is still ${previous}, so the next start re-applies (idempotently) what came after it.`,
        { cause: err, details: { checkpoint: formatPosition(cp.position), stored: previous } },
      );
    }
  }

  /** Resolves once every mutation handed on so far is applied (or the run failed). */
  private drained(): Promise<void> {
    if (this.unapplied === 0 || this.fatal) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private settleDrain(): void {
    if (this.unapplied !== 0 && !this.fatal) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Whether the run is ending (stopped or failed). */
  get stopping(): boolean {
    return this.stop.signal.aborted || this.fatal !== null;
  }

  /** Stops the run with `err` as a fatal error (e.g. another daemon took over the pipeline). */
  abort(err: unknown): void {
    this.fail(err);
  }

  /** Chunks still waiting for their place will not get one: their snapshotter stops with `err`. */
  private withdrawPlacements(err: unknown): void {
    for (const p of this.placements.values()) p.reject(err);
    this.placements.clear();
  }

  private fail(err: unknown): void {
    if (this.fatal) return;
    this.withdrawPlacements(err);
    this.fatal = err;
    this.o.logger.error({ code: err instanceof BinlogSyncError ? err.code : 'UNEXPECTED', err: describeError(err) }, 'pipeline stopping on an error that retrying cannot fix');
    this.stop.abort();
    this.o.transport.end();
    this.settleDrain();
  }

  /** Reads the source and routes its changes to partitions, waiting when a partition is full. */
  private async dispatch(): Promise<PipelineResult['reason']> {
    const { source, until } = this.o;
    const resolvedXa = this.o.initialCheckpoint?.resolvedXa;
    const identity = this.o.sourceIdentity;
    if (identity) this.o.sink.readingFrom?.(identity);
    const read = { from: this.o.from, signal: this.stop.signal, ...(until ? { until } : {}), ...(resolvedXa ? { resolvedXa } : {}), ...(identity ? { source: identity } : {}) };
    const batches = source.read(read)[Symbol.asyncIterator]();
    try {
      // Not `for await`: its loop variable would keep the last batch (maybe a 64 MB row) alive while
      // the source reads the next one.
      for (;;) {
        let next: IteratorResult<readonly SourceStreamEvent[]> | null = await batches.next();
        if (next.done) break;
        let batch: readonly SourceStreamEvent[] | null = next.value;
        next = null;
        // One batch at a time, and never beside a snapshot chunk being placed (see place()).
        const outcome = await this.exclusive(() => this.dispatchBatch(batch!));
        batch = null;
        if (this.readTally.size > 0) {
          this.metrics.changesRead(this.readTally);
          this.readTally.clear();
        }
        if (outcome === 'stopped') return 'stopped';
      }
    } finally {
      await batches.return?.(undefined);
    }
    if (this.stop.signal.aborted) return 'stopped';
    return until && this.lastReadPosition && comparePositions(this.lastReadPosition, until) >= 0 ? 'until-reached' : 'source-ended';
  }

  /** Runs `fn` when no other exclusive work runs: the dispatcher's batches and chunk placements take turns. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn);
    this.turn = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async dispatchBatch(batch: readonly SourceStreamEvent[]): Promise<'stopped' | null> {
    const { transport } = this.o;
    for (const ev of batch) {
      if (this.fatal) return 'stopped';
      switch (ev.kind) {
        case 'change': {
          this.changes++;
          if (this.metrics.enabled) this.readTally.add(ev.table, ev.op);
          // A chunk whose place in the stream is before this transaction goes first.
          if (this.windows.watching) {
            const due = this.windows.nextDue;
            if (due && comparePositions(ev.txStart, due) >= 0 && (await this.placeDue(ev.txStart)) === 'stopped') return 'stopped';
          }
          // Outside the row filter before and after: nothing for the target (the transaction still commits).
          if (this.o.transforms && !this.o.transforms.relevant(ev)) break;
          const ms = this.scratch;
          ms.length = 0;
          appendMutations(ev, ms);
          for (const m of ms) {
            if (this.orderHandedOn.covers(m)) {
              this.orderSkipped++;
              continue;
            }
            if (this.windows.watching) this.windows.observe(m);
            // A change heavier than a partition's queue (a big BLOB) goes alone: after everything before
            // it is applied, and nothing after it is taken from the source until it is applied, so one
            // such value at a time is in memory beyond the source's read-ahead.
            const oversize = m.bytes > (this.o.oversizeChangeBytes ?? Infinity);
            if (oversize) {
              await this.drained();
              if (this.fatal) return 'stopped';
              // The previous big value's buffers (its event, its packets) are freed before this one is
              // handed on, instead of adding up: V8 alone lets them linger for several more.
              fullGc();
            }
            const routed = this.partitioner.route(this.o.transforms ? this.o.transforms.apply(m) : m);
            this.watermark.track(m.txSeq);
            this.unapplied++;
            while (!transport.tryPublish(routed.partition, routed)) {
              await transport.waitForSpace(routed.partition);
              if (this.fatal) return 'stopped';
            }
            if (oversize) {
              await this.drained();
              if (this.fatal) return 'stopped';
              fullGc(); // its value and statement, before the source's next event is decoded
            }
          }
          ms.length = 0; // handed on: the scratch array does not keep them alive
          break;
        }
        case 'commit':
          this.transactions++;
          this.passed(ev.position, ev.timestampMs);
          this.watermark.commit(ev.txSeq, ev.position, ev.timestampMs, commitOptionsOf(ev));
          if (this.windows.watching && (await this.placeDue(ev.position)) === 'stopped') return 'stopped';
          break;
        case 'statement':
          this.passed(ev.position, ev.timestampMs);
          await this.applyStatement(ev);
          if (this.fatal) return 'stopped';
          if (this.windows.watching && (await this.placeDue(ev.position)) === 'stopped') return 'stopped';
          break;
        case 'halt':
          // Everything before the event is applied and checkpointed; then the run stops with its error.
          await this.drained();
          if (this.fatal) return 'stopped';
          this.saveCheckpoint();
          await this.saving;
          throw ev.error;
        case 'schema-change':
          this.schemaChanges++;
          this.passed(ev.position, ev.timestampMs);
          if (ev.synced && this.o.applySchemaChanges) {
            await this.applySchemaChange(ev, ev.synced);
            if (this.fatal) return 'stopped';
          } else {
            this.reportDdl(ev);
            this.watermark.commit(ev.txSeq, ev.position, ev.timestampMs);
          }
          if (this.windows.watching && (await this.placeDue(ev.position)) === 'stopped') return 'stopped';
          break;
        case 'abandon':
          this.watermark.abandon(ev.txSeq);
          break;
        case 'position':
          // Between transactions (e.g. after a rotation): where a chunk read now may be placed.
          this.boundary = { position: ev.position, timestampMs: this.boundary?.timestampMs ?? Date.now() };
          this.passQuietPosition(ev.position);
          if (this.windows.watching && (await this.placeDue(ev.position)) === 'stopped') return 'stopped';
          break;
      }
    }
    return null;
  }

  /**
   * A position between transactions (after a rotation's format and GTID list events, or a heartbeat
   * on a quiet source) becomes the checkpoint when nothing is in flight: otherwise a source that only
   * rotates, or is quiet after a rotation, would leave the checkpoint in the previous file, and its
   * distance to the head would read as lag (and that file could be purged under it). The source time
   * stays the last transaction's: nothing newer was applied.
   */
  private passQuietPosition(position: BinlogPosition): void {
    if (this.unapplied !== 0 || this.watermark.inFlight !== 0 || this.watermark.heldCount !== 0) return;
    const low = this.watermark.checkpoint;
    if (low && comparePositions(position, low.position) <= 0) return;
    this.watermark.passBarrier(position, low?.sourceTimestampMs ?? Date.now());
  }

  /** The dispatcher passed the end of a transaction (or statement, or DDL) at `position`. */
  private passed(position: BinlogPosition, timestampMs: number): void {
    this.lastReadPosition = position;
    this.boundary = { position, timestampMs };
  }

  /**
   * Where snapshot chunks enter the stream: a chunk read in a snapshot at binlog position `at` is
   * handed on once the dispatcher has routed everything up to `at`, as the pipeline's own transaction
   * (see snapshot-window.ts). The snapshotter opens a window before it takes the snapshot.
   */
  openChunkWindow(table: TableRef): ChunkWindow {
    return this.windows.openWindow(table);
  }

  /**
   * Completes a window (its `at` set) with the chunk it read; resolves once its rows are handed on
   * (queued for the lanes; they are applied, and the checkpoint moves past them, like any
   * transaction's). `progressAt` is called at that moment: what it returns rides with the chunk into
   * the checkpoint.
   */
  placeChunk(w: ChunkWindow, rows: ChunkRows, progressAt?: (handedOn: number, skipped: number) => SnapshotProgress): Promise<void> {
    w.complete(rows);
    return new Promise<void>((resolve, reject) => {
      if (this.fatal) {
        reject(this.fatal);
        return;
      }
      this.placements.set(w.id, { resolve, reject, progressAt });
      // At once when the stream is there already (it usually is), else when the dispatcher gets there.
      const b = this.boundary;
      if (b && comparePositions(w.at!, b.position) <= 0) {
        void this.exclusive(() => this.placeDue(this.boundary!.position)).catch((err: unknown) => this.fail(err));
      }
    });
  }

  /** Resolves once every row of a chunk placed by `placeChunk` is applied on the target. */
  async chunkApplied(w: ChunkWindow): Promise<void> {
    while (!this.watermark.isDone(w.seq)) {
      if (this.fatal) throw this.fatal;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Drops a window whose chunk will not come (its read failed). */
  closeChunkWindow(w: ChunkWindow): void {
    this.windows.close(w);
    this.placements.get(w.id)?.reject(new BinlogSyncError('SNAPSHOT', `snapshot chunk of ${tableKey(w.table)} was withdrawn`));
    this.placements.delete(w.id);
  }

  /** Hands on every complete chunk whose `high` is at or before `passed` (the dispatcher's turn is held). */
  private async placeDue(passed: BinlogPosition): Promise<'stopped' | null> {
    const { transport } = this.o;
    // Use the latest boundary passed: the chunk's transaction ends where the stream is now.
    const at = this.boundary ?? { position: passed, timestampMs: Date.now() };
    for (const w of this.windows.due(passed)) {
      const placement = this.placements.get(w.id);
      this.windows.close(w);
      this.placements.delete(w.id);
      const { mutations, skipped } = w.take();
      for (const m of mutations) {
        const routed = this.partitioner.route(this.o.transforms ? this.o.transforms.apply(m) : m);
        this.watermark.track(m.txSeq);
        this.unapplied++;
        while (!transport.tryPublish(routed.partition, routed)) {
          await transport.waitForSpace(routed.partition);
          if (this.fatal) {
            placement?.reject(this.fatal);
            return 'stopped';
          }
        }
      }
      const progress = placement?.progressAt?.(mutations.length, skipped);
      this.watermark.commit(w.seq, at.position, at.timestampMs, progress ? { snapshot: progress } : {});
      this.snapshotRows += mutations.length;
      placement?.resolve();
    }
    return null;
  }

  /**
   * A statement-format change: a barrier. Everything before it is applied first; then it runs once on
   * the target, in one transaction with the checkpoint just after it (unless a prepared XA
   * transaction holds the checkpoint further back), so that a restart never re-applies row changes
   * from before a statement that has run: they would undo what it did.
   */
  private async applyStatement(ev: StatementEvent): Promise<void> {
    const parked = ev.tables.map(tableKey).filter((t) => this.parked.has(t));
    if (parked.length > 0) {
      throw new BinlogSyncError(
        'TARGET_APPLY',
        `the statement-format change at ${formatPosition(ev.position)} writes ${parked.join(', ')}, which is parked in quarantine: it cannot run before the parked changes are applied. ` +
          'Stop the daemon, fix the cause and run `binlog-sync quarantine retry TABLE`, then start again.',
        { details: { position: formatPosition(ev.position), tables: parked } },
      );
    }
    await this.drained();
    await this.saving; // no older checkpoint save may land after the one stored with the statement
    if (this.fatal) return;
    const after: Checkpoint = { position: ev.position, sourceTimestampMs: ev.timestampMs };
    const withCheckpoint = this.o.checkpoints !== null && this.watermark.heldCount === 0;
    if (withCheckpoint) await this.storeBeforeBarrier();
    const outcome = await this.o.sink.applyStatement(ev, withCheckpoint ? { pipeline: this.o.name, checkpoint: this.stamped(after) } : null);
    if (outcome === 'applied') {
      this.statements++;
      if (this.watermark.passBarrier(ev.position, ev.timestampMs) && withCheckpoint) this.saved = after;
    } else if (this.changes > 0) {
      throw new BinlogSyncError(
        'TARGET_APPLY',
        `the statement-format change at ${formatPosition(ev.position)} ran on the target before, and this run re-applied row changes from before it (it started at ${this.startDescription()}), which may have undone what the statement did. ` +
          'Resume from the stored checkpoint rather than an older position, or re-copy the tables it writes (' + ev.tables.map(tableKey).join(', ') + ').',
        { details: { position: formatPosition(ev.position) } },
      );
    }
    this.o.logger.info(
      { position: formatPosition(ev.position), tables: ev.tables.map(tableKey), statement: ev.sql.slice(0, 200), outcome },
      outcome === 'applied' ? 'statement-format change applied on the target' : 'statement-format change was applied before (skipped)',
    );
  }

  /**
   * DDL under `schemaChanges: apply`: a barrier, like a statement. Everything before it is applied
   * first (rows of the old shape, and changes routed by the old keys); nothing after it is handed on
   * until it ran, because the dispatcher waits here; the sink records it together with the checkpoint
   * just after it (unless an XA hold pins the checkpoint further back). Rows after it were decoded and
   * keyed by the new definition: the source refreshed its schema cache at the DDL, in stream order.
   */
  private async applySchemaChange(ev: SchemaChangeEvent, synced: DdlScope): Promise<void> {
    await this.drained();
    await this.saving;
    if (this.fatal) return;
    const withCheckpoint = this.o.checkpoints !== null && this.watermark.heldCount === 0;
    // Everything before the DDL is applied: store that first, so that a crash around the DDL re-reads
    // the DDL alone and no row of the old shape is applied again over the new one.
    if (withCheckpoint) await this.storeBeforeBarrier();
    const before = this.watermark.checkpoint;
    // The checkpoint just after the DDL (with the latest snapshot progress, which `before` carries).
    const after: Checkpoint = { ...(before ?? {}), position: ev.position, sourceTimestampMs: ev.timestampMs };
    const outcome = await this.o.sink.applySchemaChange(ev, withCheckpoint ? { pipeline: this.o.name, checkpoint: this.stamped(after) } : null);
    this.watermark.commit(ev.txSeq, ev.position, ev.timestampMs);
    const now = this.watermark.checkpoint;
    if (withCheckpoint && now && sameCheckpoint(now, after)) this.saved = now;
    this.o.logger.info(
      { position: formatPosition(ev.position), changes: describeDdlScope(synced), statement: ev.sql.slice(0, 300), outcome },
      outcome === 'applied' ? 'DDL applied on the target' : 'DDL was applied on the target before (skipped)',
    );
  }

  /**
   * A statement-format change that ran on the target cannot be undone by row images: starting before
   * it would re-apply older row changes over its effects and then skip it. (A checkpoint stored with
   * the statement is never before it; only an explicit older start is.) The statement's position is
   * its event's end: starting exactly there is after it, which is where a kill -9 just after the
   * statement's barrier leaves the checkpoint.
   */
  private async refuseStartBeforeStatement(): Promise<void> {
    if (this.o.from.kind !== 'position') return;
    const last = await this.o.sink.lastStatement();
    if (!last || comparePositions(last, this.o.from.position) <= 0) return;
    throw new BinlogSyncError(
      'TARGET_APPLY',
      `cannot start at ${formatPosition(this.o.from.position)}: the target already ran a statement-format change at ${formatPosition(last)} (source.statementEvents: apply), and re-applying the row changes before it would undo what it did. ` +
        'Start at or after that position, or re-copy the tables to the target and then rewind with `binlog-sync run --reset-to FILE:POS --yes`, which declares the target to hold exactly the data up to that position.',
      { details: { start: formatPosition(this.o.from.position), statement: formatPosition(last) } },
    );
  }

  private startDescription(): string {
    return this.o.from.kind === 'gtid' ? `GTID ${this.o.from.gtid}` : formatPosition(this.o.from.position);
  }

  private reportDdl(ev: SchemaChangeEvent): void {
    const synced = tablesInDdl(ev.sql, ev.defaultSchema).filter((t) => this.o.isSynced?.(t) ?? true);
    const fields = { sql: ev.sql.slice(0, 300), position: formatPosition(ev.position) };
    if (synced.length === 0) this.o.logger.debug(fields, 'DDL on the source (no synced table)');
    else {
      this.o.logger.warn(
        { ...fields, tables: synced.map(tableKey) },
        'DDL on a synced table not applied (schemaChanges: ignore): make the same change on the target before rows of the new shape arrive, or set schemaChanges: apply',
      );
    }
  }

  /** Applies one partition: rounds of concurrent lane batches, acknowledging each batch once committed. */
  private async consume(partition: number, limit: ReturnType<typeof pLimit>): Promise<void> {
    const { transport } = this.o;
    for (;;) {
      if (this.fatal) return;
      // Dropped after applying (below): a suspended async function keeps its variables, and the last
      // batch (maybe a 64 MB row) would stay alive while the next take waits.
      let items: readonly Routed[] | null = await transport.take(partition, this.scheduler.roundCapacity);
      if (items.length === 0 || this.fatal) return;
      this.laneDepth[partition]! += items.length;
      try {
        await applyRounds(items, this.scheduler, limit, {
          applyBatch: async (b) => {
            if (this.fatal) throw this.fatal;
            const started = this.metrics.enabled ? performance.now() : 0;
            await this.applyOrPark(b.mutations);
            this.batches++;
            this.mutationsApplied += b.mutations.length;
            if (this.metrics.enabled) this.countApplied(b.mutations, started);
            b.acks.forEach((txSeq, n) => this.watermark.ack(txSeq, n));
            this.laneDepth[partition]! -= b.acks.total;
            this.unapplied -= b.acks.total;
            if (this.unapplied === 0) this.settleDrain();
            this.o.onApplied?.(b.mutations, Date.now());
          },
          continueAfterRound: () => !this.fatal,
        });
      } catch (err) {
        this.fail(err);
      }
      items = null;
      if (this.fatal) return;
    }
  }

  private countApplied(mutations: readonly Mutation[], startedMs: number): void {
    const tally = this.appliedTally;
    for (const m of mutations) tally.add(m.table, m.op);
    this.metrics.batchApplied(tally, mutations.length, (performance.now() - startedMs) / 1000);
    tally.clear();
  }

  /**
   * Applies a lane batch. With quarantine, the changes of parked tables go to the dead-letter table
   * instead; a table whose changes the target refuses is parked (with this batch's changes of it) and
   * the rest of the batch is applied again. Either way the batch is acknowledged as a whole after.
   */
  private async applyOrPark(mutations: readonly Mutation[]): Promise<void> {
    const q = this.o.quarantine;
    if (!q) return this.o.sink.applyBatch(mutations);
    const { apply, park } = this.parked.split(mutations);
    for (const [table, ms] of park) {
      await q.store.park(this.o.name, table, ms, null);
      this.parkedChanges += ms.length;
    }
    let rest = apply;
    while (rest.length > 0) {
      try {
        await this.o.sink.applyBatch(rest);
        return;
      } catch (err) {
        const table = q.parkRefused ? parkableTable(err, rest) : null;
        if (!table) throw err;
        const own = rest.filter((m) => tableKey(m.table) === table);
        const error = err instanceof Error ? err.message : String(err);
        await q.store.park(this.o.name, table, own, { table, error, position: own[0]!.txStart });
        this.parkedChanges += own.length;
        if (!this.parked.has(table)) {
          this.parked.add(table);
          this.metrics.setQuarantined(table, true);
          this.o.logger.error(
            { table, code: (err as BinlogSyncError).code, err: error, position: formatPosition(own[0]!.txStart) },
            `QUARANTINED ${table}: the target refuses its changes, so they go to _binlog_sync.quarantine from now on, in order, while the other tables keep syncing. Fix the cause, stop the daemon and run \`binlog-sync quarantine retry ${table}\``,
          );
        }
        rest = rest.filter((m) => tableKey(m.table) !== table);
      }
    }
  }

  /** The checkpoint as stored: naming the server its position is in. */
  private stamped(cp: Checkpoint): Checkpoint {
    return this.o.sourceIdentity ? { ...cp, source: this.o.sourceIdentity } : cp;
  }

  /**
   * Before a barrier (a DDL or a statement-format change) runs with its own checkpoint: stores the
   * checkpoint of everything before it, so the timer has nothing newer to save while the barrier runs.
   * Otherwise a timer save of that older position, started while the barrier's transaction commits,
   * could land after it and move the stored checkpoint back before the barrier (a restart there refuses
   * a statement that ran after it; found by the fuzzer). Nothing moves the watermark meanwhile: the
   * dispatcher waits for the barrier.
   */
  private async storeBeforeBarrier(): Promise<void> {
    const store = this.o.checkpoints;
    const before = this.watermark.checkpoint;
    if (!store || !before || (this.saved && sameCheckpoint(before, this.saved))) return;
    await store.save(this.o.name, this.stamped(before));
    this.saved = before;
    // A timer save chained while that ran (of this same position) ends before the barrier starts.
    await this.saving;
  }

  /** Stores the watermark if it moved; one save at a time; a retriable failure is retried at the next tick. */
  private saveCheckpoint(): void {
    const store = this.o.checkpoints;
    if (!store || this.fatal) return;
    this.saving = this.saving.then(async () => {
      const cp = this.watermark.checkpoint;
      if (!cp || this.fatal) return;
      if (this.saved && sameCheckpoint(cp, this.saved)) {
        this.checkpointCurrentAt = Date.now();
        return;
      }
      try {
        await store.save(this.o.name, this.stamped(cp));
        this.saved = cp;
        this.checkpointCurrentAt = Date.now();
      } catch (err) {
        // The store retries what can succeed on retry itself; what reaches here (the pipeline lock was
        // lost, a privilege is missing) would fail again: stop rather than run on without checkpoints.
        if (err instanceof BinlogSyncError && err.retriable) this.o.logger.warn({ code: err.code, err: describeError(err), retryInMs: this.o.checkpointIntervalMs }, 'could not store the checkpoint; will retry');
        else this.fail(err);
      }
    });
  }
}
