/**
 * The dead-letter table on the target (`_binlog_sync.quarantine`, next to the checkpoint) and the list
 * of parked tables (`_binlog_sync.quarantined_tables`), see src/core/quarantine.ts. A parked change's
 * row is keyed by its place in the binlog (transaction start, binlog change or snapshot row, index,
 * delete-before-upsert part, and a hash of the row's identity), so writing it again after a restart
 * re-read the change changes nothing, and `ORDER BY` that key is the order to apply them in.
 * Writes wait behind the pipeline lock's fence, as the sink's do.
 */
import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { BinlogSyncError, DEFAULT_BACKOFF, describeError, mutationFromJson, mutationToJson, parkedOrder } from '../../src/index.js';
import type { BackoffPolicy, BinlogPosition, Mutation, ParkedTable, ParkReason, QuarantineStore } from '../../src/index.js';
import { CHECKPOINT_DATABASE } from './applied-log.js';
import { retryTransient } from './retry.js';
import { TargetPool, type TargetEndpoint } from './target-connection.js';
import type { WriteFence } from './write-fence.js';

export const QUARANTINE_TABLE = 'quarantine';
export const QUARANTINED_TABLES_TABLE = 'quarantined_tables';
const EVENTS = `\`${CHECKPOINT_DATABASE}\`.\`${QUARANTINE_TABLE}\``;
const TABLES = `\`${CHECKPOINT_DATABASE}\`.\`${QUARANTINED_TABLES_TABLE}\``;

const CREATE_SQL = [
  `CREATE DATABASE IF NOT EXISTS \`${CHECKPOINT_DATABASE}\` CHARACTER SET utf8mb4`,
  `CREATE TABLE IF NOT EXISTS ${TABLES} (
  pipeline VARCHAR(191) NOT NULL,
  table_name VARCHAR(129) COLLATE utf8mb4_bin NOT NULL,
  error TEXT NOT NULL,
  binlog_file VARCHAR(255) NOT NULL,
  binlog_pos BIGINT UNSIGNED NOT NULL,
  parked_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (pipeline, table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE IF NOT EXISTS ${EVENTS} (
  pipeline VARCHAR(191) NOT NULL,
  table_name VARCHAR(129) COLLATE utf8mb4_bin NOT NULL,
  binlog_file VARCHAR(255) NOT NULL,
  binlog_pos BIGINT UNSIGNED NOT NULL,
  from_binlog TINYINT UNSIGNED NOT NULL,
  change_index INT UNSIGNED NOT NULL,
  part TINYINT UNSIGNED NOT NULL,
  row_hash BINARY(16) NOT NULL,
  op VARCHAR(8) NOT NULL,
  change_json LONGTEXT NOT NULL,
  error TEXT NULL,
  parked_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (pipeline, table_name, binlog_file, binlog_pos, from_binlog, change_index, part, row_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

/** Dead-letter rows per INSERT statement. */
const ROWS_PER_INSERT = 200;

/** Where a page of parked changes ends; the next page starts after it. */
export interface ParkedCursor {
  readonly file: string;
  readonly pos: number;
  readonly fromBinlog: number;
  readonly index: number;
  readonly part: number;
  readonly rowHash: Buffer;
}

export interface ParkedChange {
  readonly mutation: Mutation;
  readonly cursor: ParkedCursor;
  /** The target's refusal, for the changes it refused; null for those parked after them. */
  readonly error: string | null;
}

interface EventRow {
  binlog_file: string;
  binlog_pos: number | string;
  from_binlog: number;
  change_index: number;
  part: number;
  row_hash: Buffer;
  change_json: string;
  error: string | null;
}

export interface MySqlQuarantineStoreOptions extends TargetEndpoint {
  readonly logger?: Logger;
  readonly retry?: BackoffPolicy;
  readonly fence?: WriteFence;
  /** Give up after this many attempts at a transient failure (one-shot commands). Default: until closed. */
  readonly maxAttempts?: number;
}

export class MySqlQuarantineStore implements QuarantineStore {
  private readonly pool: TargetPool;
  private readonly logger: Logger;
  private readonly retry: BackoffPolicy;
  private readonly fence: WriteFence | undefined;
  private readonly maxAttempts: number | undefined;
  private readonly closing = new AbortController();
  private ready: Promise<void> | null = null;

  constructor(options: MySqlQuarantineStoreOptions) {
    this.pool = new TargetPool(options, 2);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.retry = options.retry ?? DEFAULT_BACKOFF;
    this.fence = options.fence;
    this.maxAttempts = options.maxAttempts;
  }

  async parked(pipeline: string): Promise<readonly ParkedTable[]> {
    await this.ensureTables();
    return this.run('read the parked tables', false, async (conn) => {
      const [rows] = await conn.query(
        `SELECT t.table_name, t.error, t.binlog_file, t.binlog_pos, DATE_FORMAT(t.parked_at, '%Y-%m-%d %H:%i:%s.%f') AS parked_at,
           (SELECT COUNT(*) FROM ${EVENTS} q WHERE q.pipeline = t.pipeline AND q.table_name = t.table_name) AS events
         FROM ${TABLES} t WHERE t.pipeline = ? ORDER BY t.table_name`,
        [pipeline],
      );
      return (rows as { table_name: string; error: string; binlog_file: string; binlog_pos: number | string; parked_at: string; events: number | string }[]).map((r) => ({
        table: r.table_name,
        error: r.error,
        position: { file: r.binlog_file, pos: Number(r.binlog_pos) },
        parkedAt: r.parked_at,
        events: Number(r.events),
      }));
    });
  }

  async park(pipeline: string, table: string, mutations: readonly Mutation[], reason: ParkReason | null): Promise<void> {
    if (mutations.length === 0 && !reason) return;
    await this.ensureTables();
    const values = mutations.map((m) => {
      const o = parkedOrder(m);
      return [pipeline, table, o.position.file, o.position.pos, o.fromBinlog, o.index, o.part, rowHash(m.rowId), m.op, JSON.stringify(mutationToJson(m)), reason ? reason.error : null];
    });
    await this.run(`park ${mutations.length} change(s) of ${table}`, true, async (conn) => {
      await conn.query('BEGIN');
      try {
        if (reason) {
          await conn.query(`INSERT INTO ${TABLES} (pipeline, table_name, error, binlog_file, binlog_pos) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE pipeline = pipeline`, [
            pipeline,
            table,
            reason.error,
            reason.position.file,
            reason.position.pos,
          ]);
        }
        for (let i = 0; i < values.length; i += ROWS_PER_INSERT) {
          // A row written before (a restart read the change again) stays as it was.
          await conn.query(
            `INSERT INTO ${EVENTS} (pipeline, table_name, binlog_file, binlog_pos, from_binlog, change_index, part, row_hash, op, change_json, error) VALUES ? ON DUPLICATE KEY UPDATE pipeline = pipeline`,
            [values.slice(i, i + ROWS_PER_INSERT)],
          );
        }
        await conn.query('COMMIT');
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /** Up to `limit` parked changes of `table` after `after` (from the first when null), in the order to apply them. */
  async page(pipeline: string, table: string, after: ParkedCursor | null, limit: number): Promise<ParkedChange[]> {
    await this.ensureTables();
    return this.run(`read the parked changes of ${table}`, false, async (conn) => {
      const cols = 'binlog_file, binlog_pos, from_binlog, change_index, part, row_hash';
      const where = after ? `AND (${cols}) > (?, ?, ?, ?, ?, ?)` : '';
      const params: unknown[] = [pipeline, table];
      if (after) params.push(after.file, after.pos, after.fromBinlog, after.index, after.part, after.rowHash);
      const [rows] = await conn.query(`SELECT ${cols}, change_json, error FROM ${EVENTS} WHERE pipeline = ? AND table_name = ? ${where} ORDER BY ${cols} LIMIT ${Math.max(1, Math.floor(limit))}`, params);
      return (rows as EventRow[]).map((r) => {
        const position: BinlogPosition = { file: r.binlog_file, pos: Number(r.binlog_pos) };
        return {
          mutation: mutationFromJson(r.change_json, `${EVENTS} row of ${table} at ${position.file}:${position.pos} (change ${r.change_index})`),
          cursor: { file: r.binlog_file, pos: Number(r.binlog_pos), fromBinlog: Number(r.from_binlog), index: Number(r.change_index), part: Number(r.part), rowHash: r.row_hash },
          error: r.error,
        };
      });
    });
  }

  /** Un-parks `table`: deletes its parked changes and its entry, in one transaction. */
  async release(pipeline: string, table: string): Promise<void> {
    await this.ensureTables();
    await this.run(`un-park ${table}`, true, async (conn) => {
      await conn.query('BEGIN');
      try {
        await conn.query(`DELETE FROM ${EVENTS} WHERE pipeline = ? AND table_name = ?`, [pipeline, table]);
        await conn.query(`DELETE FROM ${TABLES} WHERE pipeline = ? AND table_name = ?`, [pipeline, table]);
        await conn.query('COMMIT');
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private ensureTables(): Promise<void> {
    this.ready ??= this.run('create the quarantine tables', false, async (conn) => {
      for (const sql of CREATE_SQL) await conn.query(sql);
    }).catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  private async run<T>(what: string, write: boolean, work: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
    try {
      return await retryTransient(
        { policy: this.retry, logger: this.logger, signal: this.closing.signal, what, ...(this.maxAttempts !== undefined ? { maxAttempts: this.maxAttempts } : {}) },
        async () => {
          if (write && this.fence) await this.fence.held(this.closing.signal);
          return this.pool.using(work);
        },
      );
    } catch (err) {
      if (err instanceof BinlogSyncError) throw err;
      throw new BinlogSyncError(
        'QUARANTINE',
        `quarantine: cannot ${what} in ${EVENTS} on the target: ${describeError(err)}. The target user needs CREATE, SELECT, INSERT and DELETE on \`${CHECKPOINT_DATABASE}\`.`,
        { cause: err },
      );
    }
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    await this.pool.close();
  }
}

/** 16 bytes that tell apart the rows parked at one place in the binlog (a snapshot chunk's rows share it). */
function rowHash(rowId: string): Buffer {
  return createHash('md5').update(rowId).digest();
}
