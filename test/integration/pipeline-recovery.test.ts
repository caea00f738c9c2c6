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
import { waitFor } from '../support/wait-for.js';
import { captureLogs } from '../support/log-capture.js';

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
  it('survives a source restart and a target restart mid-stream', async (ctx) => {
    if (!servers.source.supports.kill || !servers.target.supports.kill) ctx.skip();
    const { lines, logger } = captureLogs('warn');
    const logged = (re: RegExp, from: number): boolean => lines.slice(from).some((l) => re.test(l.msg));
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'recovery', SYNC_DB: DB }, { logger });
    const pipeline = await running.pipeline;
    const applied = (): number => pipeline.stats().mutationsApplied;
    const load = workloadThrough(14_000, 7);
    await waitFor(() => applied() >= 100, { what: 'the pipeline to apply the workload' });

    let mark = lines.length;
    await servers.source.kill();
    await waitFor(() => logged(/binlog connection lost; reconnecting/, mark), { what: 'the daemon to notice the source is gone' });
    await servers.source.restart();
    const beforeTarget = applied();
    await waitFor(() => applied() >= beforeTarget + 100, { what: 'the pipeline to apply changes read after the source restart', timeoutMs: 60_000 });

    mark = lines.length;
    await servers.target.kill();
    await waitFor(() => logged(/pipeline lock lost|target: .* failed .*retrying/, mark), { what: 'the daemon to notice the target is gone' });
    await servers.target.restart();
    await load;
    await running.caughtUp(120_000);
    const result = await running.stop();
    expect(result.stats.changes).toBeGreaterThan(0);
    await assertSameData(servers.source, servers.target, DB);
  });

  it('reconnects when the source connection goes silent (frozen server)', async (ctx) => {
    if (!servers.source.supports.freeze) ctx.skip();
    const { lines, logger } = captureLogs('warn');
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'silent', SYNC_DB: DB, SILENT_AFTER_MS: '2000' }, { logger });
    await running.pipeline;
    await runWorkload(servers.source.endpoint(), { db: DB, transactions: 200, concurrency: 2, seed: 99 });
    await servers.source.freeze();
    try {
      // Silence for 2 s, then a head query that cannot connect (10 s connect timeout): declared dead.
      await waitFor(() => lines.some((l) => l.code === 'SOURCE_SILENT'), { what: 'the daemon to declare the frozen source silent', timeoutMs: 60_000 });
    } finally {
      await servers.source.thaw();
    }
    await runWorkload(servers.source.endpoint(), { db: DB, transactions: 200, concurrency: 2, seed: 100 });
    await running.caughtUp(60_000);
    await running.stop();
    await assertSameData(servers.source, servers.target, DB);
  });
});
