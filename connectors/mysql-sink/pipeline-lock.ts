/**
 * One daemon per pipeline: a named lock on the target (`GET_LOCK('binlog-sync:<name>', 0)`), held by a
 * dedicated connection for as long as the daemon runs. The server releases it when that connection
 * ends, whether the daemon exits cleanly or dies, so there is no stale lock to clean up. Two daemons on
 * one pipeline would both apply and both checkpoint; the second one fails fast with PIPELINE_LOCKED.
 *
 * `PipelineLockKeeper` holds the lock for a daemon's lifetime: when its connection is lost (a target
 * restart, a KILL), it closes the write fence (write-fence.ts), takes the lock again with backoff,
 * logging every failed attempt, and opens the fence again; if another daemon took the lock meanwhile,
 * or an attempt fails in a way retrying cannot fix, the fence fails and the daemon is told to stop.
 */
import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { BinlogSyncError, DEFAULT_BACKOFF, TargetError, backoffDelay, describeError, sleep, type BackoffPolicy } from '../../src/index.js';
import { classifyMySqlError } from './error-classifier.js';
import { openTargetConnection, type TargetEndpoint } from './target-connection.js';
import { LockGate, type WriteFence } from './write-fence.js';

export interface PipelineLockOptions extends TargetEndpoint {
  readonly logger?: Logger;
  /** How often the holding connection is pinged, so a lost lock is noticed; default 15 s. */
  readonly pingIntervalMs?: number;
  /** A ping without an answer this long (a connection that went silent) counts as lost; default 10 s. */
  readonly pingTimeoutMs?: number;
}

export interface LockHolder {
  /** The server's connection id (`CONNECTION_ID()`) of the holder. */
  readonly connectionId: number;
  /** `user@host` of that connection, when the processlist shows it. */
  readonly account?: string;
}

const LOCK_PREFIX = 'binlog-sync:';
/** MySQL 5.7+ rejects user lock names longer than 64 characters. */
const MAX_LOCK_NAME = 64;

/** The lock name for a pipeline; long names are shortened with a hash so that they stay distinct. */
export function pipelineLockName(pipeline: string): string {
  const name = LOCK_PREFIX + pipeline;
  if (name.length <= MAX_LOCK_NAME) return name;
  const hash = createHash('sha256').update(pipeline).digest('hex').slice(0, 16);
  return `${name.slice(0, MAX_LOCK_NAME - hash.length - 1)}~${hash}`;
}

export class PipelineLock {
  private readonly logger: Logger;

  constructor(private readonly options: PipelineLockOptions) {
    this.logger = options.logger ?? pino({ level: 'silent' });
  }

  /**
   * Takes the pipeline's lock without waiting. Fails with PIPELINE_LOCKED when another connection holds
   * it, or a retriable TARGET_CONNECTION error when the target cannot be reached.
   */
  async acquire(pipeline: string): Promise<HeldPipelineLock> {
    const lockName = pipelineLockName(pipeline);
    let conn: mysql.Connection;
    try {
      conn = await openTargetConnection(this.options);
    } catch (err) {
      throw new TargetError('TARGET_CONNECTION', `pipeline lock: cannot connect to the target to lock "${pipeline}": ${describeError(err)}`, {
        cause: err,
        retriable: classifyRetriable(err),
      });
    }
    try {
      // The lock lives as long as this connection: keep the server from closing it as idle.
      await conn.query('SET SESSION wait_timeout = 31536000');
      const [rows] = await conn.query('SELECT GET_LOCK(?, 0) AS got, CONNECTION_ID() AS id', [lockName]);
      const row = (rows as { got: number | null; id: number }[])[0];
      if (row?.got === 1) {
        const ping = { intervalMs: this.options.pingIntervalMs ?? 15_000, timeoutMs: this.options.pingTimeoutMs ?? 10_000 };
        return new HeldPipelineLock(pipeline, lockName, Number(row.id), conn, ping, this.logger);
      }
      const holder = await queryHolder(conn, lockName);
      const by = holder ? `connection ${holder.connectionId}${holder.account ? ` (${holder.account})` : ''}` : 'another connection';
      throw new BinlogSyncError(
        'PIPELINE_LOCKED',
        `pipeline "${pipeline}" is already running: the target lock '${lockName}' is held by ${by}. ` +
          `Stop the other daemon first (or, if it is gone, KILL ${holder?.connectionId ?? '<id>'} on the target).`,
        { details: { pipeline, lockName, holderConnectionId: holder?.connectionId } },
      );
    } catch (err) {
      conn.destroy();
      if (err instanceof BinlogSyncError) throw err;
      throw new TargetError('TARGET_CONNECTION', `pipeline lock: cannot lock "${pipeline}" on the target: ${describeError(err)}`, {
        cause: err,
        retriable: classifyRetriable(err),
      });
    }
  }

  /** Who holds the pipeline's lock, or null when nobody does (for `status`). */
  async isHeld(pipeline: string): Promise<LockHolder | null> {
    let conn: mysql.Connection | undefined;
    try {
      conn = await openTargetConnection(this.options);
      return await queryHolder(conn, pipelineLockName(pipeline));
    } catch (err) {
      throw new TargetError('TARGET_CONNECTION', `pipeline lock: cannot check the lock of "${pipeline}" on the target: ${describeError(err)}`, {
        cause: err,
        retriable: classifyRetriable(err),
      });
    } finally {
      await conn?.end().catch(() => conn?.destroy());
    }
  }
}

/** A held lock, as the keeper sees it (PipelineLock's, or a test's). */
export interface HeldLock {
  readonly lockName: string;
  readonly connectionId: number;
  /** Resolves once the holding connection is gone (the server has then released the lock, or soon will). */
  readonly lost: Promise<Error>;
  release(): Promise<void>;
}

/** A held lock. `lost` resolves if the holding connection dies (the server has then released the lock). */
export class HeldPipelineLock implements HeldLock {
  readonly lost: Promise<Error>;
  private lostReason: Error | null = null;
  private released = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pipeline: string,
    readonly lockName: string,
    readonly connectionId: number,
    private readonly conn: mysql.Connection,
    ping: { readonly intervalMs: number; readonly timeoutMs: number },
    private readonly logger: Logger,
  ) {
    let markLost: (e: Error) => void = () => undefined;
    this.lost = new Promise<Error>((resolve) => {
      markLost = resolve;
    });
    const onGone = (cause: unknown): void => {
      if (this.released || this.lostReason) return;
      clearInterval(this.timer);
      this.lostReason = new TargetError(
        'TARGET_CONNECTION',
        `pipeline lock: the connection holding '${lockName}' was lost (${describeError(cause)}); another daemon may now take the pipeline`,
        { cause, retriable: true },
      );
      this.logger.error({ lockName, connectionId }, this.lostReason.message);
      // If the server still has the session (a silent connection), closing ours lets it end it and free the lock.
      conn.destroy();
      markLost(this.lostReason);
    };
    // The promise wrapper re-emits the core connection's 'error' and 'end'.
    conn.on('error', onGone);
    conn.on('end', () => onGone(new Error('connection closed')));
    this.timer = setInterval(() => {
      conn.query({ sql: 'SELECT 1', timeout: ping.timeoutMs }).catch(onGone);
    }, ping.intervalMs);
    this.timer.unref();
  }

  get isLost(): boolean {
    return this.lostReason !== null;
  }

  /** Releases the lock and closes its connection. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    if (this.lostReason) return;
    try {
      await this.conn.query('SELECT RELEASE_LOCK(?)', [this.lockName]);
      await this.conn.end();
    } catch {
      // Closing the connection releases the lock as well.
      this.conn.destroy();
    }
  }
}

export interface PipelineLockKeeperOptions {
  readonly logger?: Logger;
  /** Backoff between attempts to take the lock again; default DEFAULT_BACKOFF (capped at 10 s). */
  readonly retry?: BackoffPolicy;
  /**
   * How long after a loss "held by our own previous connection" counts as the server still cleaning
   * that connection up (retried), not as another daemon (PIPELINE_LOCKED); default 10 s.
   */
  readonly staleHolderGraceMs?: number;
}

/**
 * Keeps one pipeline's lock for the life of a daemon and owns the write fence that the sink and the
 * checkpoint store consult.
 */
export class PipelineLockKeeper {
  private readonly gate: LockGate;
  private readonly logger: Logger;
  private readonly retry: BackoffPolicy;
  private readonly staleHolderGraceMs: number;
  private readonly closing = new AbortController();
  private current: HeldLock | null = null;
  private onGone: ((err: Error) => void) | undefined;

  constructor(
    private readonly lock: { acquire(pipeline: string): Promise<HeldLock> },
    readonly pipeline: string,
    options: PipelineLockKeeperOptions = {},
  ) {
    this.gate = new LockGate(pipeline);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.retry = options.retry ?? DEFAULT_BACKOFF;
    this.staleHolderGraceMs = options.staleHolderGraceMs ?? 10_000;
  }

  /** The fence for the sink and the checkpoint store. */
  get fence(): WriteFence {
    return this.gate;
  }

  /** The target connection holding the lock now; null while it is being taken again or after release. */
  get connectionId(): number | null {
    return this.gate.isHeld ? (this.current?.connectionId ?? null) : null;
  }

  /**
   * Takes the lock, failing fast (PIPELINE_LOCKED when another daemon holds it, a TargetError when the
   * target cannot be reached), and keeps it until `release`. `onGone` is called once if the lock is
   * lost for good: the caller stops its pipeline; writes already fail at the fence.
   */
  async acquire(onGone?: (err: Error) => void): Promise<void> {
    const held = await this.lock.acquire(this.pipeline);
    this.onGone = onGone;
    this.hold(held);
  }

  /** Releases the lock; writes waiting at the fence fail. */
  async release(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    this.gate.fail(
      new TargetError('TARGET_CONNECTION', `pipeline "${this.pipeline}": the pipeline lock was released (the daemon is stopping)`, { retriable: true }),
    );
    await this.current?.release();
  }

  private hold(held: HeldLock): void {
    this.current = held;
    this.gate.open({ lockName: held.lockName, connectionId: held.connectionId });
    void held.lost.then((err) => this.retake(held, err));
  }

  private async retake(lostLock: HeldLock, lostErr: Error): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.gate.close();
    const lostAt = Date.now();
    this.logger.warn(
      { err: describeError(lostErr), lockName: lostLock.lockName, connectionId: lostLock.connectionId },
      'pipeline lock lost with its target connection: writes wait until it is taken again',
    );
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        const held = await this.lock.acquire(this.pipeline);
        if (this.closing.signal.aborted) {
          await held.release();
          return;
        }
        this.logger.info({ attempt, connectionId: held.connectionId }, `pipeline lock taken again after ${attempt} attempt(s): writes resume`);
        this.hold(held);
        return;
      } catch (err) {
        failure = err;
      }
      if (this.closing.signal.aborted) return;
      const stale = isOwnStaleHolder(failure, lostLock.connectionId) && Date.now() - lostAt < this.staleHolderGraceMs;
      const retriable = stale || (failure instanceof BinlogSyncError && failure.retriable);
      const why = stale ? `still held by our previous connection ${lostLock.connectionId}, which the server is ending` : describeError(failure);
      if (!retriable) {
        const err = failure instanceof Error ? failure : new Error(String(failure));
        this.logger.error({ attempt, err: describeError(failure) }, `pipeline lock: attempt ${attempt} to take it again failed (${why}): not retriable, stopping`);
        this.gate.fail(err);
        this.onGone?.(err);
        return;
      }
      const delayMs = backoffDelay(this.retry, attempt - 1);
      this.logger.warn({ attempt, delayMs, err: describeError(failure) }, `pipeline lock: attempt ${attempt} to take it again failed (${why}); retrying in ${delayMs} ms`);
      await sleep(delayMs, this.closing.signal);
      if (this.closing.signal.aborted) return;
    }
  }
}

/** PIPELINE_LOCKED naming the connection that held the lock until it was lost: the server has not ended it yet. */
function isOwnStaleHolder(err: unknown, lostConnectionId: number): boolean {
  return err instanceof BinlogSyncError && err.code === 'PIPELINE_LOCKED' && err.details.holderConnectionId === lostConnectionId;
}

async function queryHolder(conn: mysql.Connection, lockName: string): Promise<LockHolder | null> {
  const [rows] = await conn.query('SELECT IS_USED_LOCK(?) AS holder', [lockName]);
  const id = (rows as { holder: number | string | null }[])[0]?.holder;
  if (id === null || id === undefined) return null;
  const connectionId = Number(id);
  try {
    const [procs] = await conn.query('SELECT USER AS user, HOST AS host FROM information_schema.PROCESSLIST WHERE ID = ?', [connectionId]);
    const p = (procs as { user: string; host: string }[])[0];
    if (p) return { connectionId, account: `${p.user}@${p.host}` };
  } catch {
    // The processlist is a nicety for the message; without the PROCESS privilege the id is enough.
  }
  return { connectionId };
}

function classifyRetriable(err: unknown): boolean {
  return classifyMySqlError(err).retriable;
}
