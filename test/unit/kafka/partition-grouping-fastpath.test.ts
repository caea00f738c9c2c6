/** The linear grouping of a send's messages per partition: what kafkajs's own returns, and in place when our Kafka client loads kafkajs. */
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../../connectors/kafka/client.js';
import { groupMessagesPerPartition, kafkajsGrouping, partitionGroupingInstalled } from '../../../connectors/kafka/partition-grouping-fastpath.js';

describe('partition grouping fast path', () => {
  it('groups like kafkajs: per partition, in send order', () => {
    let s = 7;
    const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (const count of [0, 1, 5, 300]) {
      const messages = Array.from({ length: count }, (_, i) => ({ value: `m${i}`, partition: Math.floor(rnd() * 12) }));
      const input = { topic: 't', partitionMetadata: Array.from({ length: 12 }, (_, i) => ({ partitionId: i })), messages, partitioner: ({ message }: { message: { partition: number } }) => message.partition };
      expect(groupMessagesPerPartition(input)).toEqual(kafkajsGrouping(input));
    }
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: [{ partition: 0 }], partitioner: () => 0 })).toEqual({});
  });

  it('is what kafkajs uses once our client loaded it', async () => {
    createKafka({ brokers: ['127.0.0.1:1'] }, { child: () => ({ info: () => undefined, warn: () => undefined, debug: () => undefined }) } as never);
    expect(partitionGroupingInstalled).toBe(true);
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    expect(require('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(groupMessagesPerPartition);
  });
});
