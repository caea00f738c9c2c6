/**
 * Requests to the running daemon (`_binlog_sync.requests` on the target): `binlog-sync snapshot` and
 * `verify --repair` add one; the daemon holding the pipeline takes the oldest unfinished one, runs it
 * inside its pipeline and records how it ended. On the target, next to the checkpoint, so that every
 * command that can reach the target can ask, and a request survives a daemon restart.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { BinlogSyncError, DEFAULT_BACKOFF, describeError, type BackoffPolicy, type ControlRequest, type RequestStore } from '../../src/index.js';
import { CHECKPOINT_DATABASE } from './applied-log.js';
import { retryTransient } from './retry.js';
import { TargetPool, type TargetEndpoint } from './target-connection.js';
import type mysql from 'mysql2/promise';

export const REQUESTS_TABLE = 'requests';
const QUALIFIED = `\`${CHECKPOINT_DATABASE}\`.\`${REQUESTS_TABLE}\``;

const CREATE_SQL = [
  `CREATE DATABASE IF NOT EXISTS \`${CHECKPOINT_DATABASE}\` CHARACTER SET utf8mb4`,
  `CREATE TABLE IF NOT EXISTS ${QUALIFIED} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  pipeline VARCHAR(191) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  state VARCHAR(16) NOT NULL,
  message TEXT NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY by_state (pipeline, state, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

interface RequestRow {
  id: number | string;
  kind: string;
  body: string;
  state: string;
  message: string | null;
}

function toRequest(r: RequestRow): ControlRequest {
  const body = JSON.parse(r.body) as Pick<ControlRequest, 'tables' | 'repairs'>;
  return {
    id: Number(r.id),
    kind: r.kind === 'repair' ? 'repair' : 'snapshot',
    tables: body.tables ?? [],
    repairs: body.repairs ?? [],
    state: r.state as ControlRequest['state'],
    message: r.message,
  };
}

export class MySqlRequestStore implements RequestStore {
  private readonly pool: TargetPool;
  private readonly logger: Logger;
  private readonly retry: BackoffPolicy;
  private readonly closing = new AbortController();
  private ready: Promise<void> | null = null;

  constructor(options: TargetEndpoint & { readonly logger?: Logger; readonly retry?: BackoffPolicy }) {
    this.pool = new TargetPool(options, 2);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.retry = options.retry ?? DEFAULT_BACKOFF;
  }

  private ensureTable(): Promise<void> {
    this.ready ??= this.run('create the requests table', async (conn) => {
      for (const sql of CREATE_SQL) await conn.query(sql);
    }).catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  async add(pipeline: string, request: Pick<ControlRequest, 'kind' | 'tables' | 'repairs'>): Promise<number> {
    await this.ensureTable();
    return this.run('add a request', async (conn) => {
      const [result] = await conn.query(`INSERT INTO ${QUALIFIED} (pipeline, kind, body, state) VALUES (?, ?, ?, 'pending')`, [
        pipeline,
        request.kind,
        JSON.stringify({ tables: request.tables, repairs: request.repairs }),
      ]);
      return Number((result as mysql.ResultSetHeader).insertId);
    });
  }

  async next(pipeline: string): Promise<ControlRequest | null> {
    await this.ensureTable();
    return this.run('read the requests', async (conn) => {
      const [rows] = await conn.query(
        `SELECT id, kind, body, state, message FROM ${QUALIFIED} WHERE pipeline = ? AND state IN ('running', 'pending') ORDER BY state = 'running' DESC, id LIMIT 1`,
        [pipeline],
      );
      const r = (rows as RequestRow[])[0];
      return r ? toRequest(r) : null;
    });
  }

  /** Every unfinished request of the pipeline, oldest first (for status). */
  async unfinished(pipeline: string): Promise<ControlRequest[]> {
    await this.ensureTable();
    return this.run('read the requests', async (conn) => {
      const [rows] = await conn.query(`SELECT id, kind, body, state, message FROM ${QUALIFIED} WHERE pipeline = ? AND state IN ('running', 'pending') ORDER BY id`, [pipeline]);
      return (rows as RequestRow[]).map(toRequest);
    });
  }

  async get(id: number): Promise<ControlRequest | null> {
    await this.ensureTable();
    return this.run('read a request', async (conn) => {
      const [rows] = await conn.query(`SELECT id, kind, body, state, message FROM ${QUALIFIED} WHERE id = ?`, [id]);
      const r = (rows as RequestRow[])[0];
      return r ? toRequest(r) : null;
    });
  }

  async setState(id: number, state: ControlRequest['state'], message?: string): Promise<void> {
    await this.ensureTable();
    await this.run('update a request', (conn) =>
      conn.query(`UPDATE ${QUALIFIED} SET state = ?, message = ?, updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?`, [state, message ?? null, id]).then(() => undefined),
    );
  }

  private async run<T>(what: string, work: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
    try {
      return await retryTransient({ policy: this.retry, logger: this.logger, signal: this.closing.signal, what }, () => this.pool.using(work));
    } catch (err) {
      if (err instanceof BinlogSyncError) throw err;
      throw new BinlogSyncError('CHECKPOINT', `requests: cannot ${what} in ${QUALIFIED} on the target: ${describeError(err)}. The target user needs CREATE, SELECT, INSERT and UPDATE on \`${CHECKPOINT_DATABASE}\`.`, {
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    await this.pool.close();
  }
}
