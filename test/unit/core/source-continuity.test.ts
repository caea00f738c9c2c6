import { describe, expect, it } from 'vitest';
import { assessContinuity, continuityQuestion, sourceChangedError } from '../../../src/core/source-continuity.js';
import type { Checkpoint } from '../../../src/core/ports.js';
import type { SourceIdentity } from '../../../src/core/source-identity.js';

const primary: SourceIdentity = { flavor: 'mariadb', serverId: 11, domainId: 0 };
const replica: SourceIdentity = { flavor: 'mariadb', serverId: 12, domainId: 0 };
const mysqlA: SourceIdentity = { flavor: 'mysql', serverUuid: '3e11fa47-71ca-11e1-9e33-c80aa9429562', serverId: 1 };
const mysqlB: SourceIdentity = { flavor: 'mysql', serverUuid: '4e11fa47-71ca-11e1-9e33-c80aa9429562', serverId: 2 };

const stored: Checkpoint = { position: { file: 'mysql-bin.000003', pos: 1622, gtidPos: '0-11-7' }, sourceTimestampMs: 1, source: primary };

describe('continuityQuestion', () => {
  it('asks the same server for its GTID position at the checkpoint, another MariaDB for its binlog state, nothing else', () => {
    expect(continuityQuestion(stored, primary)).toBe('gtid-position-at-checkpoint');
    expect(continuityQuestion(stored, replica)).toBe('binlog-state');
    expect(continuityQuestion({ position: stored.position, sourceTimestampMs: 1 }, replica)).toBeNull();
    expect(continuityQuestion({ ...stored, position: { file: 'mysql-bin.000003', pos: 1622 } }, primary)).toBeNull();
    expect(continuityQuestion({ ...stored, source: mysqlA }, mysqlB)).toBeNull();
  });
});

describe('assessContinuity', () => {
  it('continues on the same server whose binlog is at the recorded GTID position there', () => {
    expect(assessContinuity(stored, { current: primary, gtidPosAtCheckpoint: '0-11-7' })).toEqual({ kind: 'same' });
    // No GTID position recorded (an older checkpoint of this server, or MySQL): nothing more to compare.
    expect(assessContinuity({ ...stored, position: { file: 'mysql-bin.000003', pos: 1622 } }, { current: primary })).toEqual({ kind: 'same' });
    expect(assessContinuity({ ...stored, source: mysqlA }, { current: { ...mysqlA, serverId: 9 } })).toEqual({ kind: 'same' });
  });

  it('refuses a server with the same identity whose binlog holds other transactions there (same server_id, or RESET MASTER)', () => {
    const c = assessContinuity(stored, { current: primary, gtidPosAtCheckpoint: '0-11-3' });
    expect(c).toMatchObject({ kind: 'discontinuous', from: primary });
    expect(c.kind === 'discontinuous' && c.reason).toMatch(/same identity, but its binlog at mysql-bin\.000003:1622 is at GTID position "0-11-3" where the checkpoint recorded "0-11-7"/);
    // No event boundary there (purged, reset, or not the binlog the checkpoint was taken in).
    const none = assessContinuity(stored, { current: primary, gtidPosAtCheckpoint: null });
    expect(none.kind === 'discontinuous' && none.reason).toMatch(/no event group boundary at mysql-bin\.000003:1622 \(BINLOG_GTID_POS is NULL there\)/);
  });

  it('continues a checkpoint that names no server (stored by an older version) as before', () => {
    const { source: _, ...old } = stored;
    expect(assessContinuity(old, { current: replica })).toEqual({ kind: 'unrecorded' });
  });

  it('moves to another MariaDB server whose binlog holds every transaction of the checkpoint\'s GTID position', () => {
    expect(assessContinuity(stored, { current: replica, binlogState: '0-11-10,0-12-14' })).toEqual({ kind: 'another-server', from: primary, gtidPos: '0-11-7' });
  });

  it('refuses another server that lacks transactions the target has', () => {
    const c = assessContinuity(stored, { current: replica, binlogState: '0-11-5' });
    expect(c.kind === 'discontinuous' && c.reason).toMatch(/its binlog lacks 0-11-7 of the checkpoint's GTID position "0-11-7" \(its gtid_binlog_state is "0-11-5"\)/);
    const unrelated = assessContinuity(stored, { current: { flavor: 'mariadb', serverId: 30, domainId: 0 }, binlogState: '0-30-2000' });
    expect(unrelated.kind).toBe('discontinuous');
  });

  it('refuses another server when the checkpoint has no GTID position (inside a transaction, or unknown)', () => {
    const c = assessContinuity({ ...stored, position: { file: 'mysql-bin.000003', pos: 1622 } }, { current: replica, binlogState: '0-11-10' });
    expect(c.kind === 'discontinuous' && c.reason).toMatch(/no GTID position/);
  });

  it('refuses another server while resolved XA endings past the checkpoint are recorded by old positions', () => {
    const c = assessContinuity({ ...stored, resolvedXa: [{ xid: '1:a:', at: { file: 'mysql-bin.000003', pos: 2000 } }] }, { current: replica, binlogState: '0-11-10' });
    expect(c.kind === 'discontinuous' && c.reason).toMatch(/prepared XA transaction holds the checkpoint/);
  });

  it('refuses another server on MySQL, where no GTID position is recorded per binlog place', () => {
    for (const [from, to] of [[mysqlA, mysqlB], [mysqlA, replica], [primary, mysqlB]] as const) {
      const c = assessContinuity({ ...stored, source: from }, { current: to, binlogState: null });
      expect(c.kind === 'discontinuous' && c.reason).toMatch(/records on MariaDB only/);
    }
  });
});

describe('sourceChangedError', () => {
  it('names the checkpoint, both servers, the reason and what to do', () => {
    const err = sourceChangedError('orders', '127.0.0.1:3307', stored, replica, 'because');
    expect(err.code).toBe('SOURCE_CHANGED');
    expect(err.retriable).toBe(false);
    expect(err.message).toMatch(/^the checkpoint of "orders" \(mysql-bin\.000003:1622, GTID position "0-11-7"\) belongs to MariaDB server_id 11 \(gtid_domain_id 0\), but the source at 127\.0\.0\.1:3307 is MariaDB server_id 12 \(gtid_domain_id 0\), and it cannot continue there: because\./);
    expect(err.message).toMatch(/target and the checkpoint are unchanged/);
    expect(err.message).toMatch(/point source\.host\/source\.port back/);
    expect(err.message).toMatch(/binlog-sync run --reset-to FILE:POS --yes/);
    expect(err.message).toMatch(/re-copy the synced tables/);
  });
});
