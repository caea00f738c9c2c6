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
  source VARCHAR(191) NULL,
  default_schema VARCHAR(64) NOT NULL,
  statement LONGTEXT NOT NULL,
  applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (pipeline, binlog_file, binlog_pos)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** Idempotent: the DDL run again after a crash between its run and its record finds its row there. */
export const RECORD_DDL_SQL = `INSERT IGNORE INTO ${QUALIFIED} (pipeline, binlog_file, binlog_pos, source, default_schema, statement) VALUES (?, ?, ?, ?, ?, ?)`;

const READ_HISTORY_SQL = `SELECT binlog_file, binlog_pos, default_schema, statement FROM ${QUALIFIED} WHERE pipeline = ?`;
const RECORDED_AT_SQL = `SELECT 1 FROM ${QUALIFIED} WHERE pipeline = ? AND binlog_file = ? AND binlog_pos = ?`;

type HistoryRow = { binlog_file: string; binlog_pos: number | string; default_schema: string; statement: string };

export async function readSchemaHistory(conn: mysql.PoolConnection, pipeline: string): Promise<RecordedDdl[]> {
  const [rows] = await conn.query(READ_HISTORY_SQL, [pipeline]);
  return (rows as HistoryRow[]).map((r) => ({ position: { file: r.binlog_file, pos: Number(r.binlog_pos) }, sql: r.statement, defaultSchema: r.default_schema }));
}

/** Whether the DDL at `position` ran on the target already. */
export async function isRecorded(conn: mysql.PoolConnection, pipeline: string, position: BinlogPosition): Promise<boolean> {
  const [rows] = await conn.query(RECORDED_AT_SQL, [pipeline, position.file, position.pos]);
  return (rows as unknown[]).length > 0;
}
