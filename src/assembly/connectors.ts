/**
 * The composition root: builds the configured connectors. The only module under src/ that imports
 * from connectors/ (connectors depend on the core, the core never on them).
 */
import type { PipelineConfig } from '../config/load.js';
import { schemaChangesPolicy } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { MySqlSource } from '../../connectors/mysql-source/index.js';
import { MySqlCheckpointStore, MySqlPartitionOffsets, MySqlQuarantineStore, MySqlRequestStore, MySqlSink, PipelineLock, PipelineLockKeeper, type LockHolder } from '../../connectors/mysql-sink/index.js';
import { createKafka, type KafkaClientSettings } from '../../connectors/kafka/index.js';
export { KafkaPositionStore, KafkaPublisher, KafkaSinkWorker, fencedError, isFenced, ensureTopic, topicMaxMessageBytes, publisherTransactionalId, readPublishedPosition, publisherGroup } from '../../connectors/kafka/index.js';
import type { Kafka } from 'kafkajs';
import type { PartitionOffsetStore } from '../core/ports.js';
import type { BinlogPosition } from '../core/position.js';
import { rowTransformsOf } from './transforms.js';

export interface OpenConnectors {
  readonly source: MySqlSource;
  /** Absent when opened with `sink: false` (dry runs apply nothing). */
  readonly sink: MySqlSink;
  readonly checkpoints: MySqlCheckpointStore;
  /** Requests to the daemon (snapshot, repair). */
  readonly requests: MySqlRequestStore;
  /** Parked tables and their changes (sink.onApplyError: quarantine); writes wait for the pipeline lock. */
  readonly quarantine: MySqlQuarantineStore;
  readonly lock: {
    /**
     * Takes the pipeline's lock for this process's lifetime; fails if a daemon already holds it. Until
     * it is taken, the sink and the checkpoint store refuse to write. The lock lives on a target
     * connection: when that is lost (target restart, KILL), writes wait while it is taken again; if
     * that fails for good (another daemon got it meanwhile, or an error retrying cannot fix),
     * `onLockGone` is called with the reason: the caller stops its pipeline.
     */
    acquire(onLockGone?: (err: Error) => void): Promise<void>;
    /** The target connection id of the daemon holding the lock, or null. */
    holder(): Promise<number | null>;
  };
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Build the sink (default true). */
  readonly sink?: boolean;
  /** One-shot commands give up on an unreachable target instead of waiting for it. */
  readonly oneShot?: boolean;
  /**
   * Writes wait for the pipeline lock (default true). Kafka mode has none: its publishers are fenced
   * by Kafka (transactional.id) and its sink workers by their partition claims on the target.
   */
  readonly pipelineLock?: boolean;
}

export async function openConnectors(config: PipelineConfig, logger: Logger, options: OpenOptions = {}): Promise<OpenConnectors> {
  const { source: s, target: t } = config;
  const target = { host: t.host, port: t.port, user: t.user, password: t.password };
  const source = new MySqlSource({
    host: s.host,
    port: s.port,
    user: s.user,
    password: s.password,
    serverId: s.serverId,
    include: s.include,
    exclude: s.exclude,
    keys: s.keys,
    fullRow: (name) => {
      const dot = name.indexOf('.');
      return rowTransformsOf(config).keyless({ schema: name.slice(0, dot), name: name.slice(dot + 1) }) === 'full-row';
    },
    silentAfterMs: s.silentAfterMs,
    allowNoRowMetadata: s.allowNoRowMetadata,
    statementEvents: s.statementEvents,
    schemaChanges: schemaChangesPolicy(config),
    logger: logger.child({ component: 'source' }),
  });
  const lockLog = logger.child({ component: 'lock' });
  const lock = new PipelineLock({ ...target, logger: lockLog });
  // The keeper owns the write fence: no apply and no checkpoint write while the lock is not held.
  const keeper = new PipelineLockKeeper(lock, config.name, { logger: lockLog });
  const fence = options.pipelineLock === false ? {} : { fence: keeper.fence };
  const sink = options.sink === false ? null : new MySqlSink({ ...target, poolSize: t.poolSize, pipeline: config.name, ...fence, logger: logger.child({ component: 'sink' }) });
  const checkpoints = new MySqlCheckpointStore({
    ...target,
    ...fence,
    logger: logger.child({ component: 'checkpoints' }),
    ...(options.oneShot ? { maxAttempts: 2 } : {}),
  });
  const requests = new MySqlRequestStore({ ...target, logger: logger.child({ component: 'requests' }) });
  const quarantine = new MySqlQuarantineStore({ ...target, ...fence, logger: logger.child({ component: 'quarantine' }), ...(options.oneShot ? { maxAttempts: 2 } : {}) });
  return {
    source,
    requests,
    quarantine,
    get sink(): MySqlSink {
      if (!sink) throw new Error('this command opened no sink');
      return sink;
    },
    checkpoints,
    lock: {
      acquire: (onLockGone) => keeper.acquire(onLockGone),
      holder: async () => ((await lock.isHeld(config.name)) as LockHolder | null)?.connectionId ?? null,
    },
    async close() {
      await Promise.allSettled([source.close(), sink?.close(), checkpoints.close(), requests.close(), quarantine.close(), keeper.release()]);
    },
  };
}

/** Reads the pipeline's stored checkpoint, for a one-shot command that only watches it (verify). */
export interface CheckpointReader {
  /** The checkpoint's position, or null when the pipeline has none. */
  position(): Promise<BinlogPosition | null>;
  close(): Promise<void>;
}

export function openCheckpointReader(config: PipelineConfig, logger: Logger): CheckpointReader {
  const t = config.target;
  const store = new MySqlCheckpointStore({ host: t.host, port: t.port, user: t.user, password: t.password, logger: logger.child({ component: 'checkpoints' }), maxAttempts: 2 });
  return {
    position: async () => (await store.load(config.name))?.position ?? null,
    close: () => store.close(),
  };
}

export interface KafkaConnectors {
  readonly kafka: Kafka;
  /** Per-partition progress of the sink workers, on the target. */
  readonly offsets: PartitionOffsetStore;
  close(): Promise<void>;
}

/** The Kafka client and the target-side partition offsets (transport.kind: kafka). */
export function openKafkaConnectors(config: PipelineConfig, logger: Logger): KafkaConnectors {
  const tr = config.transport;
  if (tr.kind !== 'kafka' || !tr.brokers) throw new Error('openKafkaConnectors: the pipeline file does not use transport.kind: kafka');
  const settings: KafkaClientSettings = {
    brokers: tr.brokers,
    ...(tr.clientId ? { clientId: tr.clientId } : { clientId: `binlog-sync.${config.name}` }),
    ...(tr.ssl !== undefined ? { ssl: tr.ssl } : {}),
    ...(tr.sasl ? { sasl: tr.sasl } : {}),
  };
  const t = config.target;
  const offsets = new MySqlPartitionOffsets({ host: t.host, port: t.port, user: t.user, password: t.password, logger: logger.child({ component: 'kafka-offsets' }) });
  return {
    kafka: createKafka(settings, logger),
    offsets,
    close: () => offsets.close(),
  };
}
