/** The benchmark's result shapes, medians, the printed table and the JSON file. */
import { writeFile } from 'node:fs/promises';
import type { TableFigure } from './sql.js';
import type { LagFigures } from './child-spec.js';
import type { ProfileSummary } from './profile.js';
import type { TargetRow } from './targets.js';

export interface Timed {
  readonly ms: number;
  readonly rowsPerSec: number;
}

export interface ReaderFigures extends Timed {
  readonly peakRssBytes: number;
  readonly peakHeapUsedBytes: number;
}

export interface CatchUpRun {
  readonly run: number;
  readonly native: Timed;
  readonly pipeline: ReaderFigures & { readonly mutationsApplied: number; readonly batches: number; readonly storedCheckpoint: string | null; readonly cpuMs?: number };
  readonly source?: ReaderFigures;
  readonly decoder: ReaderFigures;
  /** The Kafka transport: publisher and sink worker in two processes; `ms` from the publisher's start of reading until the sink applied everything. */
  readonly kafka?: Timed & {
    readonly publisherMs: number;
    readonly publisherPeakRssBytes: number;
    readonly sinkPeakRssBytes: number;
    /** CPU time (user + system) of each process until it was done: less moved by other work on the machine than wall time. */
    readonly publisherCpuMs?: number;
    readonly sinkCpuMs?: number;
    /** CPU time of the broker process(es) over the run, and of it the JIT compiler threads'. */
    readonly brokerCpuMs?: number;
    readonly brokerJitMs?: number;
  };
  /** binlog-sync again, counting into the daemon's Prometheus metrics (scraped every 5 s). */
  readonly withMetrics?: ReaderFigures;
  /** Every table's row count and checksum, equal on the native replica, the pipeline's target and the source. */
  readonly tables: readonly TableFigure[];
}

export interface Backlog {
  readonly description: string;
  readonly from: string;
  readonly to: string;
  readonly transactions: number;
  /** Row events in the range, as counted by the decoder. */
  readonly rowEvents: number;
  readonly writeMs: number;
  readonly writerRetries: number;
}

/** The unmeasured Kafka run before the bench's first measured one (see warmUpBroker in scenarios.ts). */
export interface KafkaWarmUp {
  readonly ms: number;
  readonly brokerCpuMs: number;
  readonly brokerJitMs: number;
}

export interface CatchUpScenario {
  readonly name: string;
  /** innodb_flush_log_at_trx_commit on both targets during this scenario. */
  readonly targetFlush: number;
  readonly backlog: Backlog;
  readonly runs: readonly CatchUpRun[];
  readonly median: {
    readonly nativeRowsPerSec: number;
    readonly pipelineRowsPerSec: number;
    readonly sourceRowsPerSec: number | null;
    readonly decoderRowsPerSec: number;
    readonly pipelineVsNative: number;
    readonly pipelineVsDecoder: number;
    readonly pipelinePeakRssBytes: number;
    readonly kafkaRowsPerSec: number | null;
    readonly kafkaVsEmbedded: number | null;
    readonly kafkaPeakRssBytes: { readonly publisher: number; readonly sink: number } | null;
    /** CPU µs per row event (medians): the embedded pipeline's process, the Kafka publisher's, sink worker's and broker's (and of it JIT). */
    readonly cpuMicrosPerRow: {
      readonly embedded: number;
      readonly publisher: number | null;
      readonly sink: number | null;
      readonly broker: number | null;
      readonly brokerJit: number | null;
    } | null;
    /** With metrics on: rows/s, and its cost relative to the run without (positive: slower). */
    readonly metricsRowsPerSec: number | null;
    readonly metricsCost: number | null;
  };
  /** CPU profiles (`--profile`) of one extra binlog-sync run, source-only run and Kafka run (publisher and sink worker). */
  readonly profiles?: ScenarioProfiles;
  readonly kafkaWarmUp?: KafkaWarmUp;
}

export interface ScenarioProfiles {
  readonly pipeline?: ProfileSummary;
  readonly source?: ProfileSummary;
  readonly kafkaPublisher?: ProfileSummary;
  readonly kafkaSink?: ProfileSummary;
}

export interface SteadyScenario {
  readonly targetRowChangesPerSec: number;
  readonly achievedRowChangesPerSec: number;
  /** The writer held the rate (≥ 95% of it, ≤ 5% of transactions >100 ms late); when not, the lag figures are not for that rate. */
  readonly rateReached: boolean;
  readonly writers: number;
  readonly durationMs: number;
  readonly transactions: number;
  readonly lateTransactions: number;
  readonly lag: LagFigures;
  readonly pipelinePeakRssBytes: number;
  readonly tables: readonly TableFigure[];
}

/** One binlog-sync catch-up measured for its peak RSS (memory-scenarios.ts), with zongji alone as the baseline. */
export interface MemoryRun {
  /** "memory 500000", "huge-tx", "blob". */
  readonly scenario: string;
  readonly description: string;
  /** Row events in the range (the decoder's count; the pipeline's when the decoder failed). */
  readonly rowEvents: number;
  /** binlog-sync's catch-up time and rate; NaN (null in JSON) when it failed. */
  readonly ms: number;
  readonly rowsPerSec: number;
  /** The pipeline child's VmHWM (seen from outside when it crashed). */
  readonly peakRssBytes: number;
  readonly peakHeapUsedBytes: number;
  readonly peakArrayBuffersBytes: number;
  /** binlog-sync's target equals the source (row counts and every-column checksums). */
  readonly verified: boolean;
  /** zongji alone over the same range (null when it failed too). */
  readonly decoder: { readonly ms: number; readonly rowsPerSec: number; readonly peakRssBytes: number } | null;
  /** Why binlog-sync did not finish, or what differed (a finding, reported as is). */
  readonly error?: string;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly totalMs: number;
  readonly machine: { readonly cores: number; readonly cpu: string; readonly memoryBytes: number; readonly node: string; readonly mariadb: string; readonly os: string };
  /** 1-minute load average at the start and the end: other work on the machine skews every figure. */
  readonly loadAverage: { readonly start: number; readonly end: number };
  readonly durability: { readonly source: string; readonly targets: string };
  readonly settings: Record<string, unknown>;
  readonly scenarios: readonly CatchUpScenario[];
  /** Lag under steady load, one entry per requested rate. */
  readonly steady?: readonly SteadyScenario[];
  readonly memory?: readonly MemoryRun[];
  readonly hugeTx?: MemoryRun;
  readonly blob?: MemoryRun;
  readonly verify?: VerifyScenario;
  readonly kafkaBacklog?: KafkaBacklogRun;
  /** Issue 14's targets for the scenarios that ran, each with its measured value and same-run baseline. */
  readonly targets: readonly TargetRow[];
}

/** Issue 11's bound on each Kafka-mode process. */
export const KAFKA_RSS_LIMIT_BYTES = 300 * 1024 * 1024;

/** A backlog published to Kafka with no sink worker running, then drained by one (bench/kafka-backlog.ts). */
export interface KafkaBacklogRun {
  readonly description: string;
  readonly rowEvents: number;
  readonly publish: ReaderFigures;
  readonly drain: ReaderFigures;
}

/** `binlog-sync verify` of one table equal on both sides, beside CHECKSUM TABLE on both servers. */
export interface VerifyScenario {
  readonly rows: number;
  readonly runs: readonly { readonly verifyMs: number; readonly checksumMs: number }[];
  readonly verifyMs: number;
  readonly verifyRowsPerSec: number;
  readonly checksumMs: number;
  readonly checksumRowsPerSec: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function rate(rows: number, ms: number): number {
  return ms > 0 ? (rows * 1000) / ms : Number.NaN;
}

export function summarise(
  name: string,
  targetFlush: number,
  backlog: Backlog,
  runs: readonly CatchUpRun[],
  profiles: CatchUpScenario['profiles'] = {},
  kafkaWarmUp?: KafkaWarmUp,
): CatchUpScenario {
  const nat = median(runs.map((r) => r.native.rowsPerSec));
  const pipe = median(runs.map((r) => r.pipeline.rowsPerSec));
  const dec = median(runs.map((r) => r.decoder.rowsPerSec));
  const src = runs.every((r) => r.source) ? median(runs.map((r) => r.source!.rowsPerSec)) : null;
  const kafka = runs.length > 0 && runs.every((r) => r.kafka) ? median(runs.map((r) => r.kafka!.rowsPerSec)) : null;
  const withMetrics = runs.length > 0 && runs.every((r) => r.withMetrics) ? median(runs.map((r) => r.withMetrics!.rowsPerSec)) : null;
  const perRow = (cpu: (r: CatchUpRun) => number | undefined): number | null =>
    runs.length > 0 && runs.every((r) => cpu(r) !== undefined) ? median(runs.map((r) => (cpu(r)! * 1000) / backlog.rowEvents)) : null;
  const embeddedCpu = perRow((r) => r.pipeline.cpuMs);
  return {
    name,
    targetFlush,
    backlog,
    runs,
    median: {
      nativeRowsPerSec: nat,
      pipelineRowsPerSec: pipe,
      sourceRowsPerSec: src,
      decoderRowsPerSec: dec,
      pipelineVsNative: pipe / nat,
      pipelineVsDecoder: pipe / dec,
      pipelinePeakRssBytes: Math.max(...runs.map((r) => r.pipeline.peakRssBytes)),
      kafkaRowsPerSec: kafka,
      kafkaVsEmbedded: kafka === null ? null : kafka / pipe,
      kafkaPeakRssBytes: kafka === null ? null : { publisher: Math.max(...runs.map((r) => r.kafka!.publisherPeakRssBytes)), sink: Math.max(...runs.map((r) => r.kafka!.sinkPeakRssBytes)) },
      cpuMicrosPerRow:
        embeddedCpu === null
          ? null
          : {
              embedded: embeddedCpu,
              publisher: kafka === null ? null : perRow((r) => r.kafka!.publisherCpuMs),
              sink: kafka === null ? null : perRow((r) => r.kafka!.sinkCpuMs),
              broker: kafka === null ? null : perRow((r) => r.kafka!.brokerCpuMs),
              brokerJit: kafka === null ? null : perRow((r) => r.kafka!.brokerJitMs),
            },
      metricsRowsPerSec: withMetrics,
      metricsCost: withMetrics === null ? null : 1 - withMetrics / pipe,
    },
    ...(Object.keys(profiles).length > 0 ? { profiles } : {}),
    ...(kafkaWarmUp ? { kafkaWarmUp } : {}),
  };
}

export const formatInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
export const formatRatio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');
export const formatMb = (b: number): string => (Number.isFinite(b) ? `${(b / 1048576).toFixed(0)} MB` : '–');
export const formatMs = (n: number): string => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(1) : Math.round(n)} ms` : '–');
const int = formatInt;
const ratio = formatRatio;
const mb = formatMb;
const micros = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(1)} µs` : '–');
const ms = formatMs;

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`machine: ${m.cores} cores (${m.cpu}), ${mb(m.memoryBytes)} RAM, ${m.os}, Node ${m.node}, MariaDB ${m.mariadb}`);
  out.push(
    `source, both targets and the pipeline share these cores; 1-min load average ${r.loadAverage.start.toFixed(1)} at start, ` +
      `${r.loadAverage.end.toFixed(1)} at end (includes the bench's own work; other work on the machine skews the figures: compare the runs' spread)`,
  );
  out.push(`durability: source ${r.durability.source}; both targets (native replica and binlog-sync) ${r.durability.targets}`);
  out.push(`settings: ${Object.entries(r.settings).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ')}`);
  out.push('');
  if (r.scenarios.length) {
    const withSource = r.scenarios.some((s) => s.median.sourceRowsPerSec !== null);
    out.push(`catch-up of a backlog (row events / catch-up seconds; medians of ${Math.max(...r.scenarios.map((s) => s.runs.length))} runs)`);
    out.push(
      formatTable(
        ['scenario', 'row events', 'tx', 'native rows/s', 'binlog-sync rows/s', ...(withSource ? ['source-only rows/s'] : []), 'decoder rows/s', 'sync/native', 'sync/decoder', 'sync peak RSS'],
        r.scenarios.map((s) => [
          s.name,
          int(s.backlog.rowEvents),
          int(s.backlog.transactions),
          int(s.median.nativeRowsPerSec),
          int(s.median.pipelineRowsPerSec),
          ...(withSource ? [s.median.sourceRowsPerSec === null ? '–' : int(s.median.sourceRowsPerSec)] : []),
          int(s.median.decoderRowsPerSec),
          ratio(s.median.pipelineVsNative),
          ratio(s.median.pipelineVsDecoder),
          mb(s.median.pipelinePeakRssBytes),
        ]),
      ),
    );
    const withKafka = r.scenarios.filter((s) => s.median.kafkaRowsPerSec !== null);
    if (withKafka.length) {
      out.push('');
      out.push('the same backlogs over the Kafka transport (one broker; publisher and sink worker in two processes; timed from the publisher\'s start of reading, as the embedded pipeline from its start, until the sink applied everything)');
      out.push(
        formatTable(
          ['scenario', 'embedded rows/s', 'kafka rows/s', 'kafka/embedded', 'kafka/native', 'publisher peak RSS', 'sink peak RSS'],
          withKafka.map((s) => [
            s.name,
            int(s.median.pipelineRowsPerSec),
            int(s.median.kafkaRowsPerSec!),
            ratio(s.median.kafkaVsEmbedded!),
            ratio(s.median.kafkaRowsPerSec! / s.median.nativeRowsPerSec),
            mb(s.median.kafkaPeakRssBytes!.publisher),
            mb(s.median.kafkaPeakRssBytes!.sink),
          ]),
        ),
      );
      for (const s of withKafka.filter((x) => x.kafkaWarmUp)) {
        const w = s.kafkaWarmUp!;
        out.push(
          `${s.name}: before the measured runs, one unmeasured run over Kafka warmed the fresh broker (class loading, compiling, internal topics): ` +
            `${int(rate(s.backlog.rowEvents, w.ms))} rows/s, broker CPU ${ms(w.brokerCpuMs)} of which JIT ${ms(w.brokerJitMs)}`,
        );
      }
      const withCpu = withKafka.filter((s) => s.median.cpuMicrosPerRow?.publisher != null && s.median.cpuMicrosPerRow.sink != null);
      if (withCpu.length) {
        out.push('');
        out.push('CPU time per row event (user + system of each process until done, medians; less moved by other work on the machine than rows/s; the broker over the whole Kafka run, JIT = its compiler threads)');
        out.push(
          formatTable(
            ['scenario', 'embedded pipeline', 'kafka publisher', 'kafka sink worker', 'publisher + sink', 'kafka broker', 'of it JIT'],
            withCpu.map((s) => {
              const c = s.median.cpuMicrosPerRow!;
              return [s.name, micros(c.embedded), micros(c.publisher!), micros(c.sink!), micros(c.publisher! + c.sink!), c.broker === null ? '–' : micros(c.broker), c.brokerJit === null ? '–' : micros(c.brokerJit)];
            }),
          ),
        );
      }
    }
    const withMetrics = r.scenarios.filter((s) => s.median.metricsRowsPerSec !== null);
    if (withMetrics.length) {
      out.push('');
      out.push('the cost of metrics (binlog-sync counting into the Prometheus registry that metrics.port serves, rendered every 5 s; target: within 3%)');
      out.push(
        formatTable(
          ['scenario', 'without rows/s', 'with metrics rows/s', 'cost', 'runs without', 'runs with'],
          withMetrics.map((s) => [
            s.name,
            int(s.median.pipelineRowsPerSec),
            int(s.median.metricsRowsPerSec!),
            `${(s.median.metricsCost! * 100).toFixed(1)}%`,
            s.runs.map((run) => ms(run.pipeline.ms)).join(', '),
            s.runs.map((run) => (run.withMetrics ? ms(run.withMetrics.ms) : '–')).join(', '),
          ]),
        ),
      );
    }
    out.push('');
    out.push('per run (catch-up times; every run verified: binlog-sync target = native replica = source, row counts and checksums)');
    out.push(
      formatTable(
        ['scenario', 'run', 'native', 'binlog-sync', ...(withSource ? ['source-only'] : []), 'decoder', ...(withKafka.length ? ['kafka', 'kafka publisher'] : []), 'sync RSS', 'sync heap', 'batches'],
        r.scenarios.flatMap((s) =>
          s.runs.map((run) => [
            s.name,
            String(run.run),
            ms(run.native.ms),
            ms(run.pipeline.ms),
            ...(withSource ? [run.source ? ms(run.source.ms) : '–'] : []),
            ms(run.decoder.ms),
            ...(withKafka.length ? [run.kafka ? ms(run.kafka.ms) : '–', run.kafka ? ms(run.kafka.publisherMs) : '–'] : []),
            mb(run.pipeline.peakRssBytes),
            mb(run.pipeline.peakHeapUsedBytes),
            int(run.pipeline.batches),
          ]),
        ),
      ),
    );
    out.push('');
    for (const s of r.scenarios) {
      out.push(`${s.name} backlog: ${s.backlog.description}; range ${s.backlog.from} → ${s.backlog.to}; written in ${ms(s.backlog.writeMs)} (${int(rate(s.backlog.transactions, s.backlog.writeMs))} tx/s)`);
    }
  }
  if (r.steady?.length) {
    out.push('');
    out.push('steady load: lag from source commit to target apply (per-row timestamps); a rate the writer did not hold (< 95% written, or > 5% of tx started >100 ms late) gives no valid figure');
    out.push(
      formatTable(
        ['requested rows/s', 'written rows/s', 'writers', 'tx (>100 ms late)', 'samples', 'p50', 'p90', 'p99', 'max', 'sync peak RSS', 'rate reached'],
        r.steady.map((s) => [
          int(s.targetRowChangesPerSec),
          int(s.achievedRowChangesPerSec),
          String(s.writers),
          `${int(s.transactions)} (${int(s.lateTransactions)})`,
          int(s.lag.samples),
          ms(s.lag.p50Ms),
          ms(s.lag.p90Ms),
          ms(s.lag.p99Ms),
          ms(s.lag.maxMs),
          mb(s.pipelinePeakRssBytes),
          s.rateReached ? 'yes' : 'NO: not valid',
        ]),
      ),
    );
  }
  if (r.verify) {
    const v = r.verify;
    out.push('');
    out.push(`verify: ${int(v.rows)} rows equal on both sides (medians of ${v.runs.length}); the baseline finds that two tables differ, not which rows`);
    out.push(
      formatTable(
        ['what', 'time', 'rows/s'],
        [
          ['binlog-sync verify (chunk checksums on both servers, narrowed to keys)', ms(v.verifyMs), int(v.verifyRowsPerSec)],
          ['CHECKSUM TABLE on both servers at once', ms(v.checksumMs), int(v.checksumRowsPerSec)],
        ],
      ),
    );
  }
  if (r.kafkaBacklog) {
    const k = r.kafkaBacklog;
    const verdict = (b: number): string => (b <= KAFKA_RSS_LIMIT_BYTES ? 'met' : `gap: ${mb(b - KAFKA_RSS_LIMIT_BYTES)} over`);
    out.push('');
    out.push(`a backlog waiting in Kafka: ${int(k.rowEvents)} row events (${k.description}) published with no sink worker running, then drained by one; target verified equal to the source; issue 11: ≤ ${mb(KAFKA_RSS_LIMIT_BYTES)} RSS per process`);
    out.push(
      formatTable(
        ['process', 'time', 'rows/s', 'peak RSS', 'peak V8 heap', `≤ ${mb(KAFKA_RSS_LIMIT_BYTES)}`],
        [
          ['publisher (topic empty → whole backlog)', ms(k.publish.ms), int(k.publish.rowsPerSec), mb(k.publish.peakRssBytes), mb(k.publish.peakHeapUsedBytes), verdict(k.publish.peakRssBytes)],
          ['sink worker (whole backlog waiting)', ms(k.drain.ms), int(k.drain.rowsPerSec), mb(k.drain.peakRssBytes), mb(k.drain.peakHeapUsedBytes), verdict(k.drain.peakRssBytes)],
        ],
      ),
    );
  }
  const memoryRuns = [...(r.memory ?? []), ...(r.hugeTx ? [r.hugeTx] : []), ...(r.blob ? [r.blob] : [])];
  if (memoryRuns.length) {
    out.push('');
    out.push("memory: binlog-sync catching up a backlog met whole at start; peak RSS is the child's VmHWM; zongji alone over the same range as the baseline");
    out.push(
      formatTable(
        ['scenario', 'row events', 'catch-up', 'rows/s', 'peak RSS', 'peak V8 heap', 'peak Buffers', 'zongji', 'zongji rows/s', 'zongji peak RSS', 'result'],
        memoryRuns.map((p) => [
          p.scenario,
          int(p.rowEvents),
          ms(p.ms),
          int(p.rowsPerSec),
          mb(p.peakRssBytes),
          mb(p.peakHeapUsedBytes),
          mb(p.peakArrayBuffersBytes),
          p.decoder ? ms(p.decoder.ms) : 'failed',
          p.decoder ? int(p.decoder.rowsPerSec) : '–',
          p.decoder ? mb(p.decoder.peakRssBytes) : '–',
          p.error === undefined ? 'verified' : 'FAILED',
        ]),
      ),
    );
    for (const p of memoryRuns) {
      out.push(`${p.scenario}: ${p.description}${p.error === undefined ? '' : `\n  FAILED: ${p.error.split('\n').join('\n  ')}`}`);
    }
  }
  for (const s of r.scenarios) {
    for (const [what, p] of [
      ['binlog-sync', s.profiles?.pipeline],
      ['source-only', s.profiles?.source],
      ['Kafka publisher', s.profiles?.kafkaPublisher],
      ['Kafka sink worker', s.profiles?.kafkaSink],
    ] as const) {
      if (!p) continue;
      out.push('');
      out.push(`CPU profile of the ${what} child, ${s.name} (an extra run under --cpu-prof; self time as % of ${ms(p.busyMs)} non-idle of ${ms(p.totalMs)}): ${p.file}`);
      out.push(formatTable(['by package', 'self %'], p.byPackage.map((f) => [f.frame, f.selfPct.toFixed(1)])));
      out.push(formatTable(['top frames', 'self %'], p.top.map((f) => [f.frame, f.selfPct.toFixed(1)])));
    }
  }
  if (r.targets.length) {
    out.push('');
    out.push(`issue 14 targets (${r.targets.filter((t) => t.met).length} of ${r.targets.length} met; baselines from this run)`);
    out.push(formatTable(['target', 'scenario', 'measured', 'baseline', 'verdict'], r.targets.map((t) => [t.target, t.scenario, t.measured, t.baseline, t.verdict])));
  }
  out.push('');
  out.push(`total bench time ${(r.totalMs / 1000).toFixed(0)} s`);
  return out.join('\n');
}

export async function writeReport(file: string, r: BenchReport): Promise<void> {
  await writeFile(file, JSON.stringify(r, null, 2) + '\n');
}
