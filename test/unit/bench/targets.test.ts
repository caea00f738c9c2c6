import { describe, expect, it } from 'vitest';
import { issueTargets } from '../../../bench/targets.js';
import { summarise, type CatchUpRun, type MemoryRun, type SteadyScenario } from '../../../bench/report.js';

const MB = 1048576;

function scenario(name: string, flush: number, rates: { native: number; pipeline: number; decoder: number }) {
  const figure = (rowsPerSec: number) => ({ ms: 1000, rowsPerSec, peakRssBytes: 100 * MB, peakHeapUsedBytes: 50 * MB });
  const run: CatchUpRun = {
    run: 1,
    native: { ms: 1000, rowsPerSec: rates.native },
    pipeline: { ...figure(rates.pipeline), mutationsApplied: 0, batches: 0, storedCheckpoint: null },
    decoder: figure(rates.decoder),
    tables: [],
  };
  const backlog = { description: '', from: 'a:4', to: 'a:9', transactions: 1, rowEvents: 1000, writeMs: 1, writerRetries: 0 };
  return summarise(name, flush, backlog, [run]);
}

function steady(rate: number, achieved: number, p99Ms: number): SteadyScenario {
  return {
    targetRowChangesPerSec: rate,
    achievedRowChangesPerSec: achieved,
    rateReached: achieved >= 0.95 * rate,
    writers: 4,
    durationMs: 20_000,
    transactions: 1,
    lateTransactions: 0,
    lag: { samples: 10, p50Ms: 1, p90Ms: 2, p99Ms, maxMs: p99Ms + 1 },
    pipelinePeakRssBytes: 0,
    tables: [],
  };
}

function memoryRun(scenarioName: string, peakMb: number, error?: string): MemoryRun {
  return {
    scenario: scenarioName,
    description: '',
    rowEvents: 500_000,
    ms: error ? Number.NaN : 10_000,
    rowsPerSec: error ? Number.NaN : 50_000,
    peakRssBytes: peakMb * MB,
    peakHeapUsedBytes: 0,
    peakArrayBuffersBytes: 0,
    verified: !error,
    decoder: { ms: 1_667, rowsPerSec: 300_000, peakRssBytes: 90 * MB },
    ...(error ? { error } : {}),
  };
}

describe('issue 14 targets', () => {
  it('judges bulk against native and decoder, OLTP by its targets durability, with the same-run baselines', () => {
    const rows = issueTargets({
      scenarios: [
        scenario('oltp flush=1', 1, { native: 10_000, pipeline: 60_000, decoder: 100_000 }),
        scenario('oltp flush=2', 2, { native: 30_000, pipeline: 30_000, decoder: 100_000 }),
        scenario('bulk flush=1', 1, { native: 400_000, pipeline: 80_000, decoder: 400_000 }),
      ],
    });
    expect(rows.map((r) => [r.scenario, r.target, r.met])).toEqual([
      ['oltp flush=1', 'OLTP, durable targets (=1) ≥ 5× native', true],
      ['oltp flush=2', 'OLTP, relaxed targets (=2) ≥ 1.5× native', false],
      ['bulk flush=1', 'bulk ≥ 0.8× native', false],
      ['bulk flush=1', 'bulk ≥ 60% of decoder-only', false],
    ]);
    expect(rows[0]!.verdict).toBe('met');
    expect(rows[1]!.verdict).toBe('gap: 1.00× of 1.50×, needs 1.50× faster');
    expect(rows[2]!.baseline).toBe('native 400,000 rows/s');
    expect(rows[2]!.value).toBeCloseTo(0.2);
    expect(rows[3]!.measured).toBe('80,000 rows/s = 20%');
  });

  it('gives lag rows only at the issue rates, and no valid figure when the writer fell short', () => {
    const rows = issueTargets({ scenarios: [], steady: [steady(5_000, 4_990, 40), steady(20_000, 12_000, 300), steady(10_000, 10_000, 5)] });
    expect(rows.map((r) => [r.scenario, r.met])).toEqual([
      ['steady 5000', true],
      ['steady 20000', false],
    ]);
    expect(rows[1]!.verdict).toBe('not valid: the writer could not keep up (12,000/s, 0% of tx late)');
    expect(issueTargets({ scenarios: [], steady: [steady(5_000, 5_000, 250)] })[0]!.verdict).toBe('gap: 2.50× the limit');
  });

  it('bounds peak RSS at 200 MB for backlogs and 300 MB for a huge transaction and BLOBs; a crash is a gap', () => {
    const rows = issueTargets({
      scenarios: [],
      memory: [memoryRun('memory 500000', 180), memoryRun('memory 2000000', 230)],
      hugeTx: memoryRun('huge-tx', 290),
      blob: memoryRun('blob 64 MB', 900, 'pipeline child exited with code 134:\nFATAL ERROR: JavaScript heap out of memory'),
    });
    expect(rows.map((r) => [r.scenario, r.met, r.verdict])).toEqual([
      ['memory 500000', true, 'met'],
      ['memory 2000000', false, 'gap: 30 MB over'],
      ['huge-tx', true, 'met'],
      ['blob 64 MB', false, 'gap: pipeline child exited with code 134: FATAL ERROR: JavaScript heap out of memory'],
    ]);
    expect(rows[3]!.measured).toBe('failed at 900 MB');
    expect(rows[0]!.baseline).toBe('zongji alone 90 MB, 1.7 s (300,000 rows/s)');
    expect(rows[0]!.measured).toBe('180 MB, 10.0 s (50,000 rows/s), verified');
  });

  it('has no rows for scenarios that did not run', () => {
    expect(issueTargets({ scenarios: [] })).toEqual([]);
  });
});
