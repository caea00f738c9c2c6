/**
 * One daemon per pipeline: a named lock on the target (`GET_LOCK('binlog-sync:<name>', 0)`), held by a
 * dedicated connection for as long as the daemon runs. The server releases it when that connection
 * ends, whether the daemon exits cleanly or dies, so there is no stale lock to clean up. Two daemons on
 * one pipeline would both apply and both checkpoint; the second one fails fast with PIPELINE_LOCKED.
 */
import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { BinlogSyncError, TargetError, describeError } from '../../src/index.js';
import { classifyMySqlError } from './error-classifier.js';
import { openTargetConnection, type TargetEndpoint } from './target-connection.js';

export interface PipelineLockOptions extends TargetEndpoint {
  readonly logger?: Logger;
  /** How often the holding connection is pinged, so a lost lock is noticed; default 15 s. */
  readonly pingIntervalMs?: number;
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
      if (row?.got === 1) return new HeldPipelineLock(pipeline, lockName, Number(row.id), conn, this.options.pingIntervalMs ?? 15_000, this.logger);
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

/** A held lock. `lost` resolves if the holding connection dies (the server has then released the lock). */
export class HeldPipelineLock {
  readonly lost: Promise<Error>;
  private lostReason: Error | null = null;
  private released = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pipeline: string,
    readonly lockName: string,
    readonly connectionId: number,
    private readonly conn: mysql.Connection,
    pingIntervalMs: number,
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
      markLost(this.lostReason);
    };
    // The promise wrapper re-emits the core connection's 'error' and 'end'.
    conn.on('error', onGone);
    conn.on('end', () => onGone(new Error('connection closed')));
    this.timer = setInterval(() => {
      conn.ping().catch(onGone);
    }, pingIntervalMs);
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
