/**
 * Kafka mode end to end on a real Apache Kafka broker (local KRaft cluster from the Maven Central
 * jars) and real MariaDB servers, driving the built CLI as a user would: `run` (publisher and sink
 * worker in one process), `source` and `sink` separately, kill -9 of each, a second publisher. Every
 * test ends with the target's digest equal to the source's; the topic is read back with a plain
 * kafkajs consumer for the message format and for duplicates and gaps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerPair } from '../support/servers.js';
import { ALL_TYPES_COLUMNS, ALL_TYPES_ROWS } from '../support/all-types.js';
import { createWorkloadSchemaOnPair, runWorkload } from '../support/workload.js';
import { startServerPair } from '../support/servers.js';
import { killStartedClis, pipelineEnv, runCli, startCli, type CliRun } from '../support/pipeline-process.js';
import { waitFor, within } from '../support/wait-for.js';
import { LocalKafkaCluster, TEST_KAFKA_PIPELINE, assertEachChangeOnce, kafkaEnv, readTopic, stopCli, waitForSameData } from '../support/kafka.js';

let servers: ServerPair;
let kafka: LocalKafkaCluster;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-kafka-'));

beforeAll(async () => {
  [servers, kafka] = await Promise.all([startServerPair(), LocalKafkaCluster.start({ brokers: 1, label: 'transport' })]);
});

afterAll(async () => {
  killStartedClis(); // what a failed or timed-out test did not stop
  await Promise.allSettled([servers?.stop(), kafka?.stop()]);
  // KEEP_TEST_LOGS=1 keeps the daemons' logs for a look.
  if (process.env.KEEP_TEST_LOGS) console.log(`logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
});

async function createDb(db: string, extra: (s: ServerPair['source']) => Promise<void> = async () => undefined): Promise<void> {
  await createWorkloadSchemaOnPair(servers, db);
  for (const s of [servers.source, servers.target]) await extra(s);
}

function env(db: string, pipeline: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: pipeline, SYNC_DB: db }),
    ...kafkaEnv(kafka.brokers, `${pipeline}.changes`),
    ...extra,
  };
}

describe('kafka transport', () => {
  it('carries every type end to end through the broker, and a plain consumer reads well-formed envelopes', async () => {
    const db = 'kt_types';
    await createDb(db, async (s) => {
      await s.query(`CREATE TABLE ${db}.all_types (${ALL_TYPES_COLUMNS}) DEFAULT CHARSET=utf8mb4`);
    });
    const src = await servers.source.connect();
    await src.query("SET sql_mode = ''");
    await src.query(`INSERT INTO ${db}.all_types VALUES ${ALL_TYPES_ROWS.replace("'', '', b'0', b'0'", "'a', '', b'0', b'0'")}`);
    await src.query(`UPDATE ${db}.all_types SET id = 70 WHERE id = 2`);
    await src.query(`DELETE FROM ${db}.all_types WHERE id = 3`);
    await src.end();
    const pipeline = 'kt-types';
    const run = startCli(['run', '--config', TEST_KAFKA_PIPELINE], env(db, pipeline), join(logDir, 'types.log'));
    await run.running;
    await runWorkload(servers.source.endpoint(), { db, transactions: 300, concurrency: 3, seed: 7 });
    await waitForSameData(servers.source, servers.target, db);
    const live = await runCli(['status', '--config', TEST_KAFKA_PIPELINE], env(db, pipeline));
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toMatch(/group +binlog-sync\.kt-types: Stable, 1 worker/);
    await stopCli(run);
    // status: the publisher's position, and per partition end / applied / committed offsets and lag.
    const st = await runCli(['status', '--config', TEST_KAFKA_PIPELINE, '--json'], env(db, pipeline));
    expect(st.code, st.stderr).toBe(0);
    const k = (JSON.parse(st.stdout) as { kafka: { published: { position: string }; publishedLagBytes: number; partitions: { endOffset: string; appliedOffset: string; lag: string }[] } }).kafka;
    expect(k.published.position).toMatch(/bin\.\d+:\d+$/);
    expect(k.partitions).toHaveLength(4);
    for (const p of k.partitions) {
      expect(p.appliedOffset).not.toBeNull();
      // What is left is at most the last transaction's commit marker.
      expect(Number(p.lag)).toBeLessThanOrEqual(1);
    }

    const records = await readTopic(kafka.brokers, `${pipeline}.changes`);
    expect(records.length).toBeGreaterThan(300);
    assertEachChangeOnce(records, { gaps: true });
    const types = records.filter((r) => (r.value.source as { table: string }).table === 'all_types');
    // 4 inserts, the key change as delete + create (as Debezium does), one delete.
    expect(types.map((r) => r.value.op).sort()).toEqual(['c', 'c', 'c', 'c', 'c', 'd', 'd']);
    const row1 = types.find((r) => r.value.op === 'c' && (r.value.after as { id: number }).id === 1)!;
    expect(JSON.parse(row1.key)).toEqual({ id: 1 });
    expect(row1.value).toMatchObject({
      before: null,
      op: 'c',
      source: { connector: 'mysql', name: pipeline, db, table: 'all_types', server_id: expect.any(Number), file: expect.stringMatching(/bin\.\d+$/), pos: expect.any(Number) },
      transaction: { id: expect.stringMatching(/:\d+$/) },
    });
    const after = row1.value.after as Record<string, unknown>;
    // Lossless: BIGINT beyond 2^53 and DECIMAL as strings, bytes as base64 (named in binlogSync.binary).
    expect(after.biu).toBe('18446744073709551615');
    expect(after.d2).toBe('-99999999.99');
    expect(after.bl).toBe(Buffer.from([0x00, 0xff, 0x00]).toString('base64'));
    expect((row1.value.binlogSync as { binary: string[] }).binary).toEqual(expect.arrayContaining(['bl', 'bn', 'vb', 'b64']));
    expect(after.vu).toBe('😀 héllo');
    expect(row1.headers['binlog-sync.tx']).toBe((row1.value.transaction as { id: string }).id);
    expect(row1.headers['binlog-sync.position']).toMatch(/:\d+$/);
    const moved = types.find((r) => r.value.op === 'd' && (r.value.before as { id: number }).id === 2)!;
    expect(moved.value.after).toBeNull();
  });

  it('loses nothing and publishes nothing twice when the publisher is killed -9 at random moments', async () => {
    const db = 'kt_crash';
    await createDb(db);
    const pipeline = 'kt-crash';
    const e = env(db, pipeline);
    const sink = startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'crash-sink.log'));
    let source = startCli(['source', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'crash-source.log'));
    await Promise.all([sink.running, source.running]);
    let workloadDone = false;
    const workload = runWorkload(servers.source.endpoint(), { db, durationMs: 15_000, concurrency: 4, seed: 11 }).finally(() => (workloadDone = true));
    let kills = 0;
    while (kills < 5 || !workloadDone) {
      await new Promise((r) => setTimeout(r, 800 + Math.floor(Math.random() * 2200)));
      source.proc.kill('SIGKILL');
      expect(await source.exited, source.output()).toBeNull();
      kills++;
      source = startCli(['source', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'crash-source.log'));
      if (kills >= 10) break;
    }
    const counts = await workload;
    expect(counts.committed).toBeGreaterThan(100);
    await waitForSameData(servers.source, servers.target, db);
    await Promise.all([stopCli(source), stopCli(sink)]);
    assertEachChangeOnce(await readTopic(kafka.brokers, `${pipeline}.changes`), { gaps: true });
  });

  it('rebalances when one of two sink workers is killed -9, and when a worker joins, ending equal', async () => {
    const db = 'kt_workers';
    await createDb(db);
    const pipeline = 'kt-workers';
    const e = env(db, pipeline, { PARTITIONS: '6' });
    const source = startCli(['source', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'workers-source.log'));
    const a = startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'workers-a.log'));
    let b = startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'workers-b.log'));
    await Promise.all([source.running, a.running, b.running]);
    const workload = runWorkload(servers.source.endpoint(), { db, durationMs: 15_000, concurrency: 4, seed: 23 });
    await new Promise((r) => setTimeout(r, 4000));
    b.proc.kill('SIGKILL');
    await b.exited;
    await new Promise((r) => setTimeout(r, 4000));
    b = startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'workers-b.log'));
    const c = startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'workers-c.log'));
    await workload;
    await waitForSameData(servers.source, servers.target, db);
    expect(a.output()).toMatch(/assigned partitions/);
    await Promise.all([stopCli(source), stopCli(a), stopCli(b), stopCli(c)]);
  });

  it('refuses to start on a topic with another partition count, naming both counts', async () => {
    const db = 'kt_parts';
    await createDb(db);
    const pipeline = 'kt-parts';
    const { Kafka, logLevel } = await import('kafkajs');
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: `${pipeline}.changes`, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const r = await runCli(['source', '--config', TEST_KAFKA_PIPELINE], env(db, pipeline), 90_000);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/the topic kt-parts\.changes has 2 partitions and the pipeline file says transport\.partitions: 4/);
    expect(r.stderr).toMatch(/Set transport\.partitions: 2, or use a new topic/);
  });

  it('waits for a broker that is down at start, with a log line per attempt, and then syncs', async () => {
    const db = 'kt_down';
    await createDb(db);
    const pipeline = 'kt-down';
    await kafka.kill(1);
    let run: CliRun | null = null;
    try {
      run = startCli(['run', '--config', TEST_KAFKA_PIPELINE], env(db, pipeline), join(logDir, 'down.log'));
      await runWorkload(servers.source.endpoint(), { db, transactions: 100, concurrency: 2, seed: 9 });
      await waitFor(() => /retrying in \d+ ms/.test(run!.output()), { what: 'a retry line while the broker is down', timeoutMs: 60_000 });
    } finally {
      await kafka.restart(1);
    }
    await waitForSameData(servers.source, servers.target, db);
    await stopCli(run);
  });

  it('publishes while the target is down, and a sink worker drains the topic while the source is down', async (ctx) => {
    if (!servers.source.supports.kill || !servers.target.supports.kill) ctx.skip();
    const db = 'kt_apart';
    await createDb(db);
    const pipeline = 'kt-apart';
    const e = env(db, pipeline);
    // The publisher's position lives in Kafka: it neither needs nor checks the target (it used to
    // refuse to start, its preflight failing on the unreachable target).
    await servers.target.kill();
    const down = { source: false, target: true };
    let publisher: CliRun | null = null;
    let sink: CliRun | null = null;
    try {
      publisher = startCli(['source', '--config', TEST_KAFKA_PIPELINE, '--progress-interval', '300'], e, join(logDir, 'apart-source.log'));
      await publisher.running;
      await runWorkload(servers.source.endpoint(), { db, transactions: 200, concurrency: 2, seed: 11 });
      const [end] = await servers.source.query<{ File: string; Position: number }>('SHOW MASTER STATUS');
      const published = `"published":"${end!.File}:${end!.Position}"`;
      await waitFor(() => publisher!.output().includes(published), { what: `the publisher to publish up to ${end!.File}:${end!.Position}`, timeoutMs: 60_000 });
      await stopCli(publisher);
      // The sink worker applies what is in Kafka; the source only serves the table comparison, a warning when it is down.
      await servers.source.kill();
      down.source = true;
      await servers.target.restart();
      down.target = false;
      sink = startCli(['sink', '--config', TEST_KAFKA_PIPELINE, '--progress-interval', '300'], e, join(logDir, 'apart-sink.log'));
      await sink.running;
      await waitFor(() => /"applied":[1-9]/.test(sink!.output()), { what: 'the sink worker to apply changes while the source is down', timeoutMs: 60_000 });
      expect(sink.output()).toMatch(/the target tables were not compared with the source's/);
    } finally {
      if (down.source) await servers.source.restart();
      if (down.target) await servers.target.restart();
    }
    await waitForSameData(servers.source, servers.target, db);
    await stopCli(sink!);
  });

  it('fences the older publisher when another starts for the same pipeline, also when both start together', async () => {
    const db = 'kt_fence';
    await createDb(db);
    const pipeline = 'kt-fence';
    const e = env(db, pipeline);
    // Other replica ids: with the same one the source itself would disconnect the older reader.
    const publisher = (n: number): CliRun =>
      startCli(['source', '--config', TEST_KAFKA_PIPELINE], { ...e, SOURCE_SERVER_ID: String(5400 + n) }, join(logDir, `fence-${n}.log`));
    const fenced = /fenced this one: only one may publish/;
    // Two started at the same moment: one fences the other while it is still starting up (pinning its
    // start position). The fenced one must stop, not start again: that would fence the newer one in
    // turn, and both would stay alive. (Seen in CI: the older one restarted and the test hung.)
    const [a, b] = [publisher(1), publisher(2)];
    // Each step is bounded, and a step that runs out of time shows what every process logged: a
    // hang seen once in CI (the test's 180 s ran out with no more detail) must say where it was.
    const runs: [string, CliRun][] = [['publisher 1', a], ['publisher 2', b]];
    const bounded = <T,>(p: Promise<T>, what: string, timeoutMs: number): Promise<T> =>
      within(p, { what, timeoutMs }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${runs.map(([name, r]) => `--- ${name} (exit ${r.proc.exitCode ?? 'none'}):\n${r.output().slice(-6000)}`).join('\n')}`);
      });
    await runWorkload(servers.source.endpoint(), { db, transactions: 50, concurrency: 2, seed: 5 });
    const loser = await bounded(Promise.race([a.exited.then(() => a), b.exited.then(() => b)]), 'one of two publishers started together to be fenced and stop', 60_000);
    const survivor = loser === a ? b : a;
    expect(await loser.exited, loser.output()).toBe(1);
    expect(loser.output()).toMatch(fenced);
    await bounded(waitFor(() => survivor.output().includes('kafka publisher: starting'), { what: 'the surviving publisher to start', timeoutMs: 60_000 }), 'the surviving publisher to start', 65_000);
    expect(survivor.output(), 'the survivor was fenced and started again, fencing the other').not.toMatch(/old epoch[^\n]*starting again/);
    // A third one started later fences the running survivor, on a quiet source: the survivor learns it
    // at its idle position probe and must stop without waiting for a binlog event (it used to stay
    // alive until the next write, and before that to hang in the source reader after it).
    const third = publisher(3);
    runs.push(['publisher 3', third]);
    await bounded(waitFor(() => third.output().includes('kafka publisher: starting'), { what: 'the third publisher to start', timeoutMs: 60_000 }), 'the third publisher to start', 65_000);
    expect(await bounded(survivor.exited, 'the survivor to learn at its idle probe that the third fenced it, and stop', 45_000), survivor.output()).toBe(1);
    expect(survivor.output()).toMatch(fenced);
    await runWorkload(servers.source.endpoint(), { db, transactions: 1, concurrency: 1, seed: 6 });
    const sink = startCli(['sink', '--config', TEST_KAFKA_PIPELINE], e, join(logDir, 'fence-sink.log'));
    runs.push(['sink worker', sink]);
    await waitForSameData(servers.source, servers.target, db);
    await bounded(Promise.all([stopCli(third), stopCli(sink)]), 'the third publisher and the sink worker to stop on SIGTERM', 60_000);
    assertEachChangeOnce(await readTopic(kafka.brokers, `${pipeline}.changes`), { gaps: true });
  }, 420_000);
});
