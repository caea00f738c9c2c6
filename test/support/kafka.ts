/**
 * Kafka-mode test support: a local Kafka cluster per test file (real Apache Kafka broker jars, see
 * scripts/kafka.sh), the pipeline file's variables for it, reading a topic back with a plain kafkajs
 * consumer, and waiting until the target's digest equals the source's.
 */
import { expect } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import type { CliRun } from './pipeline-process.js';
import { LocalKafkaCluster } from '../../src/local/kafka-cluster.js';
import { kafkaEnv } from '../../src/local/kafka-env.js';
import { assertSameData, type DigestSource } from './digest.js';

export { LocalKafkaCluster, kafkaEnv };

export const TEST_KAFKA_PIPELINE = new URL('../../config/test-kafka-pipeline.yaml', import.meta.url).pathname;

export interface TopicRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: Record<string, unknown>;
  readonly headers: Record<string, string>;
}

/**
 * Every committed message of `topic` (read_committed), read with a plain kafkajs consumer of its own
 * group: done once every partition has been read to its high watermark (which counts transaction
 * markers too, so "reached" is judged by kafkajs' lag of 0) or nothing new came for `idleMs`.
 */
export async function readTopic(brokers: readonly string[], topic: string, timeoutMs = 60_000, idleMs = 3000): Promise<TopicRecord[]> {
  const kafka = new Kafka({ clientId: 'test-reader', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `test-reader-${Date.now()}-${Math.random()}`, readUncommitted: false });
  const out: TopicRecord[] = [];
  // Idle time counts from the group join (the first fetch comes after it).
  let lastAt = Number.POSITIVE_INFINITY;
  consumer.on(consumer.events.GROUP_JOIN, () => (lastAt = Date.now()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  void consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        out.push({
          partition: batch.partition,
          offset: m.offset,
          key: m.key?.toString() ?? '',
          value: JSON.parse(m.value!.toString()) as Record<string, unknown>,
          headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
      }
      if (batch.messages.length > 0) lastAt = Date.now();
    },
  });
  const deadline = Date.now() + timeoutMs;
  try {
    while (!(Date.now() - lastAt >= idleMs)) {
      if (Date.now() > deadline) throw new Error(`reading ${topic} did not settle in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** Polls until the target's digest of `dbs` equals the source's; throws the last difference on timeout. */
export async function waitForSameData(source: DigestSource, target: DigestSource, dbs: string | readonly string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertSameData(source, target, dbs);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** SIGTERM to a daemon still running; it must drain and exit 0. */
export async function stopCli(run: CliRun): Promise<void> {
  if (run.proc.exitCode !== null || run.proc.signalCode !== null) return;
  run.proc.kill('SIGTERM');
  expect(await run.exited, run.output()).toBe(0);
}

/**
 * Each change of the topic exactly once: (transaction, index, op, row) never repeats (a duplicate is
 * named with both places). With `gaps`, also no hole in a transaction's indexes.
 */
export function assertEachChangeOnce(records: readonly TopicRecord[], o: { gaps: boolean }): void {
  const seen = new Map<string, string>();
  const indexes = new Map<string, Set<number>>();
  for (const r of records) {
    const v = r.value as { transaction: { id: string; data_collection_order: number }; binlogSync: { op: string; rowId: string }; ts_ms: number };
    const id = `${v.transaction.id}#${v.transaction.data_collection_order}#${v.binlogSync.op}#${v.binlogSync.rowId}`;
    const at = `partition ${r.partition} offset ${r.offset} (ts ${v.ts_ms})`;
    expect(seen.get(id), `duplicate message ${id} at ${at}`).toBeUndefined();
    seen.set(id, at);
    let set = indexes.get(v.transaction.id);
    if (!set) indexes.set(v.transaction.id, (set = new Set()));
    set.add(v.transaction.data_collection_order);
  }
  if (!o.gaps) return;
  for (const [tx, set] of indexes) {
    const max = Math.max(...set);
    expect(set.size, `transaction ${tx}: indexes ${[...set].sort((a, b) => a - b).join(',')} have a gap`).toBe(max + 1);
  }
}
