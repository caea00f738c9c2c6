import { describe, expect, it } from 'vitest';
import { ApplyProgressWatch, judgeReadiness, type ReadinessInput } from '../../../src/observability/readiness.js';

const healthy: ReadinessInput = {
  running: true,
  sourceConnected: true,
  sourcePaused: false,
  msSinceSourceData: 500,
  silentAfterMs: 10_000,
  pendingMutations: 0,
  msWithoutApplyProgress: 0,
};

describe('judgeReadiness', () => {
  it('is ready when running, connected, hearing from the source and applying', () => {
    expect(judgeReadiness(healthy)).toEqual({ ready: true, reasons: [] });
  });

  it('is not ready before the pipeline runs or while it stops, whatever else holds', () => {
    const r = judgeReadiness({ ...healthy, running: false, sourceConnected: false });
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual(['the pipeline is not running (starting, or stopping)']);
  });

  it('is not ready without a binlog connection', () => {
    const r = judgeReadiness({ ...healthy, sourceConnected: false });
    expect(r.ready).toBe(false);
    expect(r.reasons[0]).toContain('no binlog connection');
  });

  it('is not ready when no data, not even a heartbeat, came for longer than silentAfterMs', () => {
    expect(judgeReadiness({ ...healthy, msSinceSourceData: 10_000 }).ready).toBe(true);
    const r = judgeReadiness({ ...healthy, msSinceSourceData: 12_500 });
    expect(r.ready).toBe(false);
    expect(r.reasons[0]).toBe('no binlog data from the source for 12.5 s (not even a heartbeat; source.silentAfterMs is 10 s)');
  });

  it('does not count silence while we paused the socket ourselves (backpressure)', () => {
    expect(judgeReadiness({ ...healthy, msSinceSourceData: 60_000, sourcePaused: true }).ready).toBe(true);
  });

  it('is not ready when pending changes see no commit on the target for longer than silentAfterMs', () => {
    expect(judgeReadiness({ ...healthy, pendingMutations: 40, msWithoutApplyProgress: 9_000 }).ready).toBe(true);
    const r = judgeReadiness({ ...healthy, pendingMutations: 40, msWithoutApplyProgress: 11_000 });
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual(['40 changes waiting and none committed on the target for 11 s']);
  });

  it('lists every reason at once', () => {
    const r = judgeReadiness({ ...healthy, sourceConnected: false, pendingMutations: 1, msWithoutApplyProgress: 20_000 });
    expect(r.reasons).toHaveLength(2);
  });
});

describe('ApplyProgressWatch', () => {
  it('measures how long pending changes waited without a commit, and resets on progress or when nothing is pending', () => {
    const w = new ApplyProgressWatch();
    expect(w.observe(1_000, 0, 0)).toBe(0);
    expect(w.observe(2_000, 0, 5)).toBe(1_000); // pending since the last reading at 1 s with no progress
    expect(w.observe(4_000, 0, 5)).toBe(3_000);
    expect(w.observe(5_000, 5, 3)).toBe(0); // a batch committed
    expect(w.observe(9_000, 5, 3)).toBe(4_000);
    expect(w.observe(9_500, 5, 0)).toBe(0); // drained
  });
});
