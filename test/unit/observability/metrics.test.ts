import { describe, expect, it } from 'vitest';
import { PrometheusMetrics, noMetrics } from '../../../src/observability/metrics.js';
import { TableOpTally } from '../../../src/observability/table-op-tally.js';
import { countLoggedProblems } from '../../../src/observability/daemon.js';

const orders = { schema: 'shop', name: 'orders' };

/** The value of one sample line of the text format, e.g. `binlog_sync_x{a="b"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('PrometheusMetrics', () => {
  it('adds batch totals to the per-table counters and observes batch size and latency', async () => {
    const m = new PrometheusMetrics();
    const t = new TableOpTally();
    t.add(orders, 'insert', 3);
    t.add(orders, 'delete');
    m.changesRead(t);
    m.changesRead(t);
    m.batchApplied(t, 4, 0.02);
    const text = await m.render();
    expect(sample(text, 'binlog_sync_changes_read_total{table="shop.orders",op="insert"}')).toBe(6);
    expect(sample(text, 'binlog_sync_changes_read_total{table="shop.orders",op="delete"}')).toBe(2);
    expect(sample(text, 'binlog_sync_mutations_applied_total{table="shop.orders",op="insert"}')).toBe(3);
    expect(sample(text, 'binlog_sync_lane_batch_size_count')).toBe(1);
    expect(sample(text, 'binlog_sync_lane_batch_size_sum')).toBe(4);
    expect(sample(text, 'binlog_sync_apply_duration_seconds_bucket{le="0.025"}')).toBe(1);
    expect(sample(text, 'binlog_sync_apply_duration_seconds_bucket{le="0.01"}')).toBe(0);
  });

  it('renders the sampled state, and counts reconnects as the reader\'s count grows', async () => {
    const m = new PrometheusMetrics();
    let reconnects = 2;
    m.setSampler(() => ({
      partitionQueueDepth: [5, 0],
      laneDepth: [1, 7],
      lagSeconds: 1.5,
      lagBytes: null,
      checkpointAgeSeconds: 0.4,
      reconnects,
      sourceConnected: true,
      ready: false,
    }));
    let text = await m.render();
    expect(sample(text, 'binlog_sync_partition_queue_depth{partition="0"}')).toBe(5);
    expect(sample(text, 'binlog_sync_lane_queue_depth{partition="1"}')).toBe(7);
    expect(sample(text, 'binlog_sync_source_lag_seconds')).toBe(1.5);
    expect(sample(text, 'binlog_sync_source_lag_bytes')).toBeNaN();
    expect(sample(text, 'binlog_sync_checkpoint_age_seconds')).toBe(0.4);
    expect(sample(text, 'binlog_sync_source_reconnects_total')).toBe(2);
    expect(sample(text, 'binlog_sync_ready')).toBe(0);
    reconnects = 3;
    text = await m.render();
    expect(sample(text, 'binlog_sync_source_reconnects_total')).toBe(3);
  });

  it('shows quarantined tables per table and in total', async () => {
    const m = new PrometheusMetrics();
    m.setQuarantined('shop.orders', true);
    m.setQuarantined('shop.items', true);
    m.setQuarantined('shop.items', false);
    const text = await m.render();
    expect(sample(text, 'binlog_sync_table_quarantined{table="shop.orders"}')).toBe(1);
    expect(sample(text, 'binlog_sync_table_quarantined{table="shop.items"}')).toBe(0);
    expect(sample(text, 'binlog_sync_quarantined_tables')).toBe(1);
  });
});

describe('countLoggedProblems', () => {
  it('counts warn/error records by code, target retries by error class, and retries by component', async () => {
    const m = new PrometheusMetrics();
    const count = countLoggedProblems(m);
    count({ code: 'SOURCE_CONNECTION', retryInMs: 500 }, { component: 'source' });
    count({ attempt: 1, delayMs: 100, errorClass: 'lock-conflict' }, { component: 'sink' });
    count({ code: 'SOURCE_SILENT' }, { component: 'source' });
    count({ err: 'something' }, {});
    const text = await m.render();
    expect(sample(text, 'binlog_sync_errors_total{code="SOURCE_CONNECTION"}')).toBe(1);
    expect(sample(text, 'binlog_sync_errors_total{code="TARGET_LOCK_CONFLICT"}')).toBe(1);
    expect(sample(text, 'binlog_sync_errors_total{code="SOURCE_SILENT"}')).toBe(1);
    expect(sample(text, 'binlog_sync_retries_total{component="source"}')).toBe(1);
    expect(sample(text, 'binlog_sync_retries_total{component="sink"}')).toBe(1);
  });

  it('noMetrics is off', () => {
    expect(noMetrics.enabled).toBe(false);
  });
});
