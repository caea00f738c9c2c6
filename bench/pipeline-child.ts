/**
 * One measured reader in its own process, so that its peak RSS (VmHWM) is its own and a CPU profile
 * (`node --cpu-prof`) covers only it. Given a `ChildSpec` in the environment; prints one
 * `BENCH_RESULT {json}` line on stdout; logs (warnings and errors only) go to stderr.
 *
 * - pipeline: wired as `binlog-sync run` wires it (openConnectors, pipeline lock, start resolution with
 *   the start position pinned as the checkpoint, checkpoints stored on the target), timed from
 *   `run()` until the watermark reaches the end of the range (polled every 20 ms, like the native
 *   replica), then stopped: drained and a final checkpoint stored.
 * - source: the source connector drained with nothing applied.
 * - decoder: zongji alone (decoder-only.ts).
 */
import { readFileSync } from 'node:fs';
import { parsePipelineConfig, startSetting } from '../src/config/load.js';
import { createLogger, type Logger } from '../src/core/log.js';
import type { Mutation } from '../src/core/event.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../src/core/position.js';
import { resolveStart } from '../src/core/start-position.js';
import { createPipeline, openConnectors, openKafkaConnectors, readPublishedPosition, runKafkaMode as runKafka } from '../src/assembly/index.js';
import { heapGovernorStats } from '../src/assembly/heap.js';
import { PrometheusMetrics } from '../src/observability/metrics.js';
import { decodeRange } from './decoder-only.js';
import { RESULT_PREFIX, SPEC_ENV, type ChildMessage, type ChildResult, type ChildSpec, type LagFigures, type ParentMessage } from './child-spec.js';

/** Peak memory: VmHWM from the kernel, V8 heap and Buffer memory sampled every 200 ms. */
const memory = (() => {
  let heap = 0;
  let buffers = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    buffers = Math.max(buffers, m.arrayBuffers);
  };
  setInterval(sample, 200).unref();
  return {
    peaks(): { peakRssBytes: number; peakHeapUsedBytes: number; peakArrayBuffersBytes: number } {
      sample();
      const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      return { peakRssBytes: m ? Number(m[1]) * 1024 : process.memoryUsage().rss, peakHeapUsedBytes: heap, peakArrayBuffersBytes: buffers };
    },
  };
})();

function forcedGc(): Pick<ChildResult, 'forcedGc'> {
  const g = heapGovernorStats();
  return g ? { forcedGc: { collections: g.collections, ms: Math.round(g.collectMs), majors: g.majors } } : {};
}

/** CPU time (user + system) this process has used since `from`, in ms: unlike wall time, little moved by other work on the machine. */
function cpuMsSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** The end of the range: given, or sent by the parent later (steady load). */
function rangeEnd(spec: ChildSpec): { get(): BinlogPosition | null } {
  let to: BinlogPosition | null = spec.to ?? null;
  if (!to) {
    process.on('message', (m: ParentMessage) => {
      if (m.type === 'until') to = m.position;
    });
  }
  return { get: () => to };
}

/** The pipeline file the bench runs with: defaults except what `tuning` sets. */
function pipelineConfigText(spec: ChildSpec): string {
  const t = spec.tuning;
  const config = {
    name: spec.name,
    source: {
      ...spec.source,
      serverId: spec.serverId,
      include: [`${spec.schema}.*`],
      start: { file: spec.from.file, position: spec.from.pos },
    },
    target: { ...spec.target, ...(t.poolSize ? { poolSize: t.poolSize } : {}) },
    transport: spec.kafka
      ? { kind: 'kafka', brokers: spec.kafka.brokers, topic: spec.kafka.topic, replicationFactor: 1, ...(t.partitions ? { partitions: t.partitions } : {}) }
      : {
          kind: 'embedded',
          ...(t.partitions ? { partitions: t.partitions } : {}),
          ...(t.queueCapacity ? { queueCapacity: t.queueCapacity } : {}),
        },
    sink: { ...(t.lanes ? { lanes: t.lanes } : {}), ...(t.batchSize ? { batchSize: t.batchSize } : {}) },
    checkpoint: { ...(t.checkpointIntervalMs ? { intervalMs: t.checkpointIntervalMs } : {}) },
  };
  return JSON.stringify(config);
}

class LagRecorder {
  private readonly samples: number[] = [];
  constructor(private readonly lag: NonNullable<ChildSpec['lag']>) {}

  record(mutations: readonly Mutation[], appliedAtMs: number): void {
    for (const m of mutations) {
      if (m.op !== 'upsert' || m.table.name !== this.lag.table) continue;
      const v = Number(m.row[this.lag.column]);
      if (v > 0) this.samples.push(appliedAtMs - v / 1000);
    }
  }

  figures(): LagFigures {
    const s = Float64Array.from(this.samples).sort();
    const at = (p: number): number => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : Number.NaN);
    return { samples: s.length, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: s.length ? s[s.length - 1]! : Number.NaN };
  }
}

async function runPipelineMode(spec: ChildSpec, logger: Logger): Promise<ChildResult> {
  const config = parsePipelineConfig(pipelineConfigText(spec), 'bench pipeline');
  const end = rangeEnd(spec);
  const lag = spec.lag ? new LagRecorder(spec.lag) : null;
  // The daemon's metrics (metrics.port): counted on the hot path, rendered as a scrape would every 5 s.
  const metrics = spec.metrics ? new PrometheusMetrics() : null;
  const scrapes = metrics ? setInterval(() => void metrics.render(), 5000) : null;
  const c = await openConnectors(config, logger);
  try {
    await c.lock.acquire();
    const start = await resolveStart(config.name, startSetting(config.source), c.source, c.checkpoints, { logger, endpoint: `${config.source.host}:${config.source.port}` });
    const pipeline = createPipeline(config, c, logger, {
      from: start.from,
      initialCheckpoint: start.checkpoint,
      sourceIdentity: start.source,
      checkpoints: c.checkpoints,
      ...(metrics ? { metrics } : {}),
      ...(lag ? { onApplied: (m: readonly Mutation[], at: number) => lag.record(m, at) } : {}),
    });
    const stop = new AbortController();
    let reachedMs: number | null = null;
    let cpuMs = 0;
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const monitor = setInterval(() => {
      const to = end.get();
      const cp = pipeline.stats().checkpoint;
      if (reachedMs === null && to && cp && comparePositions(cp.position, to) >= 0) {
        reachedMs = performance.now() - started;
        cpuMs = cpuMsSince(cpuStart);
        stop.abort();
      }
    }, 20);
    const running = pipeline.run(stop.signal);
    send({ type: 'running' });
    let result;
    try {
      result = await running;
    } finally {
      clearInterval(monitor);
    }
    const to = end.get();
    if (reachedMs === null) {
      throw new Error(`the pipeline ended (${result.reason}) before its watermark reached ${to ? formatPosition(to) : 'the end'}`);
    }
    const stored = await c.checkpoints.load(config.name);
    return {
      mode: 'pipeline',
      ms: reachedMs,
      cpuMs,
      rowEvents: result.stats.changes,
      transactions: result.stats.transactions,
      mutationsApplied: result.stats.mutationsApplied,
      batches: result.stats.batches,
      storedCheckpoint: stored ? formatPosition(stored.position) : null,
      ...memory.peaks(),
      ...(lag ? { lag: lag.figures() } : {}),
      ...forcedGc(),
    };
  } finally {
    if (scrapes) clearInterval(scrapes);
    await c.close();
  }
}

async function runSourceMode(spec: ChildSpec, logger: Logger): Promise<ChildResult> {
  const config = parsePipelineConfig(pipelineConfigText(spec), 'bench source');
  const end = rangeEnd(spec);
  const c = await openConnectors(config, logger, { sink: false });
  try {
    const stop = new AbortController();
    let rowEvents = 0;
    let transactions = 0;
    const started = performance.now();
    send({ type: 'running' });
    for await (const batch of c.source.read({ from: { kind: 'position', position: spec.from }, signal: stop.signal }))
    for (const ev of batch) {
      if (ev.kind === 'change') rowEvents++;
      else if (ev.kind === 'commit' || ev.kind === 'schema-change') {
        transactions++;
        const to = end.get();
        if (to && comparePositions(ev.position, to) >= 0) {
          const ms = performance.now() - started;
          stop.abort();
          return { mode: 'source', ms, rowEvents, transactions, ...memory.peaks() };
        }
      }
    }
    throw new Error('the source stream ended before the end of the range');
  } finally {
    await c.close();
  }
}

/**
 * Kafka mode, one role per process, wired as `binlog-sync source` / `binlog-sync sink` wire it. The
 * publisher is done when its committed position reaches the end of the range; the sink when, on top
 * of that, every partition is applied up to its end offset (less the last transaction marker).
 */
async function runKafkaMode(spec: ChildSpec, logger: Logger): Promise<ChildResult> {
  const role = spec.mode === 'kafka-source' ? 'source' : 'sink';
  const config = parsePipelineConfig(pipelineConfigText(spec), `bench kafka ${role}`);
  const end = rangeEnd(spec);
  const k = openKafkaConnectors(config, logger);
  const admin = k.kafka.admin();
  await admin.connect();
  const stop = new AbortController();
  // The publisher's clock starts when it starts reading, as the embedded pipeline's does (its topic and
  // producer set-up, like the embedded pipeline's connects, are not catch-up time); the sink's at its
  // start. The Kafka run's time is from the publisher's start of reading to the sink's end (doneAtMs).
  let started = performance.now();
  let startedAtMs = Date.now();
  let cpuStart = process.cpuUsage();
  let publishing = false;
  const onPublishing = (): void => {
    if (publishing) return; // a restart is catch-up time
    publishing = true;
    started = performance.now();
    startedAtMs = Date.now();
    cpuStart = process.cpuUsage();
  };
  let doneMs: number | null = null;
  let doneAtMs = 0;
  let cpuMs = 0;
  let checking = false;
  const done = async (): Promise<boolean> => {
    const to = end.get();
    const published = await readPublishedPosition(admin, config.name, spec.kafka!.topic).catch(() => null);
    if (!to || !published || comparePositions(published.checkpoint.position, to) < 0) return false;
    if (role === 'source') return true;
    const [ends, applied] = await Promise.all([admin.fetchTopicOffsets(spec.kafka!.topic), k.offsets.list(config.name, spec.kafka!.topic)]);
    const next = new Map(applied.map((a) => [a.partition, a.nextOffset]));
    return ends.every((e) => BigInt(e.high) === 0n || (next.get(e.partition) ?? -1n) >= BigInt(e.high) - 1n);
  };
  const monitor = setInterval(() => {
    if (checking || doneMs !== null) return;
    checking = true;
    void done()
      .then((yes) => {
        if (yes && doneMs === null) {
          doneMs = performance.now() - started;
          doneAtMs = Date.now();
          cpuMs = cpuMsSince(cpuStart);
          stop.abort();
        }
      })
      .finally(() => (checking = false));
  }, 50);
  send({ type: 'running' });
  try {
    await runKafka({ config, logger, signal: stop.signal, role, onPublishing });
  } finally {
    clearInterval(monitor);
    await admin.disconnect().catch(() => undefined);
    await k.close();
  }
  if (doneMs === null) throw new Error(`kafka ${role} stopped before it reached the end of the range`);
  return { mode: spec.mode, ms: doneMs, cpuMs, startedAtMs, doneAtMs, rowEvents: 0, transactions: 0, ...memory.peaks() };
}

async function runDecoderMode(spec: ChildSpec): Promise<ChildResult> {
  if (!spec.to) throw new Error('decoder mode needs the end of the range');
  send({ type: 'running' });
  const r = await decodeRange(spec.source, spec.from, spec.to, { serverId: spec.serverId, schema: spec.schema });
  return { mode: 'decoder', ms: r.ms, rowEvents: r.rowEvents, transactions: r.transactions, ...memory.peaks() };
}

async function main(): Promise<void> {
  const text = process.env[SPEC_ENV];
  if (!text) throw new Error(`${SPEC_ENV} is not set: this program is started by the benchmark (bench/main.ts)`);
  const spec = JSON.parse(text) as ChildSpec;
  const logger = createLogger({ name: `bench-${spec.mode}`, level: process.env.LOG_LEVEL ?? 'warn', destination: 2 });
  const result =
    spec.mode === 'pipeline'
      ? await runPipelineMode(spec, logger)
      : spec.mode === 'source'
        ? await runSourceMode(spec, logger)
        : spec.mode === 'decoder'
          ? await runDecoderMode(spec)
          : await runKafkaMode(spec, logger);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`pipeline-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
