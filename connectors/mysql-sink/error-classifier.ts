/**
 * Decides, from a mysql2 / Node error's `errno` and `code` alone, whether applying the same batch again
 * can succeed, and whether the connection it happened on is still usable. Pure, so the table is tested
 * without a server. Anything not listed is non-retriable: retrying a bad statement forever would hide it.
 * Connection failures are classified by src/core/network-errors.ts, the same table the source uses.
 */
import { isNetworkError } from '../../src/index.js';

export type ErrorClass =
  /** Transaction rolled back by a lock conflict; the connection is fine. */
  | 'lock-conflict'
  /** Connection lost or refused; the server may be restarting. */
  | 'connection'
  /** The server refuses work for now: shutting down, read-only, too many connections, node not ready. */
  | 'unavailable'
  /** Retrying cannot help: the statement or the schema is wrong. */
  | 'fatal';

export interface Classification {
  readonly retriable: boolean;
  readonly errorClass: ErrorClass;
  /** The connection the error happened on must be thrown away rather than returned to the pool. */
  readonly discardConnection: boolean;
}

/**
 * Server error numbers (ER_*) worth retrying, besides the connection failures every side retries
 * (`isNetworkError`: sockets, DNS, CR_*, ER_NET_*).
 */
const RETRIABLE_ERRNO: ReadonlyMap<number, ErrorClass> = new Map<number, ErrorClass>([
  [1213, 'lock-conflict'], // ER_LOCK_DEADLOCK
  [1205, 'lock-conflict'], // ER_LOCK_WAIT_TIMEOUT
  [1614, 'lock-conflict'], // ER_XA_RBDEADLOCK
  [1040, 'unavailable'], // ER_CON_COUNT_ERROR: too many connections
  [1053, 'unavailable'], // ER_SERVER_SHUTDOWN
  [1290, 'unavailable'], // ER_OPTION_PREVENTS_STATEMENT: --read-only (e.g. during a failover)
  [1836, 'unavailable'], // ER_READ_ONLY_MODE
  [1792, 'unavailable'], // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
  [1047, 'unavailable'], // ER_UNKNOWN_COM_ERROR: Galera node not ready (WSREP)
  [1317, 'connection'], // ER_QUERY_INTERRUPTED: killed, typically by a shutdown
  [1927, 'connection'], // ER_CONNECTION_KILLED (MariaDB)
  [4031, 'connection'], // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8: idle connection closed)
]);

/** The same server errors by mysql2's string code, for errors that carry no errno. */
const RETRIABLE_CODES: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  ['ER_LOCK_DEADLOCK', 'lock-conflict'],
  ['ER_LOCK_WAIT_TIMEOUT', 'lock-conflict'],
  ['ER_CON_COUNT_ERROR', 'connection'],
  ['ER_SERVER_SHUTDOWN', 'connection'],
  ['ER_CONNECTION_KILLED', 'connection'],
  ['ER_QUERY_INTERRUPTED', 'connection'],
]);

const FATAL: Classification = Object.freeze({ retriable: false, errorClass: 'fatal', discardConnection: false });
const CONNECTION: Classification = Object.freeze({ retriable: true, errorClass: 'connection', discardConnection: true });

function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}

export function classifyMySqlError(err: unknown): Classification {
  if (isNetworkError(err)) return CONNECTION;
  const errno = field(err, 'errno');
  const code = field(err, 'code');
  // mysql2 marks errors after which the connection is dead as `fatal`.
  const fatalToConnection = field(err, 'fatal') === true;
  // Node system errors carry a negative errno; server errors a positive one. A positive unknown errno is
  // a SQL error (unknown column, data too long, …).
  const cls = typeof errno === 'number' && errno > 0 ? RETRIABLE_ERRNO.get(errno) : typeof code === 'string' ? RETRIABLE_CODES.get(code) : undefined;
  if (cls) return { retriable: true, errorClass: cls, discardConnection: cls !== 'lock-conflict' || fatalToConnection };
  return fatalToConnection ? { ...FATAL, discardConnection: true } : FATAL;
}

/**
 * Server errors by which the target refuses a table's data or definition: retrying cannot help, but
 * the other tables can go on while this one is parked (`sink.onApplyError: quarantine`). Not here:
 * privileges (the operator's grant, not the data), foreign keys (tables linked by them are never
 * parked), packet size and everything about the connection or the server's state.
 */
const TABLE_REFUSALS: ReadonlySet<number> = new Set([
  1054, // ER_BAD_FIELD_ERROR: a column the target lacks
  1146, // ER_NO_SUCH_TABLE
  1049, // ER_BAD_DB_ERROR
  1136, // ER_WRONG_VALUE_COUNT_ON_ROW
  1406, // ER_DATA_TOO_LONG
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1265, // WARN_DATA_TRUNCATED
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1367, // ER_ILLEGAL_VALUE_FOR_TYPE
  1292, // ER_TRUNCATED_WRONG_VALUE
  1411, // ER_WRONG_VALUE_FOR_TYPE
  1048, // ER_BAD_NULL_ERROR
  1364, // ER_NO_DEFAULT_FOR_FIELD
  1062, // ER_DUP_ENTRY: a unique index the source table does not have
  3140, // ER_INVALID_JSON_TEXT (MySQL)
  4025, // ER_CONSTRAINT_FAILED: a CHECK constraint the source does not have (MariaDB)
  3819, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
]);

/** Whether the target refused a table's data or definition (a candidate for quarantine), by server error number. */
export function refusesTableData(err: unknown): boolean {
  const errno = field(err, 'errno');
  return typeof errno === 'number' && TABLE_REFUSALS.has(errno);
}

/** What to tell the operator for a non-retriable apply error, by server error number. */
export function remedyFor(err: unknown): string {
  switch (field(err, 'errno')) {
    case 1054: // ER_BAD_FIELD_ERROR
      return 'the target table lacks a column the source has: add it on the target, then restart (schemaChanges: apply runs the DDL binlog-sync reads, not DDL from before its start or passed under ignore)';
    case 1146: // ER_NO_SUCH_TABLE
      return 'create the table on the target with the source definition (or exclude it from the pipeline), then restart';
    case 1049: // ER_BAD_DB_ERROR
      return 'create the database on the target (or map the schema in the pipeline file), then restart';
    case 1406: // ER_DATA_TOO_LONG
    case 1264: // ER_WARN_DATA_OUT_OF_RANGE
    case 1265: // WARN_DATA_TRUNCATED
    case 1366: // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    case 1292: // ER_TRUNCATED_WRONG_VALUE
      return 'a target column is narrower than, or of another type than, the source column: make the target definition match the source, then restart';
    case 1048: // ER_BAD_NULL_ERROR
    case 1364: // ER_NO_DEFAULT_FOR_FIELD
      return 'the target table has a NOT NULL column without default that the source does not fill: make the target definition match the source, then restart';
    case 1062: // ER_DUP_ENTRY
      return 'the target has a unique index the source table does not have: drop it or make the target definition match the source, then restart';
    case 1153: // ER_NET_PACKET_TOO_LARGE
      return "raise the target's max_allowed_packet above the largest row, or lower the sink's maxStatementBytes, then restart";
    case 1142: // ER_TABLEACCESS_DENIED_ERROR
    case 1143: // ER_COLUMNACCESS_DENIED_ERROR
    case 1044: // ER_DBACCESS_DENIED_ERROR
    case 1045: // ER_ACCESS_DENIED_ERROR
      return 'grant the target user INSERT, UPDATE, DELETE on the table, then restart';
    default:
      return 'check that the target table matches the source table definition, fix the cause, then restart: the pipeline resumes from its last checkpoint';
  }
}
