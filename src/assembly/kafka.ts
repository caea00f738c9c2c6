/**
 * transport.kind: kafka. `run` is publisher and sink worker in one process; `source` only publishes
 * (binlog → topic), `sink` is one worker of the consumer group (topic → target); start as many sink
 * workers as you like, on any machine. Each process checks both servers (preflight) before it starts.
 *
 * Failures: a broker that is down at start or mid-run is waited for (kafkajs retries each request;
 * past that the publisher starts again from its last committed Kafka transaction, with backoff and a
 * log line per attempt). What retrying cannot fix (a fenced publisher, a message the sink cannot
 * apply, a target error) stops the process with exit code 1.
 */
import type { Producer } from 'kafkajs';
import { startSetting, type PipelineConfig } from '../config/load.js';
import { backoffDelay, sleep } from '../core/backoff.js';
import { BinlogSyncError, describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { formatPosition } from '../core/position.js';
import { resolveStart } from '../core/start-position.js';
import { describeSource } from '../core/source-identity.js';
import { assertPreflightPassed, runPreflight } from '../preflight/index.js';
import { governHeap } from './heap.js';
import {
  KafkaPositionStore,
  KafkaPublisher,
  KafkaSinkWorker,
  ensureTopic,
  topicMaxMessageBytes,
  fencedError,
  isFenced,
  openConnectors,
  openKafkaConnectors,
  publisherTransactionalId,
  type KafkaConnectors,
  type OpenConnectors,
} from './connectors.js';


export type KafkaRole = 'source' | 'sink' | 'both';

export interface KafkaModeOptions {
  readonly config: PipelineConfig;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly role: KafkaRole;
  readonly progressEveryMs?: number;
  /** Called each time the publisher starts reading the binlog: its topic and producer are set up (the bench times from here). */
  readonly onPublishing?: () => void;
}

const VERSION = 'binlog-sync 0.1.0';
const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;
const DEFAULT_LINGER_MS = 50;
const RESTART_BACKOFF = { initialMs: 500, maxMs: 15_000, factor: 2 };

export function sinkGroup(config: PipelineConfig): string {
  return config.transport.groupId ?? `binlog-sync.${config.name}`;
}

/** A kafkajs error (a broker down or busy), itself or as the cause of ours: worth waiting for. */
function isKafkaError(err: unknown): boolean {
  const name = (e: unknown): string => (e as { name?: string } | null)?.name ?? '';
  return name(err).startsWith('KafkaJS') || (err instanceof BinlogSyncError && err.code === 'KAFKA' && name(err.cause).startsWith('KafkaJS'));
}

/**
 * Whether the publisher starts again after `err`: yes for a Kafka failure (a broker down, a timeout),
 * no for anything else, and no when a newer publisher fenced this one, at start-up too (two started
 * together): a restart would take the transactional.id back and fence the newer one, which would do
 * the same, both staying alive.
 */
export function afterPublisherFailure(pipeline: string, err: unknown): { readonly restart: true } | { readonly restart: false; readonly error: unknown } {
  if (err instanceof BinlogSyncError && err.code === 'PIPELINE_LOCKED') return { restart: false, error: err };
  const cause = err instanceof BinlogSyncError && err.code === 'KAFKA' ? err.cause : err;
  if (isFenced(cause)) return { restart: false, error: fencedError(pipeline, cause) };
  return isKafkaError(err) ? { restart: true } : { restart: false, error: err };
}

/** Runs `step` until it succeeds; Kafka errors (a broker down) are retried with backoff and a log line each. */
async function untilKafkaAnswers<T>(what: string, logger: Logger, signal: AbortSignal, step: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isKafkaError(err) || signal.aborted) throw err;
      const delayMs = backoffDelay(RESTART_BACKOFF, attempt);
      logger.warn({ attempt: attempt + 1, delayMs, err: describeError(err) }, `kafka: ${what} failed (${describeError(err)}); retrying in ${delayMs} ms`);
      await sleep(delayMs, signal).catch(() => undefined);
      if (signal.aborted) throw err;
    }
  }
}

export async function runKafkaMode(o: KafkaModeOptions): Promise<void> {
  const { config, logger, signal } = o;
  const tr = config.transport;
  const topic = tr.topic!;
  governHeap(config, logger);
  const c = await openConnectors(config, logger, { pipelineLock: false });
  const k = openKafkaConnectors(config, logger);
  const admin = k.kafka.admin();
  try {
    // Each role checks only the side it touches: a publisher publishes while the target is down, and
    // a sink worker drains the topic while the source is down.
    const report = await runPreflight(config, { role: o.role === 'source' ? 'publisher' : o.role === 'sink' ? 'sink-worker' : 'pipeline' });
    for (const check of report.checks) if (check.status === 'warn') logger.warn({ check: check.id }, `${check.title}: ${check.detail}`);
    assertPreflightPassed(report);
    await untilKafkaAnswers('connecting to the brokers', logger, signal, async () => {
      await admin.connect();
      const created = await ensureTopic(admin, { topic, partitions: tr.partitions, ...(tr.replicationFactor !== undefined ? { replicationFactor: tr.replicationFactor } : {}) });
      logger.info({ topic, partitions: tr.partitions, created: created === 'created' }, created === 'created' ? `kafka: created topic ${topic}` : `kafka: topic ${topic} is there`);
    });
    logger.info({ pipeline: config.name, role: o.role, topic, brokers: tr.brokers }, 'starting');
    // One fails: the other stops too.
    const local = new AbortController();
    const onAbort = (): void => local.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const roles: Promise<void>[] = [];
    const wrap = (p: Promise<void>): Promise<void> =>
      p.catch((err: unknown) => {
        local.abort();
        throw err;
      });
    if (o.role !== 'sink') roles.push(wrap(publishLoop(o, c, k, local.signal)));
    if (o.role !== 'source') roles.push(wrap(sinkWorker(o, c, k, local.signal)));
    const results = await Promise.allSettled(roles);
    signal.removeEventListener('abort', onAbort);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    await admin.disconnect().catch(() => undefined);
    await k.close();
    await c.close();
  }
}

/** The publisher, restarted from its last committed Kafka transaction after a Kafka failure. */
async function publishLoop(o: KafkaModeOptions, c: OpenConnectors, k: KafkaConnectors, signal: AbortSignal): Promise<void> {
  const { config, logger } = o;
  const tr = config.transport;
  const topic = tr.topic!;
  const serverId = await c.source.serverId();
  for (let attempt = 0; !signal.aborted; attempt++) {
    let producer: Producer | null = null;
    const admin = k.kafka.admin();
    try {
      producer = k.kafka.producer({
        transactionalId: publisherTransactionalId(config.name),
        idempotent: true,
        maxInFlightRequests: 1,
        // A large source transaction stays open in Kafka while it is sent in chunks.
        transactionTimeout: 900_000,
        // Right after a commit the coordinator answers CONCURRENT_TRANSACTIONS until the markers are
        // written (milliseconds): retry that soon, as the Java client does, not after 200 ms.
        retry: { initialRetryTime: 10, maxRetryTime: 2_000, retries: 25 },
      });
      await producer.connect();
      // kafkajs takes the transactional.id (InitProducerId) only at the first transaction, not at
      // connect: open and abort an empty one now. That fences an older publisher, and the broker
      // finishes its last transaction (commit or abort) first, so the position read next is not stale.
      // (Found by the fencing test: the second publisher read the position before the first was
      // fenced, and published the same changes again.)
      await (await producer.transaction()).abort();
      await admin.connect();
      const positions = new KafkaPositionStore(admin, producer, topic);
      const start = await resolveStart(config.name, startSetting(config.source), c.source, positions, {
        logger,
        endpoint: `${config.source.host}:${config.source.port}`,
        canMove: async () =>
          (await c.source.hasOrderGroups())
            ? 'foreign keys link synced tables, and Kafka sink workers apply their changes exactly once by positions of the binlog the messages came from, ' +
              'which cannot be compared with the new server\'s (Kafka mode continues on another server only without foreign-key groups)'
            : null,
      });
      logger.info(
        { pipeline: config.name, topic, from: start.from.kind === 'gtid' ? start.from.gtid : formatPosition(start.from.position), origin: start.origin, source: describeSource(start.source) },
        'kafka publisher: starting',
      );
      const maxMessageBytes = await topicMaxMessageBytes(admin, topic);
      const publisher = new KafkaPublisher({
        pipeline: config.name,
        topic,
        partitions: tr.partitions,
        source: c.source,
        producer,
        from: start.from,
        initialCheckpoint: start.checkpoint,
        sourceIdentity: start.source,
        commits: positions.committed,
        serverId,
        version: VERSION,
        batchBytes: tr.publishBatchBytes ?? DEFAULT_BATCH_BYTES,
        lingerMs: tr.publishLingerMs ?? DEFAULT_LINGER_MS,
        maxMessageBytes,
        logger: logger.child({ component: 'publisher' }),
      });
      const timer = setInterval(() => {
        const s = publisher.stats();
        logger.info({ changes: s.changes, messages: s.messages, kafkaTransactions: s.kafkaTransactions, published: s.published ? formatPosition(s.published.position) : null, lagSeconds: Math.round(s.lagMs / 100) / 10 }, 'kafka publisher: progress');
      }, o.progressEveryMs ?? 5000);
      timer.unref();
      try {
        o.onPublishing?.();
        await publisher.run(signal);
      } finally {
        clearInterval(timer);
      }
      const s = publisher.stats();
      logger.info({ messages: s.messages, published: s.published ? formatPosition(s.published.position) : null }, 'kafka publisher: stopped; every complete source transaction read is committed to Kafka');
      return;
    } catch (err) {
      const next = afterPublisherFailure(config.name, err);
      if (signal.aborted || !next.restart) throw next.restart ? err : next.error;
      const delayMs = backoffDelay(RESTART_BACKOFF, attempt);
      logger.warn({ attempt: attempt + 1, delayMs, err: describeError(err) }, `kafka publisher: ${describeError(err)}; starting again from the last committed Kafka transaction in ${delayMs} ms`);
      await sleep(delayMs, signal).catch(() => undefined);
    } finally {
      await producer?.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }
}

async function sinkWorker(o: KafkaModeOptions, c: OpenConnectors, k: KafkaConnectors, signal: AbortSignal): Promise<void> {
  const { config, logger } = o;
  const worker = new KafkaSinkWorker({
    pipeline: config.name,
    topic: config.transport.topic!,
    partitions: config.transport.partitions,
    groupId: sinkGroup(config),
    kafka: k.kafka,
    sink: c.sink,
    offsets: k.offsets,
    lanes: config.sink.lanes,
    batchSize: config.sink.batchSize,
    concurrency: config.target.poolSize,
    logger: logger.child({ component: 'sink-worker' }),
  });
  const timer = setInterval(() => {
    const s = worker.stats();
    logger.info({ messages: s.messages, applied: s.mutationsApplied, partitions: s.assigned }, 'kafka sink worker: progress');
  }, o.progressEveryMs ?? 5000);
  timer.unref();
  try {
    await worker.run(signal);
  } finally {
    clearInterval(timer);
  }
  logger.info({ applied: worker.stats().mutationsApplied }, 'kafka sink worker: stopped');
}
