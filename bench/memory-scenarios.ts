/**
 * The peak-RSS scenarios of issue 14: binlog-sync catching up a backlog that it meets whole at start
 * (the hardest case for memory), with its child's VmHWM as the figure and zongji alone over the same
 * range as the baseline (the decoder's own peak RSS and rate).
 * - memory: bulk backlogs of several sizes (0.5M, 2M, 10M row events by default);
 * - huge-tx: one source transaction of N row changes;
 * - blob: rows holding LONGBLOBs of many MB, one updated (before and after image in one event), one deleted.
 * A pipeline that crashes (out of memory), stalls or leaves the target different is a finding, not a
 * bench failure: the run records the error and the peak RSS seen from outside, and the bench goes on.
 */
import type { LocalMariaDb } from '../src/local/mariadb-server.js';
import { blobSchema, bulkSchema, hugeTxSchema, prepareDatabase, writeBlobs, writeBulk, writeHugeTx } from './backlog.js';
import { ChildFailed, runChild } from './child.js';
import type { Tuning } from './child-spec.js';
import { rate, type MemoryRun } from './report.js';
import { buildBacklog, spec, startSource, verify, type BuiltBacklog } from './scenarios.js';

type Log = (line: string) => void;

const mbOf = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * One catch-up of `b` by binlog-sync (verified equal to the source), then by zongji alone. `timeoutMs`
 * bounds the pipeline child, so that a stall is reported rather than waited on forever.
 */
async function measure(scenario: string, description: string, source: LocalMariaDb, target: LocalMariaDb, b: BuiltBacklog, timeoutMs: number, tuning: Tuning, log: Log): Promise<MemoryRun> {
  const src = source.endpoint();
  await prepareDatabase(target.endpoint(), b.schema);
  log(`${scenario}: binlog-sync catching up ${description}…`);
  const id = scenario.replace(/[^A-Za-z0-9]+/g, '-');
  let pipeline: { ms: number; rowEvents: number; peakRssBytes: number; peakHeapUsedBytes: number; peakArrayBuffersBytes: number };
  let error: string | undefined;
  try {
    const r = await runChild(spec('pipeline', `bench-${id}`, src, target.endpoint(), b.from, b.to, tuning), { timeoutMs });
    pipeline = { ms: r.ms, rowEvents: r.rowEvents, peakRssBytes: r.peakRssBytes, peakHeapUsedBytes: r.peakHeapUsedBytes, peakArrayBuffersBytes: r.peakArrayBuffersBytes };
    try {
      await verify(scenario, target.endpoint(), { source: src });
    } catch (err) {
      error = message(err);
    }
  } catch (err) {
    if (!(err instanceof ChildFailed)) throw err;
    error = err.message;
    pipeline = { ms: Number.NaN, rowEvents: 0, peakRssBytes: err.peakRssBytes, peakHeapUsedBytes: Number.NaN, peakArrayBuffersBytes: Number.NaN };
  }
  log(`${scenario}: binlog-sync ${error ? `FAILED (${error.split('\n')[0]})` : `${(pipeline.ms / 1000).toFixed(1)} s, target verified`}, peak RSS ${mbOf(pipeline.peakRssBytes)}; decoder-only…`);
  let decoder: MemoryRun['decoder'] = null;
  let rowEvents = pipeline.rowEvents;
  try {
    const d = await runChild(spec('decoder', `bench-${id}-dec`, src, target.endpoint(), b.from, b.to, tuning), { timeoutMs });
    decoder = { ms: d.ms, rowsPerSec: rate(d.rowEvents, d.ms), peakRssBytes: d.peakRssBytes };
    rowEvents = d.rowEvents;
  } catch (err) {
    if (!(err instanceof ChildFailed)) throw err;
    log(`${scenario}: decoder-only FAILED: ${err.message.split('\n')[0]}`);
  }
  return {
    scenario,
    description,
    rowEvents,
    ms: error === undefined ? pipeline.ms : Number.NaN,
    rowsPerSec: error === undefined ? rate(rowEvents, pipeline.ms) : Number.NaN,
    peakRssBytes: pipeline.peakRssBytes,
    peakHeapUsedBytes: pipeline.peakHeapUsedBytes,
    peakArrayBuffersBytes: pipeline.peakArrayBuffersBytes,
    verified: error === undefined,
    decoder,
    ...(error !== undefined ? { error } : {}),
  };
}

/** Generous: a pipeline far slower than this is stuck, not slow (2,000 rows/s plus ten minutes). */
const timeoutFor = (rows: number): number => 600_000 + rows / 2;

/** Bulk backlogs of each size (INSERT … SELECT transactions of `rowsPerTx` rows), each on a fresh binlog range. */
export async function memoryScenario(target: LocalMariaDb, sizes: readonly number[], rowsPerTx: number, tuning: Tuning, log: Log): Promise<MemoryRun[]> {
  const source = await startSource('bench-memory-source');
  const runs: MemoryRun[] = [];
  try {
    for (const size of sizes) {
      const perTx = Math.min(rowsPerTx, size);
      const transactions = Math.max(1, Math.round(size / perTx));
      const description = `${transactions} × ${perTx}-row INSERT … SELECT`;
      log(`memory: writing ${description}…`);
      const b = await buildBacklog(source.server, bulkSchema(), description, () => writeBulk(source.server.endpoint(), { transactions, rowsPerTx: perTx }));
      const run = await measure(`memory ${size}`, description, source.server, target, b, timeoutFor(size), tuning, log);
      runs.push(run);
    }
    return runs;
  } finally {
    await source.stop();
  }
}

/** One source transaction of `rows` inserts. */
export async function hugeTxScenario(target: LocalMariaDb, rows: number, tuning: Tuning, log: Log): Promise<MemoryRun> {
  const source = await startSource('bench-huge-tx-source', ['--innodb-log-file-size=512M']);
  try {
    const description = `one transaction of ${rows.toLocaleString('en-US')} inserts (INSERT … SELECT)`;
    log(`huge-tx: writing ${description}…`);
    const b = await buildBacklog(source.server, hugeTxSchema(), description, () => writeHugeTx(source.server.endpoint(), rows));
    log(`huge-tx: written in ${(b.backlog.writeMs / 1000).toFixed(1)} s`);
    return await measure('huge-tx', description, source.server, target, b, timeoutFor(rows), tuning, log);
  } finally {
    await source.stop();
  }
}

/** `rows` rows of an `mb` MB LONGBLOB, one updated, one deleted. */
export async function blobScenario(target: LocalMariaDb, s: { readonly rows: number; readonly mb: number }, tuning: Tuning, log: Log): Promise<MemoryRun> {
  const source = await startSource('bench-blob-source', ['--innodb-log-file-size=512M']);
  try {
    const description = `${s.rows} rows of a ${s.mb} MB LONGBLOB (one tx each), then one updated and one deleted`;
    log(`blob: writing ${description}…`);
    const b = await buildBacklog(source.server, blobSchema(), description, () => writeBlobs(source.server.endpoint(), s));
    return await measure(`blob ${s.mb} MB`, description, source.server, target, b, timeoutFor(0), tuning, log);
  } finally {
    await source.stop();
  }
}
