/** Checkpoint store and pipeline lock against a real throwaway target. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import { BinlogSyncError } from '../../src/core/errors.js';
import { MySqlCheckpointStore, PipelineLock, pipelineLockName, type HeldPipelineLock, type LockProof, type WriteFence } from '../../connectors/mysql-sink/index.js';
import { waitFor, within } from '../support/wait-for.js';

let target: LocalMariaDb;

beforeAll(async () => {
  target = await LocalMariaDb.start({ label: 'sink-ckpt', serverId: 23, binlog: false });
});

afterAll(async () => {
  await target?.stop();
});

describe('MySqlCheckpointStore', () => {
  it('creates its table, saves, loads, overwrites, lists and clears', async () => {
    const store = new MySqlCheckpointStore(target.endpoint());
    try {
      expect(await store.load('orders')).toBeNull();
      const rows = (await target.rootQuery("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA='_binlog_sync' AND TABLE_NAME='checkpoints'")) as { n: number }[];
      expect(Number(rows[0]!.n)).toBe(1);

      await store.save('orders', { position: { file: 'mysql-bin.000003', pos: 4 }, sourceTimestampMs: 1_700_000_000_000 });
      expect(await store.load('orders')).toEqual({ position: { file: 'mysql-bin.000003', pos: 4 }, sourceTimestampMs: 1_700_000_000_000 });

      const big = { position: { file: 'mysql-bin.000004', pos: 2 ** 40, gtid: '0-1-123' }, sourceTimestampMs: 1_700_000_123_456 };
      await store.save('orders', big);
      await store.save('users', { position: { file: 'mysql-bin.000001', pos: 99 }, sourceTimestampMs: 5 });
      expect(await store.load('orders')).toEqual(big);

      const listed = await store.list();
      expect(listed.map((c) => c.pipeline)).toEqual(['orders', 'users']);
      expect(listed[0]!.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Math.abs(Date.parse(listed[0]!.updatedAt) - Date.now())).toBeLessThan(60_000);

      await store.clear('orders');
      expect(await store.load('orders')).toBeNull();
      expect(await store.load('users')).not.toBeNull();
    } finally {
      await store.close();
    }
  });

  it('reset replaces the checkpoint in one transaction: also backwards, and a failed reset keeps the old one', async () => {
    const store = new MySqlCheckpointStore(target.endpoint());
    try {
      const ahead = { position: { file: 'mysql-bin.000009', pos: 900, gtid: '0-1-9' }, sourceTimestampMs: 9 };
      const behind = { position: { file: 'mysql-bin.000002', pos: 4 }, sourceTimestampMs: 2 };
      await store.save('resets', ahead);
      await store.reset('resets', behind);
      expect(await store.load('resets')).toEqual(behind);
      await store.reset('fresh', behind);
      expect(await store.load('fresh')).toEqual(behind);

      // The insert half fails (a trigger refuses it): the delete half is rolled back with it.
      await target.rootQuery(
        "CREATE TRIGGER _binlog_sync.refuse BEFORE INSERT ON _binlog_sync.checkpoints FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'",
      );
      try {
        const err = await store.reset('resets', ahead).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BinlogSyncError);
        expect((err as BinlogSyncError).code).toBe('CHECKPOINT');
        expect((err as BinlogSyncError).message).toContain('refused by the test');
      } finally {
        await target.rootQuery('DROP TRIGGER _binlog_sync.refuse');
      }
      expect(await store.load('resets')).toEqual(behind);
      // The connection it failed on went back to the pool without an open transaction.
      await store.reset('resets', ahead);
      expect(await store.load('resets')).toEqual(ahead);
    } finally {
      await store.close();
    }
  });

  it('behind a write fence, saves and resets write only while the server says the lock is held by the fence connection', async () => {
    const locks = new PipelineLock(target.endpoint());
    const held = await locks.acquire('guarded');
    // A fence that believes in its proof, as the keeper does in the moment before it notices a loss.
    let proof: LockProof = { lockName: held.lockName, connectionId: held.connectionId };
    const fence: WriteFence = { held: async () => proof };
    const store = new MySqlCheckpointStore({ ...target.endpoint(), fence });
    const cp = (pos: number) => ({ position: { file: 'mysql-bin.000001', pos }, sourceTimestampMs: pos });
    let thief: HeldPipelineLock | null = null;
    try {
      await store.save('guarded', cp(100));
      // The same values again (an upsert that changes nothing) is not mistaken for a lost lock.
      await store.save('guarded', cp(100));
      await store.reset('guarded', cp(50));
      expect(await store.load('guarded')).toEqual(cp(50));

      // The lock is lost on the server and another connection takes it before the fence knows.
      await target.rootQuery(`KILL ${held.connectionId}`);
      thief = await waitFor(() => locks.acquire('guarded').catch(() => null), { what: 'the killed connection to release the lock' });
      for (const write of [() => store.save('guarded', cp(200)), () => store.reset('guarded', cp(4))]) {
        const err = await write().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BinlogSyncError);
        expect((err as BinlogSyncError).code).toBe('CHECKPOINT');
        expect((err as BinlogSyncError).message).toContain(
          `the pipeline lock 'binlog-sync:guarded' is no longer held by this daemon's target connection ${held.connectionId}`,
        );
      }
      expect(await store.load('guarded')).toEqual(cp(50));

      // With the holder's proof, it writes again.
      proof = { lockName: thief.lockName, connectionId: thief.connectionId };
      await store.save('guarded', cp(300));
      expect(await store.load('guarded')).toEqual(cp(300));
    } finally {
      await store.close();
      await thief?.release();
      await held.release();
    }
  });

  it('a second store on an existing table finds the stored checkpoints', async () => {
    const store = new MySqlCheckpointStore(target.endpoint());
    try {
      expect(await store.load('users')).toEqual({ position: { file: 'mysql-bin.000001', pos: 99 }, sourceTimestampMs: 5 });
    } finally {
      await store.close();
    }
  });
});

describe('PipelineLock', () => {
  it('excludes a second holder, names the holder, and is free again after release', async () => {
    const locks = new PipelineLock(target.endpoint());
    expect(await locks.isHeld('orders')).toBeNull();
    const held = await locks.acquire('orders');
    try {
      expect(held.connectionId).toBeGreaterThan(0);
      expect(await locks.isHeld('orders')).toMatchObject({ connectionId: held.connectionId });
      const err = await new PipelineLock(target.endpoint()).acquire('orders').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BinlogSyncError);
      expect((err as BinlogSyncError).code).toBe('PIPELINE_LOCKED');
      expect((err as BinlogSyncError).message).toContain(`connection ${held.connectionId}`);
      // Another pipeline is independent.
      const other = await locks.acquire('users');
      await other.release();
    } finally {
      await held.release();
    }
    expect(await locks.isHeld('orders')).toBeNull();
  });

  it('is released when the holding connection dies, and the holder learns it lost the lock', async () => {
    const locks = new PipelineLock({ ...target.endpoint(), pingIntervalMs: 200 });
    const held = await locks.acquire('orders');
    await target.rootQuery(`KILL ${held.connectionId}`);
    const lost = await within(held.lost, { what: 'the holder to learn it lost the lock', timeoutMs: 5000 });
    expect(lost).toBeInstanceOf(BinlogSyncError);
    expect(held.isLost).toBe(true);
    const next = await locks.acquire('orders');
    expect(next.connectionId).not.toBe(held.connectionId);
    await next.release();
    await held.release();
  });

  it('keeps long pipeline names distinct within the 64-character lock name limit', async () => {
    const a = 'x'.repeat(100) + 'a';
    const b = 'x'.repeat(100) + 'b';
    expect(pipelineLockName(a).length).toBeLessThanOrEqual(64);
    expect(pipelineLockName(a)).not.toBe(pipelineLockName(b));
    expect(pipelineLockName('orders')).toBe('binlog-sync:orders');
    const locks = new PipelineLock(target.endpoint());
    const ha = await locks.acquire(a);
    const hb = await locks.acquire(b);
    await ha.release();
    await hb.release();
  });
});

describe('MySqlCheckpointStore upgrades', () => {
  it('adds the resolved_xa column to a table made before it, keeps the stored checkpoint, and round-trips resolved XA transactions', async () => {
    await target.rootQuery(`DROP TABLE IF EXISTS _binlog_sync.checkpoints;
      CREATE TABLE _binlog_sync.checkpoints (pipeline VARCHAR(191) NOT NULL PRIMARY KEY, binlog_file VARCHAR(255) NOT NULL, binlog_pos BIGINT UNSIGNED NOT NULL,
        gtid VARCHAR(255) NULL, source_ts_ms BIGINT NOT NULL, updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB;
      INSERT INTO _binlog_sync.checkpoints (pipeline, binlog_file, binlog_pos, source_ts_ms) VALUES ('old', 'mysql-bin.000007', 77, 7)`);
    const store = new MySqlCheckpointStore(target.endpoint());
    try {
      expect(await store.load('old')).toEqual({ position: { file: 'mysql-bin.000007', pos: 77 }, sourceTimestampMs: 7 });
      const held = {
        position: { file: 'mysql-bin.000008', pos: 300 },
        sourceTimestampMs: 8,
        resolvedXa: [{ xid: '1:6131:', at: { file: 'mysql-bin.000008', pos: 500 } }],
      };
      await store.save('old', held);
      expect(await store.load('old')).toEqual(held);
      // A later save without any clears them.
      await store.save('old', { position: { file: 'mysql-bin.000008', pos: 600 }, sourceTimestampMs: 9 });
      expect(await store.load('old')).toEqual({ position: { file: 'mysql-bin.000008', pos: 600 }, sourceTimestampMs: 9 });
    } finally {
      await store.close();
    }
  });
});
