/**
 * Produce requests written into one buffer, byte for byte what kafkajs sends. kafkajs encodes a
 * request in nested Encoders: each record batch, then each partition, each topic, the request body, the
 * header and the size prefix are copied into a fresh zero-filled buffer of the next power of two.
 * On this machine a fresh large buffer costs ~4 ns a byte when first written (page faults), 50 times the
 * copy, so the publisher's megabyte requests cost far more in allocations than in encoding. Here:
 * - the Produce request (kafkajs `produce/v3/request`, which v4–v7 reuse) sizes its records and batches
 *   first and writes topic data and batches into one buffer, leaving room in front for the header;
 * - the request framing (kafkajs `protocol/request`, used for every request) writes the header into
 *   that room, or, for other requests, copies the body once into a buffer of the exact size.
 *
 * kafkajs's connection takes the framing function when kafkajs is loaded, so this module must be
 * evaluated before kafkajs (see kafkajs-fastpaths.ts); the Produce request is swapped at
 * `installRecordBatchFastPath()`, before the first send. Compressed sends stay with kafkajs.
 * `test/unit/kafka/request-framing-fastpath.test.ts` compares the bytes with kafkajs's.
 */
import { createRequire } from 'node:module';
import { kafkaFastPathChoice } from './kafkajs-release.js';
import { PendingRecord, recordBatchBytes, writeRecordBatch, type EncoderClass, type EncoderLike, type RecordInput } from './record-batch-fastpath.js';

const require = createRequire(import.meta.url);

const REQUEST = 'kafkajs/src/protocol/request.js';
const ENCODER = 'kafkajs/src/protocol/encoder.js';
export const PRODUCE_V3 = 'kafkajs/src/protocol/requests/produce/v3/request.js';

const Encoder = require(ENCODER) as EncoderClass;

interface KafkaRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName?: string;
  encode(): Promise<EncoderLike>;
}
type FrameFn = (args: { correlationId: number; clientId: string | null | undefined; request: KafkaRequest }) => Promise<EncoderLike>;

/** Size prefix, api key, api version, correlation id, client id length. */
const HEADER_FIXED = 4 + 2 + 2 + 4 + 2;
/** Room left in front of a Produce body for the header (a client id up to this long fits). */
const MAX_CLIENT_ID_BYTES = 256;
const HEADROOM = HEADER_FIXED + MAX_CLIENT_ID_BYTES;

/** A request body written after HEADROOM free bytes, so that framing it needs no copy. */
class BodyWithHeadroom extends Encoder {
  constructor(buf: Buffer) {
    super(0);
    this.buf = buf;
    this.offset = buf.length;
  }
  override get buffer(): Buffer {
    return this.buf.subarray(HEADROOM, this.offset);
  }
  override size(): number {
    return this.offset - HEADROOM;
  }
}

/** kafkajs's framing: size, api key, api version, correlation id, client id (a nullable string), body. */
export async function frameRequest({ correlationId, clientId, request }: Parameters<FrameFn>[0]): Promise<EncoderLike> {
  const body = await request.encode();
  const client = clientId == null ? null : clientId;
  const clientBytes = client === null ? 0 : Buffer.byteLength(client, 'utf8');
  const header = HEADER_FIXED + clientBytes;
  let buf: Buffer;
  let start: number;
  let end: number;
  if (body instanceof BodyWithHeadroom && clientBytes <= MAX_CLIENT_ID_BYTES) {
    buf = body.buf;
    start = HEADROOM - header;
    end = body.offset;
  } else {
    const bytes = body.buffer;
    buf = Buffer.allocUnsafe(header + bytes.length);
    start = 0;
    end = buf.length;
    bytes.copy(buf, header);
  }
  let at = buf.writeInt32BE(end - start - 4, start);
  at = buf.writeInt16BE(request.apiKey, at);
  at = buf.writeInt16BE(request.apiVersion, at);
  at = buf.writeInt32BE(correlationId, at);
  if (client === null) buf.writeInt16BE(-1, at);
  else buf.write(client, buf.writeInt16BE(clientBytes, at), clientBytes, 'utf8');
  const framed = new Encoder(0);
  framed.buf = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
  framed.offset = end - start;
  return framed;
}

// ---------------------------------------------------------------------------------------------
// Produce (v3 body; v4–v7 differ only in apiVersion)

interface ProduceMessage {
  readonly key?: string | Buffer | null;
  readonly value?: string | Buffer | null;
  readonly headers?: RecordInput['headers'];
  readonly timestamp?: number | string;
}
interface ProducePartition {
  readonly partition: number;
  readonly firstSequence?: number;
  readonly messages: readonly ProduceMessage[];
}
interface ProduceArgs {
  readonly acks: number;
  readonly timeout: number;
  readonly transactionalId?: string | null;
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly compression?: number;
  readonly topicData: readonly { readonly topic: string; readonly partitions: readonly ProducePartition[] }[];
}
type ProduceRequestFn = (args: ProduceArgs) => KafkaRequest & Record<string, unknown>;

interface PlannedPartition {
  readonly partition: number;
  readonly records: readonly PendingRecord[];
  readonly batch: Parameters<typeof writeRecordBatch>[2];
}

/** The Produce body kafkajs's v3 request writes, with the batches' records written in place. */
function encodeProduce(a: ProduceArgs): BodyWithHeadroom {
  const transactionalId = a.transactionalId ?? null;
  const producerId = a.producerId ?? -1;
  const producerEpoch = a.producerEpoch ?? 0;
  let bytes = 2 + (transactionalId === null ? 0 : Buffer.byteLength(transactionalId, 'utf8')) + 2 + 4 + 4;
  const topics = a.topicData.map(({ topic, partitions }) => {
    bytes += 2 + Buffer.byteLength(topic, 'utf8') + 4;
    const planned = partitions.map((p): PlannedPartition => {
      // As kafkajs: the batch's timestamps from the messages' own (sorted as it sorts them), else now.
      const dateNow = Date.now();
      const given = p.messages.map((m) => m.timestamp).filter((t) => t != null).sort();
      const timestamps = given.length === 0 ? [dateNow] : given;
      const firstTimestamp = timestamps[0] as number;
      const records = p.messages.map(
        (m, i) => new PendingRecord({ key: m.key ?? null, value: m.value ?? null, headers: m.headers ?? {}, offsetDelta: i, timestampDelta: Number(m.timestamp || dateNow) - firstTimestamp }),
      );
      bytes += 4 + 4 + recordBatchBytes(records);
      return {
        partition: p.partition,
        records,
        batch: {
          compression: 0,
          firstTimestamp,
          maxTimestamp: timestamps[timestamps.length - 1] as number,
          producerId,
          producerEpoch,
          firstSequence: p.firstSequence ?? 0,
          transactional: !!transactionalId,
          lastOffsetDelta: records.length - 1,
        },
      };
    });
    return { topic, planned };
  });
  const buf = Buffer.allocUnsafe(HEADROOM + bytes);
  let at = HEADROOM;
  at = writeString(buf, at, transactionalId);
  at = buf.writeInt16BE(a.acks, at);
  at = buf.writeInt32BE(a.timeout, at);
  at = buf.writeInt32BE(topics.length, at);
  for (const { topic, planned } of topics) {
    at = writeString(buf, at, topic);
    at = buf.writeInt32BE(planned.length, at);
    for (const p of planned) {
      at = buf.writeInt32BE(p.partition, at);
      const sizeAt = at;
      const end = writeRecordBatch(buf, at + 4, p.batch, p.records);
      buf.writeInt32BE(end - sizeAt - 4, sizeAt);
      at = end;
    }
  }
  if (at !== buf.length) throw new Error(`produce request fast path: wrote ${at} of ${buf.length} bytes (a sizing bug)`);
  return new BodyWithHeadroom(buf);
}

function writeString(buf: Buffer, at: number, s: string | null): number {
  if (s === null) return buf.writeInt16BE(-1, at);
  const n = Buffer.byteLength(s, 'utf8');
  at = buf.writeInt16BE(n, at);
  return at + buf.write(s, at, n, 'utf8');
}

/** kafkajs's v3 Produce request with our body for uncompressed sends. */
export function fastProduceRequest(original: ProduceRequestFn): ProduceRequestFn {
  return (args) => {
    const request = original(args);
    if ((args.compression ?? 0) !== 0) return request;
    return { ...request, encode: () => Promise.resolve(encodeProduce(args)) };
  };
}

// ---------------------------------------------------------------------------------------------
// Installation

/** kafkajs's own framing (for the equivalence test). */
export const kafkajsFraming = require(REQUEST) as FrameFn;

/** Whether kafkajs frames requests with `frameRequest` (false: kafkajs was loaded before this module). */
export const requestFramingInstalled: boolean = (() => {
  if (!kafkaFastPathChoice().on) return false;
  if (require.cache[require.resolve('kafkajs/src/network/connection.js')]) return false;
  require.cache[require.resolve(REQUEST)]!.exports = frameRequest;
  return true;
})();

let produceInstalled = false;

/** Makes kafkajs's Produce requests (v3–v7) write their body with `encodeProduce` (before the first send). */
export function installProduceRequestFastPath(): void {
  if (produceInstalled) return;
  const path = require.resolve(PRODUCE_V3);
  const original = require(path) as ProduceRequestFn;
  require.cache[path]!.exports = fastProduceRequest(original);
  produceInstalled = true;
}
