/**
 * Kafka mode under faults, on a three-node Apache Kafka cluster (replication factor 3,
 * min.insync.replicas 2): a broker killed -9 mid-stream and restarted, and hot keys updated thousands
 * of times while sink workers are killed and added (per-key order across rebalances). Each ends with
 * the target's digest equal to the source's, and the topic without duplicates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { ServerPair } from '../support/servers.js';
import { createWorkloadSchemaOnPair, runWorkload } from '../support/workload.js';
import { startServerPair } from '../support/servers.js';
import { killStartedClis, pipelineEnv, startCli, type CliRun } from '../support/pipeline-process.js';
import { LocalKafkaCluster, TEST_KAFKA_PIPELINE, assertEachChangeOnce, kafkaEnv, readTopic, stopCli, waitForSameData } from '../support/kafka.js';

let servers: ServerPair;
let kafka: LocalKafkaCluster;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-kafka-faults-'));

beforeAll(async () => {
  [servers, kafka] = await Promise.all([startServerPair(), LocalKafkaCluster.start({ brokers: 3, label: 'faults', properties: { 'min.insync.replicas': 2, 'default.replication.factor': 3 } })]);
});

afterAll(async () => {
  killStartedClis(); // what a failed or timed-out test did not stop
  await Promise.allSettled([servers?.stop(), kafka?.stop()]);
  if (process.env.KEEP_TEST_LOGS) console.log(`logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
});

function env(db: string, pipeline: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: pipeline, SYNC_DB: db }),
    ...kafkaEnv(kafka.brokers, `${pipeline}.changes`),
    REPLICATION_FACTOR: '3',
    ...extra,
  };
}

describe('kafka transport under faults', () => {
  it('loses and reorders nothing when one broker of three is killed -9 mid-stream and restarted', async () => {
    const db = 'kf_broker';
    await createWorkloadSchemaOnPair(servers, db);
    const pipeline = 'kf-broker';
    const e = env(db, pipeline);
    const run = startCli(['run', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'broker.log'));
    await run.running;
    const workload = runWorkload(servers.source.endpoint(), { db, durationMs: 20_000, concurrency: 4, seed: 31 });
    await new Promise((r) => setTimeout(r, 5000));
    await kafka.kill(2);
    await new Promise((r) => setTimeout(r, 7000));
    await kafka.restart(2);
    const counts = await workload;
    expect(counts.committed).toBeGreaterThan(100);
    await waitForSameData(servers.source, servers.target, db, 180_000);
    await stopCli(run);
    assertEachChangeOnce(await readTopic(kafka.brokers, `${pipeline}.changes`), { gaps: false });
  });

  it('keeps per-key order for hot keys while sink workers are killed and added', async () => {
    const db = 'kf_hot';
    for (const s of [servers.source, servers.target]) {
      await s.query(`CREATE DATABASE ${db}`);
      await s.query(`CREATE TABLE ${db}.hot (id INT PRIMARY KEY, n INT NOT NULL, history VARCHAR(64) NOT NULL)`);
    }
    await servers.source.query(`INSERT INTO ${db}.hot VALUES (1, 0, ''), (2, 0, ''), (3, 0, ''), (4, 0, ''), (5, 0, '')`);
    const pipeline = 'kf-hot';
    const e = env(db, pipeline, { PARTITIONS: '6', BATCH_SIZE: '20' });
    const source = startCli(['source', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'hot-source.log'));
    let a = startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'hot-a.log'));
    const b = startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'hot-b.log'));
    await Promise.all([source.running, a.running, b.running]);
    // Each update depends on the row's previous value: an older image applied last would show.
    const writer = (async () => {
      const c = await mysql.createConnection(servers.source.endpoint());
      for (let i = 0; i < 3000; i++) {
        const id = 1 + (i % 5);
        await c.query(`UPDATE ${db}.hot SET n = n + 1, history = RIGHT(CONCAT(history, MOD(n, 10)), 64) WHERE id = ?`, [id]);
      }
      await c.end();
    })();
    const workers: CliRun[] = [b];
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 2500));
      a.proc.kill('SIGKILL');
      await a.exited;
      a = startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, `hot-a${round}.log`));
      workers.push(startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, `hot-extra${round}.log`)));
    }
    await writer;
    await waitForSameData(servers.source, servers.target, db, 180_000);
    const rows = await servers.target.query<{ n: number }>(`SELECT SUM(n) AS n FROM ${db}.hot`);
    expect(Number(rows[0]?.n)).toBe(3000);
    await Promise.all([stopCli(source), stopCli(a), ...workers.map(stopCli)]);
  });
});
