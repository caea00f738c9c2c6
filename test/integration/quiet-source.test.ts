/**
 * A quiet pipeline keeps an accurate checkpoint: when the source writes only to tables the pipeline
 * does not sync, and then rotates its binlog and writes nothing at all, the checkpoint still reaches the
 * source's head and `status` shows no lag (before, the checkpoint stayed in the previous binlog file,
 * and status counted the whole quiet time as lag).
 */
import { describe, expect, it } from 'vitest';
import { cliSuite } from '../support/cli-suite.js';
import { join } from 'node:path';
import { pipelineEnv, runCli, sourceHead, startCli, storedCheckpoint, TEST_PIPELINE, waitForCatchUp, type CliRun } from '../support/pipeline-process.js';
import { within } from '../support/wait-for.js';
import type { PipelineStatus } from '../../src/cli/status.js';

const DB = 'quiet';
const suite = cliSuite('quiet', {
  db: DB,
  tables: [`CREATE TABLE ${DB}.items (id INT PRIMARY KEY, qty INT NOT NULL)`],
  sourceOnly: ['CREATE DATABASE elsewhere', 'CREATE TABLE elsewhere.noise (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))'],
});
const dir = suite.dir;

describe('quiet source', () => {
  it('moves the checkpoint past writes to other tables and a rotation, and status shows no lag after a quiet period', async () => {
    const env = pipelineEnv(suite.servers.source.endpoint(), suite.servers.target.endpoint(), { PIPELINE_NAME: 'quiet', SYNC_DB: DB, SILENT_AFTER_MS: '4000' });
    const daemon: CliRun = startCli(['run', '--config', TEST_PIPELINE], env, join(dir, 'run.log'));
    try {
      await within(daemon.running, { what: 'the daemon to start', timeoutMs: 60_000 });
      await suite.servers.source.query(`INSERT INTO ${DB}.items VALUES (1, 1), (2, 2)`);
      await waitForCatchUp(suite.servers.source.endpoint(), suite.servers.target.endpoint(), 'quiet');

      // Only tables the pipeline does not sync change: the checkpoint follows anyway.
      for (let i = 0; i < 30; i++) await suite.servers.source.query(`INSERT INTO elsewhere.noise (v) VALUES ('n${i}')`);
      const afterNoise = await sourceHead(suite.servers.source.endpoint());
      await waitForCatchUp(suite.servers.source.endpoint(), suite.servers.target.endpoint(), 'quiet', 60_000);
      const cp = await storedCheckpoint(suite.servers.target.endpoint(), 'quiet');
      expect(cp!.file >= afterNoise.file && (cp!.file > afterNoise.file || cp!.pos >= afterNoise.pos)).toBe(true);

      // A rotation with nothing after it: the new file's head is past every transaction.
      await suite.servers.source.query('FLUSH BINARY LOGS');
      const rotated = await sourceHead(suite.servers.source.endpoint());
      expect(rotated.file > afterNoise.file).toBe(true);
      await waitForCatchUp(suite.servers.source.endpoint(), suite.servers.target.endpoint(), 'quiet', 60_000);

      // Quiet for longer than the checkpoint interval and the heartbeat period: nothing to apply, so no lag.
      const quietMs = 6_000;
      await new Promise((r) => setTimeout(r, quietMs));
      const status = await runCli(['status', '--config', TEST_PIPELINE, '--json'], env);
      expect(status.code, status.stderr).toBe(0);
      const s = JSON.parse(status.stdout) as PipelineStatus;
      expect(s.running).toBe(true);
      // At the head (which is past `rotated`: the server writes a binlog checkpoint event after the rotation).
      expect(s.checkpoint!.position).toBe(s.sourceHead);
      expect(s.sourceHead.startsWith(`${rotated.file}:`)).toBe(true);
      expect(s.lagBytes).toBe(0);
      expect(s.lagSeconds).toBeLessThan(quietMs / 1000);
      expect(s.retention?.risk).toBe('ok');
      expect(s.checkpointAgeSeconds).toBeGreaterThanOrEqual(0);

      daemon.proc.kill('SIGTERM');
      expect(await within(daemon.exited, { what: 'the daemon to stop on SIGTERM', timeoutMs: 60_000 })).toBe(0);
      // Stopped and still quiet: the stored checkpoint is the head, so a restart reads nothing again.
      expect(await storedCheckpoint(suite.servers.target.endpoint(), 'quiet')).toEqual(await sourceHead(suite.servers.source.endpoint()).then((h) => ({ file: h.file, pos: h.pos })));

      // The retention guard: with the daemon stopped, the checkpoint's file is rotated away from, and
      // the source keeps binlogs 900 s after their last write: less than the margin (15 min) is left.
      await suite.servers.source.query(`INSERT INTO ${DB}.items VALUES (3, 3)`);
      await suite.servers.source.query('FLUSH BINARY LOGS');
      await suite.servers.source.rootQuery('SET GLOBAL binlog_expire_logs_seconds = 900');
      try {
        const risky = await runCli(['status', '--config', TEST_PIPELINE, '--json'], env);
        expect(risky.code, risky.stderr).toBe(0);
        const r = (JSON.parse(risky.stdout) as PipelineStatus).retention!;
        expect(r.risk).toBe('at-risk');
        expect(r.expireSeconds).toBe(900);
        expect(r.headroomSeconds).toBeLessThan(900);
        const text = await runCli(['status', '--config', TEST_PIPELINE], env);
        expect(text.stdout).toMatch(/^retention +AT-RISK: the checkpoint mysql-bin\.\d+:\d+ .*may be purged by the source in/m);
        expect(text.stdout).toMatch(/^stored +[\d.]+ s ago/m);
      } finally {
        await suite.servers.source.rootQuery('SET GLOBAL binlog_expire_logs_seconds = 0');
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- daemon log ---\n${daemon.output().slice(-6000)}`, { cause: err });
    } finally {
      if (daemon.proc.exitCode === null) daemon.proc.kill('SIGKILL');
    }
  });
});
