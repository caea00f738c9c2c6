/**
 * Foreign-key cascades. MariaDB does not write the rows that ON DELETE / ON UPDATE CASCADE and SET NULL
 * change to the binlog (only the statement's own row), so the target's own foreign keys must perform
 * them, as on a native replica: tables linked by foreign keys are applied in source order, with the
 * target's checks on, a key change as one UPDATE, and exactly once (a cascade applied twice is wrong).
 * Covered: every referential action on delete and on update, two levels of cascades, a foreign key to
 * a UNIQUE column, a self-referencing table, concurrent writers, and kill -9 of the daemon.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { startInProcess } from '../support/in-process.js';
import { foreignKeySchema, runForeignKeyWriter, type FkCounts } from '../support/fk-workload.js';
import { killStartedClis, pipelineEnv, startCli, TEST_PIPELINE, waitForCatchUp, type CliRun } from '../support/pipeline-process.js';

let servers: ServerPair;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-fk-'));

beforeAll(async () => {
  servers = await startServerPair();
  for (const db of ['fk', 'fkcrash']) for (const s of [servers.source, servers.target]) for (const sql of foreignKeySchema(db)) await s.query(sql);
});

afterAll(async () => {
  killStartedClis(); // what a failed or timed-out test did not stop
  await servers?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

async function writers(db: string, count: number, transactions: number, seed: number): Promise<FkCounts> {
  const counts: FkCounts = { committed: 0, refused: 0 };
  await Promise.all(
    Array.from({ length: count }, async (_, w) => {
      const conn = await servers.source.connect();
      try {
        await runForeignKeyWriter(conn, db, w + 1, seed, transactions, counts);
      } finally {
        await conn.end();
      }
    }),
  );
  return counts;
}

describe('foreign keys', () => {
  it('the target performs the cascades the binlog does not carry, in source order', async () => {
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'fk-stream', SYNC_DB: 'fk', START: 'latest', LANES: '8', PARTITIONS: '4', BATCH_SIZE: '16' });
    try {
      await running.pipeline;
      const counts = await writers('fk', 4, 250, 5);
      expect(counts.committed).toBeGreaterThan(300);
      await running.caughtUp(60_000);
      // The workload did cascade: rows went away or were re-pointed without a binlog row of their own.
      const [gone] = await servers.source.query<{ n: number }>('SELECT COUNT(*) AS n FROM fk.nullchild WHERE parent_id IS NULL');
      expect(Number(gone!.n)).toBeGreaterThan(0);
      await assertSameData(servers.source, servers.target, 'fk');
    } finally {
      await running.stop();
    }
  });

  it('deletes rows of a NO ACTION self-reference child first, as the source did (a multi-row DELETE ran in index order; found by the fuzzer)', async () => {
    for (const s of [servers.source, servers.target]) {
      await s.query('CREATE DATABASE fkchain');
      await s.query('CREATE TABLE fkchain.chain (id INT PRIMARY KEY, up INT NULL, CONSTRAINT fk_chain FOREIGN KEY (up) REFERENCES fkchain.chain (id) ON DELETE NO ACTION) ENGINE=InnoDB');
    }
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'fk-chain', SYNC_DB: 'fkchain', START: 'latest' });
    try {
      await running.pipeline;
      await servers.source.query('INSERT INTO fkchain.chain VALUES (10, NULL), (3, 10), (7, 3), (20, NULL)');
      const c = await servers.source.connect();
      try {
        await c.query('BEGIN');
        for (const id of [7, 3, 10]) await c.query('DELETE FROM fkchain.chain WHERE id = ?', [id]);
        await c.query('COMMIT');
      } finally {
        await c.end();
      }
      await running.caughtUp(30_000);
      await assertSameData(servers.source, servers.target, 'fkchain');
    } finally {
      await running.stop();
    }
  });

  it('loses nothing and applies no cascade twice when the daemon is killed at random moments', async () => {
    const env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'fk-crash', SYNC_DB: 'fkcrash', START: 'latest', BATCH_SIZE: '8' });
    const log = join(logDir, 'run.log');
    let cli: CliRun = startCli(['run', '--config', TEST_PIPELINE], env, log);
    // Let the daemon pin its start before the first write.
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'fk-crash', 30_000);
    let done = false;
    const work = writers('fkcrash', 3, 400, 9).finally(() => (done = true));
    let kills = 0;
    while (!done || kills < 4) {
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1200)));
      cli.proc.kill('SIGKILL');
      expect(await cli.exited, cli.output()).toBeNull();
      kills++;
      cli = startCli(['run', '--config', TEST_PIPELINE], env, log);
      if (kills >= 10) break;
    }
    const counts = await work;
    expect(counts.committed).toBeGreaterThan(300);
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'fk-crash', 90_000);
    await cli.running;
    cli.proc.kill('SIGTERM');
    expect(await cli.exited, cli.output()).toBe(0);
    await assertSameData(servers.source, servers.target, 'fkcrash');
  }, 240_000);
});
