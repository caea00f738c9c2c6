/**
 * What was applied exactly once, kept in the target next to the data (`_binlog_sync.applied`): for
 * each pipeline and stream, the source position of the last change of that stream committed on the
 * target, written in the same transaction as the change itself. Row images are idempotent and need
 * no such record; these streams are not:
 * - `statements`: statement-format changes run as statements (`UPDATE t SET n = n + 1` twice is wrong);
 * - `order:<group>`: the changes of tables linked by foreign keys, whose cascades the target performs
 *   (re-applying a parent's delete would cascade again over rows that came back since). There the
 *   position is the change's transaction start and `ordinal` its index in the transaction.
 * Positions of one stream only grow (its changes are applied in source order), so "already applied"
 * is "at or before the stored position".
 */
import { comparePositions, type BinlogPosition } from '../../src/index.js';

/** The database binlog-sync keeps its own state in on the target (checkpoints, the applied log). */
export const CHECKPOINT_DATABASE = '_binlog_sync';
export const APPLIED_TABLE = 'applied';
const QUALIFIED = `\`${CHECKPOINT_DATABASE}\`.\`${APPLIED_TABLE}\``;

export const CREATE_APPLIED_SQL = [
  `CREATE DATABASE IF NOT EXISTS \`${CHECKPOINT_DATABASE}\` CHARACTER SET utf8mb4`,
  `CREATE TABLE IF NOT EXISTS ${QUALIFIED} (
  pipeline VARCHAR(191) NOT NULL,
  stream VARCHAR(191) NOT NULL,
  binlog_file VARCHAR(255) NOT NULL,
  binlog_pos BIGINT UNSIGNED NOT NULL,
  ordinal INT UNSIGNED NOT NULL DEFAULT 0,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (pipeline, stream)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

export const STATEMENTS_STREAM = 'statements';

/** The stream of an order group (tables linked by foreign keys): its changes are applied exactly once. */
export function orderStream(group: string): string {
  return `order:${group}`;
}

export const ORDER_STREAM_PREFIX = 'order:';

export const READ_STREAMS_SQL = `SELECT stream, binlog_file, binlog_pos, ordinal FROM ${QUALIFIED} WHERE pipeline = ? AND stream LIKE 'order:%'`;

/** Forgets what was applied exactly once (`run --reset-to`: the target is declared to hold the data up to the new checkpoint). */
export const CLEAR_APPLIED_SQL = `DELETE FROM ${QUALIFIED} WHERE pipeline = ?`;

/** The applied log's table, for statements that write it inside a batch. */
export const APPLIED_TABLE_REF = Object.freeze({ schema: CHECKPOINT_DATABASE, name: APPLIED_TABLE });

export const READ_APPLIED_SQL = `SELECT binlog_file, binlog_pos, ordinal FROM ${QUALIFIED} WHERE pipeline = ? AND stream = ?`;

/** Locks and reads the stream's last applied position (inside the caller's transaction). */
export const READ_APPLIED_FOR_UPDATE_SQL = `SELECT binlog_file, binlog_pos, ordinal FROM ${QUALIFIED} WHERE pipeline = ? AND stream = ? FOR UPDATE`;

export const WRITE_APPLIED_SQL = `INSERT INTO ${QUALIFIED} (pipeline, stream, binlog_file, binlog_pos, ordinal, updated_at)
  VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP(3))
  ON DUPLICATE KEY UPDATE binlog_file = VALUES(binlog_file), binlog_pos = VALUES(binlog_pos), ordinal = VALUES(ordinal), updated_at = VALUES(updated_at)`;

export interface AppliedMark {
  readonly position: BinlogPosition;
  readonly ordinal: number;
}

export function appliedMarkOf(row: { binlog_file: string; binlog_pos: number | string; ordinal: number | string } | undefined): AppliedMark | null {
  return row ? { position: { file: row.binlog_file, pos: Number(row.binlog_pos) }, ordinal: Number(row.ordinal) } : null;
}

/** Whether a change at (position, ordinal) is already covered by `mark`. */
export function isApplied(mark: AppliedMark | null, position: BinlogPosition, ordinal = 0): boolean {
  if (!mark) return false;
  const c = comparePositions(position, mark.position);
  return c < 0 || (c === 0 && ordinal <= mark.ordinal);
}
