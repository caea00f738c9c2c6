/**
 * Decides, from a mysql2 / Node error's `errno` and `code` alone, whether applying the same batch again
 * can succeed, and whether the connection it happened on is still usable. Pure, so the table is tested
 * without a server. Anything not listed is non-retriable: retrying a bad statement forever would hide it.
 */

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

/** Server error numbers (ER_*) worth retrying. */
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
  [1152, 'connection'], // ER_ABORTING_CONNECTION
  [1158, 'connection'], // ER_NET_READ_ERROR
  [1159, 'connection'], // ER_NET_READ_INTERRUPTED
  [1160, 'connection'], // ER_NET_ERROR_ON_WRITE
  [1161, 'connection'], // ER_NET_WRITE_INTERRUPTED
  [2002, 'connection'], // CR_CONNECTION_ERROR
  [2003, 'connection'], // CR_CONN_HOST_ERROR
  [2006, 'connection'], // CR_SERVER_GONE_ERROR
  [2013, 'connection'], // CR_SERVER_LOST
  [2055, 'connection'], // CR_SERVER_LOST_EXTENDED
  [4031, 'connection'], // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8: idle connection closed)
]);

/** Node socket errors and mysql2 protocol errors (string codes, no errno from the server). */
const RETRIABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT', // also mysql2's connect timeout
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  // A restarting container's host name may not resolve for a while (compose, Kubernetes).
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'PROTOCOL_ENQUEUE_HANDSHAKE_TWICE',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
]);

const FATAL: Classification = Object.freeze({ retriable: false, errorClass: 'fatal', discardConnection: false });

function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}

export function classifyMySqlError(err: unknown): Classification {
  const errno = field(err, 'errno');
  const code = field(err, 'code');
  // mysql2 marks errors after which the connection is dead as `fatal`.
  const fatalToConnection = field(err, 'fatal') === true;

  if (typeof errno === 'number' && errno > 0) {
    const cls = RETRIABLE_ERRNO.get(errno);
    if (cls) return { retriable: true, errorClass: cls, discardConnection: cls !== 'lock-conflict' || fatalToConnection };
    // Node system errors carry a negative errno; server errors a positive one. A positive unknown errno is
    // a SQL error (unknown column, data too long, …) unless the string code says the socket failed.
    if (typeof code !== 'string' || !RETRIABLE_CODES.has(code)) return fatalToConnection ? { ...FATAL, discardConnection: true } : FATAL;
  }
  if (typeof code === 'string' && RETRIABLE_CODES.has(code)) {
    const lock = code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
    return { retriable: true, errorClass: lock ? 'lock-conflict' : 'connection', discardConnection: !lock || fatalToConnection };
  }
  return fatalToConnection ? { ...FATAL, discardConnection: true } : FATAL;
}

/** What to tell the operator for a non-retriable apply error, by server error number. */
export function remedyFor(err: unknown): string {
  switch (field(err, 'errno')) {
    case 1054: // ER_BAD_FIELD_ERROR
      return 'the target table lacks a column the source has: add it on the target (binlog-sync does not apply DDL), then restart';
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
