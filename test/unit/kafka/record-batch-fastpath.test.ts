/**
 * The record batch fast path writes exactly the bytes kafkajs writes, for random batches: keys and
 * values of every shape (null, text with multi-byte characters, bytes, sizes across varint widths),
 * headers (several, arrays, empty values), offset and timestamp deltas of every varint width, and the
 * batch fields (transactional or not, producer ids as numbers and Longs).
 */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { fastRecord, fastRecordBatch, installRecordBatchFastPath, kafkajsEncoders, type RecordBatchInput } from '../../../connectors/kafka/record-batch-fastpath.js';
import { prng } from '../../../src/local/workload.js';
import { randomRecord } from './random-records.js';

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown; fromString(s: string): unknown };

describe('record batch fast path', () => {
  const original = kafkajsEncoders();

  it('writes the same bytes as kafkajs for random batches', async () => {
    const rand = prng(20261207);
    for (let round = 0; round < 60; round++) {
      const n = round === 0 ? 0 : 1 + Math.floor(rand() * 40);
      const inputs = Array.from({ length: n }, (_, i) => randomRecord(rand, i));
      const batch: Omit<RecordBatchInput, 'records'> = {
        compression: 0,
        firstTimestamp: 1_796_000_000_000 + Math.floor(rand() * 1000),
        maxTimestamp: 1_796_000_001_000,
        transactional: rand() < 0.5,
        producerId: rand() < 0.5 ? Math.floor(rand() * 100_000) : Long.fromString('9007199254740993'),
        producerEpoch: Math.floor(rand() * 3),
        firstSequence: Math.floor(rand() * 1_000_000),
        lastOffsetDelta: Math.max(0, n - 1),
        partitionLeaderEpoch: round % 3,
        firstOffset: round,
      };
      const mine = await fastRecordBatch({ ...batch, records: inputs.map(fastRecord) });
      const theirs = await original.recordBatch({ ...batch, records: inputs.map(original.record) });
      expect(mine.buffer.equals(theirs.buffer), `round ${round}: ${n} records`).toBe(true);
      expect(mine.size()).toBe(theirs.size());
    }
  });

  it('leaves compressed batches to kafkajs, which can still read the pending records', async () => {
    const rand = prng(7);
    const inputs = Array.from({ length: 12 }, (_, i) => randomRecord(rand, i));
    const batch = { compression: 1, firstTimestamp: 1, maxTimestamp: 2, lastOffsetDelta: 11 };
    const mine = await fastRecordBatch({ ...batch, records: inputs.map(fastRecord) });
    const theirs = await original.recordBatch({ ...batch, records: inputs.map(original.record) });
    // GZIP output embeds no timestamp here (kafkajs's zlib defaults): identical bytes.
    expect(mine.buffer.equals(theirs.buffer)).toBe(true);
  });

  it('once installed, is what kafkajs\'s Produce request encodes with', async () => {
    installRecordBatchFastPath();
    expect(require('kafkajs/src/protocol/recordBatch/record/v0/index.js')).toBe(fastRecord);
    const produce = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (o: object) => { encode(): Promise<{ buffer: Buffer }> };
    const messages = [{ key: '{"id":1}', value: 'v'.repeat(300), headers: { 'binlog-sync.tx': 'mysql-bin.000001:4' }, timestamp: 1_796_000_000_000 }];
    const request = produce({ acks: -1, timeout: 1000, transactionalId: 'tx', producerId: 5, producerEpoch: 1, compression: 0, topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 3, messages }] }] });
    const bytes = (await request.encode()).buffer;
    const batch = await original.recordBatch({
      compression: 0,
      records: messages.map((m, i) => original.record({ ...m, offsetDelta: i, timestampDelta: 0 })),
      firstTimestamp: 1_796_000_000_000,
      maxTimestamp: 1_796_000_000_000,
      producerId: 5,
      producerEpoch: 1,
      firstSequence: 3,
      transactional: true,
      lastOffsetDelta: 0,
    });
    expect(bytes.subarray(bytes.length - batch.size()).equals(batch.buffer)).toBe(true);
  });
});
