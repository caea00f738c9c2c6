/**
 * `verify` for a pipeline file: every table the pipeline syncs (source.include/exclude, the filter the
 * binlog reader applies) compared on the source and the target by `verifyTable`, a few tables and
 * chunks at a time, over plain connections to both servers. A table copied as it is is compared with
 * the same-named target table, both checksums computed by the servers; a table the pipeline routes or
 * transforms (`routes`, `tables`) is compared with its target table as the pipeline's row transforms
 * make it, the expected rows computed in Node from the source rows (all the tables merged into that
 * target together). The pipeline's applied position comes from the caller (its checkpoint;
 * src/cli/verify.ts reads it through the composition root).
 */
import mysql from 'mysql2/promise';
import pLimit from 'p-limit';
import type { PipelineConfig } from '../config/load.js';
import { BinlogSyncError, describeError } from '../core/errors.js';
import type { BinlogPosition } from '../core/position.js';
import { binlogHead } from '../local/binlog-head.js';
import { listIncludedTables, qualifiedName } from '../preflight/source-checks.js';
import { AppliedPositionWaiter, type AppliedShortfall } from './applied-position.js';
import { planTables, readTableFacts, type PlanOutcome, type TableFacts, type TablePlan } from './table-plan.js';
import { planTransformed, type TransformedOutcome, type TransformedPlan } from './transformed-plan.js';
import { transformedSourceSide } from './transformed-source.js';
import { DECODER_FORM_OPTIONS } from '../core/decoder-form.js';
import type { TableRef } from '../core/event.js';
import type { Queryable, TableName } from '../preflight/sql.js';
import { RowTransforms } from '../core/row-transforms.js';
import { verifyTable, type TableVerdict, type TableVerifyContext, type VerifyJob } from './table-verifier.js';
import { sqlSide } from './verify-side.js';

export interface VerifyOptions {
  /** The pipeline's applied position (its checkpoint on the target), null when it has none. */
  readonly readApplied: () => Promise<BinlogPosition | null>;
  /** Only these `db.table`s; each must be a table the pipeline syncs. */
  readonly tables?: readonly string[];
  /** Rows per chunk; default 10,000. */
  readonly chunkSize?: number;
  /** Chunks compared at once, over all tables; default 4. */
  readonly parallel?: number;
  /** Key-level recheck rounds of a chunk that still differs; default 3. */
  readonly rounds?: number;
  /** How long a recheck waits for the pipeline to apply up to the source position; default 60 s. */
  readonly waitMs?: number;
  /** Keys kept per table and kind (missing, extra, different, still changing); default 1,000. */
  readonly keptKeys?: number;
  /** Told of each table as soon as it is done. */
  readonly onTable?: (verdict: TableVerdict) => void;
}

export interface VerifyResult {
  readonly pipeline: string;
  readonly chunkSize: number;
  readonly tables: readonly TableVerdict[];
  readonly elapsedMs: number;
  /** Rechecks that ran before the pipeline had applied up to the source position: the first such wait. */
  readonly shortfall: AppliedShortfall | null;
}

export const VERIFY_DEFAULTS = { chunkSize: 10_000, parallel: 4, rounds: 3, waitMs: 60_000, keptKeys: 1_000 } as const;
/** Tables scanned at once (each pages its own key while its chunks are compared). */
const TABLES_AT_ONCE = 2;

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** A small pool whose every connection runs in UTC (TIMESTAMP text) before its first statement. */
class Side {
  private readonly pool: mysql.Pool;
  private readonly prepared = new WeakSet<object>();

  /** `options`: more mysql2 options (the decoder's value forms, for a transformed table's source rows). */
  constructor(
    readonly label: 'source' | 'target',
    readonly endpoint: Endpoint,
    connections: number,
    options: mysql.PoolOptions = {},
  ) {
    const { host, port, user, password } = endpoint;
    this.pool = mysql.createPool({ host, port, user, password, connectionLimit: connections, connectTimeout: 10_000, charset: 'UTF8MB4_GENERAL_CI', enableKeepAlive: true, ...options });
    // An idle connection that dies must not crash the process; the next query reports the error.
    this.pool.pool.on('connection', (c) => c.on('error', () => {}));
  }

  async using<T>(work: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    try {
      if (!this.prepared.has(conn.connection)) {
        await conn.query("SET SESSION time_zone = '+00:00'");
        this.prepared.add(conn.connection);
      }
      return await work(conn);
    } finally {
      conn.release();
    }
  }

  readonly query = (sql: string): Promise<unknown[][]> =>
    this.using(async (conn) => {
      const [rows] = await conn.query({ sql, rowsAsArray: true });
      // Every value verify selects is ASCII text; a binary-flagged one arrives as a Buffer.
      return (rows as unknown[][]).map((r) => r.map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)));
    });

  /** Rows as mysql2 returns them under this side's options. */
  readonly rows = (sql: string): Promise<unknown[][]> =>
    this.using(async (conn) => {
      const [rows] = await conn.query({ sql, rowsAsArray: true });
      return rows as unknown[][];
    });

  async check(): Promise<void> {
    try {
      await this.query('SELECT 1');
    } catch (err) {
      const e = this.endpoint;
      throw new BinlogSyncError('VERIFY', `cannot query the ${this.label} ${e.user}@${e.host}:${e.port}: ${describeError(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The tables to compare: the pipeline's, narrowed to `only` (a name it does not sync is a usage error). */
function chooseTables<T extends { db: string; table: string }>(synced: readonly T[], only: readonly string[] | undefined): T[] {
  if (!only || only.length === 0) return [...synced];
  const byName = new Map(synced.map((t) => [qualifiedName(t), t]));
  const unknown = only.filter((n) => !byName.has(n));
  if (unknown.length > 0) {
    throw new BinlogSyncError(
      'USAGE',
      `verify: --tables names ${unknown.join(', ')}, which the pipeline does not sync (its tables: ${[...byName.keys()].join(', ') || 'none'})`,
    );
  }
  return [...new Set(only)].map((n) => byName.get(n)!);
}

export async function verifyPipeline(config: PipelineConfig, options: VerifyOptions): Promise<VerifyResult> {
  const o = { ...VERIFY_DEFAULTS, ...options };
  for (const [name, v] of [['chunkSize', o.chunkSize], ['parallel', o.parallel], ['rounds', o.rounds], ['keptKeys', o.keptKeys]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new BinlogSyncError('USAGE', `verify: ${name} must be a whole number ≥ 1, got ${v}`);
  }
  const started = Date.now();
  const source = new Side('source', config.source, o.parallel + TABLES_AT_ONCE + 1);
  const target = new Side('target', config.target, o.parallel + 1);
  const decoded = new Side('source', config.source, o.parallel + TABLES_AT_ONCE, DECODER_FORM_OPTIONS);
  try {
    await Promise.all([source.check(), target.check()]);
    const synced = await source.using((conn) => listIncludedTables(conn, config.source));
    const chosen = chooseTables(synced, o.tables);
    const transforms = new RowTransforms({ routes: config.routes, tables: config.tables, keyless: config.keyless });
    const items = await source.using((s) => target.using((t) => planItems(s, t, synced, chosen, transforms, config.source.keys)));
    const applied = new AppliedPositionWaiter(o.readApplied, { timeoutMs: o.waitMs });
    const ctx: TableVerifyContext = {
      sourceHead: () => source.using((conn) => binlogHead(conn)),
      applied,
      limit: pLimit(o.parallel),
      chunkSize: o.chunkSize,
      rounds: o.rounds,
      keptKeys: o.keptKeys,
    };
    const jobOf = (plan: TablePlan | TransformedPlan): VerifyJob =>
      'sources' in plan
        ? // The source's expected rows computed in Node, the target's checksums by its server.
          { name: plan.name, key: plan.key, source: transformedSourceSide(decoded.rows, plan), target: sqlSide(target.query, plan.target, plan.targetColumns) }
        : // A table copied as it is: both sides' checksums computed by their servers.
          { name: plan.name, key: plan.key, source: sqlSide(source.query, plan, plan.sourceColumns), target: sqlSide(target.query, plan, plan.targetColumns) };
    const tableLimit = pLimit(TABLES_AT_ONCE);
    const verdicts = await Promise.all(
      items.map((item) =>
        tableLimit(async () => {
          const p = item.outcome;
          const verdict = 'plan' in p ? await runJob(ctx, jobOf(p.plan)) : failedVerdict(p.name, [], p.problem);
          const withSources = item.sources ? { ...verdict, sources: item.sources } : verdict;
          options.onTable?.(withSources);
          return withSources;
        }),
      ),
    );
    return { pipeline: config.name, chunkSize: o.chunkSize, tables: verdicts, elapsedMs: Date.now() - started, shortfall: applied.shortfall };
  } finally {
    await Promise.allSettled([source.close(), target.close(), decoded.close()]);
  }
}

async function runJob(ctx: TableVerifyContext, job: VerifyJob): Promise<TableVerdict> {
  return verifyTable(ctx, job).catch((err: unknown) => failedVerdict(job.name, job.key, describeError(err)));
}

/** One comparison: a table copied as it is, or a target table of routed or transformed source tables. */
interface PlanItem {
  readonly outcome: PlanOutcome | TransformedOutcome;
  /** The source tables of a routed or transformed target table. */
  readonly sources?: readonly string[];
}

/**
 * Plans the chosen tables in their order. A chosen table the pipeline routes or transforms brings its
 * target table, compared against every synced table routed there (a merged target holds them all).
 */
async function planItems(
  source: Queryable,
  target: Queryable,
  synced: readonly TableName[],
  chosen: readonly TableName[],
  transforms: RowTransforms,
  configuredKeys: Readonly<Record<string, readonly string[]>>,
): Promise<PlanItem[]> {
  const ref = (t: TableName): TableRef => ({ schema: t.db, name: t.table });
  const targetOf = (t: TableName): TableName => {
    const to = transforms.target(ref(t));
    return { db: to.schema, table: to.name };
  };
  const routed = new Set(synced.filter((t) => transforms.transformed(ref(t))).map((t) => qualifiedName(targetOf(t))));
  const plain = chosen.filter((t) => !routed.has(qualifiedName(targetOf(t))));
  const plainPlans = new Map((await planTables(source, target, plain, configuredKeys)).map((p, i) => [qualifiedName(plain[i]!), p]));
  const items: PlanItem[] = [];
  const done = new Set<string>();
  for (const t of chosen) {
    const plainPlan = plainPlans.get(qualifiedName(t));
    if (plainPlan) {
      items.push({ outcome: plainPlan });
      continue;
    }
    const to = targetOf(t);
    const name = qualifiedName(to);
    if (done.has(name)) continue;
    done.add(name);
    const feeding = synced.filter((s) => qualifiedName(targetOf(s)) === name);
    const facts = await readTableFacts(source, target, feeding, configuredKeys, targetOf);
    const gone = feeding.filter((_, i) => facts[i] === null).map(qualifiedName);
    const outcome: TransformedOutcome =
      gone.length > 0 ? { name, problem: `not compared: ${gone.join(', ')} no longer exist${gone.length === 1 ? 's' : ''} on the source` } : planTransformed(to, facts as TableFacts[], transforms);
    items.push({ outcome, sources: feeding.map(qualifiedName) });
  }
  return items;
}

function failedVerdict(table: string, keyColumns: TableVerdict['keyColumns'], error: string): TableVerdict {
  const none = { count: 0, keys: [] };
  return { table, keyColumns, sourceRows: 0, targetRows: 0, chunks: 0, rechecked: 0, missing: none, extra: none, different: none, stillChanging: none, confirmed: true, elapsedMs: 0, error };
}
