/**
 * `binlog-sync demo`: the product end to end on one machine, with nothing to set up.
 * Starts a throwaway MariaDB source (binlog on) and target, creates the demo tables on both, runs a
 * write workload on the source while the pipeline (config/demo.yaml) syncs it with progress lines,
 * waits until the target has caught up, verifies every table on both sides by an ordered digest of
 * every column, prints the result and removes the servers.
 */
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { loadPipelineConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../core/position.js';
import type { Pipeline } from '../core/pipeline.js';
import { LocalMariaDb, type ServerEndpoint } from '../local/mariadb-server.js';
import { binlogHead } from '../local/binlog-head.js';
import { createWorkloadSchema, runWorkload, WORKLOAD_TABLES } from '../local/workload.js';
import { compareDatabases } from '../verify/digest.js';
import { parseCommandArgs } from './args.js';
import { runPipeline } from '../assembly/index.js';

const DEMO_DB = 'demo';
const DEMO_CONFIG = fileURLToPath(new URL('../../../config/demo.yaml', import.meta.url));

async function sourceHead(endpoint: ServerEndpoint): Promise<BinlogPosition> {
  const c = await mysql.createConnection(endpoint);
  try {
    return await binlogHead(c);
  } finally {
    await c.end();
  }
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('demo', argv, { seconds: { type: 'string', default: '20' }, writers: { type: 'string', default: '4' } });
  const seconds = Number(values.seconds);
  const writers = Number(values.writers);
  const say = (line: string): void => console.log(`[demo] ${line}`);

  say('starting a throwaway MariaDB source (binlog ROW, FULL image, FULL metadata) and target …');
  const source = await LocalMariaDb.start({ label: 'demo-source', serverId: 1, binlog: true });
  let target: LocalMariaDb | null = null;
  try {
    target = await LocalMariaDb.start({ label: 'demo-target', serverId: 2, binlog: false });
    say(`source 127.0.0.1:${source.port}, target 127.0.0.1:${target.port} (data under ${source.dir}, ${target.dir})`);
    for (const server of [source, target]) {
      const c = await mysql.createConnection(server.endpoint());
      try {
        await createWorkloadSchema(c, DEMO_DB);
      } finally {
        await c.end();
      }
    }
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

    let workloadDone: Promise<void> = Promise.resolve();
    const onStarted = (pipeline: Pipeline): void => {
      say(`pipeline running; writing to the source for ${seconds} s with ${writers} writers (inserts, updates, key changes, deletes, unique swaps, rollbacks) …`);
      workloadDone = (async () => {
        const counts = await runWorkload(source.endpoint(), { db: DEMO_DB, durationMs: seconds * 1000, concurrency: writers, signal: ac.signal });
        say(
          `workload done: ${counts.committed} transactions (${counts.inserts} inserts, ${counts.updates} updates incl. ${counts.keyChanges} key changes and ${counts.swaps} swaps, ${counts.deletes} deletes), ${counts.rolledBack} rolled back`,
        );
        const head = await sourceHead(source.endpoint());
        say(`waiting for the target to catch up with the source head ${formatPosition(head)} …`);
        while (!ac.signal.aborted) {
          const cp = pipeline.stats().checkpoint;
          if (cp && comparePositions(cp.position, head) >= 0) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        ac.abort();
      })().catch((err: unknown) => {
        logger.error({ err: String(err) }, 'workload failed');
        ac.abort();
      });
    };
    const result = await runPipeline({ config, logger, signal: ac.signal, progressEveryMs: 2000, onStarted });
    await workloadDone;
    say(`pipeline stopped: ${result.stats.changes} changes read, ${result.stats.transactions} transactions, checkpoint ${result.stats.savedCheckpoint ? formatPosition(result.stats.savedCheckpoint.position) : '-'}`);

    say('verifying every table: ordered digest of every column on both sides …');
    const tables = await compareDatabases(source.endpoint(), target.endpoint(), DEMO_DB);
    let ok = true;
    for (const t of tables) {
      ok &&= t.equal;
      say(`  ${t.equal ? 'OK  ' : 'DIFF'} ${t.table.padEnd(16)} source ${String(t.source.rows).padStart(7)} rows ${t.source.digest.slice(0, 16)}  target ${String(t.target.rows).padStart(7)} rows ${t.target.digest.slice(0, 16)}`);
    }
    if (tables.length !== WORKLOAD_TABLES.length) ok = false;
    say(ok ? 'target equals source: every table matches' : 'MISMATCH: the target differs from the source (see above)');
    return ok ? 0 : 1;
  } finally {
    say('stopping the throwaway servers');
    await Promise.all([source.stop(), target?.stop()]);
  }
}
