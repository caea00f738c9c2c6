/**
 * The metrics endpoint of a running daemon (`binlog-sync run` with metrics.port): the counters match
 * the rows written, the gauges settle once caught up, /readyz answers 503 while the source is frozen
 * (SIGSTOP) or killed and 200 again after, /healthz stays 200.
 */
import { describe, expect, it } from 'vitest';
import { cliSuite } from '../support/cli-suite.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipelineEnv, startCli, TEST_PIPELINE, waitForCatchUp, type CliRun } from '../support/pipeline-process.js';
import { waitFor, within } from '../support/wait-for.js';
import { freePort } from '../../src/local/mariadb-server.js';
import { assertSameData } from '../support/digest.js';

const DB = 'met';
const suite = cliSuite('metrics', { db: DB, tables: [`CREATE TABLE ${DB}.items (id INT PRIMARY KEY, name VARCHAR(40), qty INT NOT NULL DEFAULT 0)`] });
const dir = suite.dir;

/** The test pipeline file with a metrics section. */
function pipelineFileWithMetrics(): string {
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, `${readFileSync(TEST_PIPELINE, 'utf8')}\nmetrics:\n  port: \${METRICS_PORT}\n`);
  return file;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

/** Every sample of the text format as `series → value`. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('metrics endpoint', () => {
  it('counts the rows written, and /readyz follows the source going away and coming back', async (ctx) => {
    if (!suite.servers.source.supports.freeze || !suite.servers.source.supports.kill) ctx.skip();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = pipelineEnv(suite.servers.source.endpoint(), suite.servers.target.endpoint(), { PIPELINE_NAME: 'metrics', SYNC_DB: DB, SILENT_AFTER_MS: '3000', METRICS_PORT: String(port) });
    const daemon: CliRun = startCli(['run', '--config', pipelineFileWithMetrics()], env, join(dir, 'run.log'));
    const scrape = async (): Promise<Map<string, number>> => samples((await get(`${base}/metrics`)).body);
    const ready = async (): Promise<number> => (await get(`${base}/readyz`)).status;
    try {
      await within(daemon.running, { what: 'the daemon to start', timeoutMs: 60_000 });
      await waitFor(async () => (await ready()) === 200, { what: '/readyz to answer 200 once the pipeline runs', timeoutMs: 60_000 });

      // Distinct rows per phase, each phase applied before the next: no folding, so applied counts are exact too.
      for (let i = 1; i <= 300; i += 50) {
        const values = Array.from({ length: 50 }, (_, k) => `(${i + k}, 'item ${i + k}', ${k})`).join(',');
        await suite.servers.source.query(`INSERT INTO ${DB}.items VALUES ${values}`);
      }
      await waitForCatchUp(suite.servers.source.endpoint(), suite.servers.target.endpoint(), 'metrics');
      await suite.servers.source.query(`UPDATE ${DB}.items SET qty = qty + 1000 WHERE id <= 50`);
      await waitForCatchUp(suite.servers.source.endpoint(), suite.servers.target.endpoint(), 'metrics');
      await suite.servers.source.query(`DELETE FROM ${DB}.items WHERE id > 280`);
      await waitForCatchUp(suite.servers.source.endpoint(), suite.servers.target.endpoint(), 'metrics');

      const read = (op: string): string => `binlog_sync_changes_read_total{table="${DB}.items",op="${op}"}`;
      const applied = (op: string): string => `binlog_sync_mutations_applied_total{table="${DB}.items",op="${op}"}`;
      // Lag in bytes comes from the source probe (every 5 s): wait for one after the catch-up.
      const m = await waitFor(async () => {
        const s = await scrape();
        return s.get('binlog_sync_source_lag_bytes') === 0 ? s : null;
      }, { what: 'source_lag_bytes to be 0 after the catch-up', timeoutMs: 30_000 });
      expect(m.get(read('insert'))).toBe(300);
      expect(m.get(read('update'))).toBe(50);
      expect(m.get(read('delete'))).toBe(20);
      expect(m.get(applied('upsert'))).toBe(350);
      expect(m.get(applied('delete'))).toBe(20);
      expect(m.get('binlog_sync_lane_batch_size_sum')).toBe(370);
      expect(m.get('binlog_sync_apply_duration_seconds_count')).toBe(m.get('binlog_sync_lane_batch_size_count'));
      expect(m.get('binlog_sync_source_lag_seconds')).toBe(0);
      expect(m.get('binlog_sync_checkpoint_age_seconds')).toBeLessThan(5);
      expect(m.get('binlog_sync_source_connected')).toBe(1);
      expect(m.get('binlog_sync_ready')).toBe(1);
      expect(m.get('binlog_sync_partition_queue_depth{partition="0"}')).toBe(0);
      expect(m.get('binlog_sync_lane_queue_depth{partition="3"}')).toBe(0);
      expect(m.get('binlog_sync_quarantined_tables')).toBe(0);

      // Frozen source: no heartbeat arrives, so /readyz says 503 within silentAfterMs (3 s) and a tick.
      await suite.servers.source.freeze();
      try {
        await waitFor(async () => (await ready()) === 503, { what: '/readyz to answer 503 while the source is frozen', timeoutMs: 60_000 });
        const r = await get(`${base}/readyz`);
        expect(r.body).toMatch(/^not ready: (no binlog data from the source|no binlog connection)/);
        expect((await get(`${base}/healthz`)).status).toBe(200);
      } finally {
        await suite.servers.source.thaw();
      }
      await waitFor(async () => (await ready()) === 200, { what: '/readyz to answer 200 after the source thawed', timeoutMs: 90_000 });

      // Killed source: the connection is lost, the reader reconnects with backoff (errors and retries counted).
      await suite.servers.source.kill();
      await waitFor(async () => (await ready()) === 503, { what: '/readyz to answer 503 while the source is down', timeoutMs: 60_000 });
      await suite.servers.source.restart();
      await waitFor(async () => (await ready()) === 200, { what: '/readyz to answer 200 after the source restarted', timeoutMs: 90_000 });
      await suite.servers.source.query(`INSERT INTO ${DB}.items VALUES (1000, 'after restart', 1)`);
      await waitForCatchUp(suite.servers.source.endpoint(), suite.servers.target.endpoint(), 'metrics');
      const after = await waitFor(async () => {
        const s = await scrape();
        return s.get(read('insert')) === 301 ? s : null;
      }, { what: 'the insert after the restart to be counted', timeoutMs: 30_000 });
      expect(after.get('binlog_sync_source_reconnects_total')).toBeGreaterThanOrEqual(1);
      expect(after.get('binlog_sync_errors_total{code="SOURCE_CONNECTION"}')).toBeGreaterThanOrEqual(1);
      expect(after.get('binlog_sync_retries_total{component="source"}')).toBeGreaterThanOrEqual(1);
      expect(after.get(applied('upsert'))).toBe(351);

      daemon.proc.kill('SIGTERM');
      expect(await within(daemon.exited, { what: 'the daemon to stop on SIGTERM', timeoutMs: 60_000 })).toBe(0);
      await assertSameData(suite.servers.source, suite.servers.target, DB);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- daemon log ---\n${daemon.output().slice(-6000)}`, { cause: err });
    } finally {
      if (daemon.proc.exitCode === null) daemon.proc.kill('SIGKILL');
    }
  });
});
