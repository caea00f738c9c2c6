/**
 * kafkajs's producer groups a send's messages per partition with `[...current, message]` per message:
 * quadratic in the messages of one partition. The publisher sends up to a megabyte per partition in one
 * request (~1,000 messages), which made it a visible share of its CPU and of its garbage. This module
 * puts a linear grouping with the same result in its place.
 *
 * kafkajs's sendMessages takes the function when kafkajs is loaded, so this module must be evaluated
 * first: client.ts and topics.ts (the only modules that load kafkajs) import it before kafkajs, through kafkajs-fastpaths.ts. Should
 * kafkajs be loaded already (a program that imported it itself), its own grouping stays: slower, same
 * result. `BINLOG_SYNC_KAFKA_FASTPATH=0`, or another kafkajs release, leaves it in place too.
 */
import { createRequire } from 'node:module';
import { kafkaFastPathChoice } from './kafkajs-release.js';

const require = createRequire(import.meta.url);

interface GroupInput<M> {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly M[];
  readonly partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

/** What kafkajs's groupMessagesPerPartition returns: the messages per partition, in send order. */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupInput<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

const GROUPING = 'kafkajs/src/producer/groupMessagesPerPartition.js';
const SEND_MESSAGES = 'kafkajs/src/producer/sendMessages.js';

/** kafkajs's own grouping (for the equivalence test). */
export const kafkajsGrouping = require(GROUPING) as typeof groupMessagesPerPartition;

/** Whether kafkajs's producer uses our grouping (false: kafkajs was loaded before this module). */
export const partitionGroupingInstalled: boolean = (() => {
  if (!kafkaFastPathChoice().on) return false;
  if (require.cache[require.resolve(SEND_MESSAGES)]) return false;
  const cached = require.cache[require.resolve(GROUPING)];
  if (!cached) return false;
  cached.exports = groupMessagesPerPartition;
  return true;
})();
