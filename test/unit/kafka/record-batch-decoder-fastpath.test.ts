/**
 * The record batch decoder fast path returns exactly the messages kafkajs's decoder returns, for random
 * Fetch record sets: several batches, keys and values of every shape (null, empty, multi-byte text,
 * bytes across varint widths), headers (several, repeated names, empty values), offset and timestamp
 * deltas of every width, transactional and plain batches, large offsets and producer ids, log-append
 * time, and the cases it leaves to kafkajs (compressed batches, control batches with transaction markers,
 * a batch cut off at the end of the response). Aborted transactions are filtered by kafkajs's Batch
 * from either decoder's messages with the same result.
 */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { fastRecordBatch, fastRecord, kafkajsEncoders, type RecordInput } from '../../../connectors/kafka/record-batch-fastpath.js';
import { DECODE_MESSAGES, fastDecodeMessages, installRecordBatchDecoderFastPath, kafkajsDecodeMessages, recordBatchDecoderStats } from '../../../connectors/kafka/record-batch-decoder-fastpath.js';
import { prng } from '../../../src/local/workload.js';
import { randomRecord } from './random-records.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => { offset: number; readInt32(): number; canReadBytes(n: number): boolean; readBytes(n?: number): Buffer | null };
const Long = require('kafkajs/src/utils/long.js') as { fromString(s: string): unknown };
const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: object) => { messages: unknown[] };

/** One record batch as kafkajs writes it, with its attributes then changed as asked (kafkajs does not check the CRC). */
async function batchBytes(rand: () => number, firstOffset: unknown, records: RecordInput[], o: { compression?: number; transactional?: boolean; control?: boolean; logAppend?: boolean } = {}): Promise<Buffer> {
  const encoded = await kafkajsEncoders().recordBatch({
    compression: o.compression ?? 0,
    firstOffset,
    firstTimestamp: (rand() < 0.2 ? Long.fromString('9007199254740000') : 1_796_000_000_000 + Math.floor(rand() * 1000)) as number, // a Long beyond 2^53 too
    maxTimestamp: 1_796_000_001_000,
    transactional: o.transactional ?? false,
    producerId: rand() < 0.5 ? Math.floor(rand() * 100_000) : Long.fromString('9007199254740993'),
    producerEpoch: Math.floor(rand() * 3),
    firstSequence: Math.floor(rand() * 1_000_000),
    lastOffsetDelta: Math.max(0, records.length - 1),
    partitionLeaderEpoch: Math.floor(rand() * 3),
    records: records.map(kafkajsEncoders().record),
  });
  const b = Buffer.from(encoded.buffer);
  const attributes = b.readInt16BE(21) | (o.control ? 0x20 : 0) | (o.logAppend ? 0x08 : 0);
  b.writeInt16BE(attributes, 21);
  return b;
}

/** A partition's record set in a Fetch response: its size, then the batches. */
function recordSet(batches: Buffer[], cut = 0): Buffer {
  const body = Buffer.concat(batches);
  const kept = body.subarray(0, body.length - cut);
  const size = Buffer.alloc(4);
  size.writeInt32BE(kept.length);
  return Buffer.concat([size, kept, Buffer.from('trailing')]);
}

async function both(set: Buffer): Promise<{ theirs: unknown[]; mine: unknown[] }> {
  const d1 = new Decoder(set);
  const d2 = new Decoder(set);
  const theirs = await kafkajsDecodeMessages()(d1);
  const mine = await fastDecodeMessages(d2);
  expect(d2.offset).toBe(d1.offset);
  return { theirs, mine };
}

describe('record batch decoder fast path', () => {
  it('decodes random record sets exactly as kafkajs does', async () => {
    const rand = prng(20261208);
    const before = { ...recordBatchDecoderStats };
    for (let round = 0; round < 40; round++) {
      const batches: Buffer[] = [];
      let offset = round % 7 === 0 ? 2 ** 53 - 20 : round * 1000;
      const nb = 1 + Math.floor(rand() * 4);
      for (let b = 0; b < nb; b++) {
        const n = Math.floor(rand() * 20);
        const records = Array.from({ length: n }, (_, i) => randomRecord(rand, i, 7));
        const first = offset > 2 ** 52 ? Long.fromString(String(BigInt(offset))) : offset;
        batches.push(await batchBytes(rand, first, records, { transactional: rand() < 0.7, logAppend: rand() < 0.1 }));
        offset += n + 1;
      }
      const cut = rand() < 0.3 ? 1 + Math.floor(rand() * 40) : 0; // the last batch cut off by the fetch size
      const { theirs, mine } = await both(recordSet(batches, cut));
      expect(mine, `round ${round}`).toEqual(theirs);
      expect(mine.length).toBe(theirs.length);
    }
    // Every batch but the ones cut off at the end was decoded here.
    expect(recordBatchDecoderStats.fast - before.fast).toBeGreaterThan(60);
    expect(recordBatchDecoderStats.kafkajs - before.kafkajs).toBeLessThan(15);
  });

  it('leaves compressed and control batches to kafkajs, in their places among plain ones', async () => {
    const rand = prng(11);
    const records = (n: number): RecordInput[] => Array.from({ length: n }, (_, i) => ({ ...randomRecord(rand, i, 7), offsetDelta: i }));
    const abortMarker: RecordInput = { key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]), offsetDelta: 0, timestampDelta: 0 };
    const commitMarker: RecordInput = { key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]), offsetDelta: 0, timestampDelta: 0 };
    const set = recordSet([
      await batchBytes(rand, 0, records(5), { transactional: true }),
      await batchBytes(rand, 5, [commitMarker], { transactional: true, control: true }),
      await batchBytes(rand, 6, records(4), { compression: 1, transactional: true }),
      await batchBytes(rand, 10, records(3), { transactional: true }),
      await batchBytes(rand, 13, [abortMarker], { transactional: true, control: true }),
      await batchBytes(rand, 14, records(2)),
    ]);
    const { theirs, mine } = await both(set);
    expect(mine).toEqual(theirs);
    expect((mine as { isControlRecord: boolean }[]).filter((m) => m.isControlRecord)).toHaveLength(2);
    // The consumer's Batch drops the aborted transaction (offsets 10–12) and the markers the same way.
    const partition = { partition: 0, highWatermark: '16', abortedTransactions: [{ producerId: (mine[10] as { batchContext: { producerId: string } }).batchContext.producerId, firstOffset: '10' }] };
    const a = new Batch('t', '0', { ...partition, messages: theirs });
    const b = new Batch('t', '0', { ...partition, messages: mine });
    expect(b.messages).toEqual(a.messages);
    expect((b.messages as { offset: string }[]).map((m) => m.offset)).toEqual(['0', '1', '2', '3', '4', '6', '7', '8', '9', '14', '15']);
  });

  it('decodes what the publisher\'s encoder writes, and leaves empty, short and legacy record sets to kafkajs', async () => {
    const input: RecordInput = { key: '{"id":1}', value: 'v'.repeat(900), headers: { 'binlog-sync.tx': 'mysql-bin.000001:4', 'binlog-sync.position': 'mysql-bin.000001:90' }, offsetDelta: 0, timestampDelta: 3 };
    const ours = (await fastRecordBatch({ compression: 0, transactional: true, producerId: 7, firstTimestamp: 1, maxTimestamp: 4, records: [fastRecord(input), fastRecord({ ...input, offsetDelta: 1 })] })).buffer;
    const fast = recordBatchDecoderStats.fast;
    const { theirs, mine } = await both(recordSet([ours]));
    expect(recordBatchDecoderStats.fast).toBe(fast + 1);
    expect(mine).toEqual(theirs);
    expect(mine).toHaveLength(2);
    for (const set of [Buffer.from([0, 0, 0, 0]), Buffer.from([255, 255, 255, 255]), Buffer.from([0, 0, 0, 40, 1, 2, 3]), recordSet([Buffer.alloc(30)])]) {
      const r = await both(set);
      expect(r.mine).toEqual(r.theirs);
    }
  });

  it('once installed, is what kafkajs\'s Fetch responses decode with', async () => {
    expect(installRecordBatchDecoderFastPath()).toBe(true);
    expect(require(DECODE_MESSAGES)).toBe(fastDecodeMessages);
    const v4 = require('kafkajs/src/protocol/requests/fetch/v4/response.js') as { decode(b: Buffer): Promise<{ responses: { partitions: { messages: unknown[] }[] }[] }> };
    const rand = prng(3);
    const set = recordSet([await batchBytes(rand, 0, [randomRecord(rand, 0, 7), randomRecord(rand, 1, 7)], { transactional: true })]).subarray(0, -'trailing'.length);
    // throttle time, [topic "t": [partition 0, error 0, high watermark, last stable offset, no aborted transactions, records]]
    const head = Buffer.alloc(4 + 4 + 2 + 1 + 4 + 4 + 2 + 8 + 8 + 4);
    let at = head.writeInt32BE(0, 0);
    at = head.writeInt32BE(1, at);
    at = head.writeInt16BE(1, at);
    at += head.write('t', at);
    at = head.writeInt32BE(1, at);
    at = head.writeInt32BE(0, at);
    at = head.writeInt16BE(0, at);
    at = head.writeBigInt64BE(2n, at);
    at = head.writeBigInt64BE(2n, at);
    head.writeInt32BE(0, at);
    const before = { ...recordBatchDecoderStats };
    const decoded = await v4.decode(Buffer.concat([head, set]));
    expect(decoded.responses[0]!.partitions[0]!.messages).toHaveLength(2);
    expect(recordBatchDecoderStats).toEqual({ fast: before.fast + 1, kafkajs: before.kafkajs });
  });
});
