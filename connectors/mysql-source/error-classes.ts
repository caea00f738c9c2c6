/**
 * Which failures of the binlog connection retrying can fix. A lost, refused, reset or timed-out
 * connection, a name that does not resolve for now, a killed thread or a server shutting down: yes
 * (reconnect with backoff). Error 1236 (the position was purged or is impossible): never, the binlog
 * will not come back. Wrong credentials or a missing REPLICATION privilege: not by retrying either.
 * Connection failures are classified by src/core/network-errors.ts, the same table the sink uses.
 */
import { BinlogSyncError, isNetworkError } from '../../src/index.js';

export const ER_MASTER_FATAL_ERROR_READING_BINLOG = 1236;

/** Server errors (besides the connection failures of `isNetworkError`) after which reconnecting can help. */
const RETRIABLE_CODES = new Set([
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CANT_CREATE_THREAD',
  'ER_OUT_OF_RESOURCES',
]);
// 1040 too many connections, 1053 shutdown, 1153 packet too large, 1205 lock wait timeout, 1927 connection killed (MariaDB)
const RETRIABLE_ERRNOS = new Set([1040, 1053, 1153, 1205, 1927]);

export type ErrorClass = 'retriable' | 'purged' | 'fatal';

export function classifyBinlogError(err: unknown): ErrorClass {
  if (err instanceof BinlogSyncError) return err.retriable ? 'retriable' : 'fatal';
  if (!(err instanceof Error)) return 'fatal';
  const e = err as Error & { code?: unknown; errno?: unknown; fatal?: unknown };
  if (e.errno === ER_MASTER_FATAL_ERROR_READING_BINLOG) return 'purged';
  if (isNetworkError(e)) return 'retriable';
  if (typeof e.code === 'string' && RETRIABLE_CODES.has(e.code)) return 'retriable';
  if (typeof e.errno === 'number' && RETRIABLE_ERRNOS.has(e.errno)) return 'retriable';
  // mysql2 marks socket-level failures fatal; a server-side error with an errno here (access denied,
  // missing privilege, unknown system variable) would fail the same way again.
  if (e.fatal === true && typeof e.errno !== 'number') return 'retriable';
  return 'fatal';
}
