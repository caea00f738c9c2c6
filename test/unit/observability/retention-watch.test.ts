import { describe, expect, it } from 'vitest';
import { RetentionWatch } from '../../../src/observability/retention-watch.js';
import { PrometheusMetrics } from '../../../src/observability/metrics.js';
import type { PipelineStats } from '../../../src/core/pipeline.js';
import type { BinlogPosition } from '../../../src/core/position.js';
import { captureLogs } from '../../support/log-capture.js';

const HOUR_MS = 3_600_000;
const t0 = Date.parse('2026-12-07T12:00:00Z');
const inventory = {
  head: { file: 'mysql-bin.000002', pos: 100 },
  files: [
    { file: 'mysql-bin.000001', size: 1_000_000 },
    { file: 'mysql-bin.000002', size: 100 },
  ],
  expireSeconds: 24 * 3600,
};

function stats(position: BinlogPosition, sourceTimestampMs: number): PipelineStats {
  return {
    changes: 0, statements: 0, mutationsApplied: 0, transactions: 0, schemaChanges: 0, batches: 0, queued: 0, inFlightTransactions: 0,
    lastReadPosition: position, checkpoint: { position, sourceTimestampMs }, savedCheckpoint: null, lagMs: 0, checkpointCurrentAtMs: null, parkedTables: [], parkedChanges: 0,
  };
}

/** The value of one sample line of the text format. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('RetentionWatch', () => {
  it('measures the checkpoint\'s pace between inventories, warns once when at risk, says when safe again, and sets the metrics', async () => {
    const { lines, logger } = captureLogs('info');
    const metrics = new PrometheusMetrics();
    const w = new RetentionWatch(metrics, logger);
    const old = t0 - 23.5 * HOUR_MS; // 30 min of headroom
    // First look: no pace yet, so the margin alone decides: 30 min is under a tenth of 24 h → at risk.
    expect(w.observe(inventory, stats({ file: 'mysql-bin.000001', pos: 100_000 }, old), t0).risk).toBe('at-risk');
    // 100 bytes/s over 60 s: 890,000 bytes left take ~2.5 h: still at risk, and not logged again within 10 min.
    const v = w.observe(inventory, stats({ file: 'mysql-bin.000001', pos: 106_000 }, old), t0 + 60_000);
    expect(v.catchUpSeconds).toBe(Math.ceil(894_000 / 100));
    expect(lines.filter((l) => l.code === 'BINLOG_RETENTION')).toHaveLength(1);
    expect(lines[0]!.msg).toMatch(/^binlog retention: the checkpoint mysql-bin.000001:100000 \(the oldest file, next to be purged\) may be purged/);
    let text = await metrics.render();
    expect(sample(text, 'binlog_sync_binlog_retention_risk')).toBe(1);
    expect(sample(text, 'binlog_sync_binlog_retention_headroom_seconds')).toBe(30 * 60 - 60);
    // The checkpoint reaches the file being written: safe, and said once.
    expect(w.observe(inventory, stats({ file: 'mysql-bin.000002', pos: 100 }, t0), t0 + 120_000).risk).toBe('ok');
    expect(lines.at(-1)!.msg).toMatch(/^binlog retention: no longer at risk/);
    text = await metrics.render();
    expect(sample(text, 'binlog_sync_binlog_retention_risk')).toBe(0);
  });
});
