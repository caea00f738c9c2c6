/**
 * The initial snapshot, end to end through the built CLI on real servers: pre-loaded tables (a large
 * one, every type of the fidelity table, collation-sensitive and composite keys, unique keys) are
 * copied into an empty target (tables created from the source's definitions) while a write workload
 * runs; kill -9 in the middle of the copy continues from the last chunk the checkpoint covers; and
 * `when_needed` copies again after the checkpoint's binlog was purged. Every test ends with the
 * target equal to the source by the full digest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import { assertSameData } from '../support/digest.js';
import { ALL_TYPES_COLUMNS, ALL_TYPES_ROWS } from '../support/all-types.js';
import { createWorkloadSchema, runWorkload } from '../../src/local/workload.js';
import { killStartedClis, pipelineEnv, runCli, startCli, TEST_PIPELINE, waitForCatchUp, type CliRun } from '../support/pipeline-process.js';
import { waitFor } from '../support/wait-for.js';

let servers: ServerPair;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-snapshot-'));
const BIG_ROWS = Number(process.env.BINLOG_SYNC_TEST_SNAPSHOT_ROWS) || 1_000_000;

beforeAll(async () => {
  servers = await startServerPair();
});

afterAll(async () => {
  killStartedClis();
  await servers?.stop();
  if (!process.env.BINLOG_SYNC_KEEP_TEST_LOGS) rmSync(logDir, { recursive: true, force: true });
});

/** The stored checkpoint's snapshot progress (null once the copy is done, undefined without a checkpoint). */
async function storedSnapshot(pipeline: string): Promise<{ tables: { table: string; rows: number; done: boolean }[] } | null | undefined> {
  const c = await mysql.createConnection(servers.target.endpoint());
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT snapshot FROM _binlog_sync.checkpoints WHERE pipeline = ?', [pipeline]);
    if (rows.length === 0) return undefined;
    return rows[0]!.snapshot === null ? null : (JSON.parse(String(rows[0]!.snapshot)) as { tables: { table: string; rows: number; done: boolean }[] });
  } catch (err) {
    if ([1146, 1049].includes((err as { errno?: number }).errno ?? 0)) return undefined;
    throw err;
  } finally {
    await c.end();
  }
}

/** Waits until the stored snapshot is done, failing at once (with its output) if the daemon exits meanwhile. */
async function snapshotDone(pipeline: string, run: CliRun, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      if (run.proc.exitCode !== null) throw new Error(`binlog-sync exited (${run.proc.exitCode}) during the snapshot:\n${run.output().slice(-3000)}`);
      return (await storedSnapshot(pipeline)) === null;
    },
    { timeoutMs, what: `the snapshot of ${pipeline} to finish` },
  ).catch((err: unknown) => {
    if (run.proc.exitCode !== null) throw new Error(`binlog-sync exited (${run.proc.exitCode}) during the snapshot:\n${run.output().slice(-3000)}`);
    throw err;
  });
}

/** The JSON log lines of a run with the given message prefix. */
function logLines(run: CliRun, prefix: string): Record<string, unknown>[] {
  return run
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix));
}

async function stopCli(run: CliRun): Promise<void> {
  run.proc.kill('SIGTERM');
  expect(await run.exited).toBe(0);
}

describe('snapshot', () => {
  it('copies pre-loaded tables into an empty target while writes go on, then streams; the target equals the source', async () => {
    const src = servers.source;
    await src.query('CREATE DATABASE snap');
    await src.query(`CREATE TABLE snap.all_types (${ALL_TYPES_COLUMNS}) DEFAULT CHARSET=utf8mb4`);
    // Rows written for a +05:30 non-strict session (TIMESTAMP extremes). The invalid ENUM value '' that
    // only a non-strict mode takes is refused by the strict target (a documented limit): not copied.
    await src.query(`SET SESSION time_zone = '+05:30', sql_mode = ''; INSERT INTO snap.all_types VALUES ${ALL_TYPES_ROWS}; UPDATE snap.all_types SET e = NULL WHERE e = ''`);
    await src.query('CREATE TABLE snap.big (id INT PRIMARY KEY, label VARCHAR(40) NOT NULL, n INT NOT NULL, KEY (n))');
    await src.query(`INSERT INTO snap.big SELECT seq, CONCAT('row-', seq), seq % 97 FROM snap.seq_1_to_${BIG_ROWS}`);
    await src.query('CREATE TABLE snap.ci (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT, w VARCHAR(12) COLLATE utf8mb4_unicode_ci, UNIQUE KEY uw (w))');
    await src.query(`INSERT INTO snap.ci VALUES ('Key1', 1, 'é'), ('key2 ', 2, 'E2'), ('ÄPFEL', 3, NULL), ('apfel2', 4, 'x'), ('Zeta', 5, 'y')`);
    await src.query('CREATE TABLE snap.pairs (a VARCHAR(8) CHARACTER SET latin1, b DECIMAL(12,3), v BIGINT, PRIMARY KEY (a, b))');
    await src.query(`INSERT INTO snap.pairs SELECT CONCAT(CHAR(65 + seq % 26), 'é'), seq / 7, seq * 1000003 FROM snap.seq_1_to_5000`);
    const c = await src.connect();
    try {
      await createWorkloadSchema(c, 'snap');
    } finally {
      await c.end();
    }
    // Rows the workload will update and delete while the copy runs.
    await runWorkload(src.endpoint(), { db: 'snap', transactions: 400, concurrency: 2, seed: 7 });

    const env = pipelineEnv(src.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'snap-initial', SYNC_DB: 'snap', SNAPSHOT: 'initial', SNAPSHOT_CHUNK_SIZE: '2000' });
    const run = startCli(['run', '--config', TEST_PIPELINE], env, join(logDir, 'initial.log'));
    try {
      await run.running;
      const workload = await runWorkload(src.endpoint(), { db: 'snap', durationMs: 8000, concurrency: 3, seed: 11 });
      expect(workload.committed).toBeGreaterThan(100);
      await snapshotDone('snap-initial', run, 240_000);
      await waitForCatchUp(src.endpoint(), servers.target.endpoint(), 'snap-initial', 120_000);
      await assertSameData(src, servers.target, 'snap');
      const done = logLines(run, 'snapshot: done');
      expect(done).toHaveLength(1);
      expect(Number(done[0]!.rowsThisRun)).toBeGreaterThanOrEqual(BIG_ROWS);
      expect(logLines(run, 'created ').length).toBe(1); // the target tables, from the source's definitions
      await stopCli(run);
    } finally {
      if (run.proc.exitCode === null) run.proc.kill('SIGKILL');
    }
  }, 420_000);

  it('continues from the last chunk the checkpoint covers after kill -9 mid-copy', async () => {
    const src = servers.source;
    const rows = 200_000;
    await src.query('CREATE DATABASE snapk');
    await src.query('CREATE TABLE snapk.t (id INT PRIMARY KEY, v VARCHAR(30) NOT NULL)');
    await src.query(`INSERT INTO snapk.t SELECT seq, CONCAT('v', seq) FROM snapk.seq_1_to_${rows}`);
    const env = pipelineEnv(src.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'snap-kill', SYNC_DB: 'snapk', SNAPSHOT: 'initial', SNAPSHOT_CHUNK_SIZE: '1000', SNAPSHOT_PARALLELISM: '1' });
    const first = startCli(['run', '--config', TEST_PIPELINE], env, join(logDir, 'kill-1.log'));
    await first.running;
    // Kill once the checkpoint covers part of the copy.
    await waitFor(async () => ((await storedSnapshot('snap-kill'))?.tables[0]?.rows ?? 0) >= rows / 4, { timeoutMs: 120_000, what: 'a quarter of the copy checkpointed' });
    first.proc.kill('SIGKILL');
    await first.exited;
    const covered = (await storedSnapshot('snap-kill'))!.tables[0]!.rows;
    expect(covered).toBeGreaterThanOrEqual(rows / 4);
    expect(covered).toBeLessThan(rows);
    // Changes during the outage, to rows copied and not yet copied.
    await src.query('UPDATE snapk.t SET v = CONCAT(v, \'!\') WHERE id % 1000 = 7');
    await src.query('DELETE FROM snapk.t WHERE id % 5000 = 3');

    const second = startCli(['run', '--config', TEST_PIPELINE], env, join(logDir, 'kill-2.log'));
    try {
      await second.running;
      await snapshotDone('snap-kill', second, 180_000);
      await waitForCatchUp(src.endpoint(), servers.target.endpoint(), 'snap-kill', 60_000);
      await assertSameData(src, servers.target, 'snapk');
      const done = logLines(second, 'snapshot: done');
      expect(done).toHaveLength(1);
      const reread = Number(done[0]!.rowsThisRun);
      // The restart copied what the checkpoint did not cover (at most a chunk in flight more), not everything.
      expect(reread).toBeLessThan(rows - covered + 5000);
      expect(reread).toBeGreaterThan(0);
      expect(logLines(second, 'snapshot: continuing')).toHaveLength(1);
      await stopCli(second);
    } finally {
      if (second.proc.exitCode === null) second.proc.kill('SIGKILL');
    }
  }, 420_000);

  it('when_needed copies again after the checkpoint\'s binlog was purged; never refuses with the purged position', async () => {
    const src = servers.source;
    await src.query('CREATE DATABASE snapw');
    await src.query('CREATE TABLE snapw.t (id INT PRIMARY KEY, v INT NOT NULL)');
    await src.query(`INSERT INTO snapw.t SELECT seq, seq FROM snapw.seq_1_to_3000`);
    const base = { PIPELINE_NAME: 'snap-purge', SYNC_DB: 'snapw', START: 'latest' };
    const env = pipelineEnv(src.endpoint(), servers.target.endpoint(), { ...base, SNAPSHOT: 'when_needed' });
    const first = startCli(['run', '--config', TEST_PIPELINE], env, join(logDir, 'purge-1.log'));
    await first.running;
    await snapshotDone('snap-purge', first, 60_000);
    await waitForCatchUp(src.endpoint(), servers.target.endpoint(), 'snap-purge');
    await stopCli(first);
    // Changes the pipeline will never read from the binlog: it is purged past the checkpoint.
    await src.query('UPDATE snapw.t SET v = -v WHERE id % 3 = 0');
    await src.query('DELETE FROM snapw.t WHERE id % 7 = 0');
    await src.query('INSERT INTO snapw.t SELECT seq, 0 FROM snapw.seq_5001_to_5100');
    await src.query('FLUSH BINARY LOGS');
    const logs = await src.query<{ Log_name: string }>('SHOW BINARY LOGS');
    const newest = logs[logs.length - 1]!.Log_name;
    // PURGE keeps a file a binlog dump thread still reads (the stopped daemon's may linger): end them.
    await waitFor(
      async () => {
        const dumps = await src.query<{ ID: number }>("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
        for (const d of dumps) await src.query(`KILL ${d.ID}`).catch(() => undefined);
        await src.query(`PURGE BINARY LOGS TO '${newest}'`);
        return (await src.query('SHOW BINARY LOGS')).length === 1;
      },
      { timeoutMs: 20_000, what: 'the older binlogs to be purged' },
    );

    const never = startCli(['run', '--config', TEST_PIPELINE], pipelineEnv(src.endpoint(), servers.target.endpoint(), { ...base, SNAPSHOT: 'never' }), join(logDir, 'purge-never.log'));
    expect(await never.exited).toBe(3);
    expect(never.output()).toMatch(/is not among the source's binlogs .*purged/);

    const again = startCli(['run', '--config', TEST_PIPELINE], env, join(logDir, 'purge-2.log'));
    try {
      await again.running;
      expect(logLines(again, 'the checkpoint ')).toHaveLength(1); // "… is no longer in the source's binlog (purged): copying …"
      await snapshotDone('snap-purge', again, 60_000);
      await waitForCatchUp(src.endpoint(), servers.target.endpoint(), 'snap-purge');
      await assertSameData(src, servers.target, 'snapw');
      await stopCli(again);
    } finally {
      if (again.proc.exitCode === null) again.proc.kill('SIGKILL');
    }
  }, 300_000);
});

describe('snapshot on demand and verify --repair, while streaming', () => {
  it('snapshot --tables copies a table again after an accident on the target, while writes go on', async () => {
    const src = servers.source;
    await src.query('CREATE DATABASE snapr');
    await src.query('CREATE TABLE snapr.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, n INT NOT NULL)');
    await src.query('INSERT INTO snapr.t SELECT seq, CONCAT(\'v\', seq), 0 FROM snapr.seq_1_to_20000');
    const env = pipelineEnv(src.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'snap-req', SYNC_DB: 'snapr', SNAPSHOT: 'initial', SNAPSHOT_CHUNK_SIZE: '1500' });
    const run = startCli(['run', '--config', TEST_PIPELINE], env, join(logDir, 'request.log'));
    try {
      await run.running;
      await snapshotDone('snap-req', run, 120_000);
      // An accident on the target: rows lost, rows changed, a row that never existed.
      await servers.target.query("DELETE FROM snapr.t WHERE id % 10 = 0; UPDATE snapr.t SET v = 'broken' WHERE id % 10 = 1; INSERT INTO snapr.t VALUES (999999, 'extra', 0)");
      let writing = true;
      const writer = (async () => {
        const c = await src.connect();
        let i = 0;
        while (writing) await c.query('UPDATE snapr.t SET n = n + 1 WHERE id = ?', [(i++ * 7919) % 20000 + 1]);
        await c.end();
      })();
      const asked = await runCli(['snapshot', '--config', TEST_PIPELINE, '--tables', 'snapr.t'], env, 180_000);
      writing = false;
      await writer;
      expect(asked.code, asked.stdout + asked.stderr).toBe(0);
      expect(asked.stdout).toMatch(/request \d+: copy snapr\.t again; the daemon .* runs it while streaming/);
      expect(asked.stdout).toMatch(/request \d+ done: copied snapr\.t again/);
      await waitForCatchUp(src.endpoint(), servers.target.endpoint(), 'snap-req');
      await assertSameData(src, servers.target, 'snapr');
      const bad = await runCli(['snapshot', '--config', TEST_PIPELINE, '--tables', 'snapr.nope'], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/snapr\.nope is not a synced table of this pipeline/);
      await stopCli(run);
    } finally {
      if (run.proc.exitCode === null) run.proc.kill('SIGKILL');
    }
  }, 300_000);

  it('verify --repair copies the differing rows again through the running daemon and verifies equal, under load', async () => {
    const src = servers.source;
    await src.query('CREATE DATABASE snapv');
    const c = await src.connect();
    try {
      await createWorkloadSchema(c, 'snapv');
    } finally {
      await c.end();
    }
    await src.query('CREATE TABLE snapv.quiet (id INT PRIMARY KEY, v VARCHAR(20) COLLATE utf8mb4_general_ci, b BLOB)');
    await src.query("INSERT INTO snapv.quiet SELECT seq, CONCAT('q', seq), UNHEX(MD5(seq)) FROM snapv.seq_1_to_3000");
    await runWorkload(src.endpoint(), { db: 'snapv', transactions: 300, concurrency: 2, seed: 5 });
    const env = pipelineEnv(src.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'snap-repair', SYNC_DB: 'snapv', SNAPSHOT: 'initial' });
    const run = startCli(['run', '--config', TEST_PIPELINE], env, join(logDir, 'repair.log'));
    try {
      await run.running;
      await snapshotDone('snap-repair', run, 120_000);
      await waitForCatchUp(src.endpoint(), servers.target.endpoint(), 'snap-repair');
      // Differences only the target has: a missing row, a changed value, a case-only change, a BLOB byte, an extra row.
      await servers.target.query(
        "DELETE FROM snapv.quiet WHERE id = 17; UPDATE snapv.quiet SET v = 'changed' WHERE id = 18; UPDATE snapv.quiet SET v = 'Q19' WHERE id = 19; UPDATE snapv.quiet SET b = UNHEX('00') WHERE id = 20; INSERT INTO snapv.quiet VALUES (5000, 'extra', NULL)",
      );
      const load = runWorkload(src.endpoint(), { db: 'snapv', durationMs: 15_000, concurrency: 2, seed: 9 });
      const repaired = await runCli(['verify', '--config', TEST_PIPELINE, '--repair'], env, 240_000);
      await load;
      expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
      // Exactly the four rows that differ or are missing copied again, the extra one deleted.
      expect(repaired.stderr).toMatch(/verify --repair: request \d+ done: 4 rows copied again, 1 deleted, in 1 tables/);
      expect(repaired.stdout).toMatch(/snapv\.quiet .*different/); // the first pass found them
      await waitForCatchUp(src.endpoint(), servers.target.endpoint(), 'snap-repair');
      await assertSameData(src, servers.target, 'snapv');
      await stopCli(run);
    } finally {
      if (run.proc.exitCode === null) run.proc.kill('SIGKILL');
    }
  }, 300_000);
});

describe('snapshot when_needed on another server', () => {
  it('copies everything again from a server that cannot continue the checkpoint (instead of refusing)', async () => {
    const other = await LocalMariaDb.start({ label: 'snap-other-source', serverId: 77, binlog: true });
    try {
      const src = servers.source;
      for (const s of [src.endpoint(), other.endpoint()]) {
        const c = await mysql.createConnection({ ...s, multipleStatements: true });
        try {
          await c.query('CREATE DATABASE snapo; CREATE TABLE snapo.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
        } finally {
          await c.end();
        }
      }
      await src.query("INSERT INTO snapo.t SELECT seq, CONCAT('a', seq) FROM snapo.seq_1_to_2000");
      await other.rootQuery("INSERT INTO snapo.t SELECT seq, CONCAT('b', seq) FROM snapo.seq_500_to_3000");
      const base = { PIPELINE_NAME: 'snap-other', SYNC_DB: 'snapo', SNAPSHOT: 'when_needed' };
      const first = startCli(['run', '--config', TEST_PIPELINE], pipelineEnv(src.endpoint(), servers.target.endpoint(), base), join(logDir, 'other-1.log'));
      await first.running;
      await snapshotDone('snap-other', first, 60_000);
      await stopCli(first);
      // The same pipeline pointed at an unrelated server.
      const again = startCli(['run', '--config', TEST_PIPELINE], pipelineEnv(other.endpoint(), servers.target.endpoint(), base), join(logDir, 'other-2.log'));
      try {
        await again.running;
        expect(logLines(again, 'the checkpoint cannot continue on this source server')).toHaveLength(1);
        await snapshotDone('snap-other', again, 60_000);
        await waitForCatchUp(other.endpoint(), servers.target.endpoint(), 'snap-other');
        await assertSameData(other.endpoint(), servers.target, 'snapo');
        await stopCli(again);
      } finally {
        if (again.proc.exitCode === null) again.proc.kill('SIGKILL');
      }
    } finally {
      await other.stop();
    }
  }, 240_000);
});
