// Smoke test of `npm run bench`: its quick mode with tiny backlogs produces figures for every
// scenario and reader, and binlog-sync's target matched the native replica (the bench fails otherwise);
// the steady, memory, huge-transaction and BLOB scenarios run alone (--only) at tiny sizes; both runs end
// with issue 14's targets table. No speed is asserted (the verdicts may be "met" or "gap"). Runs the compiled bench (`npm test` builds first).
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
    const args = ['--quick', '--runs', '1', '--oltp-tx', '400', '--oltp-rows', '2000', '--bulk-rows', '20000', '--bulk-tx-rows', '10000', '--verify-rows', '20000', '--kafka-backlog', '--kafka-backlog-rows', '20000', '--skip-source-only', '--out', out];
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
      // The broker's CPU over each Kafka run.
      expect(run.kafka?.brokerCpuMs).toBeGreaterThan(0);
      expect(s.median.cpuMicrosPerRow?.broker).toBeGreaterThan(0);
    }
    // One unmeasured run warmed the fresh broker, before the first scenario's runs only.
    expect(report.scenarios[0]!.kafkaWarmUp?.ms).toBeGreaterThan(0);
    expect(report.scenarios[0]!.kafkaWarmUp?.brokerCpuMs).toBeGreaterThan(0);
    expect(report.scenarios[1]!.kafkaWarmUp).toBeUndefined();
    expect(stdout).toContain('one unmeasured run over Kafka warmed the fresh broker');
    // A backlog published whole before one sink worker drains it (each process's peak RSS), verified by the bench.
    expect(stdout).toContain('a backlog waiting in Kafka');
    expect(report.kafkaBacklog?.rowEvents).toBe(20_000);
    for (const p of [report.kafkaBacklog?.publish, report.kafkaBacklog?.drain]) {
      expect(p?.ms).toBeGreaterThan(0);
      expect(p?.peakRssBytes).toBeGreaterThan(0);
    }
    // verify beside CHECKSUM TABLE on the same rows.
    expect(report.verify?.rows).toBe(20_000);
    expect(report.verify?.verifyRowsPerSec).toBeGreaterThan(0);
    expect(report.verify?.checksumRowsPerSec).toBeGreaterThan(0);
    // Issue 14's targets for the catch-up scenarios, judged against this run's native replica and decoder.
    expect(stdout).toContain('issue 14 targets');
    expect(report.targets.map((t) => [t.scenario, t.target])).toEqual([
      ['oltp', 'OLTP, durable targets (=1) ≥ 5× native'],
      ['bulk', 'bulk ≥ 0.8× native'],
      ['bulk', 'bulk ≥ 60% of decoder-only'],
    ]);
    for (const t of report.targets) {
      expect(t.value).toBeGreaterThan(0);
      expect(t.baseline).toMatch(/^(native|decoder) [\d,]+ rows\/s$/);
      expect(t.verdict).toMatch(/^(met|gap: )/);
    }
  }, 240_000);

  it('runs OLTP at both target durabilities and the steady, memory, huge-transaction and BLOB scenarios (--only), judging each against its target', async () => {
    dir ??= await mkdtemp(join(tmpdir(), 'binlog-sync-bench-smoke-'));
    const out = join(dir, 'memory.json');
    // --target-flush 1,2 names the scenarios "oltp flush=1" and "oltp flush=2" (a space, once fatal to the servers' and pipelines' names).
    const catchUp = ['--target-flush', '1,2', '--runs', '1', '--oltp-tx', '200', '--oltp-rows', '1000', '--skip-kafka', '--skip-metrics', '--skip-source-only'];
    const args = ['--quick', '--only', 'oltp,steady,memory,huge-tx,blob', ...catchUp, '--steady-seconds', '2', '--memory-rows', '20000', '--huge-tx-rows', '30000', '--blob-mb', '2', '--out', out];
    // Nine servers start one after the other, and a busy 2-core machine slows each start: a generous bound.
    const { stdout } = await execFileP(process.execPath, [MAIN, ...args], { timeout: 420_000, maxBuffer: 10 << 20 });
    const report = JSON.parse(await readFile(out, 'utf8')) as BenchReport;
    expect(report.scenarios.map((s) => [s.name, s.targetFlush])).toEqual([
      ['oltp flush=1', 1],
      ['oltp flush=2', 2],
    ]);
    expect(report.verify).toBeUndefined();
    expect(report.steady?.map((s) => s.targetRowChangesPerSec)).toEqual([5_000, 20_000]);
    for (const s of report.steady!) {
      expect(s.lag.samples).toBeGreaterThan(0);
      expect(s.achievedRowChangesPerSec).toBeGreaterThan(0);
    }
    // The huge transaction is one source transaction; every run verified equal to the source, with zongji's baseline.
    const runs = [...report.memory!, report.hugeTx!, report.blob!];
    expect(runs.map((r) => [r.scenario, r.rowEvents, r.verified])).toEqual([
      ['memory 20000', 20_000, true],
      ['huge-tx', 30_000, true],
      ['blob 2 MB', 5, true],
    ]);
    for (const r of runs) {
      expect(r.peakRssBytes).toBeGreaterThan(0);
      expect(r.decoder?.peakRssBytes).toBeGreaterThan(0);
    }
    expect(stdout).toMatch(/issue 14 targets \(\d+ of 7 met/);
    expect(report.targets.map((t) => t.scenario)).toEqual(['oltp flush=1', 'oltp flush=2', 'steady 5000', 'steady 20000', 'memory 20000', 'huge-tx', 'blob 2 MB']);
    for (const t of report.targets) {
      expect(t.value).toBeGreaterThan(0);
      expect(t.verdict).toMatch(/^(met|gap: |not valid: the writer could not keep up)/);
    }
    expect(report.targets[1]!.target).toBe('OLTP, relaxed targets (=2) ≥ 1.5× native');
    for (const t of report.targets.slice(4)) expect(t.baseline).toMatch(/^zongji alone \d+ MB/);
  }, 450_000);
});
