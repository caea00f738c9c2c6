/**
 * The composition root: builds the configured connectors. The only module under src/ that imports
 * from connectors/ (connectors depend on the core, the core never on them).
 */
import type { PipelineConfig } from '../config/load.js';
import type { Logger } from '../core/log.js';
import { BinlogSyncError, describeError } from '../core/errors.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep } from '../core/backoff.js';
import { MySqlSource } from '../../connectors/mysql-source/index.js';
import { MySqlCheckpointStore, MySqlSink, PipelineLock, type HeldPipelineLock, type LockHolder } from '../../connectors/mysql-sink/index.js';

export interface OpenConnectors {
  readonly source: MySqlSource;
  /** Absent when opened with `sink: false` (dry runs apply nothing). */
  readonly sink: MySqlSink;
  readonly checkpoints: MySqlCheckpointStore;
  readonly lock: {
    /**
     * Takes the pipeline's lock for this process's lifetime; fails if a daemon already holds it. The
     * lock lives on a target connection: when that is lost (target restart) it is taken again; if
     * another daemon got it meanwhile, `onTakenOver` is called.
     */
    acquire(onTakenOver?: (err: unknown) => void): Promise<void>;
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
    silentAfterMs: s.silentAfterMs,
    allowNoRowMetadata: s.allowNoRowMetadata,
    statementEvents: s.statementEvents,
    logger: logger.child({ component: 'source' }),
  });
  const sink = options.sink === false ? null : new MySqlSink({ ...target, poolSize: t.poolSize, pipeline: config.name, logger: logger.child({ component: 'sink' }) });
  const checkpoints = new MySqlCheckpointStore({ ...target, logger: logger.child({ component: 'checkpoints' }), ...(options.oneShot ? { maxAttempts: 2 } : {}) });
  const lock = new PipelineLock({ ...target, logger: logger.child({ component: 'lock' }) });
  let held: HeldPipelineLock | null = null;
  let closed = false;
  const lockLog = logger.child({ component: 'lock' });
  const keep = (h: HeldPipelineLock, onTakenOver?: (err: unknown) => void): void => {
    held = h;
    void h.lost.then(async (lostErr) => {
      if (closed) return;
      lockLog.warn({ err: describeError(lostErr) }, 'pipeline lock lost with its target connection; taking it again');
      for (let attempt = 0; !closed; attempt++) {
        try {
          keep(await lock.acquire(config.name), onTakenOver);
          lockLog.info('pipeline lock taken again');
          return;
        } catch (err) {
          if (err instanceof BinlogSyncError && err.code === 'PIPELINE_LOCKED') {
            onTakenOver?.(err);
            return;
          }
          await sleep(backoffDelay(DEFAULT_BACKOFF, attempt));
        }
      }
    });
  };
  return {
    source,
    get sink(): MySqlSink {
      if (!sink) throw new Error('this command opened no sink');
      return sink;
    },
    checkpoints,
    lock: {
      acquire: async (onTakenOver) => keep(await lock.acquire(config.name), onTakenOver),
      holder: async () => ((await lock.isHeld(config.name)) as LockHolder | null)?.connectionId ?? null,
    },
    async close() {
      closed = true;
      await Promise.allSettled([source.close(), sink?.close(), checkpoints.close(), held?.release()]);
    },
  };
}
