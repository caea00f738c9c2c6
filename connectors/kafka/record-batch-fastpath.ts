/**
 * A faster encoder for the record batches of kafkajs's Produce requests, byte for byte what kafkajs
 * writes. kafkajs builds every record in a fresh 512-byte Encoder, every header in another, a Buffer
 * per varint and Long arithmetic per timestamp delta, then copies the records into a growing batch
 * body, the body into the batch and the batch into the request; for the publisher's ~0.5–1 KB
 * messages that was most of its CPU time. Here a record is only sized when kafkajs asks for it, and
 * the batch is sized first and written into one buffer.
 *
 * Installed by replacing the two functions kafkajs's Produce request (v3, which v4–v7 reuse) calls:
 * `recordBatch/record/v0` and `RecordBatch` of `recordBatch/v0`. The request module looks them up
 * when it is first loaded, at the first send, so `installRecordBatchFastPath()` runs when the Kafka
 * client is created. Anything this encoder does not cover (compression) goes to kafkajs's own code;
 * a record is also a lazy kafkajs Encoder, so that code still gets what it expects.
 * `test/unit/kafka/record-batch-fastpath.test.ts` compares both encoders on random batches.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The kafkajs modules and their originals (kept for the fallback and for tests). */
interface KafkaJsInternals {
  readonly Encoder: EncoderClass;
  readonly crc32C: (buffer: Buffer) => number;
  readonly Long: { fromValue(v: unknown): { getHighBits(): number; getLowBits(): number } };
  readonly recordPath: string;
  readonly batchModule: { RecordBatch: RecordBatchFn };
  readonly originalRecord: RecordFn;
  readonly originalRecordBatch: RecordBatchFn;
}

/** The part of kafkajs's Encoder the fast paths use (also request-framing-fastpath.ts). */
export interface EncoderLike {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
}
export type EncoderClass = new (initialSize?: number) => EncoderLike;

type HeaderValue = string | Buffer | null | undefined;
export interface RecordInput {
  readonly key?: string | Buffer | null;
  readonly value?: string | Buffer | null;
  readonly headers?: Record<string, HeaderValue | HeaderValue[]>;
  readonly offsetDelta?: number;
  readonly timestampDelta?: number;
}
type RecordFn = (input: RecordInput) => EncoderLike;

export interface RecordBatchInput {
  readonly compression?: number;
  readonly firstOffset?: unknown;
  readonly firstTimestamp?: number;
  readonly maxTimestamp?: number;
  readonly partitionLeaderEpoch?: number;
  readonly lastOffsetDelta?: number;
  readonly transactional?: boolean;
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly firstSequence?: number;
  readonly records?: readonly EncoderLike[];
}
type RecordBatchFn = (input: RecordBatchInput) => Promise<EncoderLike>;

let internals: KafkaJsInternals | null = null;

/**
 * CRC32C of the batch body: @node-rs/crc32 (native, SSE4.2) where its prebuilt binary loads, otherwise
 * kafkajs's own JavaScript one (a byte-at-a-time table, ~5 µs for a 1 KB message).
 */
function crc32CFunction(kafkajsCrc: (b: Buffer) => number): (b: Buffer) => number {
  try {
    const native = require('@node-rs/crc32') as { crc32c(input: Buffer, initial?: number): number };
    if (native.crc32c(Buffer.from('123456789')) === 0xe3069283) return (b) => native.crc32c(b);
  } catch {
    // no binary for this platform: the JavaScript CRC below
  }
  return kafkajsCrc;
}

function load(): KafkaJsInternals {
  if (internals) return internals;
  const base = 'kafkajs/src/protocol';
  const recordPath = require.resolve(`${base}/recordBatch/record/v0/index.js`);
  const batchModule = require(`${base}/recordBatch/v0/index.js`) as { RecordBatch: RecordBatchFn };
  internals = {
    Encoder: require(`${base}/encoder.js`) as EncoderClass,
    crc32C: crc32CFunction(require(`${base}/recordBatch/crc32C/index.js`) as (b: Buffer) => number),
    Long: require('kafkajs/src/utils/long.js') as KafkaJsInternals['Long'],
    recordPath,
    batchModule,
    originalRecord: require(recordPath) as RecordFn,
    originalRecordBatch: batchModule.RecordBatch,
  };
  return internals;
}

// ---------------------------------------------------------------------------------------------
// Varints as Kafka writes them: zigzag, then 7 bits a byte, least significant first.

function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

function sizeOfUVarInt(u: number): number {
  let n = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

function writeUVarInt(buf: Buffer, at: number, u: number): number {
  while (u >= 0x80) {
    buf[at++] = (u & 0x7f) | 0x80;
    u = Math.floor(u / 128);
  }
  buf[at++] = u;
  return at;
}

/** Zigzag of a 64-bit value given as a safe integer: exact as a number up to 2^52 in magnitude. */
function zigzag64(v: number): number | bigint {
  if (Math.abs(v) < 2 ** 52) return v >= 0 ? v * 2 : -v * 2 - 1;
  const b = BigInt(v);
  return BigInt.asUintN(64, (b << 1n) ^ (b >> 63n));
}

function sizeOfUVarLong(u: number | bigint): number {
  if (typeof u === 'number') return sizeOfUVarInt(u);
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

function writeUVarLong(buf: Buffer, at: number, u: number | bigint): number {
  if (typeof u === 'number') return writeUVarInt(buf, at, u);
  while (u >= 0x80n) {
    buf[at++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[at++] = Number(u);
  return at;
}

// ---------------------------------------------------------------------------------------------
// Records

/** Bytes as kafkajs writes them: null as length -1, a Buffer raw, anything else as UTF-8 text of String(v). */
type Bytes = Buffer | string | null;

function bytesOf(v: unknown): Bytes {
  if (v === null || v === undefined) return null;
  return Buffer.isBuffer(v) ? v : String(v);
}

function sizeOfBytes(b: Bytes): number {
  if (b === null) return 1; // zigzag(-1) = 1: one byte
  const len = typeof b === 'string' ? Buffer.byteLength(b, 'utf8') : b.length;
  return sizeOfUVarInt(zigzag32(len)) + len;
}

function writeBytes(buf: Buffer, at: number, b: Bytes): number {
  if (b === null) return writeUVarInt(buf, at, 1);
  if (typeof b === 'string') {
    const len = Buffer.byteLength(b, 'utf8');
    at = writeUVarInt(buf, at, zigzag32(len));
    return at + buf.write(b, at, len, 'utf8');
  }
  at = writeUVarInt(buf, at, zigzag32(b.length));
  b.copy(buf, at);
  return at + b.length;
}

/**
 * A record, sized but not yet written: the fast RecordBatch writes it straight into the batch. It is
 * also a kafkajs Encoder (`buf`, `buffer`, `size()`), encoded by kafkajs's own Record on first use, for
 * the code paths this module leaves to kafkajs.
 */
export class PendingRecord implements EncoderLike {
  private encoded: EncoderLike | null = null;
  /** The whole record: the varint of the body's length, then the body. */
  readonly bytes: number;
  private readonly bodyBytes: number;
  private readonly timestamp: number | bigint;
  private readonly offset32: number;
  private readonly key: Bytes;
  private readonly value: Bytes;
  /** Header key, value, key, value… */
  private readonly headerParts: Bytes[];

  constructor(private readonly input: RecordInput) {
    this.timestamp = zigzag64(input.timestampDelta ?? 0);
    this.offset32 = zigzag32(input.offsetDelta ?? 0);
    this.key = bytesOf(input.key);
    this.value = bytesOf(input.value);
    const parts: Bytes[] = [];
    const headers = input.headers;
    // for…in visits the own keys in Object.keys order (the records here have no inherited ones).
    for (const name in headers) {
      if (!Object.hasOwn(headers, name)) continue;
      const h = headers[name];
      if (Array.isArray(h)) for (const v of h) parts.push(name, bytesOf(v));
      else parts.push(name, bytesOf(h));
    }
    this.headerParts = parts;
    let body = 1 + sizeOfUVarLong(this.timestamp) + sizeOfUVarInt(this.offset32) + sizeOfBytes(this.key) + sizeOfBytes(this.value);
    body += sizeOfUVarInt(zigzag32(parts.length / 2));
    for (const p of parts) body += sizeOfBytes(p);
    this.bodyBytes = body;
    this.bytes = sizeOfUVarInt(zigzag32(body)) + body;
  }

  writeTo(buf: Buffer, at: number): number {
    at = writeUVarInt(buf, at, zigzag32(this.bodyBytes));
    buf[at++] = 0; // attributes: none are used
    at = writeUVarLong(buf, at, this.timestamp);
    at = writeUVarInt(buf, at, this.offset32);
    at = writeBytes(buf, at, this.key);
    at = writeBytes(buf, at, this.value);
    at = writeUVarInt(buf, at, zigzag32(this.headerParts.length / 2));
    for (const p of this.headerParts) at = writeBytes(buf, at, p);
    return at;
  }

  private kafkajs(): EncoderLike {
    this.encoded ??= load().originalRecord(this.input);
    return this.encoded;
  }

  get buf(): Buffer {
    return this.kafkajs().buf;
  }
  get offset(): number {
    return this.kafkajs().offset;
  }
  get buffer(): Buffer {
    return this.kafkajs().buffer;
  }
  size(): number {
    return this.kafkajs().size();
  }
}

export function fastRecord(input: RecordInput): EncoderLike {
  return new PendingRecord(input);
}

// ---------------------------------------------------------------------------------------------
// Record batches

const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 16;
const COMPRESSION_NONE = 0;
/** attributes, lastOffsetDelta, firstTimestamp, maxTimestamp, producerId, producerEpoch, firstSequence, record count */
const BODY_FIXED = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

export async function fastRecordBatch(input: RecordBatchInput): Promise<EncoderLike> {
  const k = load();
  const records = input.records ?? [];
  if (((input.compression ?? COMPRESSION_NONE) & 0x07) !== COMPRESSION_NONE || !records.every(isPendingRecord)) return k.originalRecordBatch(input);
  const total = recordBatchBytes(records);
  const buf = Buffer.allocUnsafe(total);
  writeRecordBatch(buf, 0, input, records);
  const encoder = new k.Encoder(0);
  encoder.buf = buf;
  encoder.offset = total;
  return encoder;
}

export function isPendingRecord(r: unknown): r is PendingRecord {
  return r instanceof PendingRecord;
}

/** The bytes of an uncompressed record batch of these records. */
export function recordBatchBytes(records: readonly PendingRecord[]): number {
  let body = BODY_FIXED;
  for (const r of records) body += r.bytes;
  // firstOffset (8), the batch's length (4), partitionLeaderEpoch (4), magic (1), CRC (4), then the body.
  return 8 + 4 + 4 + 1 + 4 + body;
}

/** Writes the uncompressed record batch of `records` (`input.records` is not looked at) at `start`; returns where it ends. */
export function writeRecordBatch(buf: Buffer, start: number, input: RecordBatchInput, records: readonly PendingRecord[]): number {
  const k = load();
  const end = start + recordBatchBytes(records);
  const now = Date.now();
  writeInt64(buf, start, input.firstOffset ?? 0, k);
  buf.writeInt32BE(end - start - 12, start + 8);
  buf.writeInt32BE(input.partitionLeaderEpoch ?? 0, start + 12);
  buf.writeInt8(MAGIC_BYTE, start + 16);
  const bodyAt = start + 21;
  let at = bodyAt;
  at = buf.writeInt16BE((input.compression ?? COMPRESSION_NONE) | (input.transactional ? TRANSACTIONAL_MASK : 0), at);
  at = buf.writeInt32BE(input.lastOffsetDelta ?? 0, at);
  at = writeInt64(buf, at, input.firstTimestamp ?? now, k);
  at = writeInt64(buf, at, input.maxTimestamp ?? now, k);
  at = writeInt64(buf, at, input.producerId ?? -1, k);
  at = buf.writeInt16BE(input.producerEpoch ?? 0, at);
  at = buf.writeInt32BE(input.firstSequence ?? 0, at);
  at = buf.writeInt32BE(records.length, at);
  for (const r of records) at = r.writeTo(buf, at);
  if (at !== end) throw new Error(`record batch fast path: wrote ${at - start} of ${end - start} bytes (a sizing bug)`);
  buf.writeUInt32BE(k.crc32C(buf.subarray(bodyAt, end)), start + 17);
  return end;
}

function writeInt64(buf: Buffer, at: number, value: unknown, k: KafkaJsInternals): number {
  const long = k.Long.fromValue(value);
  buf.writeInt32BE(long.getHighBits(), at);
  buf.writeInt32BE(long.getLowBits(), at + 4);
  return at + 8;
}

// ---------------------------------------------------------------------------------------------
// Installation

let installed = false;

/** Makes kafkajs's Produce requests use this encoder (idempotent; before the first send). */
export function installRecordBatchFastPath(): void {
  if (installed) return;
  const k = load();
  const cached = require.cache[k.recordPath];
  if (!cached) throw new Error('record batch fast path: kafkajs record/v0 is not in the module cache');
  cached.exports = fastRecord;
  k.batchModule.RecordBatch = fastRecordBatch;
  installed = true;
}

/** kafkajs's own encoders (for the equivalence test). */
export function kafkajsEncoders(): { readonly record: RecordFn; readonly recordBatch: RecordBatchFn } {
  const k = load();
  return { record: k.originalRecord, recordBatch: k.originalRecordBatch };
}
