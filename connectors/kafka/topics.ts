/**
 * The changes topic: created with the configured partitions when missing; refused when it has fewer
 * (or more) partitions than configured, because our partitioner places keys by `hash mod partitions`
 * and a key would then move to another partition, out of order with its earlier changes.
 */
import './kafkajs-fastpaths.js'; // before kafkajs: it replaces functions kafkajs takes when it loads
import kafkajs, { type Admin } from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader does not see this export as a named one.
const { ConfigResourceTypes } = kafkajs;
import { BinlogSyncError } from '../../src/index.js';

export interface TopicSettings {
  readonly topic: string;
  readonly partitions: number;
  /** Replicas per partition when creating it; default: the brokers' default.replication.factor. */
  readonly replicationFactor?: number;
}

/** Creates the topic if it is missing; returns whether it did. Throws KAFKA when it has another partition count. */
export async function ensureTopic(admin: Admin, t: TopicSettings): Promise<'created' | 'exists'> {
  const existing = await partitionCount(admin, t.topic);
  if (existing === null) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: t.topic,
            numPartitions: t.partitions,
            ...(t.replicationFactor !== undefined ? { replicationFactor: t.replicationFactor } : {}),
            // Changes must not expire before a sink worker has applied them: no time or size limit.
            configEntries: [{ name: 'retention.ms', value: '-1' }],
          },
        ],
      });
    } catch (err) {
      // Created, but not yet in every broker's metadata (kafkajs' waitForLeaders then says
      // UNKNOWN_TOPIC_OR_PARTITION), or created meanwhile by another process: look again for a while.
      let again: number | null = null;
      for (let i = 0; i < 20 && again === null; i++) {
        again = await partitionCount(admin, t.topic).catch(() => null);
        if (again === null) await new Promise((r) => setTimeout(r, 250));
      }
      if (again === null) {
        throw new BinlogSyncError('KAFKA', `cannot create the topic ${t.topic} with ${t.partitions} partitions${t.replicationFactor ? ` and replication factor ${t.replicationFactor}` : ''}: ${(err as Error).message}. Create it yourself, or check the brokers and transport.replicationFactor (at most the number of brokers).`, { cause: err });
      }
      return again === t.partitions ? 'created' : checkCount(t, again);
    }
    return 'created';
  }
  return checkCount(t, existing);
}

function checkCount(t: TopicSettings, actual: number): 'exists' {
  if (actual !== t.partitions) {
    throw new BinlogSyncError(
      'KAFKA',
      `the topic ${t.topic} has ${actual} partitions and the pipeline file says transport.partitions: ${t.partitions}. Keys are placed by hash mod partitions, so with another count a row's changes would land in another partition, out of order. ` +
        `Set transport.partitions: ${actual}, or use a new topic.`,
      { details: { topic: t.topic, actual, configured: t.partitions } },
    );
  }
  return 'exists';
}

async function partitionCount(admin: Admin, topic: string): Promise<number | null> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) return null;
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  return meta.topics[0]?.partitions.length ?? 0;
}

/**
 * The topic's effective `max.message.bytes` (its own setting, else the brokers' `message.max.bytes`):
 * the largest record batch the brokers take for it. The publisher keeps every batch under it and
 * refuses a single change that cannot fit, with what to raise.
 */
export async function topicMaxMessageBytes(admin: Admin, topic: string): Promise<number> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
  });
  const value = described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new BinlogSyncError('KAFKA', `the topic ${topic} has no readable max.message.bytes (got ${JSON.stringify(value)})`);
  return n;
}
