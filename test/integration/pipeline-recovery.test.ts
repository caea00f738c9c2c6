/**
 * The pipeline recovers by itself when the source or the target is killed (SIGKILL) and restarted
 * while a workload runs, and when the source freezes (a silent connection). End state: target equals
 * source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { runWorkload, startPairWithWorkloadSchema } from '../support/workload.js';
import { startInProcess } from '../support/in-process.js';

const DB = 'rec';
let servers: ServerPair;

beforeAll(async () => {
  servers = await startPairWithWorkloadSchema(DB);
});

afterAll(async () => {
  await servers?.stop();
});

/** Runs the workload, retrying transactions while the source is down (the workload itself stops on errors). */
async function workloadThrough(ms: number, seed: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      await runWorkload(servers.source.endpoint(), { db: DB, durationMs: Math.max(500, deadline - Date.now()), concurrency: 3, seed });
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
    seed++;
  }
}

describe('recovery', () => {
  it('survives a source restart and a target restart mid-stream', async () => {
    if (!servers.source.supports.kill) return;
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'recovery', SYNC_DB: DB });
    await running.pipeline;
    const load = workloadThrough(14_000, 7);
    await new Promise((r) => setTimeout(r, 3000));
    await servers.source.kill();
    await new Promise((r) => setTimeout(r, 1000));
    await servers.source.restart();
    await new Promise((r) => setTimeout(r, 3000));
    await servers.target.kill();
    await new Promise((r) => setTimeout(r, 1500));
    await servers.target.restart();
    await load;
    await running.caughtUp(120_000);
    const result = await running.stop();
    expect(result.stats.changes).toBeGreaterThan(0);
    await assertSameData(servers.source, servers.target, DB);
  });

  it('reconnects when the source connection goes silent (frozen server)', async () => {
    if (!servers.source.supports.freeze) return;
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'silent', SYNC_DB: DB, SILENT_AFTER_MS: '2000' });
    await running.pipeline;
    await runWorkload(servers.source.endpoint(), { db: DB, transactions: 200, concurrency: 2, seed: 99 });
    await servers.source.freeze();
    await new Promise((r) => setTimeout(r, 4000));
    await servers.source.thaw();
    await runWorkload(servers.source.endpoint(), { db: DB, transactions: 200, concurrency: 2, seed: 100 });
    await running.caughtUp(60_000);
    await running.stop();
    await assertSameData(servers.source, servers.target, DB);
  });
});
