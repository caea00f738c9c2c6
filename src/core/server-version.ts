/**
 * What a server's `SELECT VERSION()` says about the statements it understands. Pure, so every version
 * we cannot run here (MySQL 8.4, 9.x) is covered by a unit test.
 *
 * The binlog head: MySQL 8.2 added `SHOW BINARY LOG STATUS` and MySQL 8.4 removed `SHOW MASTER STATUS`
 * (with the other master/slave statements: SHOW MASTER LOGS, RESET MASTER, SHOW SLAVE STATUS,
 * SHOW SLAVE HOSTS …). MariaDB keeps `SHOW MASTER STATUS` as an alias and names it `SHOW BINLOG STATUS`
 * since 10.5.2; it has no `SHOW BINARY LOG STATUS`. All of them answer with the same columns (File,
 * Position, Binlog_Do_DB, Binlog_Ignore_DB, and on MySQL Executed_Gtid_Set).
 */

export interface ServerVersion {
  readonly flavor: 'mysql' | 'mariadb';
  /** [major, minor, patch]; [0, 0, 0] when the string has no version number. */
  readonly number: readonly [number, number, number];
}

/**
 * Parses `VERSION()`: `8.0.36`, `5.7.44-log`, `8.0.36-28` (Percona), `10.11.19-MariaDB-0+deb12u1-log`,
 * `11.4.2-MariaDB`. MariaDB before 11.0 announces itself as `5.5.5-10.x.y-MariaDB` in the connection
 * handshake (for old clients); that prefix is skipped when it shows up.
 */
export function parseServerVersion(version: string): ServerVersion {
  const text = version.trim().replace(/^5\.5\.5-(?=\d+\.\d+\.\d+.*mariadb)/i, '');
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(text);
  return {
    flavor: /mariadb/i.test(text) ? 'mariadb' : 'mysql',
    number: m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0],
  };
}

/** Whether `v` is at least `min`. */
export function versionAtLeast(v: ServerVersion, min: readonly [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (v.number[i]! !== min[i]!) return v.number[i]! > min[i]!;
  return true;
}

/** The statement that shows the server's current binlog file and position. */
export function binlogStatusStatement(version: string): 'SHOW MASTER STATUS' | 'SHOW BINARY LOG STATUS' | 'SHOW BINLOG STATUS' {
  const v = parseServerVersion(version);
  if (v.flavor === 'mariadb') return versionAtLeast(v, [10, 5, 2]) ? 'SHOW BINLOG STATUS' : 'SHOW MASTER STATUS';
  return versionAtLeast(v, [8, 2, 0]) ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS';
}

/**
 * The statement that names the server (source-identity.ts reads its row): `server_uuid` on MySQL
 * (5.6 and later); MariaDB has none, so `server_id` and the `gtid_domain_id` its own transactions get.
 */
export function sourceIdentityStatement(version: string): string {
  return parseServerVersion(version).flavor === 'mariadb'
    ? 'SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.gtid_domain_id AS gtid_domain_id'
    : 'SELECT @@GLOBAL.server_uuid AS server_uuid, @@GLOBAL.server_id AS server_id';
}

/**
 * The statement that answers the GTID position at a binlog file:pos (parameters: file, pos), or null
 * where there is none. MariaDB has `BINLOG_GTID_POS` (NULL when the file is gone or the offset is not
 * an event boundary). MySQL has no per-position GTID state: `gtid_executed` is the server's state now,
 * not at a position, and the position's set would take reading the binlog from its file's
 * Previous_gtids event.
 */
export function gtidPositionAtStatement(version: string): string | null {
  return parseServerVersion(version).flavor === 'mariadb' ? 'SELECT BINLOG_GTID_POS(?, ?) AS gtid_pos' : null;
}

/** The statement that answers which (domain, server) GTIDs the binlog holds (MariaDB `gtid_binlog_state`), or null on MySQL. */
export function gtidBinlogStateStatement(version: string): string | null {
  return parseServerVersion(version).flavor === 'mariadb' ? 'SELECT @@GLOBAL.gtid_binlog_state AS gtid_binlog_state' : null;
}
