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
