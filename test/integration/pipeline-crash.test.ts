/**
 * No data loss under kill -9: a workload writes to the source while the daemon (the built CLI) is
 * killed with SIGKILL at random moments and restarted; at the end every table's ordered digest on the
 * target equals the source's. Then SIGTERM: a clean exit 0 with a final checkpoint at the head.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { runWorkload, startPairWithWorkloadSchema } from '../support/workload.js';
import { killStartedClis, pipelineEnv, sourceHead, startCli, storedCheckpoint, TEST_PIPELINE, waitForCatchUp, type CliRun } from '../support/pipeline-process.js';

const DB = 'app';
const PIPELINE = 'crash-test';
let servers: ServerPair;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-crash-'));

beforeAll(async () => {
  servers = await startPairWithWorkloadSchema(DB);
});

afterAll(async () => {
  killStartedClis(); // what a failed or timed-out test did not stop
  await servers?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

describe('kill -9 and restart', () => {
  it('loses nothing when the daemon is killed at random moments at least 5 times', async () => {
    const env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: PIPELINE, SYNC_DB: DB });
    const log = join(logDir, 'run.log');
    let cli: CliRun = startCli(['run', '--config', TEST_PIPELINE], env, log);
    const workload = runWorkload(servers.source.endpoint(), { db: DB, durationMs: 20_000, concurrency: 4, seed: 42 });
    let kills = 0;
    let workloadDone = false;
    void workload.finally(() => (workloadDone = true));
    // Kill while the workload runs, and at least 5 times in all (some kills land during catch-up).
    while (kills < 5 || !workloadDone) {
      await new Promise((r) => setTimeout(r, 600 + Math.floor(Math.random() * 2400)));
      cli.proc.kill('SIGKILL');
      expect(await cli.exited, cli.output()).toBeNull();
      kills++;
      cli = startCli(['run', '--config', TEST_PIPELINE], env, log);
      if (kills >= 12) break;
    }
    const counts = await workload;
    expect(counts.committed).toBeGreaterThan(100);
    expect(kills).toBeGreaterThanOrEqual(5);
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), PIPELINE);
    await assertSameData(servers.source, servers.target, DB);

    // SIGTERM: drain, final checkpoint at the head, exit 0.
    await servers.source.query(`UPDATE ${DB}.wl_items SET qty = qty + 1 LIMIT 50`);
    const head = await sourceHead(servers.source.endpoint());
    await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), PIPELINE);
    cli.proc.kill('SIGTERM');
    expect(await cli.exited, cli.output()).toBe(0);
    expect(await storedCheckpoint(servers.target.endpoint(), PIPELINE)).toEqual(head);
    expect(cli.output()).toMatch(/final checkpoint stored/);
    await assertSameData(servers.source, servers.target, DB);
  }, 240_000);
});
