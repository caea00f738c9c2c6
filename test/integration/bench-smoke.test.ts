// Smoke test of `npm run bench`: its quick mode with tiny backlogs produces figures for every
// scenario and reader, and binlog-sync's target matched the native replica (the bench fails otherwise).
// No speed is asserted. Runs the compiled bench (`npm test` builds first).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/report.js';

const execFileP = promisify(execFile);
const MAIN = join(process.cwd(), 'dist', 'bench', 'main.js');

describe('npm run bench --quick', () => {
  let dir: string | null = null;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports catch-up figures for the native replica, binlog-sync (embedded, with metrics and over Kafka) and the decoder, with matching digests, and verify beside CHECKSUM TABLE', async () => {
    expect(existsSync(MAIN), `${MAIN} is missing: run npm run build first`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'binlog-sync-bench-smoke-'));
    const out = join(dir, 'results.json');
    const args = ['--quick', '--runs', '1', '--oltp-tx', '400', '--oltp-rows', '2000', '--bulk-rows', '20000', '--bulk-tx-rows', '10000', '--verify-rows', '20000', '--skip-source-only', '--out', out];
    const { stdout } = await execFileP(process.execPath, [MAIN, ...args], { timeout: 210_000, maxBuffer: 10 << 20 });
    expect(stdout).toContain('binlog-sync rows/s');
    expect(stdout).toContain('kafka/embedded');
    expect(stdout).toContain('CPU time per row event');
    expect(stdout).toContain('the cost of metrics');
    expect(stdout).toContain('binlog-sync verify (chunk checksums on both servers');
    const report = JSON.parse(await readFile(out, 'utf8')) as BenchReport;
    expect(report.durability.targets).toContain('innodb_flush_log_at_trx_commit=1');
    expect(report.scenarios.map((s) => s.name)).toEqual(['oltp', 'bulk']);
    for (const s of report.scenarios) {
      expect(s.backlog.rowEvents).toBeGreaterThan(0);
      expect(s.runs).toHaveLength(1);
      const run = s.runs[0]!;
      expect(s.median.metricsRowsPerSec).toBeGreaterThan(0);
      for (const figure of [run.native, run.pipeline, run.decoder, run.withMetrics!]) {
        expect(figure.ms).toBeGreaterThan(0);
        expect(Number.isFinite(figure.rowsPerSec)).toBe(true);
      }
      expect(run.pipeline.peakRssBytes).toBeGreaterThan(0);
      // The checkpoint stored on the target is the end of the range.
      expect(run.pipeline.storedCheckpoint).toBe(s.backlog.to);
      // Verified equal to the native replica and the source by the bench; the figures are kept.
      expect(run.tables.length).toBeGreaterThan(0);
      expect(run.tables.reduce((n, t) => n + t.rows, 0)).toBeGreaterThan(0);
      expect(Number.isFinite(s.median.pipelineVsNative)).toBe(true);
      expect(Number.isFinite(s.median.pipelineVsDecoder)).toBe(true);
      // Over Kafka too, verified equal to the source by the bench.
      expect(run.kafka?.ms).toBeGreaterThan(0);
      expect(run.kafka?.publisherPeakRssBytes).toBeGreaterThan(0);
      expect(run.kafka?.sinkPeakRssBytes).toBeGreaterThan(0);
      expect(Number.isFinite(s.median.kafkaVsEmbedded)).toBe(true);
      // CPU time of each process, per row event.
      expect(run.pipeline.cpuMs).toBeGreaterThan(0);
      expect(run.kafka?.publisherCpuMs).toBeGreaterThan(0);
      expect(run.kafka?.sinkCpuMs).toBeGreaterThan(0);
      expect(s.median.cpuMicrosPerRow?.publisher).toBeGreaterThan(0);
    }
    // verify beside CHECKSUM TABLE on the same rows.
    expect(report.verify?.rows).toBe(20_000);
    expect(report.verify?.verifyRowsPerSec).toBeGreaterThan(0);
    expect(report.verify?.checksumRowsPerSec).toBeGreaterThan(0);
  }, 240_000);
});
