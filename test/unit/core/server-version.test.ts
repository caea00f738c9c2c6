import { describe, expect, it } from 'vitest';
import { binlogStatusStatement, parseServerVersion, versionAtLeast } from '../../../src/core/server-version.js';

describe('binlogStatusStatement', () => {
  it.each([
    ['5.6.51-log', 'SHOW MASTER STATUS'],
    ['5.7.44-log', 'SHOW MASTER STATUS'],
    ['8.0.36', 'SHOW MASTER STATUS'],
    ['8.0.36-28', 'SHOW MASTER STATUS'], // Percona Server
    ['8.1.0', 'SHOW MASTER STATUS'],
    ['8.2.0', 'SHOW BINARY LOG STATUS'], // added here; SHOW MASTER STATUS deprecated
    ['8.3.0', 'SHOW BINARY LOG STATUS'],
    ['8.4.3', 'SHOW BINARY LOG STATUS'], // SHOW MASTER STATUS removed
    ['8.4.0-commercial', 'SHOW BINARY LOG STATUS'],
    ['9.1.0', 'SHOW BINARY LOG STATUS'],
    ['10.3.39-MariaDB-log', 'SHOW MASTER STATUS'],
    ['10.4.34-MariaDB', 'SHOW MASTER STATUS'],
    ['10.5.1-MariaDB', 'SHOW MASTER STATUS'],
    ['10.5.2-MariaDB', 'SHOW BINLOG STATUS'], // renamed in 10.5.2, the old name stays an alias
    ['10.11.19-MariaDB-0+deb12u1-log', 'SHOW BINLOG STATUS'],
    ['11.4.2-MariaDB', 'SHOW BINLOG STATUS'],
    ['11.8.1-MariaDB-ubu2404', 'SHOW BINLOG STATUS'],
    ['5.5.5-10.11.6-MariaDB', 'SHOW BINLOG STATUS'], // the handshake form of a MariaDB version
    ['', 'SHOW MASTER STATUS'], // unknown: the statement every server but MySQL ≥ 8.4 has
  ])('%s → %s', (version, statement) => {
    expect(binlogStatusStatement(version)).toBe(statement);
  });
});

describe('parseServerVersion', () => {
  it('reads flavor and number', () => {
    expect(parseServerVersion('10.11.19-MariaDB-0+deb12u1-log')).toEqual({ flavor: 'mariadb', number: [10, 11, 19] });
    expect(parseServerVersion('8.4.3')).toEqual({ flavor: 'mysql', number: [8, 4, 3] });
    expect(parseServerVersion('5.5.5-10.6.4-MariaDB-log')).toEqual({ flavor: 'mariadb', number: [10, 6, 4] });
    expect(parseServerVersion('5.5.62')).toEqual({ flavor: 'mysql', number: [5, 5, 62] });
    expect(parseServerVersion('garbage')).toEqual({ flavor: 'mysql', number: [0, 0, 0] });
  });

  it('compares numbers field by field', () => {
    expect(versionAtLeast(parseServerVersion('8.10.0'), [8, 2, 0])).toBe(true);
    expect(versionAtLeast(parseServerVersion('8.1.99'), [8, 2, 0])).toBe(false);
    expect(versionAtLeast(parseServerVersion('8.2.0'), [8, 2, 0])).toBe(true);
  });
});
