/**
 * The target's schema history (`_binlog_sync.schema_history`): every DDL the sink ran on the target
 * (`schemaChanges: apply`), keyed by pipeline and the DDL's binlog position, written in the transaction
 * that records the DDL as done. It outlives `run --reset-to` (unlike the applied log's marks): a reset
 * declares where the target's data is, but the target's tables keep the shape the DDL gave them. So a
 * DDL found here is not run again, and row changes read again from before it are carried forward
 * through it (src/core/schema-history.ts) instead of meeting a table shape they were not written for.
 */
import type mysql from 'mysql2/promise';
import type { BinlogPosition, RecordedDdl } from '../../src/index.js';
import { CHECKPOINT_DATABASE } from './applied-log.js';

const QUALIFIED = `\`${CHECKPOINT_DATABASE}\`.\`schema_history\``;

export const CREATE_SCHEMA_HISTORY_SQL = `CREATE TABLE IF NOT EXISTS ${QUALIFIED} (
  pipeline VARCHAR(191) NOT NULL,
  binlog_file VARCHAR(255) NOT NULL,
  binlog_pos BIGINT UNSIGNED NOT NULL,
  source VARCHAR(191) NOT NULL DEFAULT '',
  default_schema VARCHAR(64) NOT NULL,
  statement LONGTEXT NOT NULL,
  applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (pipeline, source, binlog_file, binlog_pos)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** Idempotent: the DDL run again after a crash between its run and its record finds its row there. */
export const RECORD_DDL_SQL = `INSERT IGNORE INTO ${QUALIFIED} (pipeline, binlog_file, binlog_pos, source, default_schema, statement) VALUES (?, ?, ?, ?, ?, ?)`;

const READ_HISTORY_SQL = `SELECT binlog_file, binlog_pos, default_schema, statement FROM ${QUALIFIED} WHERE pipeline = ?`;
const RECORDED_AT_SQL = `SELECT 1 FROM ${QUALIFIED} WHERE pipeline = ? AND binlog_file = ? AND binlog_pos = ?`;
/** Positions are places in one server's binlog: another server's entries say nothing about this one's. */
const OF_SOURCE = ' AND source = ?';

type HistoryRow = { binlog_file: string; binlog_pos: number | string; default_schema: string; statement: string };

/**
 * The DDL recorded for `pipeline` while reading `source` (`sourceKey`; '' when the sink was not told
 * it); all of them when `source` is null (a sink not told its source: one source assumed).
 */
export async function readSchemaHistory(conn: mysql.PoolConnection, pipeline: string, source: string | null): Promise<RecordedDdl[]> {
  const [rows] = source === null ? await conn.query(READ_HISTORY_SQL, [pipeline]) : await conn.query(READ_HISTORY_SQL + OF_SOURCE, [pipeline, source]);
  return (rows as HistoryRow[]).map((r) => ({ position: { file: r.binlog_file, pos: Number(r.binlog_pos) }, sql: r.statement, defaultSchema: r.default_schema }));
}

/** Whether the DDL at `position` (of `source`, as for `readSchemaHistory`) ran on the target already. */
export async function isRecorded(conn: mysql.PoolConnection, pipeline: string, source: string | null, position: BinlogPosition): Promise<boolean> {
  const params = [pipeline, position.file, position.pos];
  const [rows] = source === null ? await conn.query(RECORDED_AT_SQL, params) : await conn.query(RECORDED_AT_SQL + OF_SOURCE, [...params, source]);
  return (rows as unknown[]).length > 0;
}
