/**
 * `npm run bench`: catch-up of an OLTP backlog and of a bulk-insert backlog by MariaDB's native replica,
 * by binlog-sync, by binlog-sync's source alone and by zongji alone, over the same binlog range on the
 * same machine, with the targets' durability stated; optional steady-load lag, memory, huge-transaction
 * and big-value scenarios. Prints tables on stdout (progress on stderr), ending with issue 14's targets
 * judged against the same run's baselines, and writes the figures as JSON.
 *
 *   node dist/bench/main.js [--quick] [--all | --only LIST] [--runs N] [--target-flush 1|2|1,2]
 *                           [--steady] [--memory] [--huge-tx] [--blob] [--profile] [--out FILE] …   (--help lists everything)
 */
import { cpus, loadavg, totalmem, release } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setChildNodeArgs } from './child.js';
import { cleanupAll, onCleanup } from './cleanup.js';
import { LocalKafkaCluster } from '../src/local/kafka-cluster.js';
import type { Tuning } from './child-spec.js';
import { formatReport, writeReport, type BenchReport, type CatchUpScenario, type MemoryRun, type SteadyScenario } from './report.js';
import { bulkScenario, oltpScenario, steadyScenario, steadyWriters, verifyScenario, type CatchUpOptions, type Targets } from './scenarios.js';
import { blobScenario, hugeTxScenario, memoryScenario } from './memory-scenarios.js';
import { kafkaBacklogScenario } from './kafka-backlog.js';
import { issueTargets } from './targets.js';
import { rows, startServer, variable, withConnection } from './sql.js';
import { DAEMON_NODE_FLAGS } from '../src/cli/node-flags.js';

const SCENARIOS = ['oltp', 'bulk', 'steady', 'memory', 'huge-tx', 'blob', 'verify', 'kafka-backlog'] as const;
type Scenario = (typeof SCENARIOS)[number];

const HELP = `npm run bench -- [options]     (or: node dist/bench/main.js [options])

Scenarios (default: oltp, bulk, verify; the last table judges issue 14's targets for those that ran)
  --quick                 smoke run (~1 min): 1 run, small backlogs
  --all                   every scenario: ${SCENARIOS.join(',')} (with --target-flush 1,2 for both OLTP targets)
  --only LIST             exactly these scenarios, e.g. --only huge-tx,blob ("none" for none)
  --runs N                runs per catch-up scenario, medians reported (default 3)
  --target-flush LIST     innodb_flush_log_at_trx_commit on both targets: 1 (default), 2, or 1,2 for both variants
  --steady                also measure lag under steady write rates (--steady-rate)
  --memory                also measure peak RSS catching up bulk backlogs of several sizes (--memory-rows)
  --huge-tx               also catch up one source transaction of --huge-tx-rows row changes (peak RSS, rows/s)
  --blob                  also catch up rows of --blob-mb MB LONGBLOBs, one updated, one deleted (peak RSS)
  --kafka-backlog         also publish --kafka-backlog-rows row events to Kafka with no sink worker, then
                          drain them with one (each process's peak RSS)
  --profile               one extra binlog-sync run per scenario under node --cpu-prof; prints the top
                          frames (profiles kept in .tmp/bench-profiles/)
  --skip-source-only      do not time binlog-sync's source connector alone
  --skip-metrics          do not time a binlog-sync run with the daemon's Prometheus metrics on (their cost)
  --skip-kafka            do not time the Kafka transport (a local one-node cluster from scripts/kafka.sh fetch)
  --skip-verify           do not time binlog-sync verify (against CHECKSUM TABLE on both servers)
  --out FILE              JSON results (default bench-results.json)
  --child-node-args=ARGS  node options for the measured children, e.g. --child-node-args=--max-old-space-size=192
                          (tells live memory from garbage V8 has not collected yet)

Sizes (each also from the environment, e.g. BENCH_OLTP_TX=100000)
  --oltp-tx N             OLTP transactions in the backlog (default 30000; quick 3000)
  --oltp-tables N         default 4
  --oltp-rows N           seed rows per table (default 20000; quick 5000)
  --oltp-writers N        writer connections (default 8)
  --bulk-rows N           rows in the bulk backlog (default 1000000; quick 100000)
  --bulk-tx-rows N        rows per bulk transaction (default 100000; quick 50000)
  --steady-rate LIST      row changes/s, one run each (default 5000,20000)
  --steady-seconds N      default 20 (quick 5)
  --memory-rows LIST      backlog sizes in rows (default 500000,2000000,10000000; quick 100000,400000)
  --huge-tx-rows N        row changes in the one transaction (default 5000000; quick 200000)
  --blob-mb N             size of each BLOB (default 64; quick 8)
  --blob-rows N           BLOB rows inserted, at least 3 (default 3)
  --kafka-backlog-rows N  row events waiting in Kafka (default 2000000; quick 100000)
  --verify-rows N         rows of the verify table (default 1000000; quick 100000)

Pipeline settings (default: the pipeline file's defaults)
  --partitions N  --lanes N  --batch-size N  --pool-size N  --queue-capacity N
`;

const numberFlags = [
  'runs',
  'oltp-tx',
  'oltp-tables',
  'oltp-rows',
  'oltp-writers',
  'bulk-rows',
  'bulk-tx-rows',
  'steady-seconds',
  'huge-tx-rows',
  'blob-mb',
  'blob-rows',
  'kafka-backlog-rows',
  'verify-rows',
  'partitions',
  'lanes',
  'batch-size',
  'pool-size',
  'queue-capacity',
] as const;
type NumberFlag = (typeof numberFlags)[number];

class UsageError extends Error {}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      all: { type: 'boolean', default: false },
      'huge-tx': { type: 'boolean', default: false },
      blob: { type: 'boolean', default: false },
      'kafka-backlog': { type: 'boolean', default: false },
      'steady-rate': { type: 'string' },
      'target-flush': { type: 'string' },
      steady: { type: 'boolean', default: false },
      memory: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'skip-source-only': { type: 'boolean', default: false },
      'skip-kafka': { type: 'boolean', default: false },
      'skip-metrics': { type: 'boolean', default: false },
      'skip-verify': { type: 'boolean', default: false },
      out: { type: 'string' },
      'memory-rows': { type: 'string' },
      'child-node-args': { type: 'string' },
      ...Object.fromEntries(numberFlags.map((f) => [f, { type: 'string' as const }])),
    },
  }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function parse(argv: string[]) {
  const values = parseFlags(argv);
  const v = values as Record<string, string | boolean | undefined>;
  const quick = v.quick === true;
  const num = (flag: NumberFlag, normal: number | undefined, quickValue = normal): number | undefined => {
    const raw = (v[flag] as string | undefined) ?? process.env[`BENCH_${flag.toUpperCase().replace(/-/g, '_')}`];
    if (raw === undefined || raw === '') return quick ? quickValue : normal;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag}: expected a whole number ≥ 1, got "${raw}"`);
    return n;
  };
  const list = (raw: string | undefined, fallback: string): string[] =>
    (raw ?? fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const numbers = (flag: string, fallback: string, min = 1): number[] =>
    list((v[flag] as string | undefined) ?? process.env[`BENCH_${flag.toUpperCase().replace(/-/g, '_')}`], fallback).map((raw) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag}: expected whole numbers ≥ ${min}, got "${raw}"`);
      return n;
    });
  const all = v.all === true;
  if (all && v.only !== undefined) throw new UsageError('--all and --only exclude each other');
  const optional: Scenario[] = (['steady', 'memory', 'huge-tx', 'blob', 'kafka-backlog'] as const).filter((s) => all || v[s] === true);
  const chosen = v.only !== undefined ? list(v.only as string, '').filter((s) => s !== 'none') : all ? [...SCENARIOS] : ['oltp', 'bulk', 'verify', ...optional];
  for (const s of chosen) if (!(SCENARIOS as readonly string[]).includes(s)) throw new UsageError(`--only: unknown scenario "${s}" (${SCENARIOS.join(', ')}, none)`);
  const only = new Set(chosen as Scenario[]);
  if (v['skip-verify'] === true) only.delete('verify');
  const flushes = numbers('target-flush', all ? '1,2' : '1', 0);
  for (const f of flushes) if (![0, 1, 2].includes(f)) throw new UsageError('--target-flush: expected 1, 2 or 1,2');
  const memoryRows = numbers('memory-rows', quick ? '100000,400000' : '500000,2000000,10000000');
  const steadyRates = numbers('steady-rate', '5000,20000');
  const blobRows = num('blob-rows', 3)!;
  if (blobRows < 3) throw new UsageError('--blob-rows: at least 3 (row 2 is updated, row 3 deleted)');
  const tuning: Tuning = Object.fromEntries(
    (
      [
        ['partitions', 'partitions'],
        ['queueCapacity', 'queue-capacity'],
        ['lanes', 'lanes'],
        ['batchSize', 'batch-size'],
        ['poolSize', 'pool-size'],
      ] as const
    ).flatMap(([key, flag]) => {
      const n = num(flag, undefined);
      return n === undefined ? [] : [[key, n]];
    }),
  );
  return {
    help: v.help === true,
    quick,
    only,
    flushes,
    runs: num('runs', 3, 1)!,
    oltp: { transactions: num('oltp-tx', 30_000, 3_000)!, tables: num('oltp-tables', 4)!, rowsPerTable: num('oltp-rows', 20_000, 5_000)!, concurrency: num('oltp-writers', 8)! },
    bulk: { rows: num('bulk-rows', 1_000_000, 100_000)!, rowsPerTx: num('bulk-tx-rows', 100_000, 50_000)! },
    steady: only.has('steady') ? steadyRates.map((r) => ({ rowChangesPerSec: r, durationMs: num('steady-seconds', 20, 5)! * 1000, rows: 10_000, concurrency: steadyWriters(r) })) : null,
    memory: only.has('memory') ? memoryRows : null,
    hugeTxRows: only.has('huge-tx') ? num('huge-tx-rows', 5_000_000, 200_000)! : null,
    blob: only.has('blob') ? { rows: blobRows, mb: num('blob-mb', 64, 8)! } : null,
    kafkaBacklogRows: only.has('kafka-backlog') && v['skip-kafka'] !== true ? num('kafka-backlog-rows', 2_000_000, 100_000)! : null,
    profile: v.profile === true,
    sourceOnly: v['skip-source-only'] !== true,
    kafka: v['skip-kafka'] !== true,
    metrics: v['skip-metrics'] !== true,
    verify: !only.has('verify') ? null : { rows: num('verify-rows', 1_000_000, 100_000)!, runs: num('runs', 3, 1)! },
    out: (v.out as string | undefined) ?? 'bench-results.json',
    childNodeArgs: ((v['child-node-args'] as string | undefined) ?? '').split(/\s+/).filter(Boolean),
    tuning,
  };
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? `Linux ${release()}`;
  } catch {
    return `Linux ${release()}`;
  }
}

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

async function setTargetFlush(targets: Targets, flush: number): Promise<string> {
  const settings: string[] = [];
  for (const s of [targets.replica, targets.target]) {
    settings.push(
      await withConnection(s.endpoint(), async (c) => {
        await c.query(`SET GLOBAL innodb_flush_log_at_trx_commit = ${flush}`);
        return `innodb_flush_log_at_trx_commit=${await variable(c, 'innodb_flush_log_at_trx_commit')}, log_bin=${await variable(c, 'log_bin')}, innodb_doublewrite=${await variable(c, 'innodb_doublewrite')}`;
      }),
    );
  }
  if (settings[0] !== settings[1]) throw new Error(`the two targets' durability settings differ: ${settings[0]} vs ${settings[1]}`);
  return settings[0]!;
}

async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  if (o.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // The measured children run with the daemon's V8 flags, plus whatever --child-node-args adds.
  setChildNodeArgs([...DAEMON_NODE_FLAGS, ...o.childNodeArgs]);
  const startedAt = new Date();
  const loadAtStart = loadavg()[0] ?? 0;
  const t0 = performance.now();
  log(`starting the native replica and binlog-sync's target (same settings)…`);
  // One at a time: concurrent mariadb-install-db runs can trip over each other's temporary tables.
  const replica = await startServer({ label: 'bench-replica', serverId: 2, binlog: false, extraArgs: ['--skip-slave-start'] });
  const target = await startServer({ label: 'bench-target', serverId: 3, binlog: false });
  const targets: Targets = { replica: replica.server, target: target.server };
  const mariadb = await withConnection(target.server.endpoint(), async (c) => String((await rows(c, 'SELECT VERSION() AS v'))[0]?.v));

  const profileDir = join('.tmp', 'bench-profiles', startedAt.toISOString().replace(/[:.]/g, '-'));
  let kafka: LocalKafkaCluster | null = null;
  if (o.kafka && (o.only.has('oltp') || o.only.has('bulk') || o.kafkaBacklogRows !== null)) {
    log('starting a one-node Kafka cluster for the Kafka transport runs (--skip-kafka leaves them out)…');
    kafka = await LocalKafkaCluster.start({ brokers: 1, label: 'bench' });
    const cluster = kafka;
    onCleanup('kafka', () => cluster.stop());
  }
  const catchUp: Omit<CatchUpOptions, 'targetFlush'> = { runs: o.runs, sourceOnly: o.sourceOnly, profile: o.profile, profileDir, tuning: o.tuning, log, kafka: kafka ? { brokers: kafka.brokers, pids: () => kafka!.pids, warmedUp: false } : null, metrics: o.metrics };
  const scenarios: CatchUpScenario[] = [];
  const targetSettings: string[] = [];
  for (const flush of o.only.has('oltp') || o.only.has('bulk') ? o.flushes : []) {
    const settings = await setTargetFlush(targets, flush);
    targetSettings.push(settings);
    log(`targets: ${settings}`);
    const suffix = o.flushes.length > 1 ? ` flush=${flush}` : '';
    if (o.only.has('oltp')) scenarios.push(await oltpScenario(`oltp${suffix}`, targets, o.oltp, { ...catchUp, targetFlush: flush }));
    if (o.only.has('bulk')) {
      const transactions = Math.max(1, Math.round(o.bulk.rows / o.bulk.rowsPerTx));
      scenarios.push(await bulkScenario(`bulk${suffix}`, targets, { transactions, rowsPerTx: o.bulk.rowsPerTx }, { ...catchUp, targetFlush: flush }));
    }
  }
  const defaultSettings = await setTargetFlush(targets, o.flushes[0] ?? 1);
  let steady: SteadyScenario[] | undefined;
  if (o.steady) {
    steady = [];
    for (const rate of o.steady) steady.push(await steadyScenario(target.server, rate, o.tuning, log));
  }
  let memory: MemoryRun[] | undefined;
  if (o.memory) memory = await memoryScenario(target.server, o.memory, o.bulk.rowsPerTx, o.tuning, log);
  const hugeTx = o.hugeTxRows === null ? undefined : await hugeTxScenario(target.server, o.hugeTxRows, o.tuning, log);
  const blob = o.blob ? await blobScenario(target.server, o.blob, o.tuning, log) : undefined;
  const verify = o.verify ? await verifyScenario(target.server, o.verify, log) : undefined;
  const kafkaBacklog = o.kafkaBacklogRows !== null && catchUp.kafka ? await kafkaBacklogScenario(target.server, o.kafkaBacklogRows, catchUp.kafka, o.tuning, log) : undefined;

  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    totalMs: performance.now() - t0,
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
    machine: { cores: cpus().length, cpu: cpus()[0]?.model.trim() ?? '?', memoryBytes: totalmem(), node: process.version, mariadb, os: osName() },
    durability: {
      source: 'innodb_flush_log_at_trx_commit=2, sync_binlog=0 (so that backlogs are written fast)',
      targets: targetSettings.length ? targetSettings.join(' | then ') : defaultSettings,
    },
    settings: {
      runs: o.runs,
      quick: o.quick,
      oltp: o.oltp,
      bulk: o.bulk,
      ...(o.steady ? { steadyRates: o.steady.map((s) => s.rowChangesPerSec), steadySeconds: (o.steady[0]?.durationMs ?? 0) / 1000 } : {}),
      ...(o.memory ? { memoryRows: o.memory } : {}),
      ...(o.hugeTxRows !== null ? { hugeTxRows: o.hugeTxRows } : {}),
      ...(o.blob ? { blob: o.blob } : {}),
      ...(o.kafkaBacklogRows !== null ? { kafkaBacklogRows: o.kafkaBacklogRows } : {}),
      pipeline: Object.keys(o.tuning).length ? o.tuning : 'pipeline file defaults',
      ...(o.childNodeArgs.length ? { childNodeArgs: o.childNodeArgs.join(' ') } : {}),
      nativeReplica: 'one SQL thread (slave_parallel_threads=0), MASTER_USE_GTID=no',
    },
    scenarios,
    ...(steady ? { steady } : {}),
    ...(memory ? { memory } : {}),
    ...(hugeTx ? { hugeTx } : {}),
    ...(blob ? { blob } : {}),
    ...(verify ? { verify } : {}),
    ...(kafkaBacklog ? { kafkaBacklog } : {}),
    targets: issueTargets({ scenarios, ...(steady ? { steady } : {}), ...(memory ? { memory } : {}), ...(hugeTx ? { hugeTx } : {}), ...(blob ? { blob } : {}) }),
  };
  await writeReport(o.out, report);
  process.stdout.write(formatReport(report) + '\n');
  log(`results written to ${o.out}`);
  return 0;
}

let signals = 0;
const onSignal = (sig: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) process.exit(130);
  log(`${sig}: stopping everything the bench started…`);
  void cleanupAll(log).finally(() => process.exit(130));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

main(process.argv.slice(2))
  .then(
    async (code) => {
      await cleanupAll(log);
      process.exit(code);
    },
    async (err: unknown) => {
      if (signals > 0) {
        // Interrupted: the failure is only the consequence of stopping the servers.
        await cleanupAll(log);
        process.exit(130);
      }
      if (err instanceof UsageError) process.stderr.write(`${err.message}\n\n${HELP}`);
      else log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await cleanupAll(log);
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
