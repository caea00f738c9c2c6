/**
 * Checkpoints in the target itself (`_binlog_sync.checkpoints`, one row per pipeline), so that data and
 * resume points live and die together. The database and table are created on first use. Transient
 * failures are retried like the applier's (a target restart must not stop the checkpoint writer).
 *
 * With a write fence (the pipeline lock's), a save or reset waits until the lock is held, and its
 * statement itself only writes while the server says the lock is held by the fence's connection
 * (`… WHERE IS_USED_LOCK(name) = id`): a daemon that lost its lock can never move the checkpoint.
 */
import type mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../../src/index.js';
import { BinlogSyncError, describeError } from '../../src/index.js';
import type { BinlogPosition } from '../../src/index.js';
import type { Checkpoint, CheckpointStore, ResolvedXa, SnapshotProgress, SourceIdentity } from '../../src/index.js';
import { retryTransient } from './retry.js';
import { TargetPool, type TargetEndpoint } from './target-connection.js';
import type { LockProof, WriteFence } from './write-fence.js';
import { CHECKPOINT_DATABASE, CLEAR_APPLIED_SQL, CREATE_APPLIED_SQL } from './applied-log.js';

export { CHECKPOINT_DATABASE };
export const CHECKPOINT_TABLE = 'checkpoints';

const QUALIFIED = `\`${CHECKPOINT_DATABASE}\`.\`${CHECKPOINT_TABLE}\``;

const CREATE_DATABASE_SQL = `CREATE DATABASE IF NOT EXISTS \`${CHECKPOINT_DATABASE}\` CHARACTER SET utf8mb4`;
const CREATE_TABLE_SQL = `CREATE TABLE IF NOT EXISTS ${QUALIFIED} (
  pipeline VARCHAR(191) NOT NULL PRIMARY KEY,
  binlog_file VARCHAR(255) NOT NULL,
  binlog_pos BIGINT UNSIGNED NOT NULL,
  gtid VARCHAR(255) NULL,
  source_ts_ms BIGINT NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  resolved_xa TEXT NULL,
  source_server_id BIGINT UNSIGNED NULL,
  source_domain_id INT UNSIGNED NULL,
  source_server_uuid VARCHAR(64) NULL,
  gtid_pos TEXT NULL,
  snapshot MEDIUMTEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** Columns added after the table's first version, added to tables created before them. */
const ADDED_COLUMNS: readonly { readonly name: string; readonly definition: string }[] = [
  // The checkpoint's resolvedXa, as JSON (see Checkpoint).
  { name: 'resolved_xa', definition: 'TEXT NULL' },
  // The server the position is in (Checkpoint.source): server_id with the gtid_domain_id on MariaDB,
  // with the server_uuid on MySQL; all NULL in rows stored before they were recorded.
  { name: 'source_server_id', definition: 'BIGINT UNSIGNED NULL' },
  { name: 'source_domain_id', definition: 'INT UNSIGNED NULL' },
  { name: 'source_server_uuid', definition: 'VARCHAR(64) NULL' },
  // The MariaDB GTID position at binlog_file:binlog_pos (BinlogPosition.gtidPos).
  { name: 'gtid_pos', definition: 'TEXT NULL' },
  // The checkpoint's snapshot progress, as JSON (see Checkpoint).
  { name: 'snapshot', definition: 'MEDIUMTEXT NULL' },
];

const UPSERT_TAIL = `ON DUPLICATE KEY UPDATE binlog_file=VALUES(binlog_file), binlog_pos=VALUES(binlog_pos), gtid=VALUES(gtid),
    source_ts_ms=VALUES(source_ts_ms), updated_at=VALUES(updated_at), resolved_xa=VALUES(resolved_xa),
    source_server_id=VALUES(source_server_id), source_domain_id=VALUES(source_domain_id), source_server_uuid=VALUES(source_server_uuid), gtid_pos=VALUES(gtid_pos),
    snapshot=VALUES(snapshot)`;

const SAVED_COLUMNS = 'pipeline, binlog_file, binlog_pos, gtid, source_ts_ms, resolved_xa, source_server_id, source_domain_id, source_server_uuid, gtid_pos, snapshot, updated_at';

const SAVE_SQL = `INSERT INTO ${QUALIFIED} (${SAVED_COLUMNS})
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP(3))
  ${UPSERT_TAIL}`;

/**
 * SAVE_SQL that writes only while the pipeline lock is held by the given connection: the row comes from
 * a SELECT whose WHERE asks the server, in the same statement. No row selected: nothing written, 0 rows
 * affected. (An upsert that changes a row counts 2, one that finds it unchanged 1 with mysql2's
 * FOUND_ROWS: only 0 means the lock was not ours.)
 */
const GUARDED_SAVE_SQL = `INSERT INTO ${QUALIFIED} (${SAVED_COLUMNS})
  SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP(3) FROM DUAL WHERE IS_USED_LOCK(?) = ?
  ${UPSERT_TAIL}`;

const SELECT_COLUMNS = `pipeline, binlog_file, binlog_pos, gtid, source_ts_ms, resolved_xa, source_server_id, source_domain_id, source_server_uuid, gtid_pos, snapshot, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS updated_at`;

export interface MySqlCheckpointStoreOptions extends TargetEndpoint {
  readonly logger?: Logger;
  readonly retry?: BackoffPolicy;
  /** Give up after this many failed attempts instead of waiting for the target forever. */
  readonly maxAttempts?: number;
  /** Saves and resets wait for the pipeline lock and write only while the server says it is held. */
  readonly fence?: WriteFence;
}

/** A stored checkpoint with its bookkeeping, for `status`. */
export interface StoredCheckpoint extends Checkpoint {
  readonly pipeline: string;
  /** When it was last saved, ISO 8601 UTC. */
  readonly updatedAt: string;
}

interface CheckpointRow {
  pipeline: string;
  binlog_file: string;
  binlog_pos: number | string;
  gtid: string | null;
  source_ts_ms: number | string;
  resolved_xa: string | null;
  source_server_id: number | string | null;
  source_domain_id: number | string | null;
  source_server_uuid: string | null;
  gtid_pos: string | null;
  snapshot: string | null;
  updated_at: string;
}

export class MySqlCheckpointStore implements CheckpointStore {
  private readonly pool: TargetPool;
  private readonly logger: Logger;
  private readonly retry: BackoffPolicy;
  private readonly closing = new AbortController();
  private ready: Promise<void> | null = null;
  private readonly maxAttempts: number | undefined;
  private readonly fence: WriteFence | undefined;

  constructor(options: MySqlCheckpointStoreOptions) {
    this.pool = new TargetPool(options, 2);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.retry = options.retry ?? DEFAULT_BACKOFF;
    this.maxAttempts = options.maxAttempts;
    this.fence = options.fence;
  }

  /** Creates `_binlog_sync.checkpoints` if missing. Called by every other method; call it to fail early. */
  async init(): Promise<void> {
    this.ready ??= this.run('create the checkpoint table', async (conn) => {
      await conn.query(CREATE_DATABASE_SQL);
      await conn.query(CREATE_TABLE_SQL);
      // MySQL has no ADD COLUMN IF NOT EXISTS: ask which columns the table has.
      const [cols] = await conn.query('SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [CHECKPOINT_DATABASE, CHECKPOINT_TABLE]);
      const have = new Set((cols as { name: string }[]).map((c) => c.name.toLowerCase()));
      for (const c of ADDED_COLUMNS) if (!have.has(c.name)) await conn.query(`ALTER TABLE ${QUALIFIED} ADD COLUMN \`${c.name}\` ${c.definition}`);
    }).catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  async load(pipeline: string): Promise<Checkpoint | null> {
    await this.init();
    const rows = await this.run(`load the checkpoint of "${pipeline}"`, async (conn) => {
      const [result] = await conn.query(`SELECT ${SELECT_COLUMNS} FROM ${QUALIFIED} WHERE pipeline = ?`, [pipeline]);
      return result as CheckpointRow[];
    });
    const row = rows[0];
    return row ? toCheckpoint(row) : null;
  }

  /** Every stored checkpoint, ordered by pipeline name. */
  async list(): Promise<StoredCheckpoint[]> {
    await this.init();
    const rows = await this.run('list checkpoints', async (conn) => {
      const [result] = await conn.query(`SELECT ${SELECT_COLUMNS} FROM ${QUALIFIED} ORDER BY pipeline`);
      return result as CheckpointRow[];
    });
    return rows.map((r) => ({ ...toCheckpoint(r), pipeline: r.pipeline, updatedAt: `${r.updated_at.replace(' ', 'T').slice(0, 23)}Z` }));
  }

  async save(pipeline: string, checkpoint: Checkpoint): Promise<void> {
    const values = saveValues(pipeline, checkpoint);
    await this.init();
    await this.run(`save the checkpoint of "${pipeline}"`, (conn, proof) => writeCheckpoint(conn, pipeline, values, proof), { fenced: true });
  }

  /**
   * Replaces the checkpoint in one target transaction (delete, then insert): a failure, or a crash in
   * between, leaves the checkpoint that was there, never none (which would make the next start fall
   * back to `source.start`). The same transaction forgets what the applied log says ran exactly once
   * (statement-format changes, foreign-key groups): a reset declares that the target holds exactly
   * the data up to the new checkpoint.
   */
  async reset(pipeline: string, checkpoint: Checkpoint): Promise<void> {
    const values = saveValues(pipeline, checkpoint);
    await this.init();
    await this.run(
      `reset the checkpoint of "${pipeline}"`,
      async (conn, proof) => {
        for (const sql of CREATE_APPLIED_SQL) await conn.query(sql); // DDL commits: before the transaction
        await conn.query('BEGIN');
        try {
          await conn.query(`DELETE FROM ${QUALIFIED} WHERE pipeline = ?`, [pipeline]);
          await conn.query(CLEAR_APPLIED_SQL, [pipeline]);
          await writeCheckpoint(conn, pipeline, values, proof);
          await conn.query('COMMIT');
        } catch (err) {
          // A ROLLBACK that fails too means the connection is gone (and the server rolls back): its error says so.
          await conn.query('ROLLBACK');
          throw err;
        }
      },
      { fenced: true },
    );
  }

  async clear(pipeline: string): Promise<void> {
    await this.init();
    await this.run(`clear the checkpoint of "${pipeline}"`, async (conn) => {
      await conn.query(`DELETE FROM ${QUALIFIED} WHERE pipeline = ?`, [pipeline]);
    });
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    await this.pool.close();
  }

  /**
   * One piece of work on a pooled connection, retried on transient errors. `fenced` work waits at the
   * write fence first, on every attempt, before it takes a connection, and gets the lock's proof.
   */
  private async run<T>(what: string, work: (conn: mysql.PoolConnection, proof: LockProof | null) => Promise<T>, options: { fenced?: boolean } = {}): Promise<T> {
    const fence = options.fenced ? this.fence : undefined;
    try {
      return await retryTransient({ policy: this.retry, logger: this.logger, signal: this.closing.signal, what, ...(this.maxAttempts ? { maxAttempts: this.maxAttempts } : {}) }, async () => {
        const proof = fence ? await fence.held(this.closing.signal) : null;
        return this.pool.using((conn) => work(conn, proof));
      });
    } catch (err) {
      if (err instanceof BinlogSyncError) throw err;
      throw new BinlogSyncError(
        'CHECKPOINT',
        `checkpoint store: cannot ${what} in ${QUALIFIED} on the target: ${describeError(err)}. ` +
          `The target user needs CREATE, SELECT, INSERT, UPDATE and DELETE on \`${CHECKPOINT_DATABASE}\`.`,
        { cause: err },
      );
    }
  }
}

/**
 * The checkpoint upsert, on the caller's connection (and in its transaction, if one is open): the store
 * runs it, and so does the sink inside a statement's transaction. With a lock proof it writes only
 * while the server says the lock is held by that connection.
 */
export async function writeCheckpoint(conn: mysql.PoolConnection, pipeline: string, values: unknown[], proof: LockProof | null): Promise<void> {
  if (!proof) {
    await conn.query(SAVE_SQL, values);
    return;
  }
  const [result] = await conn.query(GUARDED_SAVE_SQL, [...values, proof.lockName, proof.connectionId]);
  if ((result as mysql.ResultSetHeader).affectedRows > 0) return;
  throw new BinlogSyncError(
    'CHECKPOINT',
    `checkpoint store: the checkpoint of "${pipeline}" was not written: the pipeline lock '${proof.lockName}' is no longer held by ` +
      `this daemon's target connection ${proof.connectionId} (it was lost, and another daemon may own the pipeline now)`,
    { details: { pipeline, lockName: proof.lockName, connectionId: proof.connectionId } },
  );
}

/** The SAVE_SQL parameters; refuses a position that is not a whole number. */
export function saveValues(pipeline: string, { position, sourceTimestampMs, resolvedXa, source, snapshot }: Checkpoint): unknown[] {
  if (!Number.isSafeInteger(position.pos) || position.pos < 0) {
    throw new BinlogSyncError('CHECKPOINT', `refusing to save checkpoint ${position.file}:${position.pos} for "${pipeline}": the position is not a whole number`);
  }
  const resolved = resolvedXa && resolvedXa.length > 0 ? JSON.stringify(resolvedXa) : null;
  const identity = source
    ? [source.serverId, source.flavor === 'mariadb' ? source.domainId : null, source.flavor === 'mysql' ? source.serverUuid : null]
    : [null, null, null];
  return [pipeline, position.file, position.pos, position.gtid ?? null, Math.trunc(sourceTimestampMs), resolved, ...identity, position.gtidPos ?? null, snapshot ? JSON.stringify(snapshot) : null];
}

function toCheckpoint(row: CheckpointRow): Checkpoint {
  const position: BinlogPosition = {
    file: row.binlog_file,
    pos: Number(row.binlog_pos),
    ...(row.gtid !== null ? { gtid: row.gtid } : {}),
    ...(row.gtid_pos !== null ? { gtidPos: row.gtid_pos } : {}),
  };
  const source = sourceOf(row);
  return {
    position,
    sourceTimestampMs: Number(row.source_ts_ms),
    ...(row.resolved_xa !== null && row.resolved_xa !== undefined ? { resolvedXa: parseResolvedXa(row.pipeline, row.resolved_xa) } : {}),
    ...(source ? { source } : {}),
    ...(row.snapshot !== null && row.snapshot !== undefined ? { snapshot: parseSnapshot(row.pipeline, row.snapshot) } : {}),
  };
}

function parseSnapshot(pipeline: string, text: string): SnapshotProgress {
  try {
    const p = JSON.parse(text) as SnapshotProgress;
    if (!p || !Array.isArray(p.tables) || !p.tables.every((t) => typeof t?.table === 'string' && typeof t.done === 'boolean' && (t.after === null || Array.isArray(t.after)))) {
      throw new Error('not a snapshot progress');
    }
    return p;
  } catch (err) {
    throw new BinlogSyncError('CHECKPOINT', `the checkpoint of "${pipeline}" has an unreadable snapshot column (${(err as Error).message}): ${text.slice(0, 200)}. Was it written by something other than binlog-sync?`, {
      cause: err,
    });
  }
}

/** The recorded server (null in rows stored before it was recorded): with a server_uuid MySQL, else MariaDB. */
function sourceOf(row: CheckpointRow): SourceIdentity | null {
  if (row.source_server_id === null) return null;
  const serverId = Number(row.source_server_id);
  if (row.source_server_uuid !== null) return { flavor: 'mysql', serverUuid: row.source_server_uuid, serverId };
  if (row.source_domain_id !== null) return { flavor: 'mariadb', serverId, domainId: Number(row.source_domain_id) };
  throw new BinlogSyncError('CHECKPOINT', `the checkpoint of "${row.pipeline}" names source_server_id ${serverId} but neither a source_domain_id (MariaDB) nor a source_server_uuid (MySQL). Was it written by something other than binlog-sync?`);
}

function parseResolvedXa(pipeline: string, text: string): ResolvedXa[] {
  try {
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list)) throw new Error('not a list');
    return list.map((r: { xid?: unknown; at?: { file?: unknown; pos?: unknown } }) => {
      if (typeof r?.xid !== 'string' || typeof r.at?.file !== 'string' || !Number.isSafeInteger(r.at.pos)) throw new Error(`not an XA entry: ${JSON.stringify(r)}`);
      return { xid: r.xid, at: { file: r.at.file, pos: r.at.pos as number } };
    });
  } catch (err) {
    throw new BinlogSyncError('CHECKPOINT', `the checkpoint of "${pipeline}" has an unreadable resolved_xa column (${(err as Error).message}): ${text.slice(0, 200)}. Was it written by something other than binlog-sync?`, {
      cause: err,
    });
  }
}
