/**
 * A faster decoder for the record batches of Fetch responses, producing exactly the messages kafkajs
 * produces. kafkajs decodes every record through a fresh Buffer slice and Decoder, BigInt-backed Long
 * arithmetic for its offset and timestamp (three Long objects and two BigInt→string conversions per
 * record), and folds its headers with an object spread per header; for the sink worker's ~1 KB
 * messages that was ~15 % of its CPU and much of its garbage. Here a batch's fields are read once and
 * each record straight from the fetch buffer, with number arithmetic while offsets and timestamps are
 * safe integers.
 *
 * Installed by replacing `requests/fetch/v4/decodeMessages`, which kafkajs's Fetch responses v4–v11
 * take when they are first loaded (at the first fetch), so `installRecordBatchDecoderFastPath()` runs
 * when the Kafka client is created. Only the plain case is decoded here: an uncompressed batch that
 * is not a control batch, complete, and well formed. Everything else (compressed batches, the
 * transaction markers of control batches, a batch cut off at the end of the response, old message
 * formats, anything odd) goes to kafkajs's own decoder, batch by batch, so aborted transactions and
 * control records reach kafkajs's consumer exactly as before (its `Batch` filters them).
 * `test/unit/kafka/record-batch-decoder-fastpath.test.ts` compares both decoders on random batches.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const BASE = 'kafkajs/src/protocol';
export const DECODE_MESSAGES = `${BASE}/requests/fetch/v4/decodeMessages.js`;
/** The Fetch responses that take decodeMessages when they load (v5–v11 take v4's). */
const FETCH_RESPONSES = [4, 5, 6, 7, 8, 9, 10, 11].map((v) => `${BASE}/requests/fetch/v${v}/response.js`);

/** The part of kafkajs's Decoder used here. */
interface KafkaDecoder {
  offset: number;
  readInt32(): number;
  canReadBytes(n: number): boolean;
  readBytes(n?: number): Buffer | null;
}
type DecoderClass = new (buffer: Buffer) => KafkaDecoder;
type DecodeMessages = (decoder: KafkaDecoder) => Promise<unknown[]>;
type RecordBatchDecoder = (decoder: KafkaDecoder) => Promise<{ readonly records: readonly unknown[] }>;

/** The batch fields every record of it carries (kafkajs's `batchContext`). */
export interface BatchContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly partitionLeaderEpoch: number;
  readonly inTransaction: boolean;
  readonly isControlBatch: boolean;
  readonly lastOffsetDelta: number;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly maxTimestamp: string;
  readonly timestampType: number;
  readonly magicByte: number;
}

/** A message as kafkajs's record decoder returns it. */
export interface DecodedRecord {
  readonly magicByte: number;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer | null | (Buffer | null)[]>;
  readonly isControlRecord: boolean;
  readonly batchContext: BatchContext;
}

interface KafkaJsInternals {
  readonly Decoder: DecoderClass;
  readonly recordBatchDecoder: RecordBatchDecoder;
  readonly originalDecodeMessages: DecodeMessages;
  readonly magicByte: number;
  readonly createTime: number;
  readonly logAppendTime: number;
}

let internals: KafkaJsInternals | null = null;

function load(): KafkaJsInternals {
  if (internals) return internals;
  const types = require(`${BASE}/timestampTypes.js`) as { CREATE_TIME: number; LOG_APPEND_TIME: number };
  internals = {
    Decoder: require(`${BASE}/decoder.js`) as DecoderClass,
    recordBatchDecoder: require(`${BASE}/recordBatch/v0/decoder.js`) as RecordBatchDecoder,
    originalDecodeMessages: require(DECODE_MESSAGES) as DecodeMessages,
    magicByte: (require(`${BASE}/recordBatch/v0/index.js`) as { MAGIC_BYTE: number }).MAGIC_BYTE,
    createTime: types.CREATE_TIME,
    logAppendTime: types.LOG_APPEND_TIME,
  };
  return internals;
}

/** Where the magic byte is in every message format; the smallest record batch (kafkajs's constants). */
const MAGIC_OFFSET = 16;
const RECORD_BATCH_OVERHEAD = 49;
/** Batch header after the length field: epoch, magic, CRC, attributes, lastOffsetDelta, two timestamps, producer id and epoch, first sequence, record count. */
const BATCH_HEADER = 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const TRANSACTIONAL_MASK = 0x10;
const CONTROL_MASK = 0x20;

/** Record batches decoded here and by kafkajs's decoder, in this process (for tests and a look in a debugger). */
export const recordBatchDecoderStats = { fast: 0, kafkajs: 0 };

/** Thrown inside the fast path: this batch is for kafkajs's decoder. */
class NotTheFastPath extends Error {}
const notFast = new NotTheFastPath();

/** The read position in the batch being decoded (one batch at a time, synchronously). */
let at = 0;

/** kafkajs's varint, bit for bit (`Decoder.readVarInt`). */
function readVarInt(buf: Buffer): number {
  let byte: number;
  let result = 0;
  let i = 0;
  do {
    byte = buf[at++]!;
    result += (byte & 0x7f) << i;
    i += 7;
  } while (byte >= 0x80);
  return (result >>> 1) ^ -(result & 1);
}

/** kafkajs's zigzag varlong (`Decoder.readVarLong`): a number up to 7 bytes (below 2^49: exact), else a bigint. */
function readVarLong(buf: Buffer): number | bigint {
  const from = at;
  let byte: number;
  let result = 0;
  let scale = 1;
  let n = 0;
  do {
    if (++n > 7) return readBigVarLong(buf, from);
    byte = buf[at++]!;
    result += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte >= 0x80);
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

function readBigVarLong(buf: Buffer, from: number): bigint {
  at = from;
  let byte: number;
  let result = 0n;
  let i = 0n;
  do {
    if (i > 63n) throw notFast; // kafkajs: KafkaJSInvalidLongError
    byte = buf[at++]!;
    result += BigInt(byte & 0x7f) << i;
    i += 7n;
  } while (byte >= 0x80);
  return (result >> 1n) ^ -(result & 1n);
}

/** Bytes of a varint length, as a view of the fetch buffer (kafkajs's `readVarIntBytes`; null for -1). */
function readBytes(buf: Buffer, end: number): Buffer | null {
  const length = readVarInt(buf);
  if (length === -1) return null;
  if (length < 0 || at + length > end) throw notFast;
  const bytes = buf.subarray(at, at + length);
  at += length;
  return bytes;
}

function readString(buf: Buffer, end: number): string | null {
  const length = readVarInt(buf);
  if (length === -1) return null;
  if (length < 0 || at + length > end) throw notFast;
  const text = buf.toString('utf8', at, at + length);
  at += length;
  return text;
}

/** `base + delta` as kafkajs's Long writes it. */
function plus(base: bigint, baseNumber: number, delta: number | bigint): string {
  if (typeof delta === 'bigint') return String(base + delta);
  const sum = baseNumber + delta;
  return Number.isSafeInteger(baseNumber) && Number.isSafeInteger(sum) ? String(sum) : String(base + BigInt(delta));
}

/**
 * The records of the plain record batch at `start` appended to `out`; returns where the batch ends.
 * Throws NotTheFastPath (having appended nothing) for anything kafkajs should decode itself.
 */
function decodeBatch(buf: Buffer, start: number, out: DecodedRecord[], k: KafkaJsInternals): number {
  const length = buf.readInt32BE(start + 8);
  const end = start + 12 + length;
  if (length < BATCH_HEADER || end > buf.length) throw notFast;
  const attributes = buf.readInt16BE(start + 21);
  if ((attributes & (COMPRESSION_MASK | CONTROL_MASK)) !== 0) throw notFast;
  const firstOffset = buf.readBigInt64BE(start);
  const firstTimestamp = buf.readBigInt64BE(start + 27);
  const maxTimestamp = buf.readBigInt64BE(start + 35).toString();
  const timestampType = (attributes & TIMESTAMP_TYPE_MASK) > 0 ? k.logAppendTime : k.createTime;
  const batchContext: BatchContext = {
    firstOffset: firstOffset.toString(),
    firstTimestamp: firstTimestamp.toString(),
    partitionLeaderEpoch: buf.readInt32BE(start + 12),
    inTransaction: (attributes & TRANSACTIONAL_MASK) > 0,
    isControlBatch: false,
    lastOffsetDelta: buf.readInt32BE(start + 23),
    producerId: buf.readBigInt64BE(start + 43).toString(),
    producerEpoch: buf.readInt16BE(start + 51),
    firstSequence: buf.readInt32BE(start + 53),
    maxTimestamp,
    timestampType,
    magicByte: buf.readInt8(start + 16),
  };
  const count = buf.readInt32BE(start + 57);
  if (count < -1) throw notFast;
  const firstOffsetNumber = Number(firstOffset);
  const firstTimestampNumber = Number(firstTimestamp);
  const logAppend = timestampType === k.logAppendTime && maxTimestamp !== '';
  const appended = out.length;
  at = start + 12 + BATCH_HEADER;
  try {
    for (let r = 0; r < count; r++) {
      const recordLength = readVarInt(buf);
      const recordEnd = at + recordLength;
      if (recordLength < 0 || recordEnd > end) throw notFast;
      const recordAttributes = buf.readInt8(at++);
      const timestampDelta = readVarLong(buf);
      const offsetDelta = readVarInt(buf);
      if (at > recordEnd) throw notFast;
      const key = readBytes(buf, recordEnd);
      const value = readBytes(buf, recordEnd);
      const headerCount = readVarInt(buf);
      if (headerCount < -1 || at > recordEnd) throw notFast;
      const headers: Record<string, Buffer | null | (Buffer | null)[]> = {};
      for (let h = 0; h < headerCount; h++) {
        const name = readString(buf, recordEnd);
        // kafkajs folds headers with an object spread, which keeps `__proto__` as an own property.
        if (name === '__proto__') throw notFast;
        const v = readBytes(buf, recordEnd);
        const slot = name as string;
        const previous = headers[slot];
        headers[slot] = previous === undefined ? v : Array.isArray(previous) ? previous.concat([v]) : [previous, v];
      }
      if (at > recordEnd) throw notFast;
      out.push({
        magicByte: batchContext.magicByte,
        attributes: recordAttributes,
        timestamp: logAppend ? maxTimestamp : plus(firstTimestamp, firstTimestampNumber, timestampDelta),
        offset: plus(firstOffset, firstOffsetNumber, offsetDelta),
        key,
        value,
        headers,
        isControlRecord: false,
        batchContext,
      });
      at = recordEnd;
    }
  } catch (err) {
    out.length = appended;
    throw err;
  }
  return end;
}

/** kafkajs's `decodeMessages` (the record set of one partition of a Fetch response), plain batches decoded here. */
export async function fastDecodeMessages(decoder: KafkaDecoder): Promise<unknown[]> {
  const k = load();
  const start = decoder.offset;
  const messagesSize = decoder.readInt32();
  if (messagesSize <= MAGIC_OFFSET || !decoder.canReadBytes(messagesSize)) {
    decoder.offset = start;
    return k.originalDecodeMessages(decoder);
  }
  const buf = decoder.readBytes(messagesSize)!;
  if (buf.readInt8(MAGIC_OFFSET) !== k.magicByte) {
    decoder.offset = start;
    return k.originalDecodeMessages(decoder);
  }
  const records: DecodedRecord[] = [];
  let batchDecoder: KafkaDecoder | null = null;
  let p = 0;
  while (buf.length - p >= RECORD_BATCH_OVERHEAD) {
    try {
      p = decodeBatch(buf, p, records, k);
      recordBatchDecoderStats.fast++;
      continue;
    } catch {
      // Not the plain case (or not well formed): kafkajs decides, and says why.
    }
    // kafkajs's decoder for this batch, as its decodeMessages runs it.
    batchDecoder ??= new k.Decoder(buf);
    batchDecoder.offset = p;
    recordBatchDecoderStats.kafkajs++;
    try {
      const batch = await k.recordBatchDecoder(batchDecoder);
      for (const r of batch.records) records.push(r as DecodedRecord);
    } catch (err) {
      // A batch cut off by the fetch size limit ends the response's usable part.
      if ((err as Error).name === 'KafkaJSPartialMessageError') break;
      throw err;
    }
    p = batchDecoder.offset;
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// Installation

let installed = false;

/**
 * Makes kafkajs's Fetch responses decode with this decoder (idempotent; before the first fetch).
 * Returns whether it is in use: not when a Fetch response module was loaded before (it holds kafkajs's).
 */
export function installRecordBatchDecoderFastPath(): boolean {
  if (installed) return true;
  if (FETCH_RESPONSES.some((path) => require.cache[require.resolve(path)])) return false;
  load();
  const cached = require.cache[require.resolve(DECODE_MESSAGES)];
  if (!cached) throw new Error('record batch decoder fast path: kafkajs fetch/v4/decodeMessages is not in the module cache');
  cached.exports = fastDecodeMessages;
  installed = true;
  return true;
}

/** kafkajs's own decodeMessages (for the equivalence test). */
export function kafkajsDecodeMessages(): DecodeMessages {
  return load().originalDecodeMessages;
}
