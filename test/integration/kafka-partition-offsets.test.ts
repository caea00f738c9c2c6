/**
 * A Kafka sink worker's progress on a real MariaDB target: each lane batch stores the partition's
 * offset in its own transaction, and commits only while the worker's claim on the partition holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import type { PartitionClaim, TableKeys } from '../../src/index.js';
import { MySqlPartitionOffsets, MySqlSink } from '../../connectors/mysql-sink/index.js';
import { upsert } from '../support/mutations.js';

const ITEMS: TableKeys = { table: { schema: 'kp', name: 'items' }, primaryKey: ['id'], uniqueKeys: [] };
let target: LocalMariaDb;
let sink: MySqlSink;
let offsets: MySqlPartitionOffsets;

const claimOf = (owner: string, partition = 0): PartitionClaim => ({ pipeline: 'kp', topic: 'kp.changes', partition, owner });
const stored = async (): Promise<Record<number, string>> =>
  Object.fromEntries((await offsets.list('kp', 'kp.changes')).map((p) => [p.partition, `${p.nextOffset} ${p.owner}`]));
const rows = async (): Promise<unknown> => target.rootQuery('SELECT id, v FROM kp.items ORDER BY id');

beforeAll(async () => {
  target = await LocalMariaDb.start({ label: 'kafka-offsets-target', serverId: 31, binlog: false, durable: false });
  await target.rootQuery('CREATE DATABASE kp; CREATE TABLE kp.items (id INT PRIMARY KEY, v VARCHAR(20))');
  sink = new MySqlSink({ ...target.endpoint(), poolSize: 4 });
  offsets = new MySqlPartitionOffsets(target.endpoint());
});

afterAll(async () => {
  await sink?.close();
  await offsets?.close();
  await target?.stop();
});

describe('Kafka partition offsets on the target', () => {
  it('stores the offset in the lane batch transaction, never lowers it, and rolls a fenced worker back', async () => {
    const a = claimOf('worker-a#1');
    expect(await offsets.claim(a)).toBeNull();
    await sink.applyBatch([upsert(ITEMS, { id: 1, v: 'a1' }), upsert(ITEMS, { id: 2, v: 'a2' })], { claim: a, nextOffset: 5n });
    // The offset is there without any separate save: data and offset committed together.
    expect(await stored()).toEqual({ 0: '5 worker-a#1' });
    // A lane batch that ran beside a later one stores a lower offset: the higher one stays.
    await sink.applyBatch([upsert(ITEMS, { id: 3, v: 'a3' })], { claim: a, nextOffset: 4n });
    expect(await stored()).toEqual({ 0: '5 worker-a#1' });

    // The group moves the partition to B, which resumes where A's commits left it.
    const b = claimOf('worker-b#2');
    expect(await offsets.claim(b)).toBe(5n);
    const before = await rows();
    const err = await sink.applyBatch([upsert(ITEMS, { id: 1, v: 'stale' }), upsert(ITEMS, { id: 9, v: 'stale' })], { claim: a, nextOffset: 12n }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PARTITION_FENCED' });
    expect((err as Error).message).toMatch(/now belongs to worker-b#2, not to this worker \(worker-a#1\)/);
    expect(await rows()).toEqual(before);
    expect(await stored()).toEqual({ 0: '5 worker-b#2' });

    await sink.applyBatch([upsert(ITEMS, { id: 1, v: 'b1' })], { claim: b, nextOffset: 7n });
    expect(await stored()).toEqual({ 0: '7 worker-b#2' });
    expect(await rows()).toEqual([
      { id: 1, v: 'b1' },
      { id: 2, v: 'a2' },
      { id: 3, v: 'a3' },
    ]);
  });

  it('a claim waits for a previous owner transaction that is storing its offset, and then reads it', async () => {
    const a = claimOf('worker-a#3', 1);
    await offsets.claim(a);
    // A's lane batch in flight: its offset row is locked until it commits.
    const c = await mysql.createConnection(target.endpoint());
    try {
      await c.query('BEGIN');
      await c.query("UPDATE _binlog_sync.kafka_partitions SET next_offset = 40 WHERE pipeline = 'kp' AND topic = 'kp.changes' AND kafka_partition = 1 AND owner = 'worker-a#3'");
      let claimed: bigint | null | undefined;
      const claiming = offsets.claim(claimOf('worker-b#4', 1)).then((n) => (claimed = n));
      await new Promise((r) => setTimeout(r, 500));
      expect(claimed).toBeUndefined();
      await c.query('COMMIT');
      await claiming;
      expect(claimed).toBe(40n);
    } finally {
      await c.end();
    }
  });
});
