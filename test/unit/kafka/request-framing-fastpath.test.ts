/**
 * Produce requests written in one buffer and the request framing: the bytes kafkajs writes, for random
 * sends (topics, partitions, keys and values of every shape, headers, message timestamps or none,
 * transactional or not) and for other requests.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRequire } from 'node:module';
import { createKafka } from '../../../connectors/kafka/client.js';
import { fastProduceRequest, frameRequest, kafkajsFraming, PRODUCE_V3, requestFramingInstalled } from '../../../connectors/kafka/request-framing-fastpath.js';
import { prng } from '../../../src/local/workload.js';

const require = createRequire(import.meta.url);
const kafkajsProduce = require(PRODUCE_V3) as Parameters<typeof fastProduceRequest>[0];
const Long = require('kafkajs/src/utils/long.js') as { fromString(s: string): unknown };
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => { writeInt32(n: number): { writeString(s: string | null): unknown } };

function text(rand: () => number, n: number): string {
  const chars = ['a', 'Z', '"', 'é', '日', '🚀'];
  let s = '';
  for (let i = 0; i < n; i++) s += chars[Math.floor(rand() * chars.length)];
  return s;
}

function payload(rand: () => number): string | Buffer | null {
  const r = rand();
  const n = [0, 1, 63, 64, 300, 9000][Math.floor(rand() * 6)]!;
  if (r < 0.1) return null;
  return r < 0.6 ? text(rand, n) : Buffer.alloc(n, Math.floor(rand() * 256));
}

function randomSend(rand: () => number, withTimestamps: boolean): Parameters<typeof kafkajsProduce>[0] {
  const topics = 1 + Math.floor(rand() * 2);
  return {
    acks: rand() < 0.8 ? -1 : 1,
    timeout: 30_000,
    transactionalId: rand() < 0.7 ? `binlog-sync.${text(rand, 5)}.publisher` : null,
    producerId: rand() < 0.5 ? Math.floor(rand() * 100_000) : Long.fromString('9007199254740993'),
    producerEpoch: Math.floor(rand() * 5),
    compression: 0,
    topicData: Array.from({ length: topics }, (_, t) => ({
      topic: `topic-${t}.${text(rand, 3)}`,
      partitions: Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, p) => ({
        partition: p * 3,
        firstSequence: Math.floor(rand() * 10_000),
        messages: Array.from({ length: Math.floor(rand() * 30) }, () => ({
          key: payload(rand),
          value: payload(rand),
          headers: { 'binlog-sync.tx': `mysql-bin.000001:${Math.floor(rand() * 1e6)}`, 'binlog-sync.position': text(rand, 8) },
          ...(withTimestamps ? { timestamp: 1_796_000_000_000 + Math.floor(rand() * 5000) } : {}),
        })),
      })),
    })),
  };
}

afterEach(() => vi.restoreAllMocks());

describe('request framing fast path', () => {
  it('writes the Produce requests kafkajs writes', async () => {
    const rand = prng(7);
    for (let round = 0; round < 40; round++) {
      const withTimestamps = round % 2 === 0;
      // One clock for both encoders (a partition without messages, or messages without timestamps, take now).
      vi.spyOn(Date, 'now').mockReturnValue(1_796_000_123_456 + round);
      const send = randomSend(rand, withTimestamps);
      const clientId = round % 5 === 0 ? 'x'.repeat(300) : 'binlog-sync';
      const theirs = await kafkajsFraming({ correlationId: round, clientId, request: kafkajsProduce(send) });
      const mine = await frameRequest({ correlationId: round, clientId, request: fastProduceRequest(kafkajsProduce)(send) });
      expect(mine.buffer.equals(theirs.buffer), `round ${round}`).toBe(true);
      expect(mine.size()).toBe(theirs.size());
      vi.restoreAllMocks();
    }
  });

  it('frames other requests as kafkajs does, with or without a client id', async () => {
    for (const clientId of ['binlog-sync', null, 'é']) {
      const request = { apiKey: 3, apiVersion: 1, encode: () => Promise.resolve(new Encoder().writeInt32(5).writeString('x') as never) };
      const theirs = await kafkajsFraming({ correlationId: 42, clientId, request });
      const mine = await frameRequest({ correlationId: 42, clientId, request });
      expect(mine.buffer.equals(theirs.buffer)).toBe(true);
    }
  });

  it('leaves compressed sends to kafkajs', () => {
    const send = { ...randomSend(prng(3), true), compression: 1 };
    const request = fastProduceRequest(kafkajsProduce)(send);
    expect(request.encode.toString()).toBe(kafkajsProduce(send).encode.toString());
  });

  it('is what kafkajs uses once our client loaded it', () => {
    createKafka({ brokers: ['127.0.0.1:1'] }, { child: () => ({ info: () => undefined, warn: () => undefined, debug: () => undefined }) } as never);
    expect(requestFramingInstalled).toBe(true);
    expect(require('kafkajs/src/protocol/request.js')).toBe(frameRequest);
    expect(require(PRODUCE_V3)).not.toBe(kafkajsProduce);
  });
});
