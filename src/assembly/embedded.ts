/**
 * The embedded pipeline as the pipeline file describes it: `run` and `demo` run it as the daemon
 * (preflight, pipeline lock, start resolution, run until the signal, final checkpoint); `replay`, the
 * bench and the tests build it with `createPipeline`.
 */
import { snapshotMode, startSetting, type PipelineConfig } from '../config/load.js';
import { schemaChangesPolicy } from '../config/schema.js';
import { BinlogSyncError, describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { Pipeline, type PipelineOptions, type PipelineResult } from '../core/pipeline.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../core/position.js';
import type { Checkpoint, SinkConnector, SnapshotProgress, SnapshotTableProgress, SnapshotTarget } from '../core/ports.js';
import { describeSource, sameSource } from '../core/source-identity.js';
import { RequestRunner } from './requests.js';
import { Snapshotter, planSnapshot } from '../core/snapshotter.js';
import { createMissingTargetTables } from '../preflight/create-tables.js';
import { resolveStart } from '../core/start-position.js';
import { EmbeddedTransport } from '../transport/embedded.js';
import { TableFilter } from '../core/table-filter.js';
import { assertPreflightPassed, runPreflight } from '../preflight/index.js';
import { openConnectors, type OpenConnectors } from './connectors.js';
import { reportProgress, summarize } from './progress.js';
import type { PipelineObserver } from '../observability/daemon.js';
import { governHeap } from './heap.js';
import { rowTransformsOf, routedSnapshotTarget, snapshotTargetOf } from './transforms.js';

export interface RunOptions {
  readonly config: PipelineConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly resetTo?: BinlogPosition | null;
  readonly progressEveryMs?: number;
  /** Called once the pipeline is running (the demo starts its workload here). */
  readonly onStarted?: (pipeline: Pipeline) => void;
  /** Called after every snapshot chunk placed in the stream (progress bars). */
  readonly onSnapshotProgress?: (progress: SnapshotProgress, table: SnapshotTableProgress) => void;
  /** Metrics and readiness (metrics.port): the pipeline counts into it, and it watches the pipeline while it runs. */
  readonly observer?: PipelineObserver;
}

/** A pipeline as the pipeline file describes it, over opened connectors; `run` specifics in `extra`. */
export function createPipeline(
  config: PipelineConfig,
  c: Pick<OpenConnectors, 'source' | 'sink'>,
  logger: Logger,
  extra: Pick<PipelineOptions, 'from' | 'initialCheckpoint' | 'checkpoints'> & Partial<PipelineOptions>,
): Pipeline {
  const filter = new TableFilter(config.source.include, config.source.exclude);
  const transforms = rowTransformsOf(config);
  governHeap(config, logger);
  return new Pipeline({
    name: config.name,
    source: c.source,
    sink: c.sink,
    transport: new EmbeddedTransport(config.transport.partitions, config.transport.queueCapacity, config.transport.queueBytes),
    oversizeChangeBytes: config.transport.queueBytes,
    lanes: config.sink.lanes,
    batchSize: config.sink.batchSize,
    concurrency: config.target.poolSize,
    checkpointIntervalMs: config.checkpoint.intervalMs,
    isSynced: (t) => filter.matches(t.schema, t.name),
    applySchemaChanges: schemaChangesPolicy(config) === 'apply',
    ...(transforms.active ? { transforms } : {}),
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
    if (config.target.createTables) await createMissingTargetTables(config, logger);
    let stored = await c.checkpoints.load(config.name);
    // The stored position is a place of this server's binlog only if the checkpoint names it (or names
    // none, as older ones). An unreachable source is for preflight to report.
    const current = await c.source.identity().catch(() => null);
    const here = (cp: Checkpoint | null): BinlogPosition | null => (cp && (!cp.source || !current || sameSource(cp.source, current)) ? cp.position : null);
    const storedHere = here(stored);
    if (storedHere && !o.resetTo && snapshotMode(config) === 'when_needed' && (await isPurged(c.source, storedHere))) {
      // The binlog since the checkpoint is gone: copy everything again, streaming from now on.
      const plan = await planSnapshot(c.source, 'when_needed');
      const head = await startHere(c.source);
      await c.checkpoints.reset(config.name, { ...head, snapshot: plan });
      logger.warn(
        { purged: formatPosition(storedHere), restartAt: formatPosition(head.position), tables: plan.tables.length },
        `the checkpoint ${formatPosition(storedHere)} is no longer in the source's binlog (purged): copying the ${plan.tables.length} tables again (source.snapshot: when_needed)`,
      );
      stored = await c.checkpoints.load(config.name);
    }
    const quarantine = await openQuarantine(config, c.quarantine, logger);
    const report = await runPreflight(config, {
      parkedTables: quarantine.parked,
      ...(o.resetTo ? { checkpoint: o.resetTo } : here(stored) ? { checkpoint: here(stored)! } : {}),
    });
    for (const check of report.checks) if (check.status === 'warn') logger.warn({ check: check.id }, `${check.title}: ${check.detail}`);
    assertPreflightPassed(report);
    if (o.resetTo) {
      // The reset declares a place of this server's binlog: the checkpoint names the server.
      const source = await c.source.identity();
      const gtidPos = await c.source.gtidPositionAt(o.resetTo);
      const position = { file: o.resetTo.file, pos: o.resetTo.pos, ...(gtidPos !== null ? { gtidPos } : {}) };
      await c.checkpoints.reset(config.name, { position, sourceTimestampMs: Date.now(), source });
      logger.warn(
        { position: formatPosition(o.resetTo), source: describeSource(source), previous: stored ? formatPosition(stored.position) : null, previousSource: stored?.source ? describeSource(stored.source) : null },
        'checkpoint rewound (--reset-to)',
      );
    } else if (!stored && snapshotMode(config) !== 'never') {
      // No checkpoint yet: copy the tables while streaming from the source's head. The plan is stored
      // with the start, so a restart continues the copy instead of skipping it.
      const plan = await planSnapshot(c.source, 'initial');
      await c.checkpoints.save(config.name, { ...(await startHere(c.source)), snapshot: plan });
    }
    const resolve = (): ReturnType<typeof resolveStart> =>
      resolveStart(config.name, startSetting(config.source), c.source, c.checkpoints, {
        logger,
        endpoint: `${config.source.host}:${config.source.port}`,
        canMove: (cp) => appliedPastCheckpoint(c.sink, cp),
      });
    const start = await resolve().catch(async (err: unknown) => {
      // Another server that cannot continue the checkpoint: with when_needed, copy everything from it.
      if (!(err instanceof BinlogSyncError && err.code === 'SOURCE_CHANGED' && snapshotMode(config) === 'when_needed')) throw err;
      const plan = await planSnapshot(c.source, 'when_needed');
      await c.checkpoints.reset(config.name, { ...(await startHere(c.source)), snapshot: plan });
      logger.warn({ err: err.message, tables: plan.tables.length }, `the checkpoint cannot continue on this source server: copying the ${plan.tables.length} tables again from it (source.snapshot: when_needed)`);
      return resolve();
    });
    logger.info(
      { pipeline: config.name, from: start.from.kind === 'gtid' ? start.from.gtid : formatPosition(start.from.position), origin: start.origin, source: describeSource(start.source) },
      'starting',
    );
    pipeline = createPipeline(config, c, logger, {
      from: start.from,
      initialCheckpoint: start.checkpoint,
      checkpoints: c.checkpoints,
      sourceIdentity: start.source,
      quarantine,
      ...(o.observer ? { metrics: o.observer.metrics } : {}),
    });
    const running = pipeline;
    const stopProgress = reportProgress(pipeline, logger, o.progressEveryMs ?? 5000);
    const stopObserving = o.observer?.attach(pipeline, c.source);
    o.onStarted?.(pipeline);
    const t = config.target;
    const transforms = rowTransformsOf(config);
    const target = routedSnapshotTarget(c.source.keysOn({ host: t.host, port: t.port, user: t.user, password: t.password }, snapshotTargetOf(transforms)), transforms);
    const snapshot = (progress: SnapshotProgress): Promise<void> => runSnapshot(config, c, target, running, progress, logger, o);
    const resumed = start.checkpoint?.snapshot;
    const copying = resumed ? snapshot(resumed) : null;
    const serving = new AbortController();
    const requests = new RequestRunner({
      pipelineName: config.name,
      store: c.requests,
      pipeline: running,
      source: c.source,
      target,
      snapshot,
      resumed: copying,
      resumedReason: resumed?.reason ?? null,
      logger: logger.child({ component: 'requests' }),
      signal: serving.signal,
    }).run();
    try {
      const result = await running.run(o.signal);
      serving.abort();
      await Promise.all([copying, requests]);
      logger.info(summarize(result.stats), 'stopped cleanly; final checkpoint stored');
      return result;
    } finally {
      serving.abort();
      stopProgress();
      stopObserving?.();
    }
  } finally {
    await c.close();
  }
}

/**
 * The daemon's quarantine: tables parked by earlier runs stay parked (their later changes must not
 * overtake the parked ones), whatever `sink.onApplyError` says now; it decides about new refusals.
 */
async function openQuarantine(config: PipelineConfig, store: OpenConnectors['quarantine'], logger: Logger): Promise<NonNullable<PipelineOptions['quarantine']>> {
  const parked = await store.parked(config.name);
  for (const p of parked) {
    logger.error(
      { table: p.table, events: p.events, since: formatPosition(p.position), error: p.error },
      `QUARANTINED ${p.table}: parked since ${formatPosition(p.position)} (${p.events} change(s) waiting); its changes keep going to the dead-letter table until \`binlog-sync quarantine retry ${p.table}\``,
    );
  }
  return { store, parked: parked.map((p) => p.table), parkRefused: config.sink.onApplyError === 'quarantine' };
}

/** The source's head as a checkpoint of this server (with its GTID position): where a snapshot's stream begins. */
async function startHere(source: OpenConnectors['source']): Promise<Checkpoint> {
  const [head, identity] = await Promise.all([source.head(), source.identity()]);
  const gtidPos = await source.gtidPositionAt(head);
  return { position: { file: head.file, pos: head.pos, ...(gtidPos !== null ? { gtidPos } : {}) }, sourceTimestampMs: Date.now(), source: identity };
}

/** Runs a snapshot beside the pipeline; its failure stops the pipeline (a restart continues the copy). */
function runSnapshot(
  config: PipelineConfig,
  c: Pick<OpenConnectors, 'source'>,
  target: SnapshotTarget,
  pipeline: Pipeline,
  progress: SnapshotProgress,
  logger: Logger,
  o: RunOptions,
): Promise<void> {
  const stop = new AbortController();
  o.signal.addEventListener('abort', () => stop.abort(), { once: true });
  const snapshotter = new Snapshotter({
    source: c.source,
    target,
    placer: pipeline,
    progress,
    chunkSize: config.snapshot.chunkSize,
    parallelism: config.snapshot.parallelism,
    logger: logger.child({ component: 'snapshot' }),
    signal: stop.signal,
    ...(o.onSnapshotProgress ? { onProgress: o.onSnapshotProgress } : {}),
  });
  return snapshotter.run().then(
    () => undefined,
    (err: unknown) => {
      // Stopping the pipeline withdraws the chunks waiting for their place: not the snapshot's error.
      if (stop.signal.aborted || pipeline.stopping) return;
      pipeline.abort(err);
    },
  );
}

/** Whether `position` is gone from the source's binlog (before its oldest file). */
async function isPurged(source: { earliest(): Promise<BinlogPosition> }, position: BinlogPosition): Promise<boolean> {
  return comparePositions(position, await source.earliest()) < 0;
}

/**
 * Why the target cannot follow the checkpoint to another server, or null. The applied log names the
 * changes applied exactly once (foreign-key groups, statement-format changes) by positions of the old
 * server's binlog: those at or before the checkpoint are covered by it and forgotten by the move, but
 * one past it would be applied a second time there, as nothing can recognise it in the new binlog.
 */
async function appliedPastCheckpoint(sink: Pick<SinkConnector, 'orderApplied' | 'lastStatement'>, stored: Checkpoint): Promise<string | null> {
  const past: string[] = [];
  for (const [group, change] of await sink.orderApplied()) {
    if (comparePositions(change.txStart, stored.position) >= 0) past.push(`changes of the foreign-key group ${group} up to the transaction at ${formatPosition(change.txStart)}`);
  }
  const statement = await sink.lastStatement();
  if (statement && comparePositions(statement, stored.position) > 0) past.push(`the statement-format change at ${formatPosition(statement)}`);
  if (past.length === 0) return null;
  return (
    `the target holds ${past.join(' and ')}, applied exactly once past the checkpoint (it was stopped with kill -9, or a prepared XA transaction held the checkpoint back), ` +
    'and they cannot be recognised in the new server\'s binlog, so they would be applied twice'
  );
}
