/**
 * The benchmark's scenarios. Catch-up (OLTP, bulk): build a backlog on a fresh source, then per run
 * re-create the two targets' tables with the same seed rows and time the native replica, binlog-sync,
 * and (for reference) the source connector alone and zongji alone over the same binlog range,
 * verifying after each run that binlog-sync's target equals the native replica and the source.
 * Steady: lag at fixed write rates. Verify: binlog-sync verify beside CHECKSUM TABLE.
 * The peak-RSS scenarios are in memory-scenarios.ts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalMariaDb, ServerEndpoint } from '../src/local/mariadb-server.js';
import { formatPosition, type BinlogPosition } from '../src/core/position.js';
import { bulkSchema, oltpSchema, prepareDatabase, steadySchema, writeBulk, writeOltp, writeSteady, type Schema } from './backlog.js';
import { runChild, startChild } from './child.js';
import type { ChildResult, ChildSpec, Tuning } from './child-spec.js';
import { measureNativeReplica } from './native-replica.js';
import { newestProfile, summariseProfile } from './profile.js';
import { cpuSince, processCpu, type ProcessCpu } from './process-cpu.js';
import { median, rate, summarise, type Backlog, type CatchUpRun, type CatchUpScenario, type KafkaWarmUp, type ScenarioProfiles, type SteadyScenario, type VerifyScenario } from './report.js';
import { parsePipelineConfig } from '../src/config/load.js';
import { verifyPipeline } from '../src/verify/verify-pipeline.js';
import { formatVerifyText, verifyExitCode } from '../src/verify/report.js';
import { BENCH_DB, binlogHead, digestDatabase, digestDifference, startServer, withConnection, type TableFigure } from './sql.js';

export interface Targets {
  /** MariaDB's own replica (no binlog). */
  readonly replica: LocalMariaDb;
  /** binlog-sync's target (no binlog), same settings as the replica. */
  readonly target: LocalMariaDb;
}

export interface CatchUpOptions {
  readonly runs: number;
  /** innodb_flush_log_at_trx_commit the targets run with (set by the caller; recorded with the figures). */
  readonly targetFlush: number;
  readonly sourceOnly: boolean;
  readonly profile: boolean;
  /** Where `--profile` writes the .cpuprofile files (one folder per scenario). */
  readonly profileDir: string;
  readonly tuning: Tuning;
  readonly log: (line: string) => void;
  /** Also time the Kafka transport (publisher and sink worker processes) on this cluster. */
  readonly kafka?: KafkaBench | null;
  /** Also time a binlog-sync run that counts into the daemon's Prometheus metrics (their hot-path cost). */
  readonly metrics?: boolean;
}

/** The bench's Kafka cluster, shared by every scenario. */
export interface KafkaBench {
  readonly brokers: readonly string[];
  /** The brokers' processes, whose CPU time is measured too. */
  readonly pids: () => readonly number[];
  /** Whether a scenario has run the unmeasured warm-up run yet (see warmUpBroker). */
  warmedUp: boolean;
}

let serverIds = 100;
/** A replica server id no other reader of the source uses at the same time. */
const nextServerId = (): number => ++serverIds;

/** A fresh binlog source: ROW, FULL image, FULL metadata; flush=2 so that backlogs are written fast. */
export async function startSource(label: string, extraArgs: readonly string[] = []): Promise<{ server: LocalMariaDb; stop: () => Promise<void> }> {
  return startServer({ label, serverId: 1, binlog: true, durable: false, extraArgs });
}

export function spec(mode: ChildSpec['mode'], name: string, source: ServerEndpoint, target: ServerEndpoint, from: BinlogPosition, to: BinlogPosition | undefined, tuning: Tuning): ChildSpec {
  // A pipeline name allows A-Z a-z 0-9 _ . - only (scenario names such as "oltp flush=1" have more).
  return { mode, name: name.replace(/[^A-Za-z0-9_.-]+/g, '-'), source, target, serverId: nextServerId(), schema: BENCH_DB, from, ...(to ? { to } : {}), tuning };
}

function readerFigures(r: ChildResult, rows: number): CatchUpRun['decoder'] {
  return { ms: r.ms, rowsPerSec: rate(rows, r.ms), peakRssBytes: r.peakRssBytes, peakHeapUsedBytes: r.peakHeapUsedBytes };
}

/** CPU µs per row event of the embedded pipeline, the Kafka publisher and sink worker, for the progress log. */
function cpuNote(rows: number, pipe: ChildResult, kafka: CatchUpRun['kafka']): string {
  const us = (cpuMs: number | undefined): string => (cpuMs === undefined || rows === 0 ? '–' : `${((cpuMs * 1000) / rows).toFixed(1)}`);
  const parts = [`embedded ${us(pipe.cpuMs)}`, ...(kafka ? [`publisher ${us(kafka.publisherCpuMs)}`, `sink ${us(kafka.sinkCpuMs)}`, `broker ${us(kafka.brokerCpuMs)} (JIT ${us(kafka.brokerJitMs)})`] : [])];
  const gc = pipe.forcedGc ? `; major GCs ${pipe.forcedGc.majors}, of them forced ${pipe.forcedGc.collections} (${pipe.forcedGc.ms} ms)` : '';
  return `; CPU µs/row: ${parts.join(', ')}${gc}`;
}

/** Compares the pipeline's target with the other sides; throws naming every difference. */
export async function verify(what: string, target: ServerEndpoint, others: Record<string, ServerEndpoint>): Promise<TableFigure[]> {
  const mine = await digestDatabase(target);
  const problems: string[] = [];
  for (const [name, endpoint] of Object.entries(others)) {
    const d = digestDifference(mine, await digestDatabase(endpoint), 'binlog-sync target', name);
    if (d) problems.push(d);
  }
  if (problems.length) throw new Error(`${what}: binlog-sync's target differs: ${problems.join('; ')}`);
  return mine;
}

export interface BuiltBacklog {
  readonly schema: Schema;
  readonly backlog: Omit<Backlog, 'rowEvents'>;
  readonly from: BinlogPosition;
  readonly to: BinlogPosition;
}

export async function buildBacklog(source: LocalMariaDb, schema: Schema, description: string, write: () => Promise<{ transactions: number; ms: number; retries: number }>): Promise<BuiltBacklog> {
  await prepareDatabase(source.endpoint(), schema);
  const from = await withConnection(source.endpoint(), binlogHead);
  const w = await write();
  const to = await withConnection(source.endpoint(), binlogHead);
  return {
    schema,
    from,
    to,
    backlog: { description, from: formatPosition(from), to: formatPosition(to), transactions: w.transactions, writeMs: w.ms, writerRetries: w.retries },
  };
}

async function catchUp(name: string, source: LocalMariaDb, targets: Targets, b: BuiltBacklog, o: CatchUpOptions): Promise<CatchUpScenario> {
  const src = source.endpoint();
  const runs: CatchUpRun[] = [];
  let rowEvents = 0;
  let kafkaWarmUp: KafkaWarmUp | undefined;
  for (let run = 1; run <= o.runs; run++) {
    await prepareDatabase(targets.replica.endpoint(), b.schema);
    await prepareDatabase(targets.target.endpoint(), b.schema);
    o.log(`${name} run ${run}/${o.runs}: native replica…`);
    const native = await measureNativeReplica(targets.replica.endpoint(), src, b.from, b.to);
    o.log(`${name} run ${run}/${o.runs}: native ${native.ms.toFixed(0)} ms; binlog-sync…`);
    const pipe = await runChild(spec('pipeline', `bench-${name}-${run}`, src, targets.target.endpoint(), b.from, b.to, o.tuning));
    const tables = await verify(`${name} run ${run}`, targets.target.endpoint(), { 'native replica': targets.replica.endpoint(), source: src });
    o.log(`${name} run ${run}/${o.runs}: binlog-sync ${pipe.ms.toFixed(0)} ms, target verified; ${o.sourceOnly ? 'source-only, ' : ''}decoder-only…`);
    let withMetrics: CatchUpRun['withMetrics'];
    if (o.metrics) {
      o.log(`${name} run ${run}/${o.runs}: binlog-sync with metrics…`);
      await prepareDatabase(targets.target.endpoint(), b.schema);
      const m = await runChild({ ...spec('pipeline', `bench-${name}-met-${run}`, src, targets.target.endpoint(), b.from, b.to, o.tuning), metrics: true });
      await verify(`${name} run ${run} with metrics`, targets.target.endpoint(), { source: src });
      withMetrics = { ms: m.ms, rowsPerSec: 0, peakRssBytes: m.peakRssBytes, peakHeapUsedBytes: m.peakHeapUsedBytes };
    }
    let kafka: CatchUpRun['kafka'];
    if (o.kafka) {
      if (!o.kafka.warmedUp) {
        kafkaWarmUp = await warmUpBroker(name, src, targets, b, o);
        o.kafka.warmedUp = true;
      }
      o.log(`${name} run ${run}/${o.runs}: binlog-sync over Kafka (publisher and sink worker processes)…`);
      await prepareDatabase(targets.target.endpoint(), b.schema);
      const [publisher, sink, broker] = await runKafkaChildren(name, `${run}`, src, targets, b, o);
      await verify(`${name} run ${run} over Kafka`, targets.target.endpoint(), { source: src });
      kafka = {
        ms: kafkaRunMs(publisher, sink),
        rowsPerSec: 0,
        publisherMs: publisher.ms,
        publisherPeakRssBytes: publisher.peakRssBytes,
        sinkPeakRssBytes: sink.peakRssBytes,
        ...(publisher.cpuMs !== undefined ? { publisherCpuMs: publisher.cpuMs } : {}),
        ...(sink.cpuMs !== undefined ? { sinkCpuMs: sink.cpuMs } : {}),
        brokerCpuMs: broker.totalMs,
        brokerJitMs: broker.jitMs,
      };
    }
    const sourceOnly = o.sourceOnly ? await runChild(spec('source', `bench-${name}-src-${run}`, src, targets.target.endpoint(), b.from, b.to, o.tuning)) : null;
    const decoder = await runChild(spec('decoder', `bench-${name}-dec-${run}`, src, targets.target.endpoint(), b.from, b.to, o.tuning));
    rowEvents = decoder.rowEvents;
    if (pipe.rowEvents !== decoder.rowEvents) {
      o.log(`WARNING ${name} run ${run}: binlog-sync read ${pipe.rowEvents} row events, the decoder ${decoder.rowEvents}`);
    }
    runs.push({
      run,
      native: { ms: native.ms, rowsPerSec: rate(rowEvents, native.ms) },
      pipeline: {
        ...readerFigures(pipe, rowEvents),
        mutationsApplied: pipe.mutationsApplied ?? 0,
        batches: pipe.batches ?? 0,
        storedCheckpoint: pipe.storedCheckpoint ?? null,
        ...(pipe.cpuMs !== undefined ? { cpuMs: pipe.cpuMs } : {}),
      },
      ...(sourceOnly ? { source: readerFigures(sourceOnly, rowEvents) } : {}),
      decoder: readerFigures(decoder, rowEvents),
      ...(kafka ? { kafka: { ...kafka, rowsPerSec: rate(rowEvents, kafka.ms) } } : {}),
      ...(withMetrics ? { withMetrics: { ...withMetrics, rowsPerSec: rate(rowEvents, withMetrics.ms) } } : {}),
      tables,
    });
    o.log(`${name} run ${run}/${o.runs}: ${rowEvents} row events; native ${rate(rowEvents, native.ms).toFixed(0)}/s, binlog-sync ${rate(rowEvents, pipe.ms).toFixed(0)}/s, decoder ${rate(rowEvents, decoder.ms).toFixed(0)}/s${kafka ? `, kafka ${rate(rowEvents, kafka.ms).toFixed(0)}/s` : ''}${cpuNote(rowEvents, pipe, kafka)}`);
  }
  const profiles: { -readonly [K in keyof ScenarioProfiles]: ScenarioProfiles[K] } = {};
  if (o.profile) {
    const dir = join(o.profileDir, name.replace(/[^A-Za-z0-9_.-]+/g, '-'));
    o.log(`${name}: one more binlog-sync run under --cpu-prof…`);
    await prepareDatabase(targets.target.endpoint(), b.schema);
    await mkdir(join(dir, 'pipeline'), { recursive: true });
    await runChild(spec('pipeline', `bench-${name}-prof`, src, targets.target.endpoint(), b.from, b.to, o.tuning), { cpuProfDir: join(dir, 'pipeline') });
    await verify(`${name} profiled run`, targets.target.endpoint(), { source: src });
    const file = await newestProfile(join(dir, 'pipeline'));
    if (file) profiles.pipeline = await summariseProfile(file);
    if (o.sourceOnly) {
      o.log(`${name}: one more source-only run under --cpu-prof…`);
      await mkdir(join(dir, 'source'), { recursive: true });
      await runChild(spec('source', `bench-${name}-src-prof`, src, targets.target.endpoint(), b.from, b.to, o.tuning), { cpuProfDir: join(dir, 'source') });
      const sourceFile = await newestProfile(join(dir, 'source'));
      if (sourceFile) profiles.source = await summariseProfile(sourceFile);
    }
    if (o.kafka) {
      o.log(`${name}: one more run over Kafka, publisher and sink worker under --cpu-prof…`);
      await prepareDatabase(targets.target.endpoint(), b.schema);
      await Promise.all(['kafka-publisher', 'kafka-sink'].map((d) => mkdir(join(dir, d), { recursive: true })));
      await runKafkaChildren(name, 'prof', src, targets, b, o, { publisher: join(dir, 'kafka-publisher'), sink: join(dir, 'kafka-sink') });
      await verify(`${name} profiled run over Kafka`, targets.target.endpoint(), { source: src });
      const [pub, snk] = await Promise.all([newestProfile(join(dir, 'kafka-publisher')), newestProfile(join(dir, 'kafka-sink'))]);
      if (pub) profiles.kafkaPublisher = await summariseProfile(pub);
      if (snk) profiles.kafkaSink = await summariseProfile(snk);
    }
  }
  return summarise(name, o.targetFlush, { ...b.backlog, rowEvents }, runs, profiles, kafkaWarmUp);
}

/** A publisher and a sink worker over a fresh topic, as `binlog-sync source` and `sink` run them; optionally under --cpu-prof. */
async function runKafkaChildren(
  name: string,
  run: string,
  src: ServerEndpoint,
  targets: Targets,
  b: BuiltBacklog,
  o: CatchUpOptions,
  cpuProfDirs?: { readonly publisher: string; readonly sink: string },
): Promise<[ChildResult, ChildResult, ProcessCpu]> {
  const [publisherSpec, sinkSpec] = kafkaSpecs(`${name}-${run}`, src, targets.target.endpoint(), b, o.kafka!.brokers, o.tuning);
  const brokerBefore = await processCpu(o.kafka!.pids());
  const [publisher, sink] = await Promise.all([
    runChild(publisherSpec, cpuProfDirs ? { cpuProfDir: cpuProfDirs.publisher } : {}),
    runChild(sinkSpec, cpuProfDirs ? { cpuProfDir: cpuProfDirs.sink } : {}),
  ]);
  return [publisher, sink, cpuSince(brokerBefore, await processCpu(o.kafka!.pids()))];
}

/** The publisher's and the sink worker's specs for `b` over a fresh topic, under one pipeline name (the sink finds the publisher's position under it). */
export function kafkaSpecs(id: string, src: ServerEndpoint, target: ServerEndpoint, b: BuiltBacklog, brokers: readonly string[], tuning: Tuning): [ChildSpec, ChildSpec] {
  const stamp = `${id.replace(/[^A-Za-z0-9]+/g, '-')}-${Date.now()}`;
  const kafka = { brokers, topic: `bench-${stamp}.changes` };
  const publisher: ChildSpec = { ...spec('kafka-source', `bench-kafka-${stamp}`, src, target, b.from, b.to, tuning), kafka };
  return [publisher, { ...spec('kafka-sink', publisher.name, src, target, b.from, b.to, tuning), kafka }];
}

/**
 * One unmeasured run over Kafka before the bench's first measured one. The bench's broker is fresh: its
 * first run loads and compiles the broker's classes and creates its internal topics, and was about half
 * as fast as the runs after it (OLTP 11,088 rows/s against ~19,600). A broker in service has done that
 * long before; the runs after this one measure the transport.
 */
async function warmUpBroker(name: string, src: ServerEndpoint, targets: Targets, b: BuiltBacklog, o: CatchUpOptions): Promise<KafkaWarmUp> {
  o.log(`${name}: one unmeasured run over Kafka first (warms the fresh broker)…`);
  await prepareDatabase(targets.target.endpoint(), b.schema);
  const [publisher, sink, broker] = await runKafkaChildren(name, 'warm-up', src, targets, b, o);
  await verify(`${name} warm-up run over Kafka`, targets.target.endpoint(), { source: src });
  return { ms: kafkaRunMs(publisher, sink), brokerCpuMs: broker.totalMs, brokerJitMs: broker.jitMs };
}

/**
 * A Kafka run's catch-up time: from the publisher's start of reading (its topic and producer set up,
 * as the embedded pipeline's clock starts once it is built) until the sink worker applied everything.
 */
function kafkaRunMs(publisher: ChildResult, sink: ChildResult): number {
  return publisher.startedAtMs !== undefined && sink.doneAtMs !== undefined ? sink.doneAtMs - publisher.startedAtMs : sink.ms;
}

export interface OltpSettings {
  readonly tables: number;
  readonly rowsPerTable: number;
  readonly transactions: number;
  readonly concurrency: number;
}

export async function oltpScenario(name: string, targets: Targets, s: OltpSettings, o: CatchUpOptions): Promise<CatchUpScenario> {
  const source = await startSource(`bench-${name}-source`);
  try {
    o.log(`${name}: writing ${s.transactions} transactions (2 updates, 1 delete, 1 insert) over ${s.concurrency} connections into ${s.tables} × ${s.rowsPerTable} rows…`);
    const schema = oltpSchema(s.tables, s.rowsPerTable);
    const b = await buildBacklog(source.server, schema, `${s.transactions} tx × (2 updates, 1 delete, 1 insert) on ${s.tables} tables × ${s.rowsPerTable} rows, ${s.concurrency} writers`, () =>
      writeOltp(source.server.endpoint(), { ...s }),
    );
    o.log(`${name}: backlog ${b.backlog.from} → ${b.backlog.to} written in ${(b.backlog.writeMs / 1000).toFixed(1)} s`);
    return await catchUp(name, source.server, targets, b, o);
  } finally {
    await source.stop();
  }
}

export interface BulkSettings {
  readonly transactions: number;
  readonly rowsPerTx: number;
}

export async function bulkScenario(name: string, targets: Targets, s: BulkSettings, o: CatchUpOptions): Promise<CatchUpScenario> {
  const source = await startSource(`bench-${name}-source`);
  try {
    o.log(`${name}: writing ${s.transactions} INSERT … SELECT transactions of ${s.rowsPerTx} rows…`);
    const b = await buildBacklog(source.server, bulkSchema(), `${s.transactions} INSERT … SELECT tx × ${s.rowsPerTx} rows`, () =>
      writeBulk(source.server.endpoint(), s),
    );
    o.log(`${name}: backlog ${b.backlog.from} → ${b.backlog.to} written in ${(b.backlog.writeMs / 1000).toFixed(1)} s`);
    return await catchUp(name, source.server, targets, b, o);
  } finally {
    await source.stop();
  }
}

export interface SteadySettings {
  readonly rowChangesPerSec: number;
  readonly durationMs: number;
  readonly rows: number;
  readonly concurrency: number;
}

/**
 * A lag figure counts as measured at the requested rate when the writer wrote ≥ 95% of it and started at
 * most 5% of its transactions more than 100 ms late: a writer that falls behind and catches up in bursts
 * reaches the average but not a steady rate.
 */
export const RATE_REACHED = 0.95;
export const MAX_LATE = 0.05;

/** Writer connections for a rate: one per 1,000 row changes/s (250 tx/s each: one round trip per tx, slow on a loaded machine), 4 to 32. */
export function steadyWriters(rowChangesPerSec: number): number {
  return Math.min(32, Math.max(4, Math.ceil(rowChangesPerSec / 1000)));
}

export async function steadyScenario(target: LocalMariaDb, s: SteadySettings, tuning: Tuning, log: (line: string) => void): Promise<SteadyScenario> {
  const source = await startSource(`bench-steady-${s.rowChangesPerSec}-source`);
  try {
    const schema = steadySchema(s.rows);
    await prepareDatabase(source.server.endpoint(), schema);
    await prepareDatabase(target.endpoint(), schema);
    const from = await withConnection(source.server.endpoint(), binlogHead);
    const child = startChild({
      ...spec('pipeline', `bench-steady-${s.rowChangesPerSec}`, source.server.endpoint(), target.endpoint(), from, undefined, tuning),
      lag: { table: 'steady', column: 'ts_us' },
    });
    await child.running;
    await new Promise((r) => setTimeout(r, 1000));
    log(`steady: writing ${s.rowChangesPerSec} row changes/s over ${s.concurrency} connections for ${(s.durationMs / 1000).toFixed(0)} s while binlog-sync runs…`);
    const w = await writeSteady(source.server.endpoint(), s);
    const to = await withConnection(source.server.endpoint(), binlogHead);
    child.send({ type: 'until', position: to });
    const r = await child.result;
    if (!r.lag) throw new Error('steady: the pipeline child reported no lag figures');
    const tables = await verify('steady', target.endpoint(), { source: source.server.endpoint() });
    const achieved = rate(w.rowChanges, w.ms);
    return {
      targetRowChangesPerSec: s.rowChangesPerSec,
      achievedRowChangesPerSec: achieved,
      rateReached: achieved >= RATE_REACHED * s.rowChangesPerSec && w.late <= MAX_LATE * w.transactions,
      writers: s.concurrency,
      durationMs: w.ms,
      transactions: w.transactions,
      lateTransactions: w.late,
      lag: r.lag,
      pipelinePeakRssBytes: r.peakRssBytes,
      tables,
    };
  } finally {
    await source.stop();
  }
}

export interface VerifySettings {
  readonly rows: number;
  readonly runs: number;
}

/**
 * `binlog-sync verify` on a table of `rows` rows, equal on both sides (written by the same INSERT …
 * SELECT on each), against the baseline a user has without it: `CHECKSUM TABLE` run on both servers at
 * once (a full scan each, by the server; it says nothing about which rows differ). Medians of `runs`.
 */
export async function verifyScenario(target: LocalMariaDb, s: VerifySettings, log: (line: string) => void): Promise<VerifyScenario> {
  const source = await startSource('bench-verify-source');
  try {
    const db = 'bench_verify';
    const create = `CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id BIGINT PRIMARY KEY, account INT NOT NULL, amount DECIMAL(12,2) NOT NULL, at DATETIME(6) NOT NULL, memo VARCHAR(60) NULL, flag TINYINT NOT NULL, KEY (account))`;
    const fill = `INSERT INTO ${db}.t SELECT seq, seq % 997, (seq % 100000) / 100, '2026-01-01' + INTERVAL seq SECOND, IF(seq % 10 = 0, NULL, CONCAT('payment #', seq)), seq % 2 FROM ${db}.seq_1_to_${s.rows}`;
    log(`verify: writing ${s.rows} rows on both sides…`);
    for (const server of [source.server, target]) await server.rootQuery(`DROP DATABASE IF EXISTS ${db}; ${create}; ${fill}`);
    const config = parsePipelineConfig(
      JSON.stringify({ name: 'bench-verify', source: { ...source.server.endpoint(), serverId: 9901, include: [`${db}.*`] }, target: target.endpoint() }),
      'bench verify',
    );
    const runs: { verifyMs: number; checksumMs: number }[] = [];
    for (let run = 1; run <= s.runs; run++) {
      const t0 = performance.now();
      const result = await verifyPipeline(config, { readApplied: async () => null });
      const verifyMs = performance.now() - t0;
      if (verifyExitCode(result) !== 0) throw new Error(`bench verify: the two sides should be equal:\n${formatVerifyText(result)}`);
      const t1 = performance.now();
      await Promise.all([source.server, target].map((server) => server.rootQuery(`CHECKSUM TABLE ${db}.t`)));
      const checksumMs = performance.now() - t1;
      runs.push({ verifyMs, checksumMs });
      log(`verify run ${run}/${s.runs}: binlog-sync verify ${verifyMs.toFixed(0)} ms, CHECKSUM TABLE on both ${checksumMs.toFixed(0)} ms`);
    }
    await target.rootQuery(`DROP DATABASE IF EXISTS ${db}`);
    const verifyMs = median(runs.map((r) => r.verifyMs));
    const checksumMs = median(runs.map((r) => r.checksumMs));
    return { rows: s.rows, runs, verifyMs, verifyRowsPerSec: rate(s.rows, verifyMs), checksumMs, checksumRowsPerSec: rate(s.rows, checksumMs) };
  } finally {
    await source.stop();
  }
}
