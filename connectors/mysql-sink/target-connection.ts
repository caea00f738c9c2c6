/**
 * Connections to the target and the session every one of them runs with. The applier, the checkpoint
 * store and the pipeline lock all go through here, so they see values the same way.
 */
import mysql from 'mysql2/promise';
import { isNetworkError } from '../../src/index.js';
import { classifyMySqlError } from './error-classifier.js';

export interface TargetEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Time allowed to open one connection; default 10 s. */
  readonly connectTimeoutMs?: number;
}

/**
 * `sql_mode` for writing. Values must land exactly as the source stored them:
 * - STRICT_ALL_TABLES: a value that does not fit (data too long, out of range, wrong type) is an error,
 *   never a silent truncation; that is how a target narrower than the source is noticed.
 * - NO_ZERO_DATE and NO_ZERO_IN_DATE are deliberately absent, and ALLOW_INVALID_DATES is present: the
 *   source may hold '0000-00-00', '2020-00-15' or '2020-02-31' (its own sql_mode allowed them), and the
 *   target must take them as they are, strict or not.
 * - NO_AUTO_VALUE_ON_ZERO: an AUTO_INCREMENT column holding 0 on the source stays 0 (not a new id).
 * - NO_ENGINE_SUBSTITUTION: harmless for DML; keeps the server default's safety for anything else.
 * - NO_BACKSLASH_ESCAPES must stay absent: statement-builder escapes with backslashes.
 * The same names exist in MySQL 5.7/8 and MariaDB.
 */
export const TARGET_SQL_MODE = 'STRICT_ALL_TABLES,ALLOW_INVALID_DATES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';

/**
 * Session set on every new target connection, before its first use:
 * - time_zone '+00:00': TIMESTAMP values travel as UTC strings ('YYYY-MM-DD HH:MM:SS[.ffffff]').
 * - NAMES utf8mb4: string literals are sent as UTF-8 (emoji included); the server converts them to
 *   each column's character set (latin1 columns get latin1).
 * - foreign_key_checks=1 (the default, stated on purpose): the binlog does NOT carry the rows that
 *   foreign-key actions changed on the source (ON DELETE/UPDATE CASCADE, SET NULL; see FACTS), so
 *   the target's own foreign keys must perform them, as on a native replica. Tables linked by foreign
 *   keys are applied in source order (order groups), so the checks hold at every step; no other
 *   table has foreign keys (preflight compares them on both sides).
 * - unique_checks=1 (the default, stated so nobody "optimises" it): REPLACE and IODKU rely on unique
 *   indexes being checked.
 */
export const SESSION_SETUP_SQL =
  `SET NAMES utf8mb4, time_zone='+00:00', sql_mode='${TARGET_SQL_MODE}', foreign_key_checks=1, unique_checks=1`;

/**
 * READ COMMITTED takes fewer gap locks than REPEATABLE READ, so concurrent lanes writing neighbouring
 * keys deadlock less often. The applier only writes, so it loses no consistency it relies on.
 */
export const SESSION_ISOLATION_SQL = 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED';

export function connectionOptions(endpoint: TargetEndpoint): mysql.ConnectionOptions {
  return {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    charset: 'utf8mb4_general_ci',
    connectTimeout: endpoint.connectTimeoutMs ?? 10_000,
    // Results stay exact: big integers as strings, dates as strings (only the checkpoint store reads).
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: true,
    // The applier sends a batch as `BEGIN; …; COMMIT` in one round trip; every value is escaped.
    multipleStatements: true,
    // mysql2 scans every query for `?` placeholders, also when there are no values: the applier's
    // statements are built and escaped already, and megabytes long, so only format when given values.
    queryFormat: (sql: string, values: unknown) =>
      values === undefined || (Array.isArray(values) && values.length === 0) ? sql : mysql.format(sql, values as never, false, 'Z'),
    enableKeepAlive: true,
  };
}

function ignore(): void {}

/** Opens one connection with the target session applied (pipeline lock, preflight, tests). */
export async function openTargetConnection(endpoint: TargetEndpoint): Promise<mysql.Connection> {
  const conn = await mysql.createConnection(connectionOptions(endpoint));
  // Without a listener, a server that goes away while the connection idles would crash the process.
  conn.on('error', ignore);
  try {
    await conn.query(SESSION_SETUP_SQL);
    return conn;
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

/**
 * A mysql2 pool whose connections are prepared once (session variables) before their first use. The
 * pool replaces connections that die; a connection that failed mid-transaction is `discard`ed by the
 * caller rather than released.
 */
export class TargetPool {
  private readonly pool: mysql.Pool;
  private readonly prepared = new WeakSet<object>();

  constructor(
    endpoint: TargetEndpoint,
    private readonly size: number,
  ) {
    this.pool = mysql.createPool({
      ...connectionOptions(endpoint),
      connectionLimit: size,
      maxIdle: size,
      waitForConnections: true,
      queueLimit: 0,
    });
  }

  async acquire(): Promise<mysql.PoolConnection> {
    const conn = await this.pool.getConnection();
    if (this.prepared.has(conn.connection)) return conn;
    // A connection that dies while idle in the pool emits 'error' (mysql2 listens only once, to drop it
    // from the pool); without a listener of ours a second one would crash the process.
    conn.connection.on('error', ignore);
    try {
      await conn.query(SESSION_SETUP_SQL);
      await conn.query(SESSION_ISOLATION_SQL);
      this.prepared.add(conn.connection);
      return conn;
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  release(conn: mysql.PoolConnection): void {
    conn.release();
  }

  /** Opens (and prepares) every connection the pool may hold; best effort: one that fails opens on first use. */
  async openAll(): Promise<void> {
    const opened = await Promise.allSettled(Array.from({ length: this.size }, () => this.acquire()));
    for (const c of opened) if (c.status === 'fulfilled') this.release(c.value);
  }

  /** Closes the connection and removes it from the pool (its session or transaction state is unknown). */
  discard(conn: mysql.PoolConnection): void {
    conn.destroy();
  }

  /**
   * Runs `work` on one pooled connection: released after it, or discarded when it failed with an error
   * that leaves the connection's state unknown (classifyMySqlError's `discardConnection`).
   */
  async using<T>(work: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    try {
      const result = await work(conn);
      this.release(conn);
      return result;
    } catch (err) {
      if (classifyMySqlError(err).discardConnection) this.discard(conn);
      else this.release(conn);
      throw err;
    }
  }

  /**
   * Ends the pool. A connection attempt still in flight (the target is down and a retry was
   * connecting) makes mysql2's `end()` reject with that attempt's network error: closing is what the
   * caller wants, so that error is not the caller's (seen in CI as a flaky close() test).
   */
  async close(): Promise<void> {
    try {
      await this.pool.end();
    } catch (err) {
      if (!isNetworkError(err)) throw err;
    }
  }
}
