/**
 * Bounded memory for huge source transactions and huge rows: one transaction of many row changes, and
 * rows holding 64 MB BLOBs, pass through the daemon (the built CLI, default heap settings, the shipped
 * queue sizes) with a bounded peak RSS (VmHWM read from /proc), and the target ends equal to the source.
 *
 * The daemon runs with DAEMON_NODE_FLAGS, as bin/binlog-sync.js starts it.
 *
 * Sizes: BINLOG_SYNC_TEST_HUGE_TX_ROWS (default 200,000 inserts, then an UPDATE of every row in one more
 * transaction) and BINLOG_SYNC_TEST_BLOB_MB (default 64). Larger transactions (the 5M rows) are
 * run by hand with BINLOG_SYNC_TEST_HUGE_TX_ROWS=5000000; CI keeps the default so the suite stays short.
 *
 * BLOB rows have their own bound: reading a 64 MB event, mysql2 holds its 16 MB packets and their
 * concatenation at once, and an update event carries the value twice (before and after image), so
 * one such row costs ~2 times its event in memory for a moment; the bound is 300 MB plus twice the
 * largest event. Before the sink sent big values as parameters and handed big changes on one at a
 * time, three 64 MB rows took the daemon to 1.2 GB; before the source, the dispatcher and the
 * partition workers dropped their references to handed-on batches (a suspended generator keeps its
 * variables) and the dispatcher waited for a big change to be applied before reading on, to 580–680 MB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { killStartedClis, pipelineEnv, startCli, TEST_PIPELINE, waitForCatchUp } from '../support/pipeline-process.js';
import { DAEMON_NODE_FLAGS } from '../../src/cli/node-flags.js';

const DB = 'huge';
const ROWS = Number(process.env.BINLOG_SYNC_TEST_HUGE_TX_ROWS ?? 200_000);
const BLOB_MB = Number(process.env.BINLOG_SYNC_TEST_BLOB_MB ?? 64);
/** The bound for any backlog and any transaction size. */
const RSS_LIMIT_MB = 300;
/** An update of a BLOB_MB row: before and after image in one event. */
const LARGEST_EVENT_MB = 2 * BLOB_MB;

let servers: ServerPair;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-huge-'));

/** The process's peak resident set (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Runs the daemon (shipped queue sizes, the launcher's V8 flags) until it has applied the backlog; returns its peak RSS in MB. */
async function syncBacklog(name: string): Promise<number> {
  const { source, target } = servers;
  const env = pipelineEnv(source.endpoint(), target.endpoint(), {
    PIPELINE_NAME: name,
    SYNC_DB: DB,
    // The shipped defaults (config/example.yaml), not the test file's deliberately small queues.
    PARTITIONS: '8',
    LANES: '16',
    QUEUE_CAPACITY: '2000',
    BATCH_SIZE: '500',
    CHECKPOINT_INTERVAL_MS: '1000',
    NODE_OPTIONS: DAEMON_NODE_FLAGS.join(' '),
  });
  const cli = startCli(['run', '--config', TEST_PIPELINE], env, join(logDir, `${name}.log`));
  await cli.running;
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, peakRssMb(cli.proc.pid!));
    } catch {
      // exited
    }
  }, 500);
  try {
    await waitForCatchUp(source.endpoint(), target.endpoint(), name, 900_000);
    peak = Math.max(peak, peakRssMb(cli.proc.pid!));
  } finally {
    clearInterval(sampler);
  }
  cli.proc.kill('SIGTERM');
  expect(await cli.exited, cli.output()).toBe(0);
  return peak;
}

beforeAll(async () => {
  // A 64 MB value needs packets larger than it on both sides (the sink sends it in one statement).
  const args = ['--max-allowed-packet=1G', '--innodb-log-file-size=512M'];
  servers = await startServerPair({ sourceArgs: args, targetArgs: args });
  for (const s of [servers.source, servers.target]) {
    await s.query(`CREATE DATABASE ${DB}`);
    await s.query(`CREATE TABLE ${DB}.big (id INT PRIMARY KEY, label VARCHAR(64) NOT NULL, n INT NOT NULL, KEY (n))`);
    await s.query(`CREATE TABLE ${DB}.blobs (id INT PRIMARY KEY, body LONGBLOB, note VARCHAR(20))`);
  }
}, 120_000);

afterAll(async () => {
  killStartedClis();
  await servers?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

describe('bounded memory for huge transactions and rows', () => {
  it(`applies ${ROWS.toLocaleString('en')} inserts in one transaction and as many updates in another with peak RSS ≤ ${RSS_LIMIT_MB} MB`, async () => {
    const { source, target } = servers;
    // Written before the daemon starts: it meets the whole backlog at once, the hardest case for memory.
    await source.query(`INSERT INTO ${DB}.big SELECT seq, CONCAT('row-', seq, '-', MD5(seq)), seq % 1000 FROM ${DB}.seq_1_to_${ROWS}`);
    await source.query(`UPDATE ${DB}.big SET n = n + 1, label = CONCAT(label, '+')`);
    const peak = await syncBacklog('huge-tx');
    console.log(`huge transactions: ${ROWS} inserts + ${ROWS} updates in two transactions: daemon peak RSS ${peak.toFixed(0)} MB`);
    expect(peak, "the daemon's peak RSS (MB)").toBeLessThanOrEqual(RSS_LIMIT_MB);
    await assertSameData(source, target, DB);
  }, 1_200_000);

  it(`applies ${BLOB_MB} MB BLOB rows (insert, update, delete) with peak RSS ≤ ${RSS_LIMIT_MB} MB + 2 × ${LARGEST_EVENT_MB} MB`, async () => {
    const { source, target } = servers;
    // Each row its own transaction, one updated (a before and an after image of BLOB_MB in one event), one deleted.
    const blob = (seed: number): string => `REPEAT(UNHEX(SHA2('${seed}', 256)), ${(BLOB_MB * 1024 * 1024) / 32})`;
    for (let i = 1; i <= 3; i++) await source.query(`INSERT INTO ${DB}.blobs VALUES (${i}, ${blob(i)}, 'v1')`);
    await source.query(`UPDATE ${DB}.blobs SET body = ${blob(9)}, note = 'v2' WHERE id = 2`);
    await source.query(`DELETE FROM ${DB}.blobs WHERE id = 3`);
    const peak = await syncBacklog('huge-blobs');
    console.log(`3 × ${BLOB_MB} MB BLOB rows, one updated, one deleted: daemon peak RSS ${peak.toFixed(0)} MB`);
    expect(peak, "the daemon's peak RSS (MB)").toBeLessThanOrEqual(RSS_LIMIT_MB + 2 * LARGEST_EVENT_MB);
    await assertSameData(source, target, DB);
  }, 1_200_000);
});
