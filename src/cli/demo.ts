/**
 * `binlog-sync demo`: the product end to end on one machine, with nothing to set up.
 * Starts a throwaway MariaDB source (binlog on) and an empty target, loads the source with data (a
 * workload's tables and a large history table), then runs the pipeline (config/demo.yaml): it creates
 * the target tables, copies the existing rows (snapshot) while a write workload keeps changing them,
 * and streams every change, with progress lines. Once the copy is done and the target has caught up,
 * it verifies every table twice, by the servers' chunk checksums (`verify`) and by an ordered digest of
 * every column, prints the result and removes the servers.
 */
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { loadPipelineConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../core/position.js';
import type { Pipeline } from '../core/pipeline.js';
import type { SnapshotTableProgress } from '../core/ports.js';
import { LocalMariaDb, type ServerEndpoint } from '../local/mariadb-server.js';
import { binlogHead } from '../local/binlog-head.js';
import { createWorkloadSchema, runWorkload } from '../local/workload.js';
import { compareDatabases } from '../verify/digest.js';
import { formatVerifyText, verifyExitCode } from '../verify/report.js';
import { verifyPipeline } from '../verify/verify-pipeline.js';
import { parseCommandArgs } from './args.js';
import { runPipeline } from '../assembly/index.js';

const DEMO_DB = 'demo';
const DEMO_CONFIG = fileURLToPath(new URL('../../../config/demo.yaml', import.meta.url));
/** Rows of the pre-loaded history table: enough for the copy to take a visible moment. */
const HISTORY_ROWS = 200_000;

async function withConnection<T>(endpoint: ServerEndpoint, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection(endpoint);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The source's existing data: the workload's tables after a first round of writes, and a history table. */
async function preload(source: ServerEndpoint, writers: number): Promise<number> {
  await withConnection(source, async (c) => {
    await createWorkloadSchema(c, DEMO_DB);
    await c.query(`CREATE TABLE ${DEMO_DB}.history (id BIGINT PRIMARY KEY, account INT NOT NULL, amount DECIMAL(12,2) NOT NULL, at DATETIME(3) NOT NULL, memo VARCHAR(60) NULL, KEY (account))`);
    await c.query(
      `INSERT INTO ${DEMO_DB}.history SELECT seq, seq % 997, (seq % 100000) / 100, '2026-01-01' + INTERVAL seq SECOND, CONCAT('payment #', seq) FROM ${DEMO_DB}.seq_1_to_${HISTORY_ROWS}`,
    );
  });
  const counts = await runWorkload(source, { db: DEMO_DB, transactions: 3000, concurrency: writers, seed: 20261207 });
  return counts.committed;
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('demo', argv, { seconds: { type: 'string', default: '20' }, writers: { type: 'string', default: '4' } });
  const seconds = Number(values.seconds);
  const writers = Number(values.writers);
  const say = (line: string): void => console.log(`[demo] ${line}`);

  say('starting a throwaway MariaDB source (binlog ROW, FULL image, FULL metadata) and an empty target …');
  const source = await LocalMariaDb.start({ label: 'demo-source', serverId: 1, binlog: true });
  let target: LocalMariaDb | null = null;
  try {
    target = await LocalMariaDb.start({ label: 'demo-target', serverId: 2, binlog: false });
    say(`source 127.0.0.1:${source.port}, target 127.0.0.1:${target.port} (data under ${source.dir}, ${target.dir})`);
    const preloaded = await preload(source.endpoint(), writers);
    say(`the source holds data already: ${HISTORY_ROWS} history rows and the tables of ${preloaded} earlier transactions; the target is empty`);
    const env = {
      ...process.env,
      DEMO_SOURCE_PORT: String(source.port),
      DEMO_TARGET_PORT: String(target.port),
      DEMO_USER: source.endpoint().user,
      DEMO_PASSWORD: source.endpoint().password,
    };
    const config = await loadPipelineConfig(DEMO_CONFIG, env);
    const logger = createLogger({ name: config.name });
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());

    let shownAt = 0;
    const onSnapshotProgress = (_p: unknown, t: SnapshotTableProgress): void => {
      if (!t.done && Date.now() - shownAt < 1000) return;
      shownAt = Date.now();
      say(`snapshot: ${t.table} ${t.done ? `copied, ${t.rows} rows` : `${t.rows} of ~${t.estimatedRows} rows`}`);
    };
    let workloadDone: Promise<void> = Promise.resolve();
    const onStarted = (pipeline: Pipeline): void => {
      say(`pipeline running: copying the existing rows (snapshot) while writing to the source for ${seconds} s with ${writers} writers (inserts, updates, key changes, deletes, unique swaps, rollbacks) …`);
      workloadDone = (async () => {
        const counts = await runWorkload(source.endpoint(), { db: DEMO_DB, durationMs: seconds * 1000, concurrency: writers, signal: ac.signal, seed: 7 });
        say(
          `workload done: ${counts.committed} transactions (${counts.inserts} inserts, ${counts.updates} updates incl. ${counts.keyChanges} key changes and ${counts.swaps} swaps, ${counts.deletes} deletes), ${counts.rolledBack} rolled back`,
        );
        const head = await withConnection(source.endpoint(), binlogHead);
        say(`waiting for the copy to finish and the target to catch up with the source head ${formatPosition(head)} …`);
        while (!ac.signal.aborted) {
          const cp = pipeline.stats().checkpoint;
          if (cp && !cp.snapshot && comparePositions(cp.position, head) >= 0) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        ac.abort();
      })().catch((err: unknown) => {
        logger.error({ err: String(err) }, 'workload failed');
        ac.abort();
      });
    };
    const result = await runPipeline({ config, logger, signal: ac.signal, progressEveryMs: 2000, onStarted, onSnapshotProgress });
    await workloadDone;
    const stored: BinlogPosition | null = result.stats.savedCheckpoint?.position ?? null;
    say(`pipeline stopped: ${result.stats.changes} changes read, ${result.stats.transactions} transactions, checkpoint ${stored ? formatPosition(stored) : '-'}`);

    say('verifying every table by the servers\' chunk checksums (binlog-sync verify) …');
    const verified = await verifyPipeline(config, { readApplied: async () => stored });
    for (const line of formatVerifyText(verified).split('\n')) say(`  ${line}`);
    say('and by an ordered digest of every column on both sides …');
    const tables = await compareDatabases(source.endpoint(), target.endpoint(), DEMO_DB);
    let ok = verifyExitCode(verified) === 0 && tables.length === verified.tables.length;
    for (const t of tables) {
      ok &&= t.equal;
      say(`  ${t.equal ? 'OK  ' : 'DIFF'} ${t.table.padEnd(16)} source ${String(t.source.rows).padStart(7)} rows ${t.source.digest.slice(0, 16)}  target ${String(t.target.rows).padStart(7)} rows ${t.target.digest.slice(0, 16)}`);
    }
    say(ok ? 'target equals source: every table matches' : 'MISMATCH: the target differs from the source (see above)');
    return ok ? 0 : 1;
  } finally {
    say('stopping the throwaway servers');
    await Promise.all([source.stop(), target?.stop()]);
  }
}
