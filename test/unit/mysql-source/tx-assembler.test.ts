import { describe, expect, it } from 'vitest';
import type { Row, TableKeys } from '../../../src/core/event.js';
import { exactIdentity } from '../../../src/core/key.js';
import { TxAssembler, type DecodedChange } from '../../../connectors/mysql-source/tx-assembler.js';

const keys: TableKeys = { table: { schema: 's', name: 't' }, primaryKey: ['id'], uniqueKeys: [] };

function dc(op: DecodedChange['op'], before: Row | null, after: Row | null): DecodedChange {
  return { op, keys, before, after, beforeId: before && exactIdentity(keys, before), afterId: after && exactIdentity(keys, after), bytes: 0 };
}

describe('TxAssembler', () => {
  it('numbers transactions, counts changes and puts the resume position at the commit', () => {
    const a = new TxAssembler({ file: 'mysql-bin.000001', pos: 4 });
    a.rotate('mysql-bin.000001', 330);
    a.gtid('0-1-7');
    const c1 = a.change(dc('insert', null, { id: 1 }), 0, 1000);
    const c2 = a.change(dc('update', { id: 1 }, { id: 2 }), 0, 1000);
    expect(a.inTransaction).toBe(true);
    const commit = a.commit(900, 1000);
    expect([c1.txSeq, c2.txSeq, commit.txSeq]).toEqual([1, 1, 1]);
    expect(c1.position).toEqual({ file: 'mysql-bin.000001', pos: 330, gtid: '0-1-7' });
    expect(commit).toEqual({ kind: 'commit', txSeq: 1, position: { file: 'mysql-bin.000001', pos: 900, gtid: '0-1-7' }, timestampMs: 1000, changeCount: 2 });
    expect(a.inTransaction).toBe(false);

    // MySQL: GTID then BEGIN is one transaction; a DDL is its own group.
    a.gtid('uuid:5');
    a.begin();
    a.change(dc('delete', { id: 2 }, null), 950, 2000);
    expect(a.commit(1000, 2000)).toMatchObject({ txSeq: 2, changeCount: 1 });
    a.gtid('0-1-9');
    const ddl = a.ddl('ALTER TABLE t ADD c INT', 's', 1200, 3000);
    expect(ddl).toMatchObject({ kind: 'schema-change', txSeq: 3, position: { file: 'mysql-bin.000001', pos: 1200, gtid: '0-1-9' } });
    a.rotate('mysql-bin.000002', 4);
    a.begin();
    expect(a.commit(500, 4000)).toMatchObject({ txSeq: 4, changeCount: 0, position: { file: 'mysql-bin.000002', pos: 500 } });
    expect(a.nextTxSeq).toBe(5);
  });

  it('abandons an open transaction that emitted changes, and it is read again under a new txSeq', () => {
    const a = new TxAssembler({ file: 'f.000001', pos: 4 });
    a.gtid('0-1-1');
    a.change(dc('insert', null, { id: 1 }), 0, 0);
    expect(a.abandon()).toEqual({ kind: 'abandon', txSeq: 1, changeCount: 1 });
    expect(a.abandon()).toBeNull();
    a.gtid('0-1-1');
    expect(a.change(dc('insert', null, { id: 1 }), 0, 0).txSeq).toBe(2);
  });

  it('does not abandon a transaction that emitted nothing', () => {
    const a = new TxAssembler({ file: 'f.000001', pos: 4 });
    a.gtid('0-1-1');
    expect(a.abandon()).toBeNull();
  });

  it('opens a transaction implicitly for rows without a GTID or BEGIN', () => {
    const a = new TxAssembler({ file: 'f.000001', pos: 4 }, 10);
    expect(a.change(dc('insert', null, { id: 1 }), 0, 0)).toMatchObject({ txSeq: 10, position: { file: 'f.000001', pos: 4 } });
    expect(a.commit(100, 0).txSeq).toBe(10);
  });

  it('carries the GTID position at transaction boundaries once seeded, and none inside a transaction', () => {
    const a = new TxAssembler({ file: 'mysql-bin.000001', pos: 1178 });
    a.gtid('0-11-6', true);
    // Not seeded: no GTID position anywhere.
    expect(a.commit(1400, 0).position).toEqual({ file: 'mysql-bin.000001', pos: 1400, gtid: '0-11-6' });
    a.seedGtidPosition('0-11-6');
    a.gtid('0-11-7', true);
    const change = a.change(dc('insert', null, { id: 1 }), 1591, 0);
    expect(change.position.gtidPos).toBeUndefined();
    expect(change.txStart).toEqual({ file: 'mysql-bin.000001', pos: 1400, gtidPos: '0-11-6' });
    const statement = a.statement('UPDATE t SET n = n + 1', 's', [], 1600, 0, {});
    expect(statement.position.gtidPos).toBeUndefined();
    expect(a.commit(1622, 0).position).toEqual({ file: 'mysql-bin.000001', pos: 1622, gtid: '0-11-7', gtidPos: '0-11-7' });
    // Another domain joins the position; a DDL group moves it too.
    a.gtid('1-11-1', true);
    expect(a.commit(1700, 0).position.gtidPos).toBe('0-11-7,1-11-1');
    a.gtid('0-12-8', true);
    expect(a.ddl('CREATE TABLE x (id INT)', 's', 1800, 0).position.gtidPos).toBe('0-12-8,1-11-1');
    // A MySQL GTID (not tracked) leaves it.
    a.gtid('3e11fa47-71ca-11e1-9e33-c80aa9429562:5');
    expect(a.commit(1900, 0).position.gtidPos).toBe('0-12-8,1-11-1');
  });

  it('is seeded by a GTID list where reading stands, not by one from before the start', () => {
    const a = new TxAssembler({ file: 'mysql-bin.000002', pos: 900 });
    // The list at the start of the file, sent while reading starts at 900: the position there is not 900's.
    a.gtidList([{ domain: 0, server: 11, seq: 7n }], 285);
    a.gtid('0-11-9', true);
    expect(a.commit(1000, 0).position.gtidPos).toBeUndefined();
    a.rotate('mysql-bin.000003', 4);
    a.gtidList([{ domain: 0, server: 11, seq: 8n }, { domain: 0, server: 12, seq: 9n }], 299);
    a.gtid('0-12-10', true);
    expect(a.commit(600, 0).position.gtidPos).toBe('0-12-10');
  });
});
