/**
 * Kafka partition progress kept on the target (`_binlog_sync.kafka_partitions`): per pipeline, topic
 * and partition, the offset of the first message not yet applied and the sink worker that owns the
 * partition. The target, not Kafka's committed offsets, is the truth: it commits together with the
 * data, so a worker killed between applying and committing to Kafka resumes from what the target has.
 *
 * Ownership fences stalled workers: a worker claims a partition when it is assigned (an upsert of the
 * row, so it waits for a previous owner's transaction that is storing its offset), and every apply
 * transaction stores its offset with `storeOffsetSql`, which only matches while the claim holds: a
 * worker that lost the partition matches nothing there and rolls back instead of writing over the new
 * owner's newer changes.
 */
import type mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { BinlogSyncError, DEFAULT_BACKOFF, describeError, type BackoffPolicy, type ClaimedOffset, type PartitionClaim, type PartitionOffsetStore } from '../../src/index.js';
import { sqlLiteral } from './statement-builder.js';
import { CHECKPOINT_DATABASE } from './applied-log.js';
import { retryTransient } from './retry.js';
import { TargetPool, type TargetEndpoint } from './target-connection.js';

export const PARTITIONS_TABLE = 'kafka_partitions';
const QUALIFIED = `\`${CHECKPOINT_DATABASE}\`.\`${PARTITIONS_TABLE}\``;

const CREATE_SQL = [
  `CREATE DATABASE IF NOT EXISTS \`${CHECKPOINT_DATABASE}\` CHARACTER SET utf8mb4`,
  `CREATE TABLE IF NOT EXISTS ${QUALIFIED} (
  pipeline VARCHAR(191) NOT NULL,
  topic VARCHAR(249) NOT NULL,
  kafka_partition INT UNSIGNED NOT NULL,
  next_offset BIGINT NULL,
  owner VARCHAR(255) NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (pipeline, topic, kafka_partition)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

/**
 * The last statement of a claimed apply transaction: it stores the partition's offset with the data,
 * and it is the claim check, because it matches no row once another worker owns the partition (the
 * transaction is then rolled back). Last, so the row lock it takes is held only until the commit that
 * follows: lane batches of one partition run side by side and queue only for that moment. A new owner's
 * claim waits for that lock too, so it reads the offset after every commit of the previous owner, and
 * a previous owner's transaction still running finds the new owner here and rolls back.
 */
export function storeOffsetSql(c: ClaimedOffset): string {
  const { claim } = c;
  return (
    `UPDATE ${QUALIFIED} SET next_offset = GREATEST(COALESCE(next_offset, 0), ${c.nextOffset.toString()}), updated_at = CURRENT_TIMESTAMP(3) ` +
    `WHERE pipeline = ${sqlLiteral(claim.pipeline)} AND topic = ${sqlLiteral(claim.topic)} AND kafka_partition = ${claim.partition} AND owner = ${sqlLiteral(claim.owner)}`
  );
}

/** Who owns the partition now (for the message when storeOffsetSql matched no row). */
export const OWNER_SQL = `SELECT owner FROM ${QUALIFIED} WHERE pipeline = ? AND topic = ? AND kafka_partition = ?`;

export function fencedError(claim: PartitionClaim, owner: string | null): BinlogSyncError {
  return new BinlogSyncError(
    'PARTITION_FENCED',
    `partition ${claim.partition} of ${claim.topic} now belongs to ${owner ?? 'no worker'}, not to this worker (${claim.owner}): the consumer group moved it after a rebalance; this worker's changes for it were rolled back and the new owner applies them`,
    { retriable: true, details: { topic: claim.topic, partition: claim.partition, owner: claim.owner, current: owner } },
  );
}


export interface MySqlPartitionOffsetsOptions extends TargetEndpoint {
  readonly logger?: Logger;
  readonly retry?: BackoffPolicy;
}

export class MySqlPartitionOffsets implements PartitionOffsetStore {
  private readonly pool: TargetPool;
  private readonly logger: Logger;
  private readonly retry: BackoffPolicy;
  private readonly closing = new AbortController();
  private ready: Promise<void> | null = null;

  constructor(options: MySqlPartitionOffsetsOptions) {
    this.pool = new TargetPool(options, 2);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.retry = options.retry ?? DEFAULT_BACKOFF;
  }

  private ensureTable(): Promise<void> {
    this.ready ??= this.run('create the partition offsets table', async (conn) => {
      for (const sql of CREATE_SQL) await conn.query(sql);
    }).catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  async claim(claim: PartitionClaim): Promise<bigint | null> {
    await this.ensureTable();
    return this.run(`claim partition ${claim.partition} of ${claim.topic}`, async (conn) => {
      await conn.query('BEGIN');
      try {
        // The upsert takes the row's exclusive lock: it waits for the previous owner's open transactions.
        await conn.query(
          `INSERT INTO ${QUALIFIED} (pipeline, topic, kafka_partition, next_offset, owner) VALUES (?, ?, ?, NULL, ?)
           ON DUPLICATE KEY UPDATE owner = VALUES(owner), updated_at = CURRENT_TIMESTAMP(3)`,
          [claim.pipeline, claim.topic, claim.partition, claim.owner],
        );
        const [rows] = await conn.query(`SELECT CAST(next_offset AS CHAR) AS next_offset FROM ${QUALIFIED} WHERE pipeline = ? AND topic = ? AND kafka_partition = ?`, [
          claim.pipeline,
          claim.topic,
          claim.partition,
        ]);
        await conn.query('COMMIT');
        const next = (rows as { next_offset: string | null }[])[0]?.next_offset ?? null;
        return next === null ? null : BigInt(next);
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async save(claim: PartitionClaim, nextOffset: bigint): Promise<void> {
    await this.ensureTable();
    await this.run(`store the offset of partition ${claim.partition} of ${claim.topic}`, async (conn) => {
      const [result] = await conn.query(
        `UPDATE ${QUALIFIED} SET next_offset = GREATEST(COALESCE(next_offset, 0), ?), updated_at = CURRENT_TIMESTAMP(3) WHERE pipeline = ? AND topic = ? AND kafka_partition = ? AND owner = ?`,
        [nextOffset.toString(), claim.pipeline, claim.topic, claim.partition, claim.owner],
      );
      if ((result as { affectedRows: number }).affectedRows === 0) {
        const [rows] = await conn.query(OWNER_SQL, [claim.pipeline, claim.topic, claim.partition]);
        throw fencedError(claim, (rows as { owner: string }[])[0]?.owner ?? null);
      }
    });
  }

  async list(pipeline: string, topic: string): Promise<{ partition: number; nextOffset: bigint; owner: string }[]> {
    await this.ensureTable();
    return this.run('read the partition offsets', async (conn) => {
      const [rows] = await conn.query(
        `SELECT kafka_partition, CAST(next_offset AS CHAR) AS next_offset, owner FROM ${QUALIFIED} WHERE pipeline = ? AND topic = ? AND next_offset IS NOT NULL ORDER BY kafka_partition`,
        [pipeline, topic],
      );
      return (rows as { kafka_partition: number; next_offset: string; owner: string }[]).map((r) => ({ partition: Number(r.kafka_partition), nextOffset: BigInt(r.next_offset), owner: r.owner }));
    });
  }

  private async run<T>(what: string, work: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
    try {
      return await retryTransient({ policy: this.retry, logger: this.logger, signal: this.closing.signal, what }, async () => {
        return this.pool.using((conn) => work(conn));
      });
    } catch (err) {
      if (err instanceof BinlogSyncError) throw err;
      throw new BinlogSyncError('CHECKPOINT', `partition offsets: cannot ${what} in ${QUALIFIED} on the target: ${describeError(err)}. The target user needs CREATE, SELECT, INSERT and UPDATE on \`${CHECKPOINT_DATABASE}\`.`, {
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
