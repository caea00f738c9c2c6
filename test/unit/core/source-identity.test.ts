import { describe, expect, it } from 'vitest';
import { describeSource, identityOfRow, parseSourceKey, sameSource, sourceKey, type SourceIdentity } from '../../../src/core/source-identity.js';
import { gtidBinlogStateStatement, gtidPositionAtStatement, sourceIdentityStatement } from '../../../src/core/server-version.js';

const maria: SourceIdentity = { flavor: 'mariadb', serverId: 11, domainId: 0 };
const mysqlA: SourceIdentity = { flavor: 'mysql', serverUuid: '3e11fa47-71ca-11e1-9e33-c80aa9429562', serverId: 1 };

describe('source identity', () => {
  it('is the same server by server_uuid on MySQL, by server_id and gtid_domain_id on MariaDB', () => {
    expect(sameSource(maria, { flavor: 'mariadb', serverId: 11, domainId: 0 })).toBe(true);
    expect(sameSource(maria, { flavor: 'mariadb', serverId: 12, domainId: 0 })).toBe(false);
    expect(sameSource(maria, { flavor: 'mariadb', serverId: 11, domainId: 1 })).toBe(false);
    // A MySQL server_id is not its identity: a clone keeps it, its server_uuid is new.
    expect(sameSource(mysqlA, { ...mysqlA, serverId: 2 })).toBe(true);
    expect(sameSource(mysqlA, { ...mysqlA, serverUuid: mysqlA.serverUuid.toUpperCase() })).toBe(true);
    expect(sameSource(mysqlA, { ...mysqlA, serverUuid: '4e11fa47-71ca-11e1-9e33-c80aa9429562' })).toBe(false);
    expect(sameSource(maria, { flavor: 'mysql', serverUuid: mysqlA.serverUuid, serverId: 11 })).toBe(false);
  });

  it('has a short key that reads back (Kafka offset metadata)', () => {
    expect(sourceKey(maria)).toBe('mariadb:11:0');
    expect(sourceKey(mysqlA)).toBe('mysql:3e11fa47-71ca-11e1-9e33-c80aa9429562:1');
    expect(parseSourceKey(sourceKey(maria))).toEqual(maria);
    expect(parseSourceKey(sourceKey(mysqlA))).toEqual(mysqlA);
    expect(() => parseSourceKey('mariadb:11')).toThrow(/not a source identity/);
    expect(() => parseSourceKey('postgres:1:2')).toThrow(/not a source identity/);
  });

  it('describes itself for operators', () => {
    expect(describeSource(maria)).toBe('MariaDB server_id 11 (gtid_domain_id 0)');
    expect(describeSource(mysqlA)).toBe('MySQL server_uuid 3e11fa47-71ca-11e1-9e33-c80aa9429562 (server_id 1)');
  });

  it('reads the row of its statement, and refuses one that lacks a part', () => {
    expect(identityOfRow('mariadb', { server_id: 11, gtid_domain_id: 0 })).toEqual(maria);
    expect(identityOfRow('mysql', { server_uuid: mysqlA.serverUuid, server_id: '1' })).toEqual(mysqlA);
    expect(() => identityOfRow('mysql', { server_uuid: '', server_id: 1 })).toThrow(/server_uuid/);
    expect(() => identityOfRow('mariadb', { server_id: 11 })).toThrow(/gtid_domain_id/);
    expect(() => identityOfRow('mariadb', undefined)).toThrow(/server_id/);
  });
});

// MySQL cannot run on this machine: its statement choices are checked over version strings.
describe('identity and GTID statements by server version', () => {
  it.each([
    ['10.11.19-MariaDB-0+deb12u1-log', 'SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.gtid_domain_id AS gtid_domain_id'],
    ['5.5.5-10.6.4-MariaDB-log', 'SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.gtid_domain_id AS gtid_domain_id'],
    ['11.4.2-MariaDB', 'SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.gtid_domain_id AS gtid_domain_id'],
    ['5.7.44-log', 'SELECT @@GLOBAL.server_uuid AS server_uuid, @@GLOBAL.server_id AS server_id'],
    ['8.0.36-28', 'SELECT @@GLOBAL.server_uuid AS server_uuid, @@GLOBAL.server_id AS server_id'],
    ['8.4.3', 'SELECT @@GLOBAL.server_uuid AS server_uuid, @@GLOBAL.server_id AS server_id'],
    ['9.1.0', 'SELECT @@GLOBAL.server_uuid AS server_uuid, @@GLOBAL.server_id AS server_id'],
  ])('%s names itself with %s', (version, statement) => {
    expect(sourceIdentityStatement(version)).toBe(statement);
  });

  it.each(['10.11.19-MariaDB-0+deb12u1-log', '10.5.2-MariaDB', '11.8.1-MariaDB-ubu2404', '5.5.5-10.11.6-MariaDB'])('MariaDB %s answers GTID positions per binlog place', (version) => {
    expect(gtidPositionAtStatement(version)).toBe('SELECT BINLOG_GTID_POS(?, ?) AS gtid_pos');
    expect(gtidBinlogStateStatement(version)).toBe('SELECT @@GLOBAL.gtid_binlog_state AS gtid_binlog_state');
  });

  it.each(['5.7.44-log', '8.0.36', '8.4.3', '9.1.0', ''])('MySQL %s has no GTID state per binlog position (none is asked)', (version) => {
    expect(gtidPositionAtStatement(version)).toBeNull();
    expect(gtidBinlogStateStatement(version)).toBeNull();
  });
});
