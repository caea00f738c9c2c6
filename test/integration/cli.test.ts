/**
 * The commands as a user runs them: status, replay (and --dry-run), run --reset-to, and the errors a
 * user gets for bad input (pipeline file mistakes, a table without a key, a missing target column),
 * which must leave the target unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { assertSameData, databaseDigest } from '../support/digest.js';
import { killStartedClis, pipelineEnv, runCli, sourceHead, startCli, storedCheckpoint, TEST_PIPELINE, waitForCatchUp } from '../support/pipeline-process.js';
import { waitFor } from '../support/wait-for.js';

const DB = 'cli';
let servers: ServerPair;
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), 'binlog-sync-cli-'));

beforeAll(async () => {
  servers = await startServerPair();
  for (const s of [servers.source, servers.target]) {
    await s.query(`CREATE DATABASE ${DB}`);
    await s.query(`CREATE TABLE ${DB}.items (id INT PRIMARY KEY, name VARCHAR(40), qty INT NOT NULL DEFAULT 0)`);
  }
  env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'cli', SYNC_DB: DB });
});

afterAll(async () => {
  killStartedClis(); // what a failed or timed-out test did not stop
  await servers?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('status, replay, reset', () => {
  it('syncs, reports status, replays a range idempotently and prints it as JSON lines', async () => {
    const startPos = await sourceHead(servers.source.endpoint());
    for (let i = 1; i <= 20; i++) await servers.source.query(`INSERT INTO ${DB}.items VALUES (${i}, 'item ${i}', ${i})`);
    await servers.source.query(`UPDATE ${DB}.items SET qty = qty * 10 WHERE id <= 5`);
    await servers.source.query(`DELETE FROM ${DB}.items WHERE id = 20`);
    const endPos = await sourceHead(servers.source.endpoint());

    const cli = startCli(['run', '--config', TEST_PIPELINE], env, join(dir, 'run.log'));
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'cli');
    const running = await runCli(['status', '--config', TEST_PIPELINE, '--json'], env);
    expect(running.code, running.stderr).toBe(0);
    const s = JSON.parse(running.stdout) as { running: boolean; lagBytes: number; checkpoint: { position: string }; sourceHead: string };
    expect(s.running).toBe(true);
    expect(s.lagBytes).toBe(0);
    expect(s.checkpoint.position).toBe(s.sourceHead);
    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const stopped = await runCli(['status', '--config', TEST_PIPELINE], env);
    expect(stopped.stdout).toMatch(/daemon\s+not running/);
    expect(stopped.stdout).toMatch(/lag\s+0 bytes/);
    await assertSameData(servers.source, servers.target, DB);

    // Replaying the whole range again changes nothing on the target; the checkpoint stays put.
    const before = await databaseDigest(servers.target, DB);
    const checkpoint = await storedCheckpoint(servers.target.endpoint(), 'cli');
    const from = `${startPos.file}:${startPos.pos}`;
    const to = `${endPos.file}:${endPos.pos}`;
    const replay = await runCli(['replay', '--config', TEST_PIPELINE, '--from', from, '--to', to], env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout.trim().split('\n').at(-1)!)).toMatchObject({ changes: 26, transactions: 22 });
    expect(await databaseDigest(servers.target, DB)).toEqual(before);
    expect(await storedCheckpoint(servers.target.endpoint(), 'cli')).toEqual(checkpoint);

    // --dry-run prints the decoded events, nothing else on stdout.
    const dry = await runCli(['replay', '--config', TEST_PIPELINE, '--from', from, '--to', to, '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    const events = dry.stdout.trim().split('\n').map((l) => JSON.parse(l) as { op: string; table: string; key: Record<string, unknown>; after: Record<string, unknown> | null });
    expect(events.map((e) => e.op)).toEqual([...Array(20).fill('insert'), ...Array(5).fill('update'), 'delete']);
    expect(events[0]).toMatchObject({ table: `${DB}.items`, key: { id: 1 }, after: { id: 1, name: 'item 1', qty: 1 } });
    expect(events.at(-1)).toMatchObject({ key: { id: 20 }, after: null });
  });

  it('replay refuses while the daemon runs, naming the daemon (PIPELINE_LOCKED), and applies nothing', async () => {
    const from = await sourceHead(servers.source.endpoint());
    await servers.source.query(`UPDATE ${DB}.items SET qty = qty + 1 WHERE id = 1`);
    const cli = startCli(['run', '--config', TEST_PIPELINE], env, join(dir, 'replay-locked.log'));
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'cli');
    const status = JSON.parse((await runCli(['status', '--config', TEST_PIPELINE, '--json'], env)).stdout) as { lockHolder: number };
    const replay = await runCli(['replay', '--config', TEST_PIPELINE, '--from', `${from.file}:${from.pos}`], env);
    expect(replay.code, replay.stderr).toBe(1);
    expect(replay.stderr).toContain('[PIPELINE_LOCKED]');
    expect(replay.stderr).toContain(`pipeline "cli" is already running: the target lock 'binlog-sync:cli' is held by connection ${status.lockHolder}`);
    expect(replay.stdout).toBe('');
    cli.proc.kill('SIGTERM');
    expect(await cli.exited, cli.output()).toBe(0);
    // --dry-run applies nothing and needs no lock.
    const dry = await runCli(['replay', '--config', TEST_PIPELINE, '--from', `${from.file}:${from.pos}`, '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
  });

  it('replay refuses a --to before the stored checkpoint (exit 2) unless --force', async () => {
    const from = await sourceHead(servers.source.endpoint());
    await servers.source.query(`INSERT INTO ${DB}.items VALUES (50, 'old', 1)`);
    const mid = await sourceHead(servers.source.endpoint());
    await servers.source.query(`UPDATE ${DB}.items SET name = 'new', qty = 2 WHERE id = 50`);
    const cli = startCli(['run', '--config', TEST_PIPELINE], env, join(dir, 'replay-to.log'));
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'cli');
    cli.proc.kill('SIGTERM');
    expect(await cli.exited, cli.output()).toBe(0);
    const checkpoint = await storedCheckpoint(servers.target.endpoint(), 'cli');
    const row50 = async () => (await servers.target.query<{ name: string; qty: number }>(`SELECT name, qty FROM ${DB}.items WHERE id = 50`))[0];
    const range = ['replay', '--config', TEST_PIPELINE, '--from', `${from.file}:${from.pos}`, '--to', `${mid.file}:${mid.pos}`];

    const refused = await runCli(range, env);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`--to ${mid.file}:${mid.pos} is before the stored checkpoint ${checkpoint!.file}:${checkpoint!.pos}`);
    expect(refused.stderr).toMatch(/rows changed between --to and the checkpoint would stay at their older values/);
    expect(refused.stderr).toMatch(/Omit --to to replay to the source head, or give --to at or after/);
    expect(await row50()).toEqual({ name: 'new', qty: 2 });

    // --force does what was refused: the row goes back to its value at --to, and stays there.
    const forced = await runCli([...range, '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await row50()).toEqual({ name: 'old', qty: 1 });
    expect(await storedCheckpoint(servers.target.endpoint(), 'cli')).toEqual(checkpoint);
    // Replaying to the head (no --to) brings it forward again.
    const toHead = await runCli(['replay', '--config', TEST_PIPELINE, '--from', `${from.file}:${from.pos}`], env);
    expect(toHead.code, toHead.stderr).toBe(0);
    expect(await row50()).toEqual({ name: 'new', qty: 2 });
    await assertSameData(servers.source, servers.target, DB);
  });

  it('rewinds with run --reset-to only when confirmed with --yes', async () => {
    const refused = await runCli(['run', '--config', TEST_PIPELINE, '--reset-to', 'mysql-bin.000001:4'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/Add --yes to confirm/);
  });

  it('run --reset-to replaces the checkpoint in one step: a reset whose save fails keeps the old checkpoint', async () => {
    const rewindTo = await sourceHead(servers.source.endpoint());
    await servers.source.query(`UPDATE ${DB}.items SET qty = qty + 1 WHERE id = 2`);
    const cli = startCli(['run', '--config', TEST_PIPELINE], env, join(dir, 'reset.log'));
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'cli');
    cli.proc.kill('SIGTERM');
    expect(await cli.exited, cli.output()).toBe(0);
    const before = await storedCheckpoint(servers.target.endpoint(), 'cli');
    expect(before).not.toEqual(rewindTo);
    const reset = ['run', '--config', TEST_PIPELINE, '--reset-to', `${rewindTo.file}:${rewindTo.pos}`, '--yes'];

    await servers.target.query(
      "CREATE TRIGGER _binlog_sync.refuse BEFORE INSERT ON _binlog_sync.checkpoints FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'",
    );
    try {
      const failed = await runCli(reset, env);
      expect(failed.code, failed.stderr).toBe(1);
      expect(failed.stderr).toContain('[CHECKPOINT]');
      expect(failed.stderr).toContain('refused by the test');
    } finally {
      await servers.target.query('DROP TRIGGER _binlog_sync.refuse');
    }
    expect(await storedCheckpoint(servers.target.endpoint(), 'cli')).toEqual(before);

    // Once the target takes it, the daemon resumes from the rewound position and converges.
    const rewound = startCli(reset, env, join(dir, 'reset.log'));
    await waitFor(() => /checkpoint rewound \(--reset-to\)/.test(rewound.output()), { what: 'the daemon to log the rewind', timeoutMs: 60_000 });
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'cli');
    rewound.proc.kill('SIGTERM');
    expect(await rewound.exited, rewound.output()).toBe(0);
    await assertSameData(servers.source, servers.target, DB);
  });
});

describe('start: latest', () => {
  it('pins the start position before reading, so a crash right after the first start skips nothing', async () => {
    const latestEnv = { ...env, PIPELINE_NAME: 'cli-latest', START: 'latest' };
    await servers.source.query(`INSERT INTO ${DB}.items VALUES (100, 'before the first start', 0)`);
    let cli = startCli(['run', '--config', TEST_PIPELINE], latestEnv, join(dir, 'latest.log'));
    await waitFor(() => storedCheckpoint(servers.target.endpoint(), 'cli-latest'), { what: 'the pinned start checkpoint' });
    cli.proc.kill('SIGKILL');
    await cli.exited;
    await servers.source.query(`INSERT INTO ${DB}.items VALUES (101, 'while the daemon was down', 0)`);
    cli = startCli(['run', '--config', TEST_PIPELINE], latestEnv, join(dir, 'latest.log'));
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'cli-latest');
    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const rows = await servers.target.query<{ id: number }>(`SELECT id FROM ${DB}.items WHERE id >= 100 ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([101]);
    await servers.source.query(`DELETE FROM ${DB}.items WHERE id >= 100`);
    await servers.target.query(`DELETE FROM ${DB}.items WHERE id >= 100`);
  });
});

describe('bad input', () => {
  it('lists every pipeline file problem with its path (exit 2)', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: x\nsource:\n  host: h\n  port: abc\n  user: u\n  serverId: 1\n  include: ["a.*"]\ntarget:\n  host: h\n  user: u\nsink:\n  lanez: 4\n');
    const r = await runCli(['run', '--config', file], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('source.port: expected a number, got "abc"');
    expect(r.stderr).toMatch(/sink\.lanez: unknown key \(did you mean "lanes"\?\)/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    const missing = await runCli(['check', '--config', join(dir, 'nope.yaml')], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml');
  });

  it('refuses to start on a table without a key or a missing target column, changing nothing', async () => {
    await servers.source.query(`CREATE TABLE ${DB}.nokey (a INT, b INT)`);
    await servers.target.query(`CREATE TABLE ${DB}.nokey (a INT, b INT)`);
    await servers.source.query(`INSERT INTO ${DB}.nokey VALUES (1, 2)`);
    let before = await databaseDigest(servers.target, DB);
    const r = await runCli(['run', '--config', TEST_PIPELINE], { ...env, PIPELINE_NAME: 'cli-bad' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cli\.nokey/);
    expect(r.stderr).toMatch(/PRIMARY KEY|source\.keys/);
    expect(await databaseDigest(servers.target, DB)).toEqual(before);
    await servers.source.query(`DROP TABLE ${DB}.nokey`);
    await servers.target.query(`DROP TABLE ${DB}.nokey`);
    before = await databaseDigest(servers.target, DB);

    await servers.source.query(`ALTER TABLE ${DB}.items ADD COLUMN extra INT NULL`);
    const r2 = await runCli(['check', '--config', TEST_PIPELINE], { ...env, PIPELINE_NAME: 'cli-bad' });
    expect(r2.code).toBe(3);
    expect(r2.stdout).toMatch(/cli\.items/);
    expect(r2.stdout).toMatch(/extra/);
    expect(await databaseDigest(servers.target, DB)).toEqual(before);
    expect(await storedCheckpoint(servers.target.endpoint(), 'cli-bad')).toBeNull();
    await servers.source.query(`ALTER TABLE ${DB}.items DROP COLUMN extra`);
  });
});
