/**
 * Big rows in Kafka mode, on a real broker with Kafka's default `max.message.bytes` (1 MB):
 * - a source transaction of many 200 KB rows is published in record batches the broker accepts (one
 *   send per partition is one record batch: without splitting, a partition's batch went over the limit
 *   and the publisher restarted forever on MESSAGE_TOO_LARGE);
 * - a single row whose message is larger than the topic takes stops the publisher with
 *   KAFKA_MESSAGE_TOO_LARGE naming the table, the position and what to raise, with everything before it
 *   published and applied; after the operator raises the topic's limit, a restart continues with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { killStartedClis, pipelineEnv, startCli } from '../support/pipeline-process.js';
import { LocalKafkaCluster, TEST_KAFKA_PIPELINE, kafkaEnv, stopCli, waitForSameData } from '../support/kafka.js';

const DB = 'kl';
const PIPELINE = 'kl-big';
const TOPIC = `${PIPELINE}.changes`;
let servers: ServerPair;
let kafka: LocalKafkaCluster;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-kafka-large-'));

beforeAll(async () => {
  const args = ['--max-allowed-packet=256M'];
  [servers, kafka] = await Promise.all([startServerPair({ sourceArgs: args, targetArgs: args }), LocalKafkaCluster.start({ brokers: 1, label: 'large' })]);
  for (const s of [servers.source, servers.target]) {
    await s.query(`CREATE DATABASE ${DB}`);
    await s.query(`CREATE TABLE ${DB}.docs (id INT PRIMARY KEY, body LONGBLOB, note VARCHAR(20))`);
  }
}, 180_000);

afterAll(async () => {
  killStartedClis();
  await Promise.allSettled([servers?.stop(), kafka?.stop()]);
  rmSync(logDir, { recursive: true, force: true });
});

const env = (): Record<string, string> => ({
  ...pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: PIPELINE, SYNC_DB: DB }),
  ...kafkaEnv(kafka.brokers, TOPIC),
});

/** `n` bytes that differ per seed (base64 in the message: 4/3 of it). */
const bytes = (seed: number, n: number): string => `REPEAT(UNHEX(SHA2('${seed}', 256)), ${Math.ceil(n / 32)})`;

describe('kafka transport with big rows', () => {
  it('publishes a transaction of many 200 KB rows within max.message.bytes, stops on a row larger than the topic takes, and continues once the limit is raised', async () => {
    const { source, target } = servers;
    // 60 rows of 200 KB in one transaction: ~4 MB of messages per partition, four times the limit.
    await source.query(`INSERT INTO ${DB}.docs SELECT seq, ${bytes(1, 200_000)}, 'small' FROM ${DB}.seq_1_to_60`);
    await source.query(`UPDATE ${DB}.docs SET body = ${bytes(2, 200_000)}, note = 'again' WHERE id <= 30`);
    const first = startCli(['run', '--config', TEST_KAFKA_PIPELINE], env(), join(logDir, 'run-1.log'));
    await first.running.catch(async (err: Error) => {
      await first.exited;
      throw new Error(`${err.message}\n${first.output()}`);
    });
    await waitForSameData(source, target, DB, 180_000);

    // One row of 2 MB: a 2.7 MB message.
    await source.query(`INSERT INTO ${DB}.docs VALUES (1000, ${bytes(3, 2_000_000)}, 'big')`);
    await source.query(`INSERT INTO ${DB}.docs VALUES (1001, 'after', 'after')`);
    const code = await first.exited;
    expect(code, first.output()).not.toBe(0);
    const out = first.output();
    expect(out).toContain('KAFKA_MESSAGE_TOO_LARGE');
    expect(out).toMatch(new RegExp(`the change of ${DB}\\.docs key \\[1000\\] at \\S+:\\d+ is a Kafka message of \\d+ bytes, more than the topic ${TOPIC.replace('.', '\\.')} accepts \\(max\\.message\\.bytes 1048588\\)`));
    expect(out).toContain('--add-config max.message.bytes=N');
    // Stopped once, not restarted over and over.
    expect(out.match(/KAFKA_MESSAGE_TOO_LARGE/g)!.length).toBeLessThanOrEqual(3);
    const [applied] = await target.query<{ n: number; big: string | null }>(`SELECT COUNT(*) AS n, SUM(id >= 1000) AS big FROM ${DB}.docs`);
    expect(Number(applied!.n), 'every row before the big one').toBe(60);
    expect(Number(applied!.big ?? 0)).toBe(0);

    // The operator raises the topic's limit; the publisher continues with the big row.
    const client = new Kafka({ clientId: 'test-admin', brokers: [...kafka.brokers], logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }] }] });
    } finally {
      await admin.disconnect();
    }
    const second = startCli(['run', '--config', TEST_KAFKA_PIPELINE], env(), join(logDir, 'run-2.log'));
    await second.running.catch(async (err: Error) => {
      await second.exited;
      throw new Error(`${err.message}\n${second.output()}`);
    });
    await waitForSameData(source, target, DB, 180_000);
    await stopCli(second);
  }, 600_000);
});
