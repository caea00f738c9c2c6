/**
 * A poison row: the target refuses a table's changes (its column was narrowed after the pipeline
 * started, so a source value is too long for it) while other tables, some written in the same source
 * transactions, keep changing.
 * - `sink.onApplyError: stop`: the pipeline stops naming the table and the error, the checkpoint stays
 *   before the refused transaction, and after the target is fixed a restart ends equal.
 * - `quarantine`: the other tables stay equal and the checkpoint reaches the source head; the parked
 *   table's changes are in `_binlog_sync.quarantine`; a restart before the fix keeps it parked
 *   (preflight only warns about it); `status` and `quarantine list` show it;
 *   `quarantine retry` refuses while the daemon runs; after the fix, stop, retry and restart, the
 *   whole target equals the source.
 * The CLI commands run from dist (`npm run build` first; npm test does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerPair } from '../support/servers.js';
import { startServerPair } from '../support/servers.js';
import { assertSameData, compareDatabases } from '../support/digest.js';
import { startInProcess } from '../support/in-process.js';
import { killStartedClis, pipelineEnv, runCli, sourceHead, storedCheckpoint, TEST_PIPELINE } from '../support/pipeline-process.js';
import { comparePositions } from '../../src/core/position.js';
import { BinlogSyncError } from '../../src/core/errors.js';

let servers: ServerPair;

beforeAll(async () => {
  servers = await startServerPair();
});

afterAll(async () => {
  killStartedClis();
  await servers?.stop();
});

async function createTables(db: string): Promise<void> {
  for (const s of [servers.source, servers.target]) {
    await s.query(`CREATE DATABASE ${db}`);
    await s.query(`CREATE TABLE ${db}.items (id INT PRIMARY KEY, note VARCHAR(100) NOT NULL, qty INT NOT NULL)`);
    await s.query(`CREATE TABLE ${db}.accounts (id INT PRIMARY KEY, email VARCHAR(60) NOT NULL, balance DECIMAL(12,2) NOT NULL, UNIQUE KEY (email))`);
  }
}

/**
 * Transactions that change both tables together: items notes of every length up to 40 characters
 * (those over 8 are poison once the target's column is VARCHAR(8)), updates, deletes, re-inserts;
 * accounts balances and email swaps.
 */
async function writeBoth(db: string, from: number, count: number): Promise<void> {
  const c = await servers.source.connect();
  try {
    for (let t = from; t < from + count; t++) {
      const id = t % 17;
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${db}.items VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE note = VALUES(note), qty = qty + 1`, [id, 'n'.repeat(t % 41), t]);
      if (t % 5 === 0) await c.query(`DELETE FROM ${db}.items WHERE id = ?`, [(t + 3) % 17]);
      // A new account takes a fresh email (swaps move the others around); an existing one changes its balance.
      await c.query(`INSERT INTO ${db}.accounts VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE balance = balance + 1.25`, [t % 11, `new${t}@x`, t]);
      if (t % 7 === 0) {
        // Two accounts trade emails through a temporary value.
        const [rows] = await c.query(`SELECT id, email FROM ${db}.accounts WHERE id IN (?, ?) ORDER BY id FOR UPDATE`, [t % 11, (t + 1) % 11]);
        const [a, b] = rows as { id: number; email: string }[];
        if (a && b) {
          await c.query(`UPDATE ${db}.accounts SET email = 'tmp' WHERE id = ?`, [a.id]);
          await c.query(`UPDATE ${db}.accounts SET email = ? WHERE id = ?`, [a.email, b.id]);
          await c.query(`UPDATE ${db}.accounts SET email = ? WHERE id = ?`, [b.email, a.id]);
        }
      }
      await c.query('COMMIT');
    }
  } finally {
    await c.end();
  }
}

function tablesEqual(cmp: Awaited<ReturnType<typeof compareDatabases>>): Record<string, boolean> {
  return Object.fromEntries(cmp.map((t) => [t.table, t.equal]));
}

describe('a poison row', () => {
  it('onApplyError: stop stops naming the table, keeps the checkpoint before it, and resumes equal once the target is fixed', async () => {
    const db = 'poison_stop';
    await createTables(db);
    const vars = { PIPELINE_NAME: 'poison-stop', SYNC_DB: db, ON_APPLY_ERROR: 'stop' };
    const first = await startInProcess(servers.source, servers.target, vars);
    await first.pipeline;
    await servers.source.query(`INSERT INTO ${db}.items VALUES (1, 'short', 1), (2, 'short', 2)`);
    await first.caughtUp(60_000);
    await servers.target.query(`ALTER TABLE ${db}.items MODIFY note VARCHAR(8) NOT NULL`);
    const beforePoison = await sourceHead(servers.source.endpoint());
    await servers.source.query(`INSERT INTO ${db}.items VALUES (3, 'much too long for eight', 3)`);
    await servers.source.query(`INSERT INTO ${db}.accounts VALUES (1, 'after@x', 1)`);

    const err = await first.result.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BinlogSyncError);
    expect((err as BinlogSyncError).code).toBe('TARGET_APPLY');
    expect((err as BinlogSyncError).message).toMatch(new RegExp(`\`${db}\`\\.\`items\`[\\s\\S]*Data too long for column 'note'`));
    const cp = await storedCheckpoint(servers.target.endpoint(), 'poison-stop');
    expect(cp).not.toBeNull();
    expect(comparePositions(cp!, beforePoison)).toBeLessThanOrEqual(0);
    // Nothing was parked (the dead-letter table exists: the daemon opens it at start).
    const parked = await servers.target.query<{ n: number }>(`SELECT COUNT(*) AS n FROM _binlog_sync.quarantine WHERE pipeline = 'poison-stop'`);
    expect(Number(parked[0]!.n)).toBe(0);

    await servers.target.query(`ALTER TABLE ${db}.items MODIFY note VARCHAR(100) NOT NULL`);
    const again = await startInProcess(servers.source, servers.target, vars);
    await again.pipeline;
    await again.caughtUp(60_000);
    await again.stop();
    await assertSameData(servers.source, servers.target, db);
  });

  it('onApplyError: quarantine parks the refused table, keeps the others equal, and retry after the fix ends equal', async () => {
    const db = 'poison_park';
    const name = 'poison-park';
    await createTables(db);
    const vars = { PIPELINE_NAME: name, SYNC_DB: db, ON_APPLY_ERROR: 'quarantine' };
    const env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), vars);
    const running = await startInProcess(servers.source, servers.target, vars);
    const pipeline = await running.pipeline;
    await writeBoth(db, 1, 8); // notes of up to 8 characters: accepted either way
    await running.caughtUp(60_000);

    await servers.target.query(`ALTER TABLE ${db}.items MODIFY note VARCHAR(8) NOT NULL`);
    await writeBoth(db, 9, 300);
    // The checkpoint reaches the head: the parked changes count as applied, the others are.
    await running.caughtUp(120_000);
    expect(pipeline.stats().parkedTables).toEqual([`${db}.items`]);
    expect(tablesEqual(await compareDatabases(servers.source, servers.target, db))).toEqual({ accounts: true, items: false });
    await running.stop();

    // A restart before the fix: preflight only warns about the parked table, and it stays parked.
    const restarted = await startInProcess(servers.source, servers.target, vars);
    expect((await restarted.pipeline).stats().parkedTables).toEqual([`${db}.items`]);
    await writeBoth(db, 320, 40);
    await restarted.caughtUp(60_000);
    expect(tablesEqual(await compareDatabases(servers.source, servers.target, db))).toEqual({ accounts: true, items: false });

    const parked = await servers.target.query<{ n: number; refused: number; minPos: number }>(
      `SELECT COUNT(*) AS n, SUM(error LIKE '%Data too long%') AS refused FROM _binlog_sync.quarantine WHERE pipeline = ? AND table_name = ?`,
      [name, `${db}.items`],
    );
    expect(Number(parked[0]!.n)).toBeGreaterThan(0);
    expect(Number(parked[0]!.refused)).toBeGreaterThan(0);
    const other = await servers.target.query<{ n: number }>(`SELECT COUNT(*) AS n FROM _binlog_sync.quarantine WHERE pipeline = ? AND table_name <> ?`, [name, `${db}.items`]);
    expect(Number(other[0]!.n)).toBe(0);

    const status = await runCli(['status', '--config', TEST_PIPELINE], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`QUARANTINED\\s+${db}\\.items: NOT SYNCED since \\S+, \\d+ change\\(s\\) parked; .*Data too long`));
    const listed = await runCli(['quarantine', 'list', '--config', TEST_PIPELINE, '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const list = JSON.parse(listed.stdout) as { tables: { table: string; events: number; error: string }[] };
    expect(list.tables.map((t) => t.table)).toEqual([`${db}.items`]);
    expect(list.tables[0]!.events).toBe(Number(parked[0]!.n));
    const readable = await runCli(['quarantine', 'list', '--config', TEST_PIPELINE], env);
    expect(readable.stdout).toContain(`QUARANTINED: 1 table(s) of pipeline "${name}" are parked`);
    expect(readable.stdout).toContain(`quarantine retry --config FILE ${db}.items`);

    // Retry needs the daemon stopped.
    const busy = await runCli(['quarantine', 'retry', '--config', TEST_PIPELINE, `${db}.items`], env);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`the daemon of pipeline "${name}" is running; stop it first`);
    await restarted.stop();

    // Retrying before the fix fails, and leaves everything parked.
    const early = await runCli(['quarantine', 'retry', '--config', TEST_PIPELINE, `${db}.items`], env);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/the target still refuses the parked changes of .*items.*stays parked/s);
    const still = await servers.target.query<{ n: number }>(`SELECT COUNT(*) AS n FROM _binlog_sync.quarantine WHERE pipeline = ?`, [name]);
    expect(Number(still[0]!.n)).toBe(Number(parked[0]!.n));

    await servers.target.query(`ALTER TABLE ${db}.items MODIFY note VARCHAR(100) NOT NULL`);
    const retried = await runCli(['quarantine', 'retry', '--config', TEST_PIPELINE, `${db}.items`], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/parked change\(s\) applied in order; the table is no longer parked/);
    await assertSameData(servers.source, servers.target, db);
    const after = await runCli(['quarantine', 'list', '--config', TEST_PIPELINE], env);
    expect(after.stdout).toContain(`no table of pipeline "${name}" is parked`);

    // The daemon syncs the table again.
    const resumed = await startInProcess(servers.source, servers.target, vars);
    expect((await resumed.pipeline).stats().parkedTables).toEqual([]);
    await writeBoth(db, 400, 60);
    await resumed.caughtUp(60_000);
    await resumed.stop();
    await assertSameData(servers.source, servers.target, db);
  });
});
