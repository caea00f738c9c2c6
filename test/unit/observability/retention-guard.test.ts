import { describe, expect, it } from 'vitest';
import { judgeRetention, riskLevel, type RetentionInput } from '../../../src/observability/retention-guard.js';

const HOUR = 3600;
const now = Date.parse('2026-12-07T12:00:00Z');
const files = [
  { file: 'mysql-bin.000001', size: 1_000_000 },
  { file: 'mysql-bin.000002', size: 2_000_000 },
  { file: 'mysql-bin.000003', size: 500 },
];
const base: RetentionInput = {
  nowMs: now,
  expireSeconds: 24 * HOUR,
  files,
  head: { file: 'mysql-bin.000003', pos: 500 },
  checkpoint: { position: { file: 'mysql-bin.000001', pos: 400_000 }, sourceTimestampMs: now - 2 * HOUR * 1000 },
  bytesPerSecond: 10_000,
};

describe('judgeRetention', () => {
  it('is ok with plenty of headroom: expiry minus the age of the checkpoint\'s time', () => {
    const v = judgeRetention(base);
    expect(v.risk).toBe('ok');
    expect(v.headroomSeconds).toBe(22 * HOUR);
    expect(v.catchUpSeconds).toBe(60); // 600,000 bytes left in the file at 10,000 bytes/s
    expect(v.message).toContain('the oldest file, next to be purged');
  });

  it('warns when the headroom is less than the catch-up time plus a margin', () => {
    const v = judgeRetention({ ...base, checkpoint: { ...base.checkpoint!, sourceTimestampMs: now - 23.9 * HOUR * 1000 } });
    expect(v.risk).toBe('at-risk');
    expect(v.headroomSeconds).toBe(360);
    expect(v.message).toMatch(/may be purged by the source in 6 min \(expiry 24 h\).*raise binlog_expire_logs_seconds/);
    expect(riskLevel(v.risk)).toBe(1);
  });

  it('a slow pipeline is at risk earlier than a fast one with the same headroom', () => {
    const old = { ...base.checkpoint!, sourceTimestampMs: now - 20 * HOUR * 1000 }; // 4 h left
    expect(judgeRetention({ ...base, checkpoint: old, bytesPerSecond: 10_000 }).risk).toBe('ok');
    expect(judgeRetention({ ...base, checkpoint: old, bytesPerSecond: 30 }).risk).toBe('at-risk'); // 600,000 / 30 = 5.6 h
  });

  it('a checkpoint that does not move is judged by the margin alone (a tenth of the expiry, at least 15 min)', () => {
    const at = (hoursLeft: number): string =>
      judgeRetention({ ...base, bytesPerSecond: 0, checkpoint: { ...base.checkpoint!, sourceTimestampMs: now - (24 - hoursLeft) * HOUR * 1000 } }).risk;
    expect(at(3)).toBe('ok');
    expect(at(2)).toBe('at-risk'); // under 2.4 h
  });

  it('is purged when the checkpoint\'s file is gone', () => {
    const v = judgeRetention({ ...base, files: files.slice(1) });
    expect(v.risk).toBe('purged');
    expect(v.message).toContain('oldest: mysql-bin.000002');
    expect(riskLevel(v.risk)).toBe(2);
  });

  it('is ok in the file being written, or when binlogs never expire, or with no checkpoint yet', () => {
    expect(judgeRetention({ ...base, checkpoint: { position: { file: 'mysql-bin.000003', pos: 200 }, sourceTimestampMs: 0 } }).risk).toBe('ok');
    const never = judgeRetention({ ...base, expireSeconds: null, checkpoint: { ...base.checkpoint!, sourceTimestampMs: 0 } });
    expect(never.risk).toBe('ok');
    expect(never.headroomSeconds).toBeNull();
    expect(judgeRetention({ ...base, checkpoint: null }).risk).toBe('none');
  });
});
