// config/grafana-dashboard.json must query only metrics the daemon exports, and every binlog-sync
// metric should have a panel: a renamed metric would otherwise leave an empty panel behind.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PrometheusMetrics } from '../../../src/observability/metrics.js';

const file = fileURLToPath(new URL('../../../config/grafana-dashboard.json', import.meta.url));

interface Panel {
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
}

describe('config/grafana-dashboard.json', () => {
  it('queries only exported metrics, and shows every binlog_sync_ metric', async () => {
    const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { panels: readonly Panel[] };
    const exported = new Set((await new PrometheusMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) for (const m of t.expr.matchAll(/\b((?:binlog_sync|process|nodejs)_[a-z_]+)/g)) used.add(m[1]!.replace(/_(bucket|sum|count)$/, ''));
    }
    const unknown = [...used].filter((n) => !exported.has(n));
    expect(unknown).toEqual([]);
    const unshown = [...exported].filter((n) => n.startsWith('binlog_sync_') && !used.has(n));
    expect(unshown).toEqual([]);
  });
});
