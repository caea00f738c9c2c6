/**
 * One answer, for the source and the sink alike, to "did the connection fail, rather than the
 * statement?": socket and DNS errors from Node, mysql2's protocol errors, the client's CR_* errors and
 * the server's ER_NET_* errors. After any of these, a new connection can succeed, so both sides retry
 * them with backoff. Each side adds its own server errors (lock conflicts, a purged binlog position…).
 *
 * DNS failures are here on purpose: with host names (compose, Kubernetes), a restarting container's
 * name does not resolve for a while (ENOTFOUND, EAI_AGAIN). A name that never resolves is caught at
 * start by preflight, which connects before anything runs.
 */

/** Node system error codes (`err.code`) of sockets and name resolution after which reconnecting can help. */
const SOCKET_CODES: readonly string[] = [
  'ECONNREFUSED', // nothing listens (yet): the server is restarting
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE', // written to a socket the peer closed
  'ETIMEDOUT', // also mysql2's connect timeout
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL', // no local port free for a moment
  'ENOTFOUND', // getaddrinfo EAI_NONAME: a restarting container's name is gone from DNS for a while
  'EAI_AGAIN', // temporary DNS failure
];

/** mysql2's own codes for a connection that died under it (no errno from a server). */
const PROTOCOL_CODES: readonly string[] = [
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'PROTOCOL_ENQUEUE_HANDSHAKE_TWICE',
];

/** Client (CR_*) and server network (ER_NET_*) errors, by number and by the code mysql2 gives them. */
const CONNECTION_ERRORS: readonly (readonly [number, string])[] = [
  [2002, 'CR_CONNECTION_ERROR'],
  [2003, 'CR_CONN_HOST_ERROR'],
  [2006, 'CR_SERVER_GONE_ERROR'],
  [2013, 'CR_SERVER_LOST'],
  [2055, 'CR_SERVER_LOST_EXTENDED'],
  [1152, 'ER_ABORTING_CONNECTION'],
  [1158, 'ER_NET_READ_ERROR'],
  [1159, 'ER_NET_READ_INTERRUPTED'],
  [1160, 'ER_NET_ERROR_ON_WRITE'],
  [1161, 'ER_NET_WRITE_INTERRUPTED'],
];

/** Every string code (`err.code`) that means the connection failed. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([...SOCKET_CODES, ...PROTOCOL_CODES, ...CONNECTION_ERRORS.map(([, code]) => code)]);

/** Every error number (`err.errno`, positive: client or server) that means the connection failed. */
export const NETWORK_ERRNOS: ReadonlySet<number> = new Set(CONNECTION_ERRORS.map(([errno]) => errno));

/**
 * Whether `err` says the connection (socket, DNS, protocol) failed rather than the statement. Node
 * system errors carry a negative errno (e.g. -111), so only their code is looked at.
 */
export function isNetworkError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  return typeof errno === 'number' && errno > 0 && NETWORK_ERRNOS.has(errno);
}
