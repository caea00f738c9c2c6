/**
 * Issue 14's targets, judged from one bench run: each with the measured value, the baseline measured in
 * the same run, and "met" or the gap. Only targets whose scenario ran get a row.
 */
import { formatInt, formatMb, formatMs, formatRatio, type BenchReport, type MemoryRun } from './report.js';

export interface TargetRow {
  /** The target as the issue states it. */
  readonly target: string;
  /** The bench scenario it is judged on. */
  readonly scenario: string;
  readonly measured: string;
  /** The same run's baseline (native replica, decoder alone, the writer's achieved rate). */
  readonly baseline: string;
  /** "met", "gap: …", or "not valid: …" when the scenario could not produce the figure. */
  readonly verdict: string;
  readonly met: boolean;
  /** The measured number compared with `limit` (a ratio, milliseconds or bytes; null when none was measured). */
  readonly value: number | null;
  readonly limit: number;
}

type Measured = Pick<BenchReport, 'scenarios' | 'steady' | 'memory' | 'hugeTx' | 'blob'>;

const MB = 1048576;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function atLeast(target: string, scenario: string, value: number, limit: number, measured: string, baseline: string): TargetRow {
  const met = value >= limit;
  const verdict = met ? 'met' : Number.isFinite(value) && value > 0 ? `gap: ${formatRatio(value)} of ${formatRatio(limit)}, needs ${formatRatio(limit / value)} faster` : 'gap: not measured';
  return { target, scenario, measured, baseline, verdict, met, value: Number.isFinite(value) ? value : null, limit };
}

/** The first line of a failure and, when there is one further down, the line that names the cause (an OOM, an error). */
export function failureSummary(error: string): string {
  const lines = error.split('\n').map((l) => l.trim()).filter(Boolean);
  const first = (lines[0] ?? '').replace(/:$/, '');
  const cause = lines.slice(1).find((l) => /out of memory|FATAL|Error\b|ERR_|ECONN|killed/i.test(l));
  return cause ? `${first}: ${cause}` : first;
}

function rssRow(target: string, run: MemoryRun, limitMb: number): TargetRow {
  const limit = limitMb * MB;
  const baseline = run.decoder ? `zongji alone ${formatMb(run.decoder.peakRssBytes)}, ${seconds(run.decoder.ms)} (${formatInt(run.decoder.rowsPerSec)} rows/s)` : 'zongji alone failed';
  const rss = run.peakRssBytes > 0 ? formatMb(run.peakRssBytes) : 'not read';
  if (run.error !== undefined) {
    return { target, scenario: run.scenario, measured: `failed at ${rss}`, baseline, verdict: `gap: ${failureSummary(run.error)}`, met: false, value: run.peakRssBytes || null, limit };
  }
  const met = run.peakRssBytes <= limit;
  return {
    target,
    scenario: run.scenario,
    measured: `${rss}, ${seconds(run.ms)} (${formatInt(run.rowsPerSec)} rows/s), verified`,
    baseline,
    verdict: met ? 'met' : `gap: ${formatMb(run.peakRssBytes - limit)} over`,
    met,
    value: run.peakRssBytes,
    limit,
  };
}

/** The p99 lag limit at the issue's two rates. */
const LAG_LIMITS: ReadonlyMap<number, number> = new Map([
  [5_000, 100],
  [20_000, 1_000],
]);

export function issueTargets(r: Measured): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const s of r.scenarios) {
    const m = s.median;
    const sync = `${formatInt(m.pipelineRowsPerSec)} rows/s`;
    if (s.name.startsWith('bulk')) {
      rows.push(atLeast('bulk ≥ 0.8× native', s.name, m.pipelineVsNative, 0.8, `${sync} = ${formatRatio(m.pipelineVsNative)}`, `native ${formatInt(m.nativeRowsPerSec)} rows/s`));
      rows.push(atLeast('bulk ≥ 60% of decoder-only', s.name, m.pipelineVsDecoder, 0.6, `${sync} = ${(m.pipelineVsDecoder * 100).toFixed(0)}%`, `decoder ${formatInt(m.decoderRowsPerSec)} rows/s`));
    } else if (s.name.startsWith('oltp') && (s.targetFlush === 1 || s.targetFlush === 2)) {
      const [target, limit] = s.targetFlush === 1 ? ['OLTP, durable targets (=1) ≥ 5× native', 5] : ['OLTP, relaxed targets (=2) ≥ 1.5× native', 1.5];
      rows.push(atLeast(target, s.name, m.pipelineVsNative, limit, `${sync} = ${formatRatio(m.pipelineVsNative)}`, `native ${formatInt(m.nativeRowsPerSec)} rows/s`));
    }
  }
  for (const s of r.steady ?? []) {
    const limit = LAG_LIMITS.get(s.targetRowChangesPerSec);
    if (limit === undefined) continue;
    const target = `lag p99 ≤ ${formatMs(limit)} at ${formatInt(s.targetRowChangesPerSec)} row changes/s`;
    const baseline = `writer ${formatInt(s.achievedRowChangesPerSec)}/s of ${formatInt(s.targetRowChangesPerSec)}/s`;
    const measured = `p99 ${formatMs(s.lag.p99Ms)} (p50 ${formatMs(s.lag.p50Ms)}, max ${formatMs(s.lag.maxMs)})`;
    const base = { target, scenario: `steady ${s.targetRowChangesPerSec}`, measured, baseline, value: Number.isFinite(s.lag.p99Ms) ? s.lag.p99Ms : null, limit };
    if (!s.rateReached) {
      const late = `${((100 * s.lateTransactions) / Math.max(1, s.transactions)).toFixed(0)}% of tx late`;
      rows.push({ ...base, verdict: `not valid: the writer could not keep up (${formatInt(s.achievedRowChangesPerSec)}/s, ${late})`, met: false });
    } else {
      const met = s.lag.p99Ms <= limit;
      rows.push({ ...base, verdict: met ? 'met' : `gap: ${formatRatio(s.lag.p99Ms / limit)} the limit`, met });
    }
  }
  for (const run of r.memory ?? []) rows.push(rssRow(`peak RSS ≤ 200 MB, backlog of ${formatInt(run.rowEvents)} row events`, run, 200));
  if (r.hugeTx) rows.push(rssRow(`peak RSS ≤ 300 MB, one tx of ${formatInt(r.hugeTx.rowEvents)} row changes`, r.hugeTx, 300));
  if (r.blob) rows.push(rssRow('peak RSS ≤ 300 MB, rows with big BLOBs', r.blob, 300));
  return rows;
}
